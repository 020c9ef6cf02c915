package trust_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/pki"
	"github.com/lienthong/lienthong/internal/trust"
)

// Every distribution point fetched is reported with the NextUpdate of its
// last good CRL and its failed fetches; a fetch skipped during the backoff
// is no failure.
func TestCRLFetches(t *testing.T) {
	data := packet(t, "edoc-new.xml")
	good := httptest.NewUnstartedServer(nil)
	good.Start()
	defer good.Close()
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer bad.Close()
	g := newEnv(t, pki.InitOptions{CRLBaseURL: good.URL})
	b := newEnv(t, pki.InitOptions{CRLBaseURL: bad.URL})
	next := now.Add(48 * time.Hour).UTC().Truncate(time.Second)
	for _, root := range []bool{false, true} {
		if _, err := g.ca.CRL(nil, pki.CRLOptions{Root: root, NextUpdate: next}); err != nil {
			t.Fatal(err)
		}
	}
	inter, _ := os.ReadFile(g.ca.CRLPath(false))
	root, _ := os.ReadFile(g.ca.CRLPath(true))
	good.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if filepath.Base(r.URL.Path) == "root.crl" {
			_, _ = w.Write(root)
			return
		}
		_, _ = w.Write(inter)
	})
	v := verifier(t, trust.Config{FetchCRLs: true}, g.ca.Root(), b.ca.Root())
	if got := v.CRLFetches(); len(got) != 0 {
		t.Errorf("before any fetch: %v", got)
	}
	for range 2 { // the second within the backoff and the cache
		for _, e := range []*env{g, b} {
			if s := v.VerifyCMS(context.Background(), sign(t, data, e.g22), digests(data), "000.00.00.G22", now); !s.Valid {
				t.Fatalf("errors %v", s.Errors)
			}
		}
	}
	got := map[string]trust.CRLFetch{}
	for _, f := range v.CRLFetches() {
		got[f.URL] = f
	}
	tests := []struct {
		give string // distribution point
		want trust.CRLFetch
	}{
		{g.g22.Cert.CRLDistributionPoints[0], trust.CRLFetch{NextUpdate: next}},
		{g.g22.Chain[0].CRLDistributionPoints[0], trust.CRLFetch{NextUpdate: next}},
		{b.g22.Cert.CRLDistributionPoints[0], trust.CRLFetch{Failures: 1}},
		{b.g22.Chain[0].CRLDistributionPoints[0], trust.CRLFetch{Failures: 1}},
	}
	for _, tt := range tests {
		tt.want.URL = tt.give
		f := got[tt.give]
		if !f.NextUpdate.Equal(tt.want.NextUpdate) || f.Failures != tt.want.Failures || f.URL != tt.give {
			t.Errorf("%s: %+v, want %+v", tt.give, f, tt.want)
		}
		if good := !tt.want.NextUpdate.IsZero(); good != !f.Fetched.IsZero() {
			t.Errorf("%s: fetched at %v, want a time only after a good fetch", tt.give, f.Fetched)
		}
	}
	if len(got) != len(tests) {
		t.Errorf("%d points reported, want %d: %v", len(got), len(tests), got)
	}
}
