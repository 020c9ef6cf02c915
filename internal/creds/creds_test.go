package creds_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"lienthong/internal/bus"
	"lienthong/internal/config"
	"lienthong/internal/creds"
)

const (
	g22 = "000.00.00.G22"
	h29 = "000.00.00.H29"
)

var agencies = []config.Agency{
	{OrganID: g22, Tokens: []config.Secret{"g22-config-token-0123456789"}},
	{OrganID: h29, Tokens: []config.Secret{config.Secret(config.HashToken("h29-config-token-0123456789"))}},
}

type base struct{}

func (base) Organ(tok string) (string, bool) {
	for _, a := range agencies {
		if a.MatchToken(tok) {
			return a.OrganID, true
		}
	}
	return "", false
}

func configured(organ string) [][sha256.Size]byte {
	for _, a := range agencies {
		if a.OrganID == organ {
			return a.TokenDigests()
		}
	}
	return nil
}

// replica starts a Store as one hub process would, until the test ends.
func replica(t *testing.T, cfg bus.Config) *creds.Store {
	t.Helper()
	s, err := creds.New(t.Context(), creds.Config{Bus: cfg, Topic: "lienthong.credentials", Base: base{}, Configured: configured})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		_ = s.Close()
	})
	wctx, wcancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer wcancel()
	if err := s.WaitReady(wctx); err != nil {
		t.Fatal(err)
	}
	return s
}

func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Two replicas share rotations: a token issued on one works on the
// other; a configured token revoked on one is refused by both, and by a
// process started later.
func TestRotation(t *testing.T) {
	b, err := bus.StartBroker(t.Context(), bus.BrokerConfig{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	cfg := bus.Config{Brokers: b.Addrs()}

	// Not yet read: nothing is accepted, not even a configured token.
	early, err := creds.New(t.Context(), creds.Config{Bus: cfg, Topic: "lienthong.credentials", Base: base{}, Configured: configured})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := early.Organ("g22-config-token-0123456789"); ok {
		t.Error("a token accepted before the topic was read")
	}
	_ = early.Close()

	a, c := replica(t, cfg), replica(t, cfg)
	if o, ok := a.Organ("g22-config-token-0123456789"); !ok || o != g22 {
		t.Fatalf("configured token: %q %v", o, ok)
	}

	tok, err := a.Issue(t.Context(), g22, "console:vanhanh")
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := a.Organ(tok); !ok || o != g22 {
		t.Fatalf("issued token on its replica: %q %v", o, ok)
	}
	eventually(t, "the issued token on the other replica", func() bool { o, ok := c.Organ(tok); return ok && o == g22 })

	// G22's tokens: the configured one, then the issued one.
	toks := c.Tokens(g22)
	if len(toks) != 2 || toks[0].Source != "config" || toks[1].Source != "console" || toks[1].By != "console:vanhanh" || toks[0].Revoked || toks[1].Revoked {
		t.Fatalf("tokens of G22: %+v", toks)
	}

	// Revoking the configured token on c refuses it everywhere.
	if err := c.Revoke(t.Context(), g22, toks[0].Fingerprint(), "console:vanhanh"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the revoked token refused on the other replica", func() bool { _, ok := a.Organ("g22-config-token-0123456789"); return !ok })
	if _, ok := a.Organ(tok); !ok {
		t.Error("revoking one token refused another")
	}
	if got := a.Tokens(g22); !got[0].Revoked || got[0].By != "console:vanhanh" {
		t.Errorf("after revoking: %+v", got)
	}

	// An agency cannot reach another's tokens, and fingerprints must be
	// long enough to name one token.
	if err := c.Revoke(t.Context(), h29, toks[1].Fingerprint(), "x"); !errors.Is(err, creds.ErrUnknown) {
		t.Errorf("revoking G22's token as H29's: %v", err)
	}
	if err := c.Revoke(t.Context(), g22, toks[1].Digest[:6], "x"); !errors.Is(err, creds.ErrUnknown) {
		t.Errorf("revoking by 6 digits: %v", err)
	}
	if o, ok := a.Organ("h29-config-token-0123456789"); !ok || o != h29 {
		t.Errorf("H29's hashed configured token: %q %v", o, ok)
	}

	// A process started later knows both changes.
	late := replica(t, cfg)
	if _, ok := late.Organ("g22-config-token-0123456789"); ok {
		t.Error("a later process accepts the revoked token")
	}
	if o, ok := late.Organ(tok); !ok || o != g22 {
		t.Error("a later process refuses the issued token")
	}
	// Revoking the issued token too leaves G22 none.
	if err := late.Revoke(t.Context(), g22, toks[1].Fingerprint(), "console:vanhanh"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the issued token refused", func() bool { _, ok := a.Organ(tok); return !ok })
}
