package pdfsig

import (
	"bytes"
	"context"
	"crypto/x509"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/tsa"
)

// A signature time-stamp (PAdES B-T) fixes when the signature existed:
// with the TSA's roots configured, it is the signing time, and a
// certificate that expired since still made a valid signature then.
// Without the roots it is reported, not trusted; without a stamp an
// expired certificate is simply expired.
func TestVerifyTimeStamp(t *testing.T) {
	k := newSignKit(t)
	dev, err := tsa.DevServer(k.ca, tsa.ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(dev)
	defer srv.Close()
	stampedOpts := organOptions(k.ec)
	stampedOpts.TSA = srv.URL
	stamped := signPDF(t, engine(t), k.unsigned, stampedOpts)
	plain := signPDF(t, engine(t), k.unsigned, organOptions(k.ec))

	withRoots, err := New(context.Background(), Options{CacheDir: cacheDir, TSARoots: []*x509.Certificate{k.ca.Root()}})
	if err != nil {
		t.Fatal(err)
	}
	defer withRoots.Close() //nolint:errcheck // test
	v := verifier(t, k.roots)
	now, later := time.Now(), k.ec.Cert.NotAfter.Add(24*time.Hour)
	tests := []struct {
		name        string
		e           *Engine
		pdf         []byte
		at          time.Time
		wantValid   bool
		wantStamped bool
		wantWarn    string
	}{
		{"stamped, roots, now", withRoots, stamped, now, true, true, ""},
		{"stamped, roots, after expiry", withRoots, stamped, later, true, true, CodeValidAtTimestamp},
		{"stamped, no roots, now", engine(t), stamped, now, true, false, CodeTimestampInvalid},
		{"stamped, no roots, after expiry", engine(t), stamped, later, false, false, CodeTimestampInvalid},
		{"not stamped, after expiry", withRoots, plain, later, false, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.e.Verify(context.Background(), v, bytes.NewReader(tt.pdf), int64(len(tt.pdf)), VerifyOptions{From: ecOrganID, At: tt.at})
			if len(a.Signatures) != 1 {
				t.Fatalf("%d signatures, errors %v", len(a.Signatures), a.Errors)
			}
			s := a.Signatures[0]
			if s.Valid != tt.wantValid || (s.TimeStamped != nil) != tt.wantStamped {
				t.Errorf("valid %v timeStamped %v, want %v %v; errors %v warnings %v", s.Valid, s.TimeStamped, tt.wantValid, tt.wantStamped, s.Errors, s.Warnings)
			}
			if tt.wantStamped && (s.TimeStamped.Sub(now).Abs() > time.Minute || !s.SignedAt.Equal(*s.TimeStamped)) {
				t.Errorf("timeStamped %v signedAt %v", s.TimeStamped, s.SignedAt)
			}
			if w := codes(s.Warnings); tt.wantWarn != "" && !slices.Contains(w, tt.wantWarn) {
				t.Errorf("warnings %v, want %s", w, tt.wantWarn)
			}
		})
	}
}
