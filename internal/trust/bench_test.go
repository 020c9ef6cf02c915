package trust_test

import (
	"bytes"
	"context"
	"io"
	"math/big"
	"testing"

	"crypto/x509"

	"github.com/lienthong/lienthong/internal/pki"
	"github.com/lienthong/lienthong/internal/trust"
)

// BenchmarkVerifyCMS verifies a detached signature over a 50 KB packet,
// hashing the packet as part of each verification, with a CRL configured.
func BenchmarkVerifyCMS(b *testing.B) {
	data := bytes.Repeat(packet(b, "edoc-new.xml"), 9)[:50<<10]
	for _, alg := range []pki.Algorithm{pki.ECDSA, pki.RSA} {
		b.Run(string(alg), func(b *testing.B) {
			e := newEnv(b, pki.InitOptions{Algorithm: alg})
			if _, err := e.ca.CRL(nil, pki.CRLOptions{}); err != nil {
				b.Fatal(err)
			}
			sig := sign(b, data, e.g22)
			v := verifier(b, trust.Config{CRLs: []*x509.RevocationList{loadCRL(b, e.ca.CRLPath(false))}}, e.ca.Root())
			content := trust.ReaderContent(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
			benchVerify(b, v, sig, content, int64(len(data)))
		})
	}
}

// BenchmarkVerifyCMSDigested is the hub's case (hub.verify): the spool
// hashed the packet already, so this is the CMS work alone, for a
// signature made as bench makes its packets' (pki.SignDetached with the
// chain).
func BenchmarkVerifyCMSDigested(b *testing.B) {
	data := bytes.Repeat(packet(b, "edoc-new.xml"), 9)[:50<<10]
	e := newEnv(b, pki.InitOptions{})
	sig := sign(b, data, e.g22)
	v := verifier(b, trust.Config{}, e.ca.Root())
	benchVerify(b, v, sig, digests(data), 0)
}

func benchVerify(b *testing.B, v *trust.Verifier, sig []byte, content trust.Content, size int64) {
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		if s := v.VerifyCMS(context.Background(), sig, content, "000.00.00.G22", now); !s.Valid {
			b.Fatal(s.Errors)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifications/s")
}

// BenchmarkVerifyCMSLargeCRL: the hub's case with a configured CRL of
// 20,000 revoked serials, as a national CA's list has.
func BenchmarkVerifyCMSLargeCRL(b *testing.B) {
	data := bytes.Repeat(packet(b, "edoc-new.xml"), 9)[:50<<10]
	e := newEnv(b, pki.InitOptions{})
	serials := make([]*big.Int, 20_000)
	for i := range serials {
		serials[i] = new(big.Int).Lsh(big.NewInt(int64(i+1)), 64)
	}
	if _, err := e.ca.CRL(serials, pki.CRLOptions{}); err != nil {
		b.Fatal(err)
	}
	sig := sign(b, data, e.g22)
	v := verifier(b, trust.Config{CRLs: []*x509.RevocationList{loadCRL(b, e.ca.CRLPath(false))}}, e.ca.Root())
	benchVerify(b, v, sig, digests(data), 0)
}
