package trust_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/trust"
)

// A report names an organ only for a certificate with exactly one UID: a
// signature inside a PDF is attributed by Signer.OrganID alone.
func TestReportOrganIDNeedsOneUID(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	uid := func(id string) pkix.AttributeTypeAndValue {
		return pkix.AttributeTypeAndValue{Type: trust.OIDUID, Value: id}
	}
	tests := []struct {
		name string
		give []pkix.AttributeTypeAndValue
		want string
	}{
		{"one UID", []pkix.AttributeTypeAndValue{uid("000.00.00.G01")}, "000.00.00.G01"},
		{"two UIDs", []pkix.AttributeTypeAndValue{uid("000.00.00.G01"), uid("000.00.00.G02")}, ""},
		{"none", nil, ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl := &x509.Certificate{
				SerialNumber:          big.NewInt(int64(i + 1)),
				Subject:               pkix.Name{CommonName: "x", ExtraNames: tt.give},
				NotBefore:             time.Now().Add(-time.Hour),
				NotAfter:              time.Now().Add(time.Hour),
				KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
				BasicConstraintsValid: true,
				IsCA:                  true,
			}
			der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
			if err != nil {
				t.Fatal(err)
			}
			c, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatal(err)
			}
			v, err := trust.NewVerifier(trust.Config{Roots: []*x509.Certificate{c}})
			if err != nil {
				t.Fatal(err)
			}
			s := trust.CheckChainForTest(v, c, nil, "000.00.00.G01", time.Now())
			if s.Signer == nil || s.Signer.OrganID != tt.want {
				t.Errorf("signer %+v, want organId %q", s.Signer, tt.want)
			}
		})
	}
}
