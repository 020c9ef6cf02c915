package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/internal/pdfsig/pdfsigtest"
	"github.com/lienthong/lienthong/internal/pki"
	"github.com/lienthong/lienthong/internal/tooltest"
	"github.com/lienthong/lienthong/internal/trust"
)

// attachmentsOf decodes verification.attachments of a receipt or a
// problem.
func attachmentsOf(t *testing.T, body map[string]any) []trust.Attachment {
	t.Helper()
	raw, err := json.Marshal(body["verification"])
	if err != nil {
		t.Fatal(err)
	}
	var r trust.Report
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	return r.Attachments
}

// The hub verifies the signatures inside PDF attachments that poppler's
// pdfsig made, reports them in the receipt (or the refusal) and the
// recipient's timeline, and applies an agency's organ policy; `lienthong
// verify` says the same of the packet and of a PDF on its own.
func TestPDFSignatures(t *testing.T) {
	for _, tool := range []string{"pdfsig", "certutil", "pk12util", "openssl"} {
		tooltest.Require(t, tool)
	}
	kit := pdfsigtest.New(t)
	issue := func(id, name string) pdfsigtest.Signer {
		iss, err := kit.CA.Issue(id, name, pki.IssueOptions{Algorithm: pki.RSA})
		if err != nil {
			t.Fatal(err)
		}
		return pdfsigtest.Signer{Issued: iss, Nick: kit.NSS.AddKey(t, iss)}
	}
	g22, h29 := issue("000.00.00.G22", "Văn phòng Chính phủ"), issue("000.00.00.H29", "UBND TP HCM")
	sealed := kit.Sign(t, kit.Unsigned(), g22)
	personal := kit.Sign(t, kit.Unsigned(), kit.Person)

	dir := t.TempDir()
	yaml := `hub:
  organId: "000.00.00.G01"
  addr: ` + anyAddr + `
  dataDir: ` + filepath.Join(dir, "data") + `
trust:
  roots: [` + kit.CA.RootPath() + `]
agencies:
  - organId: "000.00.00.G22"
    name: Văn phòng Chính phủ
    tokens: ["` + config.HashToken("g22-token-0123456789") + `"]
    pdfPolicy: organ
  - organId: "000.00.00.H29"
    name: UBND TP HCM
    tokens: ["h29-token-0123456789"]
`
	path := filepath.Join(dir, "lienthong.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := serveConfig(t, path, io.Discard)
	post := func(token string, by pdfsigtest.Signer, packet []byte) (int, map[string]any) {
		t.Helper()
		sig, err := pki.SignDetached(bytes.NewReader(packet), by.Cert, by.Key, by.Chain, pki.SignOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return fedPost(t, addr, token, packet, sig)
	}

	// G22 seals its letter; the annex carries a person's signature.
	sent := pdfsigtest.Letter(t, g22.OrganID, h29.OrganID, "1", sealed, personal)
	code, rc := post("g22-token-0123456789", g22, sent)
	if code != 201 {
		t.Fatalf("sealed letter: %d %v", code, rc)
	}
	atts := attachmentsOf(t, rc)
	if len(atts) != 2 {
		t.Fatalf("%d attachments in the receipt: %v", len(atts), rc["verification"])
	}
	main, annex := atts[0], atts[1]
	if !main.Main || !main.OrganSigned || len(main.Signatures) != 1 || !main.Signatures[0].Valid || main.Signatures[0].OrganID != g22.OrganID {
		t.Errorf("main PDF: %+v", main)
	}
	if annex.Main || annex.OrganSigned || len(annex.Signatures) != 1 || !annex.Signatures[0].Valid || annex.Signatures[0].OrganID != "" ||
		!strings.Contains(annex.Signatures[0].Signer.Subject, pdfsigtest.PersonName) {
		t.Errorf("annex: %+v", annex)
	}

	// The recipient's timeline keeps the verdict in brief.
	id, _ := rc["id"].(string)
	_, tl := fedGet(t, addr, "h29-token-0123456789", "/v1/packets/"+id+"/timeline")
	brief, _ := tl["attachments"].([]any)
	if len(brief) != 2 {
		t.Fatalf("timeline attachments: %v", tl)
	}
	if first, _ := brief[0].(map[string]any); first["organSigned"] != true || first["main"] != true {
		t.Errorf("timeline's main PDF: %v", first)
	}

	// G22's organ policy: a letter only a person signed is refused, with
	// the verdicts that say why.
	code, prob := post("g22-token-0123456789", g22, pdfsigtest.Letter(t, g22.OrganID, h29.OrganID, "2", personal, sealed))
	if code != 422 || prob["code"] != "pdf.organ_signature_missing" {
		t.Fatalf("person-signed letter under the organ policy: %d %v", code, prob)
	}
	if atts := attachmentsOf(t, prob); len(atts) != 2 || atts[0].OrganSigned || !atts[1].OrganSigned {
		t.Errorf("refusal's attachments: %+v", atts)
	}
	// H29 is under the default, report only: its unsigned letter passes,
	// reported unsigned.
	unsigned := pdfsigtest.Letter(t, h29.OrganID, g22.OrganID, "3", kit.Unsigned())
	code, rc = post("h29-token-0123456789", h29, unsigned)
	if atts := attachmentsOf(t, rc); code != 201 || len(atts) != 1 || len(atts[0].Signatures) != 0 || atts[0].OrganSigned {
		t.Fatalf("unsigned letter, report policy: %d %v", code, rc)
	}

	// lienthong verify: the packet, then the PDFs alone.
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	sig, err := pki.SignDetached(bytes.NewReader(unsigned), h29.Cert, h29.Key, h29.Chain, pki.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pkt, p7s := write("unsigned.xml", unsigned), write("unsigned.p7s", sig)
	verify := func(args ...string) (int, trust.Report) {
		t.Helper()
		code, out, errOut := run(t, append([]string{"verify", "--trust", kit.CA.RootPath()}, args...)...)
		var r trust.Report
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("verify %v: %d %v %s %s", args, code, err, out, errOut)
		}
		return code, r
	}
	if code, r := verify(pkt, "--signature", p7s); code != 0 || len(r.Attachments) != 1 || r.Attachments[0].Name != "tep-0.pdf" {
		t.Errorf("verify packet: %d %+v", code, r)
	}
	if code, r := verify(pkt, "--signature", p7s, "--pdf-policy", "organ"); code != 1 || r.Valid || r.Errors[0].Code != "pdf.organ_signature_missing" {
		t.Errorf("verify packet, organ policy: %d %+v", code, r)
	}
	if code, r := verify(write("sealed.pdf", sealed), "--from", g22.OrganID); code != 0 || !r.Valid || !r.Attachments[0].OrganSigned {
		t.Errorf("verify sealed.pdf: %d %+v", code, r)
	}
	if code, r := verify(write("personal.pdf", personal), "--from", g22.OrganID); code != 1 || r.Valid {
		t.Errorf("verify personal.pdf --from G22: %d %+v", code, r)
	}
	if code, r := verify(write("unsigned.pdf", kit.Unsigned())); code != 1 || r.Errors[0].Code != trust.CodeMissing {
		t.Errorf("verify unsigned.pdf: %d %+v", code, r)
	}
}
