package trust

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func selfSigned(t *testing.T, key *ecdsa.PrivateKey, serial int64, extra int) []byte {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "bounds"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	if extra > 0 {
		tmpl.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}, Value: bytes.Repeat([]byte{0x05}, extra)}}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// The certificate cache is filled by whoever submits, before any check:
// it holds a bounded number of certificates, none of them large.
func TestCertCacheIsBounded(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	size := func(c *certCache) int { return len(c.cur) + len(c.prev) }
	tests := []struct {
		name  string
		certs int
		extra int // bytes of padding extension
		want  int // certificates held at most
	}{
		{"one small", 1, 0, 1},
		{"one large", 1, maxCachedCertBytes, 0},
		{"many small", 3*maxCachedCerts + 1, 0, 2 * maxCachedCerts},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCertCache()
			for i := range tt.certs {
				e, err := c.parse(selfSigned(t, key, int64(i+1), tt.extra))
				if err != nil || e.cert.SerialNumber.Int64() != int64(i+1) {
					t.Fatalf("parse: %v", err)
				}
			}
			if got := size(c); got > tt.want || tt.want > 0 && got == 0 {
				t.Errorf("holds %d certificates, want at most %d (and some)", got, tt.want)
			}
		})
	}
}

// A fetched CRL's index goes with the list when a newer one replaces it:
// it must not keep replaced lists alive.
func TestReplacedCRLLosesItsIndex(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	issuer, err := x509.ParseCertificate(selfSigned(t, key, 1, 0))
	if err != nil {
		t.Fatal(err)
	}
	var number atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		// Already past NextUpdate: each fetch loads a new list.
		der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(number.Add(1)),
			ThisUpdate: time.Now().Add(-2 * time.Hour), NextUpdate: time.Now().Add(-time.Hour),
			RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: big.NewInt(7), RevocationTime: time.Now().Add(-3 * time.Hour)}}}, issuer, key)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_, _ = w.Write(der)
	}))
	defer srv.Close()
	c := newCRLCache(Config{HTTP: srv.Client(), MaxCRLBytes: 1 << 20})
	var last *x509.RevocationList
	for i := range 3 {
		crl, err := c.fetch(context.Background(), srv.URL, issuer)
		if err != nil {
			t.Fatal(err)
		}
		if crl == last {
			t.Fatalf("fetch %d: the same list again", i)
		}
		if got := c.revokedAt(crl, big.NewInt(7)); len(got) != 1 {
			t.Fatalf("fetch %d: revocation times %v", i, got)
		}
		last = crl
	}
	if len(c.indexes) != 1 {
		t.Errorf("%d indexes after three lists replaced one another, want 1", len(c.indexes))
	}
}
