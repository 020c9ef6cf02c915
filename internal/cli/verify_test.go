package cli

import (
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/pki"
)

// verifyOutput is the contract of docs/contracts.md, CLI, read strictly.
type verifyOutput struct {
	Valid      *bool `json:"valid"`
	Signatures []struct {
		Type   string `json:"type"`
		Valid  *bool  `json:"valid"`
		Signer *struct {
			Subject string `json:"subject"`
			OrganID string `json:"organId"`
			SHA256  string `json:"sha256"`
		} `json:"signer"`
		SignedAt *time.Time `json:"signedAt"`
		Errors   []struct {
			Code string `json:"code"`
		} `json:"errors"`
	} `json:"signatures"`
	Errors []struct {
		Code string `json:"code"`
	} `json:"errors"`
}

func decodeVerify(t *testing.T, out string) verifyOutput {
	t.Helper()
	var v verifyOutput
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if v.Valid == nil || v.Signatures == nil || v.Errors == nil {
		t.Fatalf("valid, signatures and errors must be present: %s", out)
	}
	return v
}

func TestVerifyCommand(t *testing.T) {
	dir := t.TempDir()
	ca, err := pki.Init(filepath.Join(dir, "ca"), pki.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	g22, err := ca.Issue("000.00.00.G22", "Văn phòng Chính phủ", pki.IssueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	packetPath := filepath.Join("..", "edxml", "testdata", "fixtures", "edoc-new.xml")
	sigPath := filepath.Join(dir, "sig.p7s")
	if code, _, errOut := run(t, "sign", packetPath, "--cert", g22.CertPath, "--key", g22.KeyPath, "--chain", g22.ChainPath, "-o", sigPath); code != 0 {
		t.Fatalf("sign: %d %s", code, errOut)
	}
	if _, err := ca.CRL([]*big.Int{g22.Cert.SerialNumber}, pki.CRLOptions{RevokedAt: time.Now().Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other.xml")
	data, _ := os.ReadFile(packetPath)
	if err := os.WriteFile(other, append(data, ' '), 0o600); err != nil {
		t.Fatal(err)
	}
	root := ca.RootPath()
	tests := []struct {
		name      string
		args      []string
		code      int
		topErrors []string
		sigErrors []string
	}{
		{"valid", []string{packetPath, "--signature", sigPath, "--trust", root}, 0, []string{}, []string{}},
		{"flags first", []string{"--trust", root, "--signature", sigPath, packetPath}, 0, []string{}, []string{}},
		{"revoked", []string{packetPath, "--signature", sigPath, "--trust", root, "--crl", ca.CRLPath(false)}, 1, []string{}, []string{"sig.revoked"}},
		{"revoked, audited before", []string{packetPath, "--signature", sigPath, "--trust", root, "--crl", ca.CRLPath(false), "--at", time.Now().Add(-10 * time.Minute).Format(time.RFC3339)}, 0, []string{}, []string{}},
		{"other bytes", []string{other, "--signature", sigPath, "--trust", root}, 1, []string{}, []string{"sig.digest_mismatch"}},
		{"no signature", []string{packetPath, "--trust", root}, 1, []string{"sig.missing"}, nil},
		{"placeholder XML-DSig", []string{filepath.Join("..", "edxml", "testdata", "fixtures", "edoc-placeholder-signature.xml"), "--trust", root}, 1, []string{}, []string{"sig.malformed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(t, append([]string{"verify"}, tt.args...)...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, tt.code, out, errOut)
			}
			v := decodeVerify(t, out)
			var top []string
			for _, e := range v.Errors {
				top = append(top, e.Code)
			}
			if !slices.Equal(append([]string{}, top...), tt.topErrors) {
				t.Errorf("errors %v, want %v", top, tt.topErrors)
			}
			if *v.Valid != (tt.code == 0) {
				t.Errorf("valid = %v", *v.Valid)
			}
			if tt.sigErrors == nil {
				if len(v.Signatures) != 0 {
					t.Errorf("signatures %+v", v.Signatures)
				}
				return
			}
			if len(v.Signatures) != 1 {
				t.Fatalf("%d signatures", len(v.Signatures))
			}
			s := v.Signatures[0]
			got := []string{}
			for _, e := range s.Errors {
				got = append(got, e.Code)
			}
			if !slices.Equal(got, tt.sigErrors) || s.Valid == nil || *s.Valid != (len(got) == 0) {
				t.Errorf("signature errors %v valid %v, want %v", got, s.Valid, tt.sigErrors)
			}
			if s.Type == "cms" && (s.Signer == nil || s.Signer.OrganID != "000.00.00.G22" || len(s.Signer.SHA256) != 64 || s.SignedAt == nil) {
				t.Errorf("signer %+v signedAt %v", s.Signer, s.SignedAt)
			}
		})
	}
}

func TestVerifyUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"no file", []string{"verify", "--trust", "x.pem"}},
		{"no trust", []string{"verify", "packet.xml"}},
		{"missing trust file", []string{"verify", "packet.xml", "--trust", "/nonexistent.pem"}},
		{"bad time", []string{"verify", "packet.xml", "--trust", "x.pem", "--at", "yesterday"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code, out, _ := run(t, tt.args...); code != 2 || out != "" {
				t.Errorf("exit %d, stdout %q", code, out)
			}
		})
	}
}
