package tsa_test

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/internal/pki"
	"github.com/lienthong/lienthong/internal/tooltest"
	"github.com/lienthong/lienthong/internal/tsa"
)

func writeFile(t *testing.T, path string, data []byte) string {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func openssl(t *testing.T, args ...string) string {
	t.Helper()
	out, ok := tooltest.Run(t, "openssl", args...)
	if !ok {
		t.Fatalf("openssl %s: %s", strings.Join(args, " "), out)
	}
	return out
}

// openssl ts -query makes the request, our TSA answers, openssl ts -verify
// accepts the reply against the dev root alone: the token carries the
// chain, and the certificate's critical EKU passes openssl's purpose check.
func TestOpenSSLVerifiesServerReply(t *testing.T) {
	tooltest.Require(t, "openssl")
	tests := []struct {
		alg  pki.Algorithm
		hash string
	}{
		{pki.ECDSA, "sha256"},
		{pki.ECDSA, "sha512"},
		{pki.RSA, "sha384"},
	}
	for _, tt := range tests {
		t.Run(string(tt.alg)+"/"+tt.hash, func(t *testing.T) {
			ca := newCA(t, tt.alg)
			srv := startTSA(t, issueTSA(t, ca, pki.IssueOptions{Algorithm: tt.alg}))
			dir := t.TempDir()
			data := writeFile(t, filepath.Join(dir, "checkpoint"), []byte("lienthong checkpoint 42\n"))
			req := filepath.Join(dir, "req.tsq")
			openssl(t, "ts", "-query", "-data", data, "-"+tt.hash, "-cert", "-out", req)
			reply := writeFile(t, filepath.Join(dir, "reply.tsr"), post(t, srv.URL, tsa.QueryType, readFile(t, req)))

			if out := openssl(t, "ts", "-verify", "-data", data, "-in", reply, "-CAfile", ca.RootPath()); !strings.Contains(out, "Verification: OK") {
				t.Errorf("openssl ts -verify: %s", out)
			}
			// openssl does check: another root, or other data, fails.
			other := newCA(t, tt.alg)
			if out, ok := tooltest.Run(t, "openssl", "ts", "-verify", "-data", data, "-in", reply, "-CAfile", other.RootPath()); ok {
				t.Errorf("openssl ts -verify accepted another root: %s", out)
			}
			wrong := writeFile(t, filepath.Join(dir, "other"), []byte("lienthong checkpoint 43\n"))
			if out, ok := tooltest.Run(t, "openssl", "ts", "-verify", "-data", wrong, "-in", reply, "-CAfile", ca.RootPath()); ok {
				t.Errorf("openssl ts -verify accepted other data: %s", out)
			}
		})
	}
}

// opensslTSA writes a configuration for openssl's own TSA signing as iss.
func opensslTSA(t *testing.T, iss *pki.Issued, essAlg string) string {
	t.Helper()
	dir := t.TempDir()
	serial := writeFile(t, filepath.Join(dir, "serial"), []byte("01\n"))
	cfg := fmt.Sprintf(`[ tsa ]
default_tsa = tsa_config1

[ tsa_config1 ]
serial = %s
crypto_device = builtin
signer_cert = %s
certs = %s
signer_key = %s
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512, sha1
accuracy = secs:1, millisecs:500
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = %s
`, serial, iss.CertPath, iss.ChainPath, iss.KeyPath, essAlg)
	return writeFile(t, filepath.Join(dir, "tsa.cnf"), []byte(cfg))
}

// Tokens of openssl's TSA pass Verify, with the ESS signing-certificate
// attribute in both versions (v1 for SHA-1 certificate hashes, v2 else),
// both from openssl ts -reply -token_out and through Client.Stamp.
func TestVerifyAcceptsOpenSSLTokens(t *testing.T) {
	bin := tooltest.Require(t, "openssl")
	tests := []struct {
		alg pki.Algorithm
		ess string
	}{
		{pki.ECDSA, "sha256"},
		{pki.ECDSA, "sha1"},
		{pki.RSA, "sha384"},
	}
	for _, tt := range tests {
		t.Run(string(tt.alg)+"/"+tt.ess, func(t *testing.T) {
			ca := newCA(t, tt.alg)
			cfg := opensslTSA(t, issueTSA(t, ca, pki.IssueOptions{Algorithm: tt.alg}), tt.ess)
			dir := t.TempDir()
			content := []byte("lienthong checkpoint 42\n")
			digest := sha256.Sum256(content)
			data := writeFile(t, filepath.Join(dir, "checkpoint"), content)

			t.Run("token_out", func(t *testing.T) {
				req := filepath.Join(dir, "req.tsq")
				tok := filepath.Join(dir, "token.der")
				openssl(t, "ts", "-query", "-data", data, "-sha256", "-cert", "-out", req)
				openssl(t, "ts", "-reply", "-config", cfg, "-queryfile", req, "-token_out", "-out", tok)
				if _, err := tsa.Verify(readFile(t, tok), digest[:], crypto.SHA256, roots(ca), nil); err != nil {
					t.Fatalf("Verify: %v", err)
				}
				other := sha256.Sum256([]byte("other"))
				if _, err := tsa.Verify(readFile(t, tok), other[:], crypto.SHA256, roots(ca), nil); err == nil {
					t.Fatal("Verify accepted openssl's token for another digest")
				}
			})

			// openssl's TSA stamps SHA-1 when told to; Verify refuses it.
			t.Run("SHA-1", func(t *testing.T) {
				req := filepath.Join(dir, "sha1.tsq")
				tok := filepath.Join(dir, "sha1.der")
				openssl(t, "ts", "-query", "-data", data, "-sha1", "-cert", "-out", req)
				openssl(t, "ts", "-reply", "-config", cfg, "-queryfile", req, "-token_out", "-out", tok)
				if _, err := tsa.Verify(readFile(t, tok), digestOf(crypto.SHA1, string(content)), crypto.SHA1, roots(ca), nil); !errors.Is(err, tsa.ErrImprint) {
					t.Fatalf("Verify = %v, want ErrImprint", err)
				}
			})

			t.Run("Client", func(t *testing.T) {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					body, err := io.ReadAll(r.Body)
					if err != nil {
						http.Error(w, err.Error(), http.StatusBadRequest)
						return
					}
					d := t.TempDir()
					q := filepath.Join(d, "q.tsq")
					if err := os.WriteFile(q, body, 0o600); err != nil {
						http.Error(w, err.Error(), http.StatusInternalServerError)
						return
					}
					resp := filepath.Join(d, "r.tsr")
					if out, err := exec.CommandContext(r.Context(), bin, "ts", "-reply", "-config", cfg, "-queryfile", q, "-out", resp).CombinedOutput(); err != nil {
						http.Error(w, string(out), http.StatusInternalServerError)
						return
					}
					b, err := os.ReadFile(resp)
					if err != nil {
						http.Error(w, err.Error(), http.StatusInternalServerError)
						return
					}
					w.Header().Set("Content-Type", tsa.ReplyType)
					_, _ = io.Copy(w, bytes.NewReader(b))
				}))
				t.Cleanup(srv.Close)
				tok := stamp(t, srv.URL, digest[:], crypto.SHA256)
				if _, err := tsa.Verify(tok, digest[:], crypto.SHA256, roots(ca), nil); err != nil {
					t.Fatalf("Verify: %v", err)
				}
			})
		})
	}
}
