package cli

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/pki"
	"github.com/lienthong/lienthong/internal/tooltest"
	"github.com/lienthong/lienthong/internal/trust"
)

func pkiRunOpenSSL(t *testing.T, args ...string) (string, bool) {
	return tooltest.Run(t, "openssl", args...)
}

// pkiIssued is the JSON `lienthong pki issue` prints.
type pkiIssued struct {
	OrganID string `json:"organId"`
	Cert    string `json:"cert"`
	Key     string `json:"key"`
	Chain   string `json:"chain"`
	Serial  string `json:"serial"`
	SHA256  string `json:"sha256"`
}

// pkiDecodeOne decodes out as exactly one JSON object with exactly keys.
func pkiDecodeOne(t *testing.T, out string, keys []string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	var obj map[string]json.RawMessage
	if err := dec.Decode(&obj); err != nil {
		t.Fatalf("stdout is not a JSON object: %v\n%s", err, out)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		t.Fatalf("stdout holds more than one JSON value:\n%s", out)
	}
	got := make([]string, 0, len(obj))
	for k := range obj {
		got = append(got, k)
	}
	slices.Sort(got)
	want := slices.Sorted(slices.Values(keys))
	if !slices.Equal(got, want) {
		t.Errorf("keys = %q, want %q", got, want)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatal(err)
	}
}

// pkiNewCA runs `pki init` into a fresh directory and returns it.
func pkiNewCA(t *testing.T, alg string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ca")
	code, out, errOut := run(t, "pki", "init", "--dir", dir, "--algorithm", alg, "--crl-url", "http://pki.test/crl")
	if code != ExitOK {
		t.Fatalf("pki init = %d\n%s", code, errOut)
	}
	var got struct {
		Dir, Algorithm, Root, Intermediate, RootSha256 string
	}
	pkiDecodeOne(t, out, []string{"dir", "algorithm", "root", "intermediate", "rootSha256"}, &got)
	if got.Root != filepath.Join(dir, "root.pem") || got.Intermediate != filepath.Join(dir, "intermediate.pem") {
		t.Errorf("init printed %+v", got)
	}
	return dir
}

// pkiIssue runs `pki issue` and returns its decoded output.
func pkiIssue(t *testing.T, dir, organID string, extra ...string) pkiIssued {
	t.Helper()
	args := append([]string{"pki", "issue", "--dir", dir, "--organ", organID, "--name", "Văn phòng Chính phủ"}, extra...)
	code, out, errOut := run(t, args...)
	if code != ExitOK {
		t.Fatalf("pki issue = %d\n%s", code, errOut)
	}
	var iss pkiIssued
	pkiDecodeOne(t, out, []string{"organId", "cert", "key", "chain", "serial", "sha256"}, &iss)
	return iss
}

func TestPKIInitIssue(t *testing.T) {
	tests := []struct {
		give     []string // init algorithm, issue algorithm
		wantAlgo string   // openssl's name for the agency key
	}{
		{give: []string{"ecdsa", "ecdsa"}, wantAlgo: "id-ecPublicKey"},
		{give: []string{"rsa", "rsa"}, wantAlgo: "rsaEncryption"},
		{give: []string{"ecdsa", "rsa"}, wantAlgo: "rsaEncryption"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.give, "/"), func(t *testing.T) {
			dir := pkiNewCA(t, tt.give[0])
			iss := pkiIssue(t, dir, "000.00.00.G22", "--algorithm", tt.give[1])

			want := filepath.Join(dir, "agencies", "000.00.00.G22")
			if iss.OrganID != "000.00.00.G22" || iss.Cert != filepath.Join(want, "cert.pem") ||
				iss.Key != filepath.Join(want, "key.pem") || iss.Chain != filepath.Join(want, "chain.pem") {
				t.Errorf("issue printed %+v", iss)
			}
			certs, err := pki.LoadCertificates(iss.Cert)
			if err != nil {
				t.Fatal(err)
			}
			c := certs[0]
			if iss.Serial != c.SerialNumber.String() {
				t.Errorf("serial %s, certificate has %s", iss.Serial, c.SerialNumber)
			}
			fp, ok := pkiRunOpenSSL(t, "x509", "-in", iss.Cert, "-noout", "-fingerprint", "-sha256")
			if !ok {
				t.Fatal(fp)
			}
			if got := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(fp[strings.Index(fp, "=")+1:]), ":", "")); got != iss.SHA256 {
				t.Errorf("sha256 %s, openssl says %s", iss.SHA256, got)
			}
			text, ok := pkiRunOpenSSL(t, "x509", "-in", iss.Cert, "-noout", "-text", "-nameopt", "oid,utf8,sep_comma_plus")
			if !ok {
				t.Fatal(text)
			}
			for _, s := range []string{
				"0.9.2342.19200300.100.1.1=000.00.00.G22", "2.5.4.3=Văn phòng Chính phủ", "2.5.4.10=Văn phòng Chính phủ", "2.5.4.6=VN",
				"Digital Signature, Non Repudiation", "E-mail Protection", "URI:http://pki.test/crl/intermediate.crl",
				tt.wantAlgo,
			} {
				if !strings.Contains(text, s) {
					t.Errorf("certificate text lacks %q", s)
				}
			}
			if out, ok := pkiRunOpenSSL(t, "pkey", "-in", iss.Key, "-noout"); !ok {
				t.Errorf("openssl cannot read the key: %s", out)
			}
			if out, ok := pkiRunOpenSSL(t, "verify", "-CAfile", filepath.Join(dir, "root.pem"),
				"-untrusted", iss.Chain, "-purpose", "smimesign", iss.Cert); !ok {
				t.Errorf("openssl rejects the chain: %s", out)
			}
		})
	}
}

func TestPKIIssueValidity(t *testing.T) {
	dir := pkiNewCA(t, "ecdsa")
	soon := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	tests := []struct {
		give       []string
		wantBefore time.Time
		wantAfter  time.Time
	}{
		{give: []string{"--not-before", "2020-01-02T03:04:05Z", "--not-after", "2021-01-02T03:04:05+07:00"},
			wantBefore: time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC), wantAfter: time.Date(2021, 1, 1, 20, 4, 5, 0, time.UTC)},
		{give: []string{"--not-before", soon.Format(time.RFC3339)},
			wantBefore: soon, wantAfter: soon.Add(pki.AgencyValidity)},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.give, " "), func(t *testing.T) {
			iss := pkiIssue(t, dir, "000.00.12.H29", tt.give...)
			certs, err := pki.LoadCertificates(iss.Cert)
			if err != nil {
				t.Fatal(err)
			}
			if c := certs[0]; !c.NotBefore.Equal(tt.wantBefore) || !c.NotAfter.Equal(tt.wantAfter) {
				t.Errorf("validity %s..%s, want %s..%s", c.NotBefore, c.NotAfter, tt.wantBefore, tt.wantAfter)
			}
		})
	}
}

func TestPKICRL(t *testing.T) {
	dir := pkiNewCA(t, "ecdsa")
	a := pkiIssue(t, dir, "000.00.00.G22")
	b := pkiIssue(t, dir, "000.00.00.H29")
	bSerial, _ := new(big.Int).SetString(b.Serial, 10)
	crlPath := filepath.Join(dir, "intermediate.crl")
	tests := []struct {
		name string
		give []string
		want []string // decimal serials on the CRL
	}{
		{name: "empty", give: nil, want: nil},
		{name: "decimal", give: []string{"--revoke", a.Serial}, want: []string{a.Serial}},
		{name: "hex, accumulates", give: []string{"--revoke", "0x" + bSerial.Text(16)}, want: []string{a.Serial, b.Serial}},
		{name: "both again", give: []string{"--revoke", a.Serial, "--revoke", "0X" + strings.ToUpper(bSerial.Text(16))},
			want: []string{a.Serial, b.Serial}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(t, append([]string{"pki", "crl", "--dir", dir}, tt.give...)...)
			if code != ExitOK {
				t.Fatalf("pki crl = %d\n%s", code, errOut)
			}
			if out != crlPath+"\n" {
				t.Errorf("printed %q, want %q", out, crlPath+"\n")
			}
			der, err := os.ReadFile(crlPath)
			if err != nil {
				t.Fatal(err)
			}
			crl, err := x509.ParseRevocationList(der)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range crl.RevokedCertificateEntries {
				got = append(got, e.SerialNumber.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("CRL lists %q, want %q", got, tt.want)
			}
			if msg, ok := pkiRunOpenSSL(t, "crl", "-inform", "DER", "-in", crlPath,
				"-CAfile", filepath.Join(dir, "intermediate.pem"), "-noout"); !ok {
				t.Errorf("openssl crl: %s", msg)
			}
		})
	}

	// openssl now calls both certificates revoked.
	code, _, errOut := run(t, "pki", "crl", "--dir", dir, "--root")
	if code != ExitOK {
		t.Fatalf("pki crl --root = %d\n%s", code, errOut)
	}
	var crls []byte
	for _, name := range []string{"intermediate.crl.pem", "root.crl.pem"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		crls = append(crls, data...)
	}
	crlFile := filepath.Join(t.TempDir(), "crls.pem")
	if err := os.WriteFile(crlFile, crls, 0o600); err != nil {
		t.Fatal(err)
	}
	out, ok := pkiRunOpenSSL(t, "verify", "-crl_check_all", "-CRLfile", crlFile,
		"-CAfile", filepath.Join(dir, "root.pem"), "-untrusted", a.Chain, a.Cert)
	if ok || !strings.Contains(out, "certificate revoked") {
		t.Errorf("openssl verify of a revoked certificate: %s", out)
	}
}

func TestPKIErrors(t *testing.T) {
	dir := pkiNewCA(t, "ecdsa")
	empty := t.TempDir()
	tests := []struct {
		name       string
		give       []string
		want       int
		wantStderr string
	}{
		{name: "no subcommand", give: []string{"pki"}, want: ExitUsage, wantStderr: "Usage"},
		{name: "help", give: []string{"pki", "help"}, want: ExitOK, wantStderr: "Usage"},
		{name: "unknown subcommand", give: []string{"pki", "renew"}, want: ExitUsage, wantStderr: "unknown subcommand"},
		{name: "init without dir", give: []string{"pki", "init"}, want: ExitUsage, wantStderr: "--dir is required"},
		{name: "init twice", give: []string{"pki", "init", "--dir", dir}, want: ExitUsage, wantStderr: "already exists"},
		{name: "init bad algorithm", give: []string{"pki", "init", "--dir", filepath.Join(empty, "x"), "--algorithm", "dsa"},
			want: ExitUsage, wantStderr: "unsupported key algorithm"},
		{name: "init stray argument", give: []string{"pki", "init", "--dir", filepath.Join(empty, "y"), "extra"},
			want: ExitUsage, wantStderr: "unexpected argument"},
		{name: "init unknown flag", give: []string{"pki", "init", "--bogus"}, want: ExitUsage, wantStderr: "bogus"},
		{name: "init -h", give: []string{"pki", "init", "-h"}, want: ExitOK, wantStderr: "--crl-url"},
		{name: "issue missing name", give: []string{"pki", "issue", "--dir", dir, "--organ", "000.00.00.G22"},
			want: ExitUsage, wantStderr: "required"},
		{name: "issue bad organ", give: []string{"pki", "issue", "--dir", dir, "--organ", "000.00.00.g22", "--name", "x"},
			want: ExitInvalid, wantStderr: "invalid agency id"},
		{name: "issue no CA", give: []string{"pki", "issue", "--dir", empty, "--organ", "000.00.00.G22", "--name", "x"},
			want: ExitUsage, wantStderr: "root.pem"},
		{name: "issue bad time", give: []string{"pki", "issue", "--dir", dir, "--organ", "000.00.00.G22", "--name", "x",
			"--not-before", "yesterday"}, want: ExitUsage, wantStderr: "--not-before"},
		{name: "issue reversed validity", give: []string{"pki", "issue", "--dir", dir, "--organ", "000.00.00.G22", "--name", "x",
			"--not-before", "2030-01-01T00:00:00Z", "--not-after", "2029-01-01T00:00:00Z"}, want: ExitUsage, wantStderr: "not later"},
		{name: "crl bad serial", give: []string{"pki", "crl", "--dir", dir, "--revoke", "12ab"}, want: ExitUsage, wantStderr: "serial"},
		{name: "crl zero serial", give: []string{"pki", "crl", "--dir", dir, "--revoke", "0"}, want: ExitUsage, wantStderr: "positive"},
		{name: "crl negative serial", give: []string{"pki", "crl", "--dir", dir, "--revoke", "-7"}, want: ExitUsage, wantStderr: "positive"},
		{name: "crl empty hex", give: []string{"pki", "crl", "--dir", dir, "--revoke", "0x"}, want: ExitUsage, wantStderr: "positive"},
		{name: "crl no CA", give: []string{"pki", "crl", "--dir", empty}, want: ExitUsage, wantStderr: "root.pem"},
		{name: "crl bad next update", give: []string{"pki", "crl", "--dir", dir, "--next-update", "soon"},
			want: ExitUsage, wantStderr: "--next-update"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(t, tt.give...)
			if code != tt.want {
				t.Errorf("exit %d, want %d\n%s", code, tt.want, errOut)
			}
			if !strings.Contains(errOut, tt.wantStderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantStderr, errOut)
			}
			if tt.want != ExitOK && out != "" {
				t.Errorf("stdout on failure: %q", out)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "intermediate.crl")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed pki crl wrote a CRL: %v", err)
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Errorf("failed commands left %d entries in an empty directory", len(entries))
	}
}

// TestPKIIssueNoUID makes the certificate verify tests use for
// sig.signer_mismatch.
func TestPKIIssueNoUID(t *testing.T) {
	dir := pkiNewCA(t, "ecdsa")
	iss := pkiIssue(t, dir, "000.00.00.G22", "--no-uid")
	data, err := os.ReadFile(iss.Cert)
	if err != nil {
		t.Fatal(err)
	}
	certs, err := pki.ParseCertificates(data)
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := trust.OrganID(certs[0]); ok || bytes.Contains(certs[0].RawSubject, []byte("000.00.00.G22")) {
		t.Errorf("UID %q present", id)
	}
}
