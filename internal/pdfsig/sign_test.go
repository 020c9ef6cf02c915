package pdfsig

import (
	"bytes"
	"context"
	"crypto"
	"crypto/md5" //nolint:gosec // the standard security handler's key derivation
	"crypto/rc4" //nolint:gosec // the standard security handler's cipher
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/digitorus/pkcs7"
	"github.com/klippa-app/go-pdfium"
	"github.com/klippa-app/go-pdfium/requests"

	"github.com/lienthong/lienthong/internal/pdfsig/pdfsigtest"
	"github.com/lienthong/lienthong/internal/pki"
	"github.com/lienthong/lienthong/internal/tooltest"
	"github.com/lienthong/lienthong/internal/tsa"
)

// ecOrganID is the organ of the ECDSA key the kit's CA issues for these
// tests; its name is Vietnamese, which the visible box folds to ASCII.
const (
	ecOrganID   = "000.00.00.G05"
	ecOrganName = "Ủy ban nhân dân tỉnh Đồng Nai"
)

// signKit is what the signing tests share: the kit's roots, an RSA organ
// (the kit's own) and an ECDSA P-256 organ under the same CA, the unsigned
// PDF and that PDF signed by the competent person with poppler's pdfsig.
type signKit struct {
	ca       *pki.CA
	roots    []*x509.Certificate
	rsa, ec  *pki.Issued
	unsigned []byte
	person   []byte
	inField  []byte // the kit's organ signature in a field the file had (pdfsig -sign)
}

var (
	signKitOnce sync.Once
	signKitVal  *signKit
)

func newSignKit(t testing.TB) *signKit {
	t.Helper()
	for _, tool := range []string{"pdfsig", "certutil", "pk12util", "openssl"} {
		tooltest.Require(t, tool)
	}
	signKitOnce.Do(func() {
		k := pdfsigtest.New(t)
		ec, err := k.CA.Issue(ecOrganID, ecOrganName, pki.IssueOptions{Algorithm: pki.ECDSA})
		if err != nil {
			t.Fatal(err)
		}
		signKitVal = &signKit{ca: k.CA, roots: k.Roots(), rsa: k.Organ.Issued, ec: ec, unsigned: k.Unsigned()}
		signKitVal.person = k.Sign(t, signKitVal.unsigned, k.Person)
		signKitVal.inField = k.InField(t)
	})
	if signKitVal == nil {
		t.Fatal("the signing kit failed in an earlier test")
	}
	return signKitVal
}

func organOptions(iss *pki.Issued) SignOptions {
	return SignOptions{Cert: iss.Cert, Chain: iss.Chain, Key: iss.Key, Reason: "Phát hành", Location: "Hà Nội"}
}

func signPDF(t testing.TB, e *Engine, pdf []byte, o SignOptions) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := e.Sign(context.Background(), &out, bytes.NewReader(pdf), int64(len(pdf)), o); err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return out.Bytes()
}

// Signing is held to poppler's pdfsig and to Verify: the new signature is
// valid, trusted and covers the file; one already there stays valid, and
// what was added after it is only annotations (the new signature's widget).
func TestSign(t *testing.T) {
	k := newSignKit(t)
	e := engine(t)
	v := verifier(t, k.roots)
	tests := []struct {
		name    string
		give    []byte
		key     *pki.Issued
		visible bool
		wantID  string
	}{
		{name: "unsigned rsa", give: k.unsigned, key: k.rsa, wantID: pdfsigtest.OrganID},
		{name: "unsigned ecdsa", give: k.unsigned, key: k.ec, wantID: ecOrganID},
		{name: "unsigned rsa visible", give: k.unsigned, key: k.rsa, visible: true, wantID: pdfsigtest.OrganID},
		{name: "person-signed rsa", give: k.person, key: k.rsa, wantID: pdfsigtest.OrganID},
		{name: "person-signed ecdsa visible", give: k.person, key: k.ec, visible: true, wantID: ecOrganID},
		{name: "signed in a field, ecdsa visible", give: k.inField, key: k.ec, visible: true, wantID: ecOrganID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := organOptions(tt.key)
			o.Visible = tt.visible
			start := time.Now()
			got := signPDF(t, e, tt.give, o)
			t.Logf("%d bytes signed in %v, %d bytes added", len(tt.give), time.Since(start), len(got)-len(tt.give))
			if !bytes.HasPrefix(got, tt.give) {
				t.Fatal("the signed file does not start with the input: not an incremental update")
			}
			// A certification signature (DocMDP, pdfsign's default) forbids
			// later signatures where readers enforce it (Acrobat); pdfsig
			// 22.12 and Verify do not look.
			if bytes.Contains(got[len(tt.give):], []byte("/DocMDP")) {
				t.Error("a certification signature: the update has /DocMDP")
			}
			before := len(pdfsigtest.Poppler(t, tt.give, k.roots...).Signatures)
			want := before + 1

			pop := pdfsigtest.Poppler(t, got, k.roots...)
			if len(pop.Signatures) != want {
				t.Fatalf("pdfsig sees %d signatures, want %d\n%s", len(pop.Signatures), want, pop.Output)
			}
			for i, s := range pop.Signatures {
				if s.Status != pdfsigtest.SigValid || s.Cert != pdfsigtest.CertTrusted {
					t.Errorf("pdfsig: signature %d %s/%s\n%s", i, s.Status, s.Cert, pop.Output)
				}
				if last := i == want-1; s.Total != last {
					t.Errorf("pdfsig: signature %d total %v, want %v", i, s.Total, last)
				}
			}
			if last := pop.Signatures[want-1]; !strings.Contains(last.SignerDN, tt.wantID) {
				t.Errorf("pdfsig: signer %q, want UID %s", last.SignerDN, tt.wantID)
			}

			a := e.Verify(context.Background(), v, bytes.NewReader(got), int64(len(got)), VerifyOptions{From: tt.wantID})
			if len(a.Errors) != 0 || len(a.Signatures) != want {
				t.Fatalf("Verify: errors %v, %d signatures, want %d", a.Errors, len(a.Signatures), want)
			}
			for i := range a.Signatures {
				s := a.Signatures[i]
				if !s.Valid {
					t.Errorf("Verify: signature %d invalid: %v", i, s.Errors)
				}
				if i < want-1 && (s.CoversWholeFile || s.Changes != ChangesSignatures) {
					t.Errorf("Verify: earlier signature %d: whole %v, changes %q, want annotations", i, s.CoversWholeFile, s.Changes)
				}
			}
			last := a.Signatures[want-1]
			if last.OrganID != tt.wantID || !last.CoversWholeFile || last.Changes != ChangesNone || last.Reason != o.Reason {
				t.Errorf("Verify: new signature organ %q whole %v changes %q reason %q", last.OrganID, last.CoversWholeFile, last.Changes, last.Reason)
			}
			if !a.OrganSigned {
				t.Error("Verify: not organSigned")
			}
		})
	}
}

// Signing a signed file again appends a third signature; all hold.
func TestSignTwice(t *testing.T) {
	k := newSignKit(t)
	e := engine(t)
	once := signPDF(t, e, k.person, organOptions(k.ec))
	twice := signPDF(t, e, once, organOptions(k.rsa))
	pop := pdfsigtest.Poppler(t, twice, k.roots...)
	if len(pop.Signatures) != 3 {
		t.Fatalf("pdfsig sees %d signatures\n%s", len(pop.Signatures), pop.Output)
	}
	for i, s := range pop.Signatures {
		if s.Status != pdfsigtest.SigValid || s.Cert != pdfsigtest.CertTrusted || s.Total != (i == 2) {
			t.Errorf("pdfsig: signature %d %s/%s total %v", i, s.Status, s.Cert, s.Total)
		}
	}
	a := e.Verify(context.Background(), verifier(t, k.roots), bytes.NewReader(twice), int64(len(twice)), VerifyOptions{})
	if len(a.Signatures) != 3 {
		t.Fatalf("Verify: %d signatures, errors %v", len(a.Signatures), a.Errors)
	}
	for i := range a.Signatures {
		if s := a.Signatures[i]; !s.Valid || (i < 2 && s.Changes != ChangesSignatures) {
			t.Errorf("Verify: signature %d valid %v changes %q: %v", i, s.Valid, s.Changes, s.Errors)
		}
	}
}

// The visible signature is a widget with an area on the last page and
// changes how that page looks; the invisible one has no area and changes
// nothing on the page.
func TestSignVisible(t *testing.T) {
	k := newSignKit(t)
	e := engine(t)
	invisible := signPDF(t, e, k.unsigned, organOptions(k.ec))
	o := organOptions(k.ec)
	o.Visible = true
	o.Time = time.Date(2026, 12, 7, 14, 30, 0, 0, time.FixedZone("ICT", 7*3600))
	visible := signPDF(t, e, k.unsigned, o)

	if w, h := widgetSize(t, e, visible); w < 100 || h < 20 {
		t.Errorf("visible: widget %.0f×%.0f pt", w, h)
	}
	if w, h := widgetSize(t, e, invisible); w != 0 || h != 0 {
		t.Errorf("invisible: widget %.0f×%.0f pt", w, h)
	}
	want := "Uy ban nhan dan tinh Dong Nai, 2026-12-07 14:30 +07:00"
	if !bytes.Contains(visible, []byte("("+want+") Tj")) {
		t.Errorf("the appearance does not show %q", want)
	}
	page := render(t, k.unsigned)
	if bytes.Equal(render(t, visible), page) {
		t.Error("visible: the last page renders as the unsigned one")
	}
	if !bytes.Equal(render(t, invisible), page) {
		t.Error("invisible: the last page renders differently from the unsigned one")
	}
}

// widgetSize is the size of the last page's signature widget as pdfium
// reads it, 0×0 when there is none or it has no area.
func widgetSize(t *testing.T, e *Engine, pdf []byte) (w, h float64) {
	t.Helper()
	err := e.with(context.Background(), func(inst pdfium.Pdfium) error {
		doc, err := inst.OpenDocument(&requests.OpenDocument{File: &pdf})
		if err != nil {
			return err
		}
		defer inst.FPDF_CloseDocument(&requests.FPDF_CloseDocument{Document: doc.Document}) //nolint:errcheck // test
		pc, err := inst.FPDF_GetPageCount(&requests.FPDF_GetPageCount{Document: doc.Document})
		if err != nil {
			return err
		}
		pg, err := inst.FPDF_LoadPage(&requests.FPDF_LoadPage{Document: doc.Document, Index: pc.PageCount - 1})
		if err != nil {
			return err
		}
		defer inst.FPDF_ClosePage(&requests.FPDF_ClosePage{Page: pg.Page}) //nolint:errcheck // test
		page := requests.Page{ByReference: &pg.Page}
		n, err := inst.FPDFPage_GetAnnotCount(&requests.FPDFPage_GetAnnotCount{Page: page})
		if err != nil {
			return err
		}
		for i := range n.Count {
			an, err := inst.FPDFPage_GetAnnot(&requests.FPDFPage_GetAnnot{Page: page, Index: i})
			if err != nil {
				return err
			}
			r, err := inst.FPDFAnnot_GetRect(&requests.FPDFAnnot_GetRect{Annotation: an.Annotation})
			inst.FPDFPage_CloseAnnot(&requests.FPDFPage_CloseAnnot{Annotation: an.Annotation}) //nolint:errcheck,gosec // test
			if err != nil {
				return err
			}
			w, h = float64(r.Rect.Right-r.Rect.Left), float64(r.Rect.Top-r.Rect.Bottom)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return w, h
}

// render draws the last page with poppler's pdftoppm (grey, 36 dpi).
func render(t *testing.T, pdf []byte) []byte {
	t.Helper()
	bin := tooltest.Require(t, "pdftoppm")
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(t.Context(), bin, "-gray", "-r", "36", "-f", "2", "-l", "2", "-singlefile", in).Output()
	if err != nil || len(out) < 100 {
		t.Fatalf("pdftoppm: %v (%d bytes)", err, len(out))
	}
	return out
}

// noPages is a well-formed PDF (its xref offsets right) with no page.
const noPages = "%PDF-1.7\n" +
	"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n" +
	"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n" +
	"xref\n0 3\n0000000000 65535 f \n0000000009 00000 n \n0000000058 00000 n \n" +
	"trailer\n<< /Size 3 /Root 1 0 R >>\nstartxref\n110\n%%EOF\n"

// encrypted returns pdf with a standard security handler (revision 2,
// RC4, empty user password: it opens without one, as permission-locked
// files do) declared in its trailer. Its strings and streams are not
// actually encrypted; readers open it all the same.
func encrypted(t *testing.T, pdf []byte) []byte {
	t.Helper()
	pad := []byte("\x28\xbf\x4e\x5e\x4e\x75\x8a\x41\x64\x00\x4e\x56\xff\xfa\x01\x08" +
		"\x2e\x2e\x00\xb6\xd0\x68\x3e\x80\x2f\x0c\xa9\xfe\x64\x53\x69\x7a")
	rc4 := func(key, b []byte) []byte {
		c, err := rc4.NewCipher(key)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]byte, len(b))
		c.XORKeyStream(out, b)
		return out
	}
	ownerKey := md5.Sum(pad) // owner password empty too
	o := rc4(ownerKey[:5], pad)
	id := bytes.Repeat([]byte{0x42}, 16)
	p := int32(-4) // every permission
	var pb [4]byte
	binary.LittleEndian.PutUint32(pb[:], uint32(p))
	key := md5.Sum(slices.Concat(pad, o, pb[:], id))
	u := rc4(key[:5], pad)
	enc := fmt.Sprintf("/Encrypt << /Filter /Standard /V 1 /R 2 /O <%x> /U <%x> /P %d >> /ID [<%x> <%x>] >>\nstartxref", o, u, p, id, id)
	i := bytes.LastIndex(pdf, []byte(">>\nstartxref"))
	if i < 0 {
		t.Fatal("no trailer")
	}
	return slices.Concat(pdf[:i], []byte(enc), pdf[i+len(">>\nstartxref"):])
}

// textField is a PDF with an empty text field "Reply": the kit's empty
// signature field made a text field, the bytes' lengths unchanged.
func textField(t *testing.T) []byte {
	t.Helper()
	pdf := pdfsigtest.Doc{Pages: []string{pdfsigtest.Page1}, SigField: "Reply"}.Bytes()
	out := bytes.Replace(pdf, []byte("/FT /Sig /T"), []byte("/FT /Tx  /T"), 1)
	if bytes.Equal(out, pdf) {
		t.Fatal("no signature field to turn into a text field")
	}
	return out
}

// What Sign refuses, with the stable code, and writes nothing.
func TestSignRefuses(t *testing.T) {
	k := newSignKit(t)
	e := engine(t)
	u := k.unsigned
	tests := []struct {
		name     string
		give     []byte
		max      int64
		wantCode string
		wantMsg  string
	}{
		{name: "not a pdf", give: []byte("<edXMLEnvelope/>"), wantCode: CodeMalformed, wantMsg: "not a PDF"},
		{name: "empty", give: nil, wantCode: CodeMalformed, wantMsg: "not a PDF"},
		{name: "header only", give: []byte("%PDF-1.7\n"), wantCode: CodeMalformed},
		{name: "garbage after the header", give: append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("\x00garbage obj <<"), 200)...), wantCode: CodeMalformed},
		{name: "truncated", give: u[:len(u)*2/3], wantCode: CodeMalformed},
		// pdfium repairs it; digitorus/pdfsign's parser would spin on it.
		{name: "truncated signed", give: k.person[:len(k.person)-200], wantCode: CodeMalformed, wantMsg: "cross-reference table is broken"},
		{name: "no pages", give: []byte(noPages), wantCode: CodeMalformed, wantMsg: "no pages"},
		{name: "encrypted", give: encrypted(t, u), wantCode: CodeUnsupported, wantMsg: "encrypted"},
		{name: "a text field", give: textField(t), wantCode: CodeUnsupported, wantMsg: `form field "Reply"`},
		{name: "over the cap", give: u, max: int64(len(u) - 1), wantCode: CodeTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := organOptions(k.rsa)
			o.MaxBytes = tt.max
			var out bytes.Buffer
			err := e.Sign(context.Background(), &out, bytes.NewReader(tt.give), int64(len(tt.give)), o)
			t.Log(err)
			var pe *Error
			if !errors.As(err, &pe) || pe.Code != tt.wantCode || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("err = %v, want code %s with %q", err, tt.wantCode, tt.wantMsg)
			}
			if out.Len() != 0 {
				t.Errorf("%d bytes written", out.Len())
			}
		})
	}
}

// sleepyReaderAt takes its time over every read.
type sleepyReaderAt struct{ r *bytes.Reader }

func (s sleepyReaderAt) ReadAt(p []byte, off int64) (int, error) {
	time.Sleep(300 * time.Millisecond)
	return s.r.ReadAt(p, off)
}

// The engine's deadline bounds Sign and is reported as pdf.timeout.
func TestSignDeadline(t *testing.T) {
	k := newSignKit(t)
	e, err := New(context.Background(), Options{Deadline: 200 * time.Millisecond, CacheDir: cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close() //nolint:errcheck // test
	var out bytes.Buffer
	start := time.Now()
	err = e.Sign(context.Background(), &out, sleepyReaderAt{bytes.NewReader(k.unsigned)}, int64(len(k.unsigned)), organOptions(k.rsa))
	var pe *Error
	if d := time.Since(start); !errors.As(err, &pe) || pe.Code != CodeTimeout || d > time.Second || out.Len() != 0 {
		t.Errorf("err = %v after %v, %d bytes written; want %s within 1 s", err, d, out.Len(), CodeTimeout)
	}
}

// A key that is not the certificate's is refused before the file is read,
// without a pdf code: the file is not at fault.
func TestSignKeyMismatch(t *testing.T) {
	k := newSignKit(t)
	o := organOptions(k.rsa)
	o.Key = k.ec.Key
	var out bytes.Buffer
	err := engine(t).Sign(context.Background(), &out, bytes.NewReader(k.unsigned), int64(len(k.unsigned)), o)
	var pe *Error
	if !errors.Is(err, pki.ErrKeyMismatch) || errors.As(err, &pe) || out.Len() != 0 {
		t.Errorf("err = %v, %d bytes written", err, out.Len())
	}
}

// FuzzSign: whatever the bytes, Sign returns within the deadline, without
// a panic, and either refuses with a pdf code or writes a file that begins
// with the input and that pdfium reads with one more signature.
func FuzzSign(f *testing.F) {
	fuzzing := flag.Lookup("test.fuzz").Value.String() != ""
	ca, err := pki.Init(filepath.Join(f.TempDir(), "ca"), pki.InitOptions{})
	if err != nil {
		f.Fatal(err)
	}
	iss, err := ca.Issue(ecOrganID, ecOrganName, pki.IssueOptions{})
	if err != nil {
		f.Fatal(err)
	}
	_, fs := fixtures(f)
	for _, fx := range fs {
		if fuzzing && len(fx.PDF) > 64<<10 {
			continue
		}
		f.Add(fx.PDF, false)
	}
	f.Add(pdfsigtest.Write("x"), true)
	f.Add([]byte("%PDF-1.7\nxref\n0 1\n0000000000 65535 f \ntrailer\n<< /Size 1 /Prev 9 >>\nstartxref\n9\n%%EOF\n"), false)
	e := engine(f)
	f.Fuzz(func(t *testing.T, data []byte, visible bool) {
		o := organOptions(iss)
		o.Visible = visible
		var out bytes.Buffer
		start := time.Now()
		err := e.Sign(context.Background(), &out, bytes.NewReader(data), int64(len(data)), o)
		if d := time.Since(start); d > 4*time.Second {
			t.Errorf("took %v", d)
		}
		if err != nil {
			t.Log(err)
			var pe *Error
			if !errors.As(err, &pe) || !strings.HasPrefix(pe.Code, "pdf.") {
				t.Errorf("error without a pdf code: %v", err)
			}
			return
		}
		if !bytes.HasPrefix(out.Bytes(), data) {
			t.Error("the signed file does not begin with the input")
		}
	})
}

// With a TSA, the signature carries a time-stamp token over its value
// (PAdES B-T) that internal/tsa verifies, and stays valid for pdfsig.
func TestSignTSA(t *testing.T) {
	k := newSignKit(t)
	e := engine(t)
	dev, err := tsa.DevServer(k.ca, tsa.ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(dev)
	defer srv.Close()
	o := organOptions(k.ec)
	o.TSA = srv.URL
	got := signPDF(t, e, k.unsigned, o)
	pop := pdfsigtest.Poppler(t, got, k.roots...)
	if len(pop.Signatures) != 1 || pop.Signatures[0].Status != pdfsigtest.SigValid || pop.Signatures[0].Cert != pdfsigtest.CertTrusted {
		t.Fatalf("pdfsig:\n%s", pop.Output)
	}
	doc, err := e.inspect(context.Background(), got)
	if err != nil || len(doc.sigs) != 1 {
		t.Fatalf("inspect: %v, %d signatures", err, len(doc.sigs))
	}
	p7, err := pkcs7.Parse(trimDER(doc.sigs[0].contents))
	if err != nil {
		t.Fatal(err)
	}
	var token []byte
	for _, a := range p7.Signers[0].UnauthenticatedAttributes {
		if a.Type.Equal(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 14}) {
			token = a.Value.Bytes
		}
	}
	if token == nil {
		t.Fatal("no signature time-stamp token in the CMS")
	}
	sum := sha256.Sum256(p7.Signers[0].EncryptedDigest)
	pool := x509.NewCertPool()
	pool.AddCert(k.ca.Root())
	at, err := tsa.Verify(token, sum[:], crypto.SHA256, pool, nil)
	if err != nil || time.Since(at).Abs() > time.Minute {
		t.Errorf("tsa.Verify = %v, %v", at, err)
	}
}

// A TSA that fails is the TSA's problem, not the file's: no pdf code.
func TestSignTSAFails(t *testing.T) {
	k := newSignKit(t)
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	o := organOptions(k.ec)
	o.TSA = srv.URL
	var out bytes.Buffer
	err := engine(t).Sign(context.Background(), &out, bytes.NewReader(k.unsigned), int64(len(k.unsigned)), o)
	var pe *Error
	if err == nil || errors.As(err, &pe) || out.Len() != 0 {
		t.Errorf("err = %v, %d bytes written", err, out.Len())
	}
}
