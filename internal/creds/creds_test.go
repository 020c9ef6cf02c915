package creds_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/internal/creds"
	"github.com/lienthong/lienthong/internal/testwait"
)

const (
	g22 = "000.00.00.G22"
	h29 = "000.00.00.H29"
)

var agencies = []config.Agency{
	{OrganID: g22, Tokens: []config.Secret{"g22-config-token-0123456789"}},
	{OrganID: h29, Tokens: []config.Secret{config.Secret(config.HashToken("h29-config-token-0123456789"))}},
}

var key = []byte("the hub processes' shared key, 32+ bytes")

// canonical maps G22's old code to G22.
func canonical(id string) string {
	if id == "000.00.00.G22OLD" {
		return g22
	}
	return id
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
	s, err := creds.New(t.Context(), creds.Config{Bus: cfg, Topic: "lienthong.credentials", Base: base{}, Configured: configured, Key: key, Canonical: canonical})
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
	early, err := creds.New(t.Context(), creds.Config{Bus: cfg, Topic: "lienthong.credentials", Base: base{}, Configured: configured, Key: key, Canonical: canonical})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := early.Organ("g22-config-token-0123456789"); ok {
		t.Error("a token accepted before the topic was read")
	}
	if !early.LastRead().IsZero() {
		t.Error("a last read before Run")
	}
	_ = early.Close()

	a, c := replica(t, cfg), replica(t, cfg)
	caughtUp := c.LastRead() // the metric lienthong_credentials_last_read_timestamp_seconds
	if caughtUp.IsZero() {
		t.Error("no last read once caught up")
	}
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
	testwait.Eventually(t, "the issued token on the other replica", func() bool { o, ok := c.Organ(tok); return ok && o == g22 })
	if !c.LastRead().After(caughtUp) {
		t.Errorf("last read %v after reading an issue, %v when caught up", c.LastRead(), caughtUp)
	}

	// G22's tokens: the configured one, then the issued one.
	toks := c.Tokens(g22)
	if len(toks) != 2 || toks[0].Source != "config" || toks[1].Source != "console" || toks[1].By != "console:vanhanh" || toks[0].Revoked || toks[1].Revoked {
		t.Fatalf("tokens of G22: %+v", toks)
	}

	// Revoking the configured token on c refuses it everywhere.
	if err := c.Revoke(t.Context(), g22, toks[0].Fingerprint(), "console:vanhanh"); err != nil {
		t.Fatal(err)
	}
	testwait.Eventually(t, "the revoked token refused on the other replica", func() bool { _, ok := a.Organ("g22-config-token-0123456789"); return !ok })
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

	// A token issued under an old code belongs to the agency.
	old, err := a.Issue(t.Context(), "000.00.00.G22OLD", "console:vanhanh")
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := a.Organ(old); !ok || o != g22 || len(a.Tokens(g22)) != 3 {
		t.Errorf("a token issued under an alias: %q %v, G22 has %d tokens", o, ok, len(a.Tokens(g22)))
	}

	// Records not written with the key change nothing: whoever can write
	// to the topic cannot mint a token nor undo a revocation.
	forged := "forged-token-0123456789abcdef"
	sum := sha256.Sum256([]byte(forged))
	p, err := bus.NewProducer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	revokedDigest := toks[0].Digest
	for _, c := range []creds.Change{
		{V: 1, OrganID: g22, Digest: hex.EncodeToString(sum[:]), Action: creds.ActionIssue},
		{V: 1, OrganID: g22, Digest: hex.EncodeToString(sum[:]), Action: creds.ActionIssue, MAC: strings.Repeat("0", 64)},
		{V: 1, OrganID: g22, Digest: revokedDigest, Action: creds.ActionIssue},
	} {
		raw, _ := json.Marshal(c)
		if err := p.Produce(t.Context(), bus.Message{Topic: "lienthong.credentials", Key: []byte(c.Digest), Value: raw}); err != nil {
			t.Fatal(err)
		}
	}
	_ = p.Close()

	// A process started later knows every change, and no forgery.
	late := replica(t, cfg)
	if _, ok := late.Organ("g22-config-token-0123456789"); ok {
		t.Error("a later process accepts the revoked token")
	}
	if o, ok := late.Organ(tok); !ok || o != g22 {
		t.Error("a later process refuses the issued token")
	}
	if _, ok := late.Organ(forged); ok {
		t.Error("a forged record minted a token")
	}
	// Revoking the issued token too leaves G22 none.
	if err := late.Revoke(t.Context(), g22, toks[1].Fingerprint(), "console:vanhanh"); err != nil {
		t.Fatal(err)
	}
	testwait.Eventually(t, "the issued token refused", func() bool { _, ok := a.Organ(tok); return !ok })
}

// A credentials topic that would drop records with retention is refused.
func TestDeletePolicyRefused(t *testing.T) {
	b, err := bus.StartBroker(t.Context(), bus.BrokerConfig{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	cfg := bus.Config{Brokers: b.Addrs()}
	admin, err := bus.NewAdmin(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.EnsureTopics(t.Context(), bus.TopicSpec{Name: "made.elsewhere", Partitions: 1, Config: map[string]string{"cleanup.policy": "delete"}}); err != nil {
		t.Fatal(err)
	}
	_ = admin.Close()
	_, err = creds.New(t.Context(), creds.Config{Bus: cfg, Topic: "made.elsewhere", Base: base{}, Key: key})
	if err == nil || !strings.Contains(err.Error(), "cleanup.policy") {
		t.Fatalf("a delete-policy topic: %v", err)
	}
}
