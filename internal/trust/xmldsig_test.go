package trust_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/internal/pki"
	"github.com/lienthong/lienthong/internal/tooltest"
	"github.com/lienthong/lienthong/internal/trust"
)

const (
	excC14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
	incC14N = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
)

// template is an XML-DSig template for xmlsec1 to fill, placed in
// edXMLHeader after TraceHeaderList as FORMAT.md §9 describes.
func template(sigMethod, c14nMethod, digest string) string {
	return `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>` +
		`<ds:CanonicalizationMethod Algorithm="` + c14nMethod + `"/>` +
		`<ds:SignatureMethod Algorithm="` + sigMethod + `"/>` +
		`<ds:Reference URI=""><ds:Transforms>` +
		`<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>` +
		`<ds:Transform Algorithm="` + c14nMethod + `"/></ds:Transforms>` +
		`<ds:DigestMethod Algorithm="` + digest + `"/><ds:DigestValue/></ds:Reference></ds:SignedInfo>` +
		`<ds:SignatureValue/><ds:KeyInfo><ds:X509Data/></ds:KeyInfo></ds:Signature>`
}

func needXMLSec(t *testing.T) { tooltest.Require(t, "xmlsec1") }

// xmlsecSign signs the fixture with xmlsec1, the reference implementation.
func xmlsecSign(t *testing.T, fixture, tmpl string, iss *pki.Issued) []byte {
	t.Helper()
	name, pi := strings.CutPrefix(fixture, "pi:")
	s := string(packet(t, name))
	if pi {
		s = strings.Replace(s, "?>", "?>\n<?lienthong test?>", 1)
	}
	end := "</edXML:TraceHeaderList>"
	if !strings.Contains(s, end) {
		end = "</TraceHeaderList>"
	}
	s = strings.Replace(s, end, end+tmpl, 1)
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.xml"), filepath.Join(dir, "out.xml")
	if err := os.WriteFile(in, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	keys := iss.KeyPath + "," + iss.CertPath + "," + iss.ChainPath
	if b, err := exec.Command("xmlsec1", "--sign", "--privkey-pem", keys, "--output", out, in).CombinedOutput(); err != nil {
		t.Fatalf("xmlsec1: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func xmlDoc(data []byte) trust.XMLDoc {
	return trust.XMLDoc{Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }}
}

func TestXMLDSigFromXMLSec(t *testing.T) {
	needXMLSec(t)
	e := newEnv(t, pki.InitOptions{})
	r := newEnv(t, pki.InitOptions{Algorithm: pki.RSA})
	const (
		rsa256   = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
		rsa1     = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
		ecdsa256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
		sha256   = "http://www.w3.org/2001/04/xmlenc#sha256"
		sha1     = "http://www.w3.org/2000/09/xmldsig#sha1"
	)
	tests := []struct {
		name    string
		env     *env
		fixture string
		from    string
		tmpl    string
		sha1    bool
	}{
		{"ecdsa exclusive", e, "edoc-new.xml", "000.00.00.G22", template(ecdsa256, excC14N, sha256), false},
		{"rsa exclusive", r, "edoc-new-two-recipients.xml", "000.00.00.G22", template(rsa256, excC14N, sha256), false},
		{"rsa inclusive, unprefixed packet", r, "edoc-variant-business-spelling.xml", "000.01.00.H29", template(rsa256, incC14N, sha256), false},
		{"rsa-sha1 inclusive, as deployed", r, "edoc-new-zip-attachment.xml", "000.00.00.G12", template(rsa1, incC14N, sha1), true},
		{"default namespace on SignedInfo", r, "edoc-new.xml", "000.00.00.G22", strings.Replace(template(rsa256, incC14N, sha256), "<ds:SignedInfo>", `<ds:SignedInfo xmlns="http://www.w3.org/2000/09/xmldsig#">`, 1), false},
		{"processing instruction before the root", e, "pi:edoc-new.xml", "000.00.00.G22", template(ecdsa256, excC14N, sha256), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			signer := issue(t, tt.env.ca, tt.from, pki.IssueOptions{Algorithm: tt.env.ca.Algorithm()})
			data := xmlsecSign(t, tt.fixture, tt.tmpl, signer)
			v := verifier(t, trust.Config{AllowSHA1: tt.sha1}, tt.env.ca.Root())
			{
				s := v.VerifyXMLDSig(context.Background(), xmlDoc(data), tt.from, now)
				if !s.Valid {
					t.Fatalf("errors %v", s.Errors)
				}
				if !slices.Contains(s.Checks, "digest") || !slices.Contains(s.Checks, "signature") || s.Signer.OrganID != tt.from {
					t.Errorf("checks %v signer %+v", s.Checks, s.Signer)
				}
				// Another agency's packet signature does not pass as this one's.
				s = v.VerifyXMLDSig(context.Background(), xmlDoc(data), "000.00.00.G01", now)
				if !slices.Equal(codes(s.Errors), []string{trust.CodeSignerMismatch}) {
					t.Errorf("other sender: errors %v", s.Errors)
				}
				// The same packet altered after signing fails.
				altered := bytes.Replace(data, []byte("</edXML:Subject>"), []byte(".</edXML:Subject>"), 1)
				if bytes.Equal(altered, data) {
					altered = bytes.Replace(data, []byte("</Subject>"), []byte(".</Subject>"), 1)
				}
				s = v.VerifyXMLDSig(context.Background(), xmlDoc(altered), tt.from, now)
				if !slices.Equal(codes(s.Errors), []string{trust.CodeDigestMismatch}) {
					t.Errorf("altered: errors %v", s.Errors)
				}
			}
		})
	}
}

func TestXMLDSigRefused(t *testing.T) {
	needXMLSec(t)
	e := newEnv(t, pki.InitOptions{})
	const ecdsa256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
	const sha256 = "http://www.w3.org/2001/04/xmlenc#sha256"
	good := xmlsecSign(t, "edoc-new.xml", template(ecdsa256, excC14N, sha256), e.g22)
	sigStart := bytes.Index(good, []byte("<ds:Signature"))
	sigEnd := bytes.Index(good, []byte("</ds:Signature>")) + len("</ds:Signature>")
	sigEl := string(good[sigStart:sigEnd])
	value := func(tag string) string {
		s := sigEl[strings.Index(sigEl, "<ds:"+tag+">")+len("<ds:"+tag+">"):]
		return s[:strings.Index(s, "</ds:"+tag+">")]
	}
	swap := func(old, repl string) []byte { return bytes.Replace(good, []byte(old), []byte(repl), 1) }
	sv := value("SignatureValue")
	tests := []struct {
		name string
		give []byte
		want string
	}{
		{"placeholder in the edXML namespace", packet(t, "edoc-placeholder-signature.xml"), trust.CodeMalformed},
		{"second signature", swap("</edXML:edXMLHeader>", sigEl+"</edXML:edXMLHeader>"), trust.CodeMalformed},
		{"signature moved into MessageHeader", []byte(strings.Replace(string(good[:sigStart])+string(good[sigEnd:]), "</edXML:MessageHeader>", sigEl+"</edXML:MessageHeader>", 1)), trust.CodeMalformed},
		{"ID reference", swap(`URI=""`, `URI="#x"`), trust.CodeMalformed},
		{"Object", swap("</ds:KeyInfo>", "</ds:KeyInfo><ds:Object>x</ds:Object>"), trust.CodeMalformed},
		{"two references", swap("</ds:SignedInfo>", `<ds:Reference URI=""/></ds:SignedInfo>`), trust.CodeMalformed},
		{"no enveloped transform", swap(`<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>`, ""), trust.CodeMalformed},
		{"xslt transform", swap(`<ds:Transform Algorithm="`+excC14N+`"/>`, `<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xslt-19991116"/>`), trust.CodeMalformed},
		{"no certificate", swap(value("X509Certificate"), ""), trust.CodeMalformed},
		{"second root element", append(slices.Clone(good), []byte(`<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"><Evil/></edXML>`)...), trust.CodeMalformed},
		{"processing instruction added after signing", []byte(strings.Replace(string(good), "?>", "?><?evil?>", 1)), trust.CodeDigestMismatch},
		{"signature value changed", swap(sv, strings.Replace(sv, sv[10:14], "AAAA", 1)), trust.CodeInvalid},
		{"signed info changed", swap(`URI=""`, `URI="" Id="x"`), trust.CodeInvalid},
		{"content changed", swap("1234/VPCP-KSTT", "1235/VPCP-KSTT"), trust.CodeDigestMismatch},
	}
	v := verifier(t, trust.Config{}, e.ca.Root())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := v.VerifyXMLDSig(context.Background(), xmlDoc(tt.give), "000.00.00.G22", now)
			if got := codes(s.Errors); len(got) == 0 || got[0] != tt.want {
				t.Fatalf("errors %v, want %s first", s.Errors, tt.want)
			}
		})
	}
}
