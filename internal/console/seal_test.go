package console_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/internal/console"
	"github.com/lienthong/lienthong/internal/hubtest"
	"github.com/lienthong/lienthong/internal/pdfsig/pdfsigtest"
	"github.com/lienthong/lienthong/internal/trust"
)

// A clerk's letter is sealed with the agency's hosted key before the
// packet is built, visibly or not, as the clerk chooses: the hub's own
// check then finds the sending organ's valid signature covering the whole
// file. A PDF the signer refuses is sent back on the form, named.
func TestComposeSeals(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{PDF: true})
	hash, err := console.HashPassword("mật khẩu đúng")
	if err != nil {
		t.Fatal(err)
	}
	base := serveConsole(t, console.Options{Hub: h.Hub, Directory: testDirectory(t), Signers: hosted(h, g22), PDF: h.PDF,
		Accounts: []console.Account{{Username: "vanthu.g22", PasswordHash: hash, Role: console.RoleClerk, OrganID: g22}}})
	b := newBrowser(t, base)
	if code, _ := b.login("vanthu.g22", "mật khẩu đúng"); code != http.StatusSeeOther {
		t.Fatalf("sign in: %d", code)
	}
	form := b.page("/compose")
	for _, want := range []string{`name="seal" value="visible" checked`, `name="seal" value="invisible"`, `name="seal" value="none"`, "Ký số vào tệp PDF bằng khóa của cơ quan"} {
		if !strings.Contains(form, want) {
			t.Fatalf("compose page lacks %q", want)
		}
	}
	send := func(number, seal string, pdf []byte) (int, string, string) {
		t.Helper()
		fields := [][2]string{{"csrf", csrf(t, b.page("/compose"))}, {"to", h29}, {"number", number}, {"notation", "VPCP-KS"},
			{"subject", "Văn bản ký số " + number}, {"type_name", "Công văn"}, {"priority", "0"}, {"seal", seal}}
		code, body, hdr := b.multipart("/compose", fields, map[string][]byte{"cong-van-" + number + ".pdf": pdf})
		return code, body, strings.TrimPrefix(hdr.Get("Location"), "/outbox?new=")
	}
	letter := pdfsigtest.Write(pdfsigtest.Page1, pdfsigtest.Page2)
	tests := []struct {
		seal       string
		wantSigned bool
	}{
		{"visible", true},
		{"invisible", true},
		{"none", false},
	}
	for i, tt := range tests {
		code, body, id := send(string(rune('1'+i)), tt.seal, letter)
		if code != http.StatusSeeOther || id == "" {
			t.Fatalf("seal %s: %d %s", tt.seal, code, body)
		}
		rep, err := h.Hub.Report(t.Context(), g22, id)
		if err != nil || len(rep.Attachments) != 1 {
			t.Fatalf("seal %s: report %+v %v", tt.seal, rep, err)
		}
		a := rep.Attachments[0]
		if a.OrganSigned != tt.wantSigned || tt.wantSigned && (len(a.Signatures) != 1 || !a.Signatures[0].CoversWholeFile || a.Signatures[0].OrganID != g22) {
			t.Errorf("seal %s: organSigned %v, signatures %+v", tt.seal, a.OrganSigned, sigSummary(a))
		}
	}
	// Not a file pdfium reads cleanly: sent back, named, nothing sent.
	code, body, _ := send("9", "visible", []byte("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"))
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "Không ký số được vào tệp") || !strings.Contains(body, "cong-van-9.pdf (pdf.malformed)") {
		t.Errorf("unsignable file: %d %s", code, body)
	}
}

func sigSummary(a trust.Attachment) []string {
	var out []string
	for _, s := range a.Signatures {
		out = append(out, s.OrganID+" valid="+map[bool]string{true: "yes", false: "no"}[s.Valid])
	}
	return out
}
