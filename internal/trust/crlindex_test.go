package trust_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/trust"
)

// A configured CRL is looked up by serial through an index (issue 18):
// it answers as a scan of the entries did, a serial listed twice
// included.
func TestCRLIndexAnswersAsTheList(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	start := now.Add(-24 * time.Hour)
	rootTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "index root"},
		NotBefore: start, NotAfter: now.Add(365 * 24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	der, err := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	root, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	leafSerial := big.NewInt(4242)
	leafTmpl := &x509.Certificate{SerialNumber: leafSerial, NotBefore: start, NotAfter: now.Add(30 * 24 * time.Hour),
		Subject:  pkix.Name{CommonName: "G22", ExtraNames: []pkix.AttributeTypeAndValue{{Type: asn1.ObjectIdentifier(trust.OIDUID), Value: "000.00.00.G22"}}},
		KeyUsage: x509.KeyUsageDigitalSignature}
	if der, err = x509.CreateCertificate(rand.Reader, leafTmpl, root, key.Public(), key); err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	entry := func(serial *big.Int, at time.Time) x509.RevocationListEntry {
		return x509.RevocationListEntry{SerialNumber: serial, RevocationTime: at}
	}
	before, after := now.Add(-time.Hour).Truncate(time.Second), now.Add(time.Hour).Truncate(time.Second)
	tests := []struct {
		name string
		give []x509.RevocationListEntry
		want []string
	}{
		{"not listed", []x509.RevocationListEntry{entry(big.NewInt(1), before), entry(big.NewInt(-4242), before)}, []string{}},
		{"revoked before", []x509.RevocationListEntry{entry(big.NewInt(7), before), entry(leafSerial, before)}, []string{trust.CodeRevoked}},
		{"revoked after", []x509.RevocationListEntry{entry(leafSerial, after)}, []string{}},
		{"listed twice, the first after", []x509.RevocationListEntry{entry(leafSerial, after), entry(leafSerial, before)}, []string{trust.CodeRevoked}},
		{"listed twice, the second after", []x509.RevocationListEntry{entry(leafSerial, before), entry(leafSerial, after)}, []string{trust.CodeRevoked}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(int64(i + 1)),
				ThisUpdate: start, NextUpdate: now.Add(7 * 24 * time.Hour), RevokedCertificateEntries: tt.give}, root, key)
			if err != nil {
				t.Fatal(err)
			}
			crl, err := trust.ParseCRL(der)
			if err != nil {
				t.Fatal(err)
			}
			v := verifier(t, trust.Config{CRLs: []*x509.RevocationList{crl}}, root)
			for range 2 { // the second answer comes from the index
				s := trust.CheckChainForTest(v, leaf, nil, "000.00.00.G22", now)
				if !slices.Equal(codes(s.Errors), tt.want) {
					t.Fatalf("errors %v, want %v", s.Errors, tt.want)
				}
			}
		})
	}
}
