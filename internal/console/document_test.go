package console_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/console"
	"github.com/lienthong/lienthong/internal/hub"
	"github.com/lienthong/lienthong/internal/hubtest"
	"github.com/lienthong/lienthong/internal/pki"
	"github.com/lienthong/lienthong/internal/testwait"
	"github.com/lienthong/lienthong/internal/track"
)

var (
	techRE = regexp.MustCompile(`(?s)<details class="tech">.*?</details>`)
	tagRE  = regexp.MustCompile(`(?s)<[^>]*>`)
)

// visible is a page's text as read, without tags and their attributes.
func visible(page string) string { return tagRE.ReplaceAllString(page, " ") }

// techOnly is what a page shows inside its technical disclosures.
func techOnly(page string) string { return strings.Join(techRE.FindAllString(page, -1), "\n") }

// outsideTech is a page without its technical disclosures: what a clerk
// reads without opening them.
func outsideTech(page string) string { return techRE.ReplaceAllString(page, "") }

// fixture reads an edXML fixture and applies the replacements old → new.
func fixture(t *testing.T, name string, replace ...string) []byte {
	t.Helper()
	b, err := os.ReadFile("../edxml/testdata/fixtures/" + name)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for i := 0; i+1 < len(replace); i += 2 {
		if !strings.Contains(s, replace[i]) {
			t.Fatalf("fixture %s lacks %q", name, replace[i])
		}
		s = strings.Replace(s, replace[i], replace[i+1], 1)
	}
	return []byte(s)
}

// sendPacket posts packet through the REST API as from, signed with its
// key at signedAt (now when zero), and returns its packet id.
func sendPacket(t *testing.T, h *hubtest.Hub, from string, packet []byte, signedAt time.Time) string {
	t.Helper()
	a := h.Agencies[from]
	sig, err := pki.SignDetached(bytes.NewReader(packet), a.Cert.Cert, a.Cert.Key, a.Cert.Chain, pki.SignOptions{Time: signedAt})
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	w, _ := mw.CreateFormFile("signature", "packet.p7s")
	_, _ = w.Write(sig)
	w, _ = mw.CreateFormFile("packet", "packet.xml")
	_, _ = w.Write(packet)
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, h.URL+"/v1/packets", &body)
	req.Header.Set("Authorization", "Bearer "+a.Token)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rc struct {
		ID string `json:"id"`
	}
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(raw, &rc) != nil || rc.ID == "" {
		t.Fatalf("send: %d %s", resp.StatusCode, raw)
	}
	return rc.ID
}

// namedConsole runs a console with the test directory (agencies named
// "Cơ quan <id>") whose G22 and H29 clerks hold their keys, and signs
// both in.
func namedConsole(t *testing.T, h *hubtest.Hub) (g22Clerk, h29Clerk *browser) {
	t.Helper()
	hash, err := console.HashPassword("mật khẩu đúng")
	if err != nil {
		t.Fatal(err)
	}
	base := serveConsole(t, console.Options{
		Hub: h.Hub,
		Accounts: []console.Account{
			{Username: "vanthu.h29", PasswordHash: hash, Role: console.RoleClerk, OrganID: h29},
			{Username: "vanthu.g22", PasswordHash: hash, Role: console.RoleClerk, OrganID: g22},
		},
		Signers:   hosted(h, g22, h29),
		Directory: testDirectory(t),
	})
	g22Clerk, h29Clerk = newBrowser(t, base), newBrowser(t, base)
	if code, _ := g22Clerk.login("vanthu.g22", "mật khẩu đúng"); code != http.StatusSeeOther {
		t.Fatalf("G22 sign in: %d", code)
	}
	if code, _ := h29Clerk.login("vanthu.h29", "mật khẩu đúng"); code != http.StatusSeeOther {
		t.Fatalf("H29 sign in: %d", code)
	}
	return g22Clerk, h29Clerk
}

var (
	signedAtRE = regexp.MustCompile(`<dd class="signed-at">([^<]+)</dd>`)
	sigCodeRE  = regexp.MustCompile(`\bsig\.[a-z_]+`)
)

// The document page says in plain Vietnamese what a clerk needs; codes,
// certificate details and ids are behind "Chi tiết kỹ thuật"; agencies are
// named by the directory; the signing time and the timeline are in one
// zone.
func TestDocumentPagePlain(t *testing.T) {
	// The hub's clock stands still, so the signature's time and the hub's
	// acceptance are one moment.
	at := time.Now().UTC().Truncate(time.Second)
	h := hubtest.Start(t, hubtest.Options{Hub: func(o *hub.Options) { o.Now = func() time.Time { return at } }})
	sender, clerk := namedConsole(t, h)
	id := sendPacket(t, h, g22, fixture(t, "edoc-new.xml"), at)
	testwait.Eventually(t, "the letter in H29's inbox", func() bool {
		return strings.Contains(clerk.page("/inbox"), "/doc/"+id)
	})
	page := clerk.page("/doc/" + id)
	if err := h.Hub.Ack(t.Context(), h29, id, "done", ""); err != nil {
		t.Fatal(err)
	}
	testwait.Eventually(t, "the acknowledgement on G22's timeline", func() bool {
		tl, err := h.Hub.Timeline(g22, id)
		return err == nil && len(tl.Recipients) == 1 && slices.ContainsFunc(tl.Recipients[0].Events, func(e track.Event) bool { return e.Type == track.EventAcked })
	})
	spage := sender.page("/doc/" + id)
	if !strings.Contains(spage, "Hệ thống của đơn vị nhận xác nhận đã nhận văn bản") {
		t.Errorf("the acknowledgement is not in words: %s", spage)
	}
	tech := techOnly(page)
	for _, p := range []struct{ who, page string }{{"H29", page}, {"G22", spage}} {
		for _, bad := range []string{"revocation status", "is unknown", "cms ·", "(done)", "0.9.2342", "MiB", "application/pdf (", "Mã loại"} {
			if strings.Contains(p.page, bad) {
				t.Errorf("%s's page shows %q: %s", p.who, bad, p.page)
			}
		}
		plain := visible(outsideTech(p.page))
		if m := sigCodeRE.FindString(plain); m != "" {
			t.Errorf("%s's page shows the code %q outside the technical details: %s", p.who, m, plain)
		}
		for _, raw := range []string{id, "000.00.00.G22,2025/11/20,1234/VPCP-KSTT", "application/pdf", "parse, ", "SHA-256"} {
			if strings.Contains(plain, raw) {
				t.Errorf("%s's page shows %q outside the technical details", p.who, raw)
			}
		}
	}
	for _, want := range []string{
		// The verdict in one plain line.
		"Chữ ký số hợp lệ; chưa kiểm tra được tình trạng thu hồi của chứng thư số vì không có CRL của đơn vị cấp.",
		// Agencies by the directory's name, the code secondary.
		`Cơ quan 000.00.00.G22 <small class="secondary">` + g22 + `</small>`,
		`Cơ quan 000.00.00.H29 <small class="secondary">` + h29 + `</small>`,
		"<dd>Văn bản mới</dd>", "<dd>Khẩn</dd>", `<summary>Chi tiết kỹ thuật</summary>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("H29's page lacks %q: %s", want, page)
		}
	}
	for _, want := range []string{"sig.revocation_unknown", "UID=" + g22, "Chữ ký rời (CMS)", id, "<code>digest</code>"} {
		if !strings.Contains(tech, want) {
			t.Errorf("the technical details lack %q: %s", want, tech)
		}
	}
	if !strings.Contains(spage, "Lấy lại từ Cơ quan "+h29) {
		t.Errorf("the take-back button does not name the recipient: %s", spage)
	}
	// One moment, one rendering: the signing time and the hub's
	// acceptance, both in Vietnam time.
	hcm, err := time.LoadLocation("Asia/Ho_Chi_Minh")
	if err != nil {
		t.Fatal(err)
	}
	want := at.In(hcm).Format("02/01/2006 15:04")
	m := signedAtRE.FindStringSubmatch(page)
	if m == nil || m[1] != want {
		t.Fatalf("signing time %v, want %s", m, want)
	}
	if !regexp.MustCompile(`<time [^>]*>` + regexp.QuoteMeta(m[1]) + `</time> · Trục liên thông đã nhận văn bản`).MatchString(page) {
		t.Errorf("the timeline's acceptance is not shown as %s, the signing time: %s", m[1], page)
	}
}

// A packet from G12 that carries G22's OrganName shows G12's name from
// the directory, with a warning.
func TestOrganNameMismatch(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	_, clerk := namedConsole(t, h)
	packet := fixture(t, "edoc-new.xml",
		"<edXML:OrganId>000.00.00.G22</edXML:OrganId>", "<edXML:OrganId>000.00.00.G12</edXML:OrganId>",
		"<edXML:OrganName>Văn phòng Chính phủ</edXML:OrganName>", "<edXML:OrganName>Cơ quan 000.00.00.G22</edXML:OrganName>",
		"<edXML:OrganName>UBND Thành phố Hồ Chí Minh</edXML:OrganName>", "<edXML:OrganName>Cơ quan 000.00.00.H29</edXML:OrganName>")
	id := sendPacket(t, h, g12, packet, time.Time{})
	testwait.Eventually(t, "the letter in H29's inbox", func() bool {
		return strings.Contains(clerk.page("/inbox"), "/doc/"+id)
	})
	page := clerk.page("/doc/" + id)
	from := page[strings.Index(page, "<dt>Nơi gửi</dt>"):strings.Index(page, "<dt>Nơi nhận</dt>")]
	if !strings.Contains(from, "Cơ quan "+g12) || !strings.Contains(from, `<p class="warning" role="note">Tên cơ quan trong văn bản (Cơ quan 000.00.00.G22) khác với tên trong danh bạ của trục</p>`) {
		t.Errorf("no warning on G12 sending as G22: %s", from)
	}
	// The recipient's name matches the directory: no warning for it.
	if n := strings.Count(page, `class="warning"`); n != 1 {
		t.Errorf("%d warnings, want 1: %s", n, page)
	}
}

// A PDF attachment (by its bytes) is previewed in a frame the console
// alone may embed; anything else is a download, whatever the query.
func TestAttachmentPreview(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	_, clerk := namedConsole(t, h)
	pdfID := sendPacket(t, h, g22, fixture(t, "edoc-new.xml"), time.Time{})
	// Declared a PDF, named .pdf, but its bytes are HTML.
	fake := base64.StdEncoding.EncodeToString([]byte("<html><script>alert(1)</script></html>"))
	packet := fixture(t, "edoc-new.xml", "1234/VPCP-KSTT</edXML:DocumentId>", "1235/VPCP-KSTT</edXML:DocumentId>")
	packet = regexp.MustCompile(`(<edXML:ContentTransferEncoded[^>]*>)[^<]+`).ReplaceAll(packet, []byte("${1}"+fake))
	fakeID := sendPacket(t, h, g22, packet, time.Time{})
	testwait.Eventually(t, "both letters in H29's inbox", func() bool {
		in := clerk.page("/inbox")
		return strings.Contains(in, "/doc/"+pdfID) && strings.Contains(in, "/doc/"+fakeID)
	})

	page := clerk.page("/doc/" + pdfID)
	frame := `<iframe class="preview" src="/doc/` + pdfID + `/file/0?inline=1" title="Xem trước: CV-1234-VPCP-KSTT.pdf"`
	if !strings.Contains(page, frame) || !strings.Contains(page, `<small class="secondary">PDF, 706 B</small>`) {
		t.Errorf("no preview frame or kind and size: %s", page)
	}
	code, body, hdr := clerk.raw("/doc/" + pdfID + "/file/0?inline=1")
	if code != http.StatusOK || !bytes.HasPrefix(body, []byte("%PDF-")) {
		t.Fatalf("inline PDF: %d %q", code, body)
	}
	cd, params, err := mime.ParseMediaType(hdr.Get("Content-Disposition"))
	for _, c := range []struct{ name, got, want string }{
		{"Content-Type", hdr.Get("Content-Type"), "application/pdf"},
		{"disposition", cd, "inline"},
		{"filename", params["filename"], "CV-1234-VPCP-KSTT.pdf"},
		{"nosniff", hdr.Get("X-Content-Type-Options"), "nosniff"},
		{"X-Frame-Options", hdr.Get("X-Frame-Options"), "SAMEORIGIN"},
	} {
		if err != nil || c.got != c.want {
			t.Errorf("inline %s: %q, want %q (%v)", c.name, c.got, c.want, err)
		}
	}
	if csp := hdr.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'self'") || !strings.Contains(hdr.Get("Content-Disposition"), "filename*=UTF-8''") {
		t.Errorf("inline CSP %q, disposition %q", csp, hdr.Get("Content-Disposition"))
	}
	// Everything else still may not be framed: the download, the page.
	for _, path := range []string{"/doc/" + pdfID + "/file/0", "/doc/" + pdfID} {
		_, _, hdr := clerk.raw(path)
		if hdr.Get("X-Frame-Options") != "DENY" || !strings.Contains(hdr.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Errorf("%s may be framed: %v", path, hdr)
		}
		if strings.HasSuffix(path, "/file/0") && !strings.HasPrefix(hdr.Get("Content-Disposition"), "attachment;") {
			t.Errorf("download disposition: %q", hdr.Get("Content-Disposition"))
		}
	}

	// The fake PDF: no frame, and never inline.
	if page := clerk.page("/doc/" + fakeID); strings.Contains(page, "<iframe") || strings.Contains(page, ">PDF,") {
		t.Errorf("a non-PDF is previewed or called PDF: %s", page)
	}
	_, _, hdr = clerk.raw("/doc/" + fakeID + "/file/0?inline=1")
	if cd := hdr.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") || hdr.Get("X-Frame-Options") != "DENY" ||
		strings.Contains(hdr.Get("Content-Security-Policy"), "'self'; form") {
		t.Errorf("a non-PDF served inline: %v", hdr)
	}
}

// A status packet's page says it in one sentence, the agency by name.
func TestStatusPagePlain(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	sender, clerk := namedConsole(t, h)
	id := sendPacket(t, h, g22, fixture(t, "edoc-new.xml"), time.Time{})
	testwait.Eventually(t, "the letter in H29's inbox", func() bool {
		return strings.Contains(clerk.page("/inbox"), "/doc/"+id)
	})
	clerk.page("/doc/" + id) // sends the 01
	var statusID string
	testwait.Eventually(t, "the 01 at G22", func() bool {
		items, _, err := h.Hub.Inbox(g22, "status", 100, "")
		if err != nil || len(items) != 1 {
			return false
		}
		statusID = items[0].ID
		return true
	})
	page := sender.page("/doc/" + statusID)
	if !regexp.MustCompile(`Cơ quan 000\.00\.00\.H29 báo: Văn bản số 1234/VPCP-KSTT đã đến hệ thống lúc \d\d/\d\d/\d{4} \d\d:\d\d\.`).MatchString(page) {
		t.Errorf("the status page does not say it plainly: %s", page)
	}
	if !strings.Contains(page, `<a href="/doc/`+id+`">Xem văn bản</a>`) {
		t.Errorf("the status page does not link to the document: %s", page)
	}
	if strings.Contains(visible(outsideTech(page)), "000.00.00.G22,2025") {
		t.Errorf("the DocumentId is shown outside the technical details: %s", page)
	}
}
