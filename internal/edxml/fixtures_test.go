package edxml_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/internal/edxml"
)

const fixtures = "testdata/fixtures"

func parseFile(t *testing.T, path string, opts edxml.Options) (*edxml.Packet, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return edxml.Parse(f, opts)
}

func TestValidFixtures(t *testing.T) {
	tests := []struct {
		give       string
		kind       edxml.Kind
		from       string
		to         []string
		documentID string
		business   string
		files      int
	}{
		{"edoc-new.xml", edxml.KindEdoc, "000.00.00.G22", []string{"000.00.00.H29"}, "000.00.00.G22,2025/11/20,1234/VPCP-KSTT", "0", 1},
		{"edoc-new-two-recipients.xml", edxml.KindEdoc, "000.00.00.G22", []string{"000.00.00.H29", "000.00.00.G12"}, "000.00.00.G22,2025/11/21,1250/VPCP-KTTH", "0", 2},
		{"edoc-new-zip-attachment.xml", edxml.KindEdoc, "000.00.00.G12", []string{"000.00.00.G22"}, "000.00.00.G12,2025/11/24,215/BC-BTC", "0", 1},
		{"edoc-revoke.xml", edxml.KindEdoc, "000.00.00.G12", []string{"000.00.00.G22"}, "000.00.00.G12,2025/11/24,215/BC-BTC", "1", 0},
		{"edoc-update.xml", edxml.KindEdoc, "000.00.00.G22", []string{"000.00.00.H29", "000.00.12.H29"}, "000.00.00.G22,2025/11/20,1234/VPCP-KSTT", "2", 1},
		{"edoc-replace.xml", edxml.KindEdoc, "000.00.00.G22", []string{"000.00.00.H29", "000.00.12.H29"}, "000.00.00.G22,2025/12/01,1301/VPCP-KSTT", "3", 1},
		{"edoc-variant-business-spelling.xml", edxml.KindEdoc, "000.01.00.H29", []string{"000.00.00.G22"}, "000.01.00.H29,2025/11/26,3579/VP-KSTTHC", "0", 1},
		{"edoc-placeholder-signature.xml", edxml.KindEdoc, "000.00.00.G22", []string{"000.00.00.G12"}, "000.00.00.G22,2025/11/22,1275/VPCP-ĐMDN", "0", 1},
		{"status-01.xml", edxml.KindStatus, "000.00.00.H29", nil, "000.00.00.G22,2025/11/20,1234/VPCP-KSTT", "", 0},
		{"status-02.xml", edxml.KindStatus, "000.00.00.G12", nil, "000.00.00.G22,2025/11/21,1250/VPCP-KTTH", "", 0},
		{"status-03.xml", edxml.KindStatus, "000.00.00.H29", nil, "000.00.00.G22,2025/11/20,1234/VPCP-KSTT", "", 0},
		{"status-04.xml", edxml.KindStatus, "000.00.00.H29", nil, "000.00.00.G22,2025/11/20,1234/VPCP-KSTT", "", 0},
		{"status-05.xml", edxml.KindStatus, "000.00.00.H29", nil, "000.00.00.G22,2025/11/20,1234/VPCP-KSTT", "", 0},
		{"status-06.xml", edxml.KindStatus, "000.00.00.H29", nil, "000.00.00.G22,2025/11/20,1234/VPCP-KSTT", "", 0},
		{"status-13.xml", edxml.KindStatus, "000.00.00.G22", nil, "000.00.00.G22,2025/11/21,1250/VPCP-KTTH", "", 0},
		{"status-15.xml", edxml.KindStatus, "000.00.00.H29", nil, "000.00.00.G22,2025/11/21,1250/VPCP-KTTH", "", 0},
		{"status-16.xml", edxml.KindStatus, "000.00.00.H29", nil, "000.00.00.G22,2025/11/20,1234/VPCP-KSTT", "", 0},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			p, err := parseFile(t, filepath.Join(fixtures, tt.give), edxml.Options{})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !p.Valid() {
				t.Fatalf("errors: %v", p.Errors)
			}
			if len(p.Warnings) > 0 {
				t.Errorf("warnings: %v", p.Warnings)
			}
			if p.Kind != tt.kind || p.From() != tt.from || p.DocumentID() != tt.documentID || p.BusinessType() != tt.business {
				t.Errorf("got kind %s from %s document %q business %q", p.Kind, p.From(), p.DocumentID(), p.BusinessType())
			}
			if !slices.Equal(p.To(), tt.to) {
				t.Errorf("To = %v, want %v", p.To(), tt.to)
			}
			if len(p.Attachments) != tt.files {
				t.Fatalf("%d attachments, want %d", len(p.Attachments), tt.files)
			}
			for _, a := range p.Attachments {
				if a.Size == 0 || len(a.SHA256) != 64 || a.Format == "" {
					t.Errorf("attachment %+v not decoded", a)
				}
			}
			id := p.ID()
			if len(id) != 64 || seen[id] {
				t.Errorf("packet id %q is not a fresh sha256", id)
			}
			seen[id] = true
		})
	}
}

func TestFixtureDetails(t *testing.T) {
	p, err := parseFile(t, filepath.Join(fixtures, "edoc-new-zip-attachment.xml"), edxml.Options{})
	if err != nil || !p.Valid() {
		t.Fatalf("%v %v", err, p.Errors)
	}
	a := p.Attachments[0]
	if a.Format != "zip" || len(a.Zip) != 1 || a.Zip[0].Name == "" || a.Zip[0].Size == 0 {
		t.Errorf("zip attachment = %+v", a)
	}

	p, err = parseFile(t, filepath.Join(fixtures, "edoc-placeholder-signature.xml"), edxml.Options{})
	if err != nil || !p.Valid() {
		t.Fatalf("%v %v", err, p.Errors)
	}
	if p.SignatureNamespace != edxml.Namespace || !bytes.Contains(p.Signature, []byte("SignatureValue")) {
		t.Errorf("signature in %q: %s", p.SignatureNamespace, p.Signature)
	}

	p, err = parseFile(t, filepath.Join(fixtures, "edoc-variant-business-spelling.xml"), edxml.Options{})
	if err != nil || !p.Valid() {
		t.Fatalf("%v %v", err, p.Errors)
	}
	if p.Attachments[0].ContentID != p.References[0].ContentID || p.Header.ResponseFor[0].OrganID != "000.00.00.G22" {
		t.Errorf("variant: %+v %+v", p.Attachments[0], p.Header.ResponseFor)
	}

	p, err = parseFile(t, filepath.Join(fixtures, "edoc-update.xml"), edxml.Options{})
	if err != nil || !p.Valid() {
		t.Fatalf("%v %v", err, p.Errors)
	}
	info := p.Trace.Business.DocumentInfo
	if info == nil || len(info.Receivers) != 2 || info.Receivers[1].OrganID != "000.00.12.H29" || info.Receivers[1].ReceiverType != "1" {
		t.Errorf("update info = %+v", info)
	}

	p, err = parseFile(t, filepath.Join(fixtures, "edoc-replace.xml"), edxml.Options{})
	if err != nil || !p.Valid() {
		t.Fatalf("%v %v", err, p.Errors)
	}
	r := p.Trace.Business.Replacements
	if len(r) != 1 || r[0].DocumentID != "000.00.00.G22,2025/11/20,1234/VPCP-KSTT" || !slices.Equal(r[0].OrganIDs, []string{"000.00.00.H29", "000.00.12.H29"}) {
		t.Errorf("replacements = %+v", r)
	}
}

func TestInvalidFixtures(t *testing.T) {
	tests := []struct {
		give string
		want string
	}{
		{"missing-from-organid.xml", edxml.CodeMissingField},
		{"bad-organ-id.xml", edxml.CodeBadOrganID},
		{"duplicate-to.xml", edxml.CodeDuplicateRecipient},
		{"bad-date.xml", edxml.CodeBadDate},
		{"bad-business-type.xml", edxml.CodeBadBusinessType},
		{"attachment-missing.xml", edxml.CodeAttachmentMissing},
		{"attachment-bad-base64.xml", edxml.CodeAttachmentEncoding},
		{"wrong-namespace.xml", edxml.CodeNamespace},
		{"status-code-99.xml", edxml.CodeBadStatusCode},
		{"status-missing-responsefor-documentid.xml", edxml.CodeMissingField},
		{"dtd-external-entity.xml", edxml.CodeDTDForbidden},
		{"dtd-entity-expansion.xml", edxml.CodeDTDForbidden},
		{"truncated.xml", edxml.CodeMalformed},
		{"too-deep.xml", edxml.CodeTooDeep},
		{"zip-bomb.xml", edxml.CodeAttachmentTooLarge},
	}
	entries, err := os.ReadDir(filepath.Join(fixtures, "invalid"))
	if err != nil {
		t.Fatal(err)
	}
	var files int
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".xml") {
			files++
		}
	}
	if files != len(tests) {
		t.Fatalf("%d invalid fixtures, %d in the table", files, len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			got := codes(parseFile(t, filepath.Join(fixtures, "invalid", tt.give), edxml.Options{}))
			if !slices.Equal(got, []string{tt.want}) {
				t.Errorf("codes = %v, want [%s]", got, tt.want)
			}
		})
	}
}

// codes lists the error codes of a parse: the fatal one, or every error.
func codes(p *edxml.Packet, err error) []string {
	if err != nil {
		return []string{edxml.CodeOf(err)}
	}
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.Code)
	}
	return out
}
