package hub

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/digitorus/pkcs7"

	"github.com/lienthong/lienthong/internal/pki"
)

// fixedSigner signs with fixed bytes, so two encoders can be compared
// byte for byte (ECDSA signatures are randomised).
type fixedSigner struct{ pub crypto.PublicKey }

func (f fixedSigner) Public() crypto.PublicKey { return f.pub }
func (fixedSigner) Sign(_ io.Reader, digest []byte, _ crypto.SignerOpts) ([]byte, error) {
	return append([]byte("signature over "), digest...), nil
}

// pkcs7Receipt is SignReceipt's pkcs7 path.
func pkcs7Receipt(t *testing.T, content []byte, cert *x509.Certificate, key crypto.Signer, chain []*x509.Certificate) []byte {
	t.Helper()
	sd, err := pkcs7.NewSignedData(content)
	if err != nil {
		t.Fatal(err)
	}
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	if err := sd.AddSigner(cert, key, pkcs7.SignerInfoConfig{}); err != nil {
		t.Fatal(err)
	}
	for _, c := range chain {
		sd.AddCertificate(c)
	}
	der, err := sd.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// The receipt's CMS is the same bytes pkcs7 wrote, for the key types
// receipts are signed with, and still verifies as before.
func TestSignAttachedIsPKCS7s(t *testing.T) {
	content := []byte(`{"id":"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b","kind":"edoc","sha256":"ab"}`)
	for _, alg := range []pki.Algorithm{pki.ECDSA, pki.RSA} {
		ca, err := pki.Init(filepath.Join(t.TempDir(), string(alg)), pki.InitOptions{Algorithm: alg})
		if err != nil {
			t.Fatal(err)
		}
		iss, err := ca.Issue("000.00.00.G01", "hub", pki.IssueOptions{Algorithm: alg})
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name  string
			chain []*x509.Certificate
		}{
			{"with chain", iss.Chain},
			{"no chain", nil},
		}
		for _, tt := range tests {
			t.Run(string(alg)+" "+tt.name, func(t *testing.T) {
				key := fixedSigner{pub: iss.Key.Public()}
				// pkcs7 reads the clock itself: try again when a second
				// boundary fell between the two.
				for try := 0; ; try++ {
					want := pkcs7Receipt(t, content, iss.Cert, key, tt.chain)
					got, ok, err := signAttached(content, iss.Cert, key, tt.chain, time.Now())
					if err != nil || !ok {
						t.Fatalf("signAttached: ok %v, %v", ok, err)
					}
					if bytes.Equal(got, want) {
						break
					}
					if try == 3 {
						t.Fatalf("differs from pkcs7's:\n got %x\nwant %x", got, want)
					}
				}
				der, _, err := signAttached(content, iss.Cert, iss.Key, tt.chain, time.Now())
				if err != nil {
					t.Fatal(err)
				}
				p7, err := pkcs7.Parse(der)
				if err != nil {
					t.Fatal(err)
				}
				pool := x509.NewCertPool()
				pool.AddCert(ca.Root())
				if tt.chain == nil {
					p7.Certificates = append(p7.Certificates, iss.Chain...)
				}
				if err := p7.VerifyWithChain(pool); err != nil || !bytes.Equal(p7.Content, content) {
					t.Errorf("verify: %v, content %q", err, p7.Content)
				}
			})
		}
	}
}

// BenchmarkSignReceipt: the receipt's CMS by pkcs7 and built directly,
// ECDSA P-256 with the chain, as the hub signs.
func BenchmarkSignReceipt(b *testing.B) {
	ca, err := pki.Init(b.TempDir(), pki.InitOptions{})
	if err != nil {
		b.Fatal(err)
	}
	iss, err := ca.Issue("000.00.00.G01", "hub", pki.IssueOptions{})
	if err != nil {
		b.Fatal(err)
	}
	content := bytes.Repeat([]byte("x"), 700)
	b.Run("pkcs7", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sd, _ := pkcs7.NewSignedData(content)
			sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
			if err := sd.AddSigner(iss.Cert, iss.Key, pkcs7.SignerInfoConfig{}); err != nil {
				b.Fatal(err)
			}
			for _, c := range iss.Chain {
				sd.AddCertificate(c)
			}
			if _, err := sd.Finish(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("direct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := signAttached(content, iss.Cert, iss.Key, iss.Chain, time.Now()); err != nil {
				b.Fatal(err)
			}
		}
	})
}
