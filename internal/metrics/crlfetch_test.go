package metrics_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lienthong/lienthong/internal/metrics"
	"github.com/lienthong/lienthong/internal/pki"
	"github.com/lienthong/lienthong/internal/trust"
)

// The fetched-CRL series of a verifier that fetched a dev PKI's CRL from a
// real HTTP server, and failed on another that answers 503.
func TestCRLFetchCollector(t *testing.T) {
	good := httptest.NewUnstartedServer(nil)
	good.Start()
	defer good.Close()
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer bad.Close()
	next := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	gca, gsig := devSigner(t, good.URL)
	if _, err := gca.CRL(nil, pki.CRLOptions{NextUpdate: next}); err != nil {
		t.Fatal(err)
	}
	crl, err := os.ReadFile(gca.CRLPath(false))
	if err != nil {
		t.Fatal(err)
	}
	// The intermediate's own list (root.crl) is not published: it fails too.
	good.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/intermediate.crl" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(crl)
	})
	bca, bsig := devSigner(t, bad.URL)
	v, err := trust.NewVerifier(trust.Config{FetchCRLs: true, Roots: []*x509.Certificate{gca.Root(), bca.Root()}})
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("<edXML/>")
	sum := sha256.Sum256(data)
	for _, s := range []*pki.Issued{gsig, bsig} {
		sig, err := pki.SignDetached(bytes.NewReader(data), s.Cert, s.Key, s.Chain, pki.SignOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if r := v.VerifyCMS(context.Background(), sig, trust.Digests{crypto.SHA256: sum[:]}, "000.00.00.G22", time.Now()); !r.Valid {
			t.Fatalf("errors %v", r.Errors)
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewCRLFetchCollector(v.CRLFetches))
	tests := []struct {
		give string // distribution point
		next float64
		fail float64
	}{
		{good.URL + "/intermediate.crl", float64(next.Unix()), 0},
		{good.URL + "/root.crl", -1, 1},
		{bad.URL + "/intermediate.crl", -1, 1},
		{bad.URL + "/root.crl", -1, 1},
	}
	for _, tt := range tests {
		url := map[string]string{"url": tt.give}
		want(t, reg, "lienthong_crl_fetch_failures_total", url, tt.fail)
		last, fetched := value(t, reg, "lienthong_crl_fetch_last_success_timestamp_seconds", url)
		if tt.next < 0 {
			if _, ok := value(t, reg, "lienthong_crl_fetch_next_update_timestamp_seconds", url); ok || fetched {
				t.Errorf("%s: a next update or last success without a good CRL", tt.give)
			}
			continue
		}
		want(t, reg, "lienthong_crl_fetch_next_update_timestamp_seconds", url, tt.next)
		if d := float64(time.Now().Unix()) - last; d < 0 || d > 60 {
			t.Errorf("%s: last success %v, want now", tt.give, last)
		}
	}
}

// devSigner is a dev PKI whose certificates name CRLs under base, and a
// signer of G22 it issued.
func devSigner(t *testing.T, base string) (*pki.CA, *pki.Issued) {
	t.Helper()
	ca, err := pki.Init(t.TempDir(), pki.InitOptions{CRLBaseURL: base})
	if err != nil {
		t.Fatal(err)
	}
	iss, err := ca.Issue("000.00.00.G22", "G22", pki.IssueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ca, iss
}
