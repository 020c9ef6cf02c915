package devsite

import (
	"slices"
	"testing"

	"github.com/lienthong/lienthong/internal/pki"
)

// The site is made on the first run and read back, unchanged, on later
// ones: the agencies' tokens and keys outlive a restart of dev.
func TestOpenTwice(t *testing.T) {
	data := t.TempDir()
	first, err := Open(data)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Open(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Agencies) != len(demoAgencies) || !slices.Equal(first.Agencies, again.Agencies) {
		t.Fatalf("agencies differ across runs:\n%+v\n%+v", first.Agencies, again.Agencies)
	}
	cfg := again.Config
	if err := cfg.Validate(); err != nil {
		t.Fatalf("the site's configuration: %v", err)
	}
	if _, _, key, err := pki.LoadSigner(cfg.Trust.HubCert, cfg.Trust.HubChain, cfg.Trust.HubKey); err != nil || key == nil {
		t.Errorf("hub receipt signer: key %v, %v", key, err)
	}
	for i, a := range again.Agencies {
		if cfg.Agencies[i].OrganID != a.OrganID || !cfg.Agencies[i].MatchToken(a.Token) {
			t.Errorf("agency %d: configured %s, token matches %v; want %s", i, cfg.Agencies[i].OrganID, cfg.Agencies[i].MatchToken(a.Token), a.OrganID)
		}
		cert, chain, key, err := pki.LoadSigner(again.Path(a.Cert), again.Path(a.Chain), again.Path(a.Key))
		if err != nil || key == nil || len(chain) != 1 || cert.Subject.CommonName == "" {
			t.Errorf("agency %s signer: %v", a.OrganID, err)
		}
	}
}
