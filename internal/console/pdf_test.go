package console_test

import (
	"context"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/console"
	"github.com/lienthong/lienthong/internal/hubtest"
	"github.com/lienthong/lienthong/internal/organ"
	"github.com/lienthong/lienthong/internal/pdfsig"
	"github.com/lienthong/lienthong/internal/pdfsig/pdfsigtest"
	"github.com/lienthong/lienthong/internal/pki"
	"github.com/lienthong/lienthong/internal/testwait"
	"github.com/lienthong/lienthong/internal/tooltest"
	"github.com/lienthong/lienthong/internal/trust"
)

// pdfHub is the real hub whose reports carry the PDF verdicts a test sets:
// those internal/pdfsig gives (its own tests hold them to poppler's), so
// the page is tested on every verdict without signing a PDF for each.
type pdfHub struct {
	console.Hub
	mu   sync.Mutex
	atts []trust.Attachment
}

func (h *pdfHub) set(atts []trust.Attachment) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.atts = atts
}

func (h *pdfHub) Report(ctx context.Context, caller, id string) (*trust.Report, error) {
	r, err := h.Hub.Report(ctx, caller, id)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	r.Attachments = h.atts
	return r, nil
}

// subjectDN is a certificate subject as trust reports it (pkix's String):
// an organ's with its UID.
func subjectDN(cn, o, uid string) string {
	n := pkix.Name{CommonName: cn}
	if o != "" {
		n.Organization = []string{o}
	}
	if uid != "" {
		n.ExtraNames = []pkix.AttributeTypeAndValue{{Type: asn1.ObjectIdentifier(trust.OIDUID), Value: uid}}
	}
	return n.String()
}

var pdfSectionRE = regexp.MustCompile(`(?s)<section class="report pdfs">.*?</section>`)

// The document page says, per PDF attachment, in one plain Vietnamese
// line who signed it, whether the sending organ did and whether the file
// changed after; codes and certificates only in the technical details.
func TestDocumentPagePDFSignatures(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	ph := &pdfHub{Hub: h.Hub}
	dir, err := organ.NewDirectory([]organ.Agency{{ID: g22, Name: "Văn phòng Chính phủ"}, {ID: h29, Name: "UBND Thành phố Hồ Chí Minh"}})
	if err != nil {
		t.Fatal(err)
	}
	hash, err := console.HashPassword("mật khẩu đúng")
	if err != nil {
		t.Fatal(err)
	}
	base := serveConsole(t, console.Options{Hub: ph, Directory: dir,
		Accounts: []console.Account{{Username: "vanthu.h29", PasswordHash: hash, Role: console.RoleClerk, OrganID: h29}}})
	clerk := newBrowser(t, base)
	if code, _ := clerk.login("vanthu.h29", "mật khẩu đúng"); code != http.StatusSeeOther {
		t.Fatalf("sign in: %d", code)
	}
	id := sendPacket(t, h, g22, fixture(t, "edoc-new.xml"), time.Time{})
	testwait.Eventually(t, "the letter in H29's inbox", func() bool {
		return strings.Contains(clerk.page("/inbox"), "/doc/"+id)
	})

	// 02:30 UTC is 09:30 in Hà Nội.
	signedAt := time.Date(2025, 11, 20, 2, 30, 0, 0, time.UTC)
	ca := subjectDN("Cục Chứng thực số và Bảo mật thông tin", "Ban Cơ yếu Chính phủ", "")
	person := trust.PDFSignature{Signer: &trust.Cert{Subject: subjectDN("Nguyễn Văn A", "Văn phòng Chính phủ", ""), Issuer: ca,
		SHA256: strings.Repeat("a1", 32), Serial: "4242"}, SignedAt: &signedAt, SubFilter: "ETSI.CAdES.detached",
		ByteRange: []int64{0, 1000, 9194, 806}, Valid: true, Changes: pdfsig.ChangesSignatures,
		Errors: []trust.Problem{}, Warnings: []trust.Problem{}}
	// The CA writes the organ's name its own way; the page shows the
	// directory's.
	seal := trust.PDFSignature{Signer: &trust.Cert{Subject: subjectDN("VAN PHONG CHINH PHU", "", g22), Issuer: ca, OrganID: g22,
		SHA256: strings.Repeat("b2", 32)}, OrganID: g22, FromSender: true, SignedAt: &signedAt, SubFilter: "adbe.pkcs7.detached",
		ByteRange: []int64{0, 2000, 10194, 1806}, Valid: true, CoversWholeFile: true, Changes: pdfsig.ChangesNone,
		Errors: []trust.Problem{}, Warnings: []trust.Problem{}}
	modified := seal
	modified.CoversWholeFile, modified.Changes, modified.ModifiedAfterSigning = false, pdfsig.ChangesContent, true
	modified.Warnings = []trust.Problem{{Code: pdfsig.CodeModified, Message: "an update after this signature (bytes 12000 to 13000) changes what the pages show"}}
	expired := seal
	expired.Valid = false
	expired.Errors = []trust.Problem{
		{Code: pdfsig.CodeSigUntrusted, Message: "the signature does not hold: certificate has expired"},
		{Code: trust.CodeExpired, Message: `certificate "` + seal.Signer.Subject + `" has expired`},
	}
	attachment := func(main bool, name string, sigs ...trust.PDFSignature) trust.Attachment {
		a := trust.Attachment{Name: name, Main: main, SHA256: strings.Repeat("c3", 32), Size: 40 << 10,
			Signatures: append([]trust.PDFSignature{}, sigs...), Errors: []trust.Problem{}, Warnings: []trust.Problem{}}
		for _, s := range sigs {
			a.OrganSigned = a.OrganSigned || (s.Valid && s.OrganID == g22)
		}
		return a
	}
	// Sealed under a time-stamp, the certificate expired since.
	stamped := seal
	stamped.TimeStamped = &signedAt
	stamped.Warnings = []trust.Problem{{Code: pdfsig.CodeValidAtTimestamp, Message: "valid at the time-stamped signing time"}}
	malformed := attachment(true, "CV-1234.pdf")
	malformed.Errors = []trust.Problem{{Code: pdfsig.CodeMalformed, Message: "pdfium: FPDF_ERR_FORMAT"}}

	tests := []struct {
		name     string
		give     []trust.Attachment
		want     []string // in the section, outside the technical details
		wantTech []string
	}{
		{
			name: "person and organ, valid, main and an unsigned annex",
			give: []trust.Attachment{attachment(true, "CV-1234.pdf", person, seal), attachment(false, "Phu-luc.pdf")},
			want: []string{
				`<span class="badge ok">Hợp lệ</span> Văn bản được ký số bởi Nguyễn Văn A; cơ quan ban hành: Văn phòng Chính phủ <small class="secondary">` + g22 + `</small>; không bị sửa sau khi ký.`,
				"<strong>CV-1234.pdf</strong> · Văn bản chính",
				"<strong>Phu-luc.pdf</strong> · Phụ lục",
				`<span class="badge warn">Không có chữ ký số</span> Tệp không có chữ ký số.`,
				"<strong>Nguyễn Văn A</strong> (cá nhân), <span class=\"signed-at\">ký lúc 20/11/2025 09:30 (theo người ký)</span>: hợp lệ; sau khi ký chỉ có thêm chữ ký số, trang văn bản không đổi.",
				"<strong>Văn phòng Chính phủ</strong> <small class=\"secondary\">" + g22 + "</small> (cơ quan), <span class=\"signed-at\">ký lúc 20/11/2025 09:30 (theo người ký)</span>: hợp lệ; ký trên toàn bộ tệp.",
			},
			wantTech: []string{"ETSI.CAdES.detached", "[0 1000 9194 806]", "UID=" + g22 + ", CN=VAN PHONG CHINH PHU", strings.Repeat("b2", 32), "<code>4242</code>"},
		},
		{
			name: "content changed after the signature",
			give: []trust.Attachment{attachment(true, "CV-1234.pdf", modified)},
			want: []string{
				`<span class="badge warn">Bị sửa sau khi ký</span> Văn bản được ký số bởi cơ quan ban hành Văn phòng Chính phủ <small class="secondary">` + g22 + `</small>; tệp đã bị sửa hoặc thêm nội dung sau khi ký.`,
				": hợp lệ; tệp bị sửa hoặc thêm nội dung sau khi ký.",
			},
			wantTech: []string{pdfsig.CodeModified},
		},
		{
			name: "the organ's certificate expired",
			give: []trust.Attachment{attachment(true, "CV-1234.pdf", expired)},
			want: []string{
				`<span class="badge warn">Không hợp lệ</span> Chữ ký số không hợp lệ: chứng thư số đã hết hạn; không có chữ ký số của cơ quan gửi.`,
				": không hợp lệ: chứng thư số đã hết hạn; ký trên toàn bộ tệp.",
			},
			wantTech: []string{pdfsig.CodeSigUntrusted, trust.CodeExpired},
		},
		{
			name: "sealed under a time-stamp, valid then",
			give: []trust.Attachment{attachment(true, "CV-1234.pdf", stamped)},
			want: []string{
				`<span class="signed-at">ký lúc 20/11/2025 09:30 (theo dấu thời gian)</span>: hợp lệ; hợp lệ tại thời điểm ký theo dấu thời gian, chứng thư số đã hết hạn sau đó; ký trên toàn bộ tệp.`,
			},
			wantTech: []string{pdfsig.CodeValidAtTimestamp},
		},
		{
			name: "main PDF unsigned",
			give: []trust.Attachment{attachment(true, "CV-1234.pdf")},
			want: []string{`<span class="badge warn">Không có chữ ký số</span> Không có chữ ký số của cơ quan gửi: tệp không có chữ ký số nào.`},
		},
		{
			name:     "malformed PDF",
			give:     []trust.Attachment{malformed},
			want:     []string{`<span class="badge warn">Không đọc được</span> Không đọc được tệp PDF: tệp hỏng hoặc không đúng định dạng.`},
			wantTech: []string{pdfsig.CodeMalformed},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ph.set(tt.give)
			page := clerk.page("/doc/" + id)
			section := pdfSectionRE.FindString(page)
			if section == "" || !strings.Contains(section, "<h2>Chữ ký số trong tệp PDF</h2>") {
				t.Fatalf("no PDF section: %s", page)
			}
			plain := outsideTech(section)
			for _, w := range tt.want {
				if !strings.Contains(plain, w) {
					t.Errorf("the section lacks %q:\n%s", w, plain)
				}
			}
			tech := techOnly(section)
			for _, w := range tt.wantTech {
				if !strings.Contains(tech, w) {
					t.Errorf("the technical details lack %q:\n%s", w, tech)
				}
			}
			// In words only: the codes, the certificates and the
			// fingerprints stay behind "Chi tiết kỹ thuật".
			text, attrs := visibleText(t, page)
			text = testCertName.ReplaceAllString(text, "") // the envelope's test certificate
			if m := rawCodes.FindString(text + attrs); m != "" {
				t.Errorf("raw code %q outside the technical details:\n%s", m, text)
			}
			if m := englishWords.FindString(text + attrs); m != "" {
				t.Errorf("English word %q on the Vietnamese page:\n%s", m, text)
			}
		})
	}

	t.Run("English", func(t *testing.T) {
		ph.set(tests[0].give)
		page := clerk.page("/doc/" + id + "?lang=en")
		want := `The document is digitally signed by Nguyễn Văn A; issuing agency: Văn phòng Chính phủ <small class="secondary">` + g22 + `</small>; not changed after signing.`
		if !strings.Contains(page, want) || !strings.Contains(page, "<h2>Digital signatures in the PDF files</h2>") {
			t.Errorf("the English page lacks %q: %s", want, pdfSectionRE.FindString(page))
		}
		clerk.page("/doc/" + id + "?lang=vi")
	})

	// Not checked, or no PDF: no section.
	for _, give := range [][]trust.Attachment{nil, {}} {
		ph.set(give)
		if page := clerk.page("/doc/" + id); strings.Contains(page, "Chữ ký số trong tệp PDF") {
			t.Errorf("attachments %#v: a PDF section: %s", give, pdfSectionRE.FindString(page))
		}
	}
}

// The same page end to end: PDFs signed by poppler's pdfsig (a tool
// nobody here wrote) with certificates of the hub's CA, verified by the
// hub's PDF engine on submission, read back from the stored report.
func TestDocumentPagePDFSignedByPoppler(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles pdfium and signs with pdfsig")
	}
	for _, tool := range []string{"pdfsig", "certutil", "pk12util", "openssl"} {
		tooltest.Require(t, tool)
	}
	h := hubtest.Start(t, hubtest.Options{PDF: true})
	dir, err := organ.NewDirectory([]organ.Agency{{ID: g22, Name: "Văn phòng Chính phủ"}, {ID: h29, Name: "UBND Thành phố Hồ Chí Minh"}})
	if err != nil {
		t.Fatal(err)
	}
	hash, err := console.HashPassword("mật khẩu đúng")
	if err != nil {
		t.Fatal(err)
	}
	base := serveConsole(t, console.Options{Hub: h.Hub, Directory: dir,
		Accounts: []console.Account{{Username: "vanthu.h29", PasswordHash: hash, Role: console.RoleClerk, OrganID: h29}}})
	clerk := newBrowser(t, base)
	if code, _ := clerk.login("vanthu.h29", "mật khẩu đúng"); code != http.StatusSeeOther {
		t.Fatalf("sign in: %d", code)
	}

	// RSA keys: pdfsig 22.12 fails most signings with ECDSA ones
	// (pdfsigtest). The seal's CN is the CA's spelling; the page shows
	// the directory's name.
	rsa := pki.IssueOptions{Algorithm: pki.RSA}
	sealCert, err := h.CA.Issue(g22, "VAN PHONG CHINH PHU", rsa)
	if err != nil {
		t.Fatal(err)
	}
	personCert, err := h.CA.Issue("000.00.00.G04", "Nguyen Van A", pki.IssueOptions{Algorithm: pki.RSA, NoUID: true})
	if err != nil {
		t.Fatal(err)
	}
	kit := &pdfsigtest.Kit{NSS: pdfsigtest.NewNSS(t, h.CA.Root())}
	seal := pdfsigtest.Signer{Issued: sealCert, Nick: kit.NSS.AddKey(t, sealCert)}
	person := pdfsigtest.Signer{Issued: personCert, Nick: kit.NSS.AddKey(t, personCert)}
	letter := pdfsigtest.Write(pdfsigtest.Page1, pdfsigtest.Page2)
	signed := kit.Sign(t, kit.Sign(t, letter, person), seal)
	modified, err := pdfsigtest.Append(kit.Sign(t, letter, seal), 1, pdfsigtest.Page2Modified)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		give []byte
		want string
	}{
		{"the person's and the organ's signatures", signed,
			`<span class="badge ok">Hợp lệ</span> Văn bản được ký số bởi Nguyen Van A; cơ quan ban hành: Văn phòng Chính phủ <small class="secondary">` + g22 + `</small>; không bị sửa sau khi ký.`},
		{"content changed after the seal", modified,
			`<span class="badge warn">Bị sửa sau khi ký</span> Văn bản được ký số bởi cơ quan ban hành Văn phòng Chính phủ <small class="secondary">` + g22 + `</small>; tệp đã bị sửa hoặc thêm nội dung sau khi ký.`},
		{"unsigned", letter,
			`<span class="badge warn">Không có chữ ký số</span> Không có chữ ký số của cơ quan gửi: tệp không có chữ ký số nào.`},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			packet := fixture(t, "edoc-new.xml", "1234/VPCP-KSTT</edXML:DocumentId>", fmt.Sprintf("%d/VPCP-KSTT</edXML:DocumentId>", 2000+i))
			packet = regexp.MustCompile(`(<edXML:ContentTransferEncoded[^>]*>)[^<]+`).ReplaceAll(packet, []byte("${1}"+base64.StdEncoding.EncodeToString(tt.give)))
			id := sendPacket(t, h, g22, packet, time.Time{})
			testwait.Eventually(t, "the letter in H29's inbox", func() bool {
				return strings.Contains(clerk.page("/inbox"), "/doc/"+id)
			})
			section := outsideTech(pdfSectionRE.FindString(clerk.page("/doc/" + id)))
			if !strings.Contains(section, tt.want) {
				t.Errorf("the section lacks %q:\n%s", tt.want, section)
			}
		})
	}
}
