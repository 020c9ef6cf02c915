package agencies_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/agencies"
	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/organ"
	"github.com/lienthong/lienthong/internal/route"
	"github.com/lienthong/lienthong/internal/testwait"
)

const (
	g22   = "000.00.00.G22"
	h29   = "000.00.00.H29"
	topic = "lienthong.agencies"
)

var key = []byte("the hub processes' shared key, 32+ bytes")

func inbox(id string) string { return bus.AgencyInbox("lienthong.", id) }

// replica starts a Store as one hub process would, over a directory of
// the configuration's agencies (G22 only), until the test ends.
func replica(t *testing.T, cfg bus.Config) (*agencies.Store, *organ.Directory) {
	t.Helper()
	dir, err := organ.NewDirectory([]organ.Agency{{ID: g22, Name: "Văn phòng Chính phủ"}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := agencies.New(t.Context(), agencies.Config{Bus: cfg, Topic: topic, Key: key, Directory: dir, Inbox: inbox})
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
	return s, dir
}

// routes reports whether a packet from G22 to id is routed to id's inbox
// under dir, as the hub decides at submission.
func routes(dir *organ.Directory, id string) bool {
	d := route.Decide(route.Packet{Kind: "edoc", From: g22, To: []string{id}}, dir, nil)
	return len(d.Unroutable) == 0 && len(d.Deliveries) == 1 && d.Deliveries[0].Endpoint == id
}

// An agency added on one replica is routed to by another, whose inbox
// topic exists, without a restart; retired, it is refused everywhere; a
// forged record changes nothing; the audit trail holds each change.
func TestOnboarding(t *testing.T) {
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
	t.Cleanup(func() { _ = admin.Close() })

	a, _ := replica(t, cfg)
	_, dirB := replica(t, cfg)
	if routes(dirB, h29) {
		t.Fatal("H29 routed before it was added")
	}
	if _, err := admin.TopicConfig(t.Context(), inbox(h29), "cleanup.policy"); err == nil {
		t.Fatal("H29's inbox topic exists before it was added")
	}

	// Invalid entries are refused before anything is published.
	tests := []struct {
		give organ.Agency
		want error
	}{
		{give: organ.Agency{ID: "not an id"}, want: agencies.ErrInvalid},
		{give: organ.Agency{ID: h29, Aliases: []organ.ID{g22}}, want: agencies.ErrInvalid},
		{give: organ.Agency{ID: h29, Endpoint: "http://example.org/hook"}, want: agencies.ErrInvalid},
	}
	for _, tt := range tests {
		if err := a.Set(t.Context(), tt.give, "cli:vanhanh"); !errors.Is(err, tt.want) {
			t.Errorf("Set(%+v) = %v, want %v", tt.give, err, tt.want)
		}
	}

	if err := a.Set(t.Context(), organ.Agency{ID: h29, Name: "Bộ Y tế"}, "cli:vanhanh"); err != nil {
		t.Fatal(err)
	}
	testwait.Eventually(t, "H29 routed on the other replica", func() bool { return routes(dirB, h29) })
	if _, err := admin.TopicConfig(t.Context(), inbox(h29), "cleanup.policy"); err != nil {
		t.Errorf("H29's inbox topic: %v", err)
	}

	// A record not signed with the key changes nothing, even from a
	// process started later.
	p, err := bus.NewProducer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	forged := []agencies.Change{
		{V: 1, OrganID: "000.00.00.X99", Action: agencies.ActionSet, Agency: &organ.Agency{ID: "000.00.00.X99"}},
		{V: 1, OrganID: "000.00.00.X99", Action: agencies.ActionSet, Agency: &organ.Agency{ID: "000.00.00.X99"}, MAC: strings.Repeat("0", 64)},
		{V: 1, OrganID: g22, Action: agencies.ActionRetire},
	}
	for _, c := range forged {
		raw, _ := json.Marshal(c)
		if err := p.Produce(t.Context(), bus.Message{Topic: topic, Key: []byte(c.OrganID), Value: raw}); err != nil {
			t.Fatal(err)
		}
	}
	_ = p.Close()
	_, late := replica(t, cfg)
	if !routes(late, h29) || !routes(late, g22) || routes(late, "000.00.00.X99") {
		t.Errorf("a later replica: H29 %v, G22 %v, forged X99 %v", routes(late, h29), routes(late, g22), routes(late, "000.00.00.X99"))
	}
	if !routes(dirB, g22) {
		t.Error("a forged retirement retired G22")
	}

	// Retired, H29 is refused by every replica.
	if err := a.Retire(t.Context(), h29, "cli:vanhanh"); err != nil {
		t.Fatal(err)
	}
	testwait.Eventually(t, "H29 refused on the other replica", func() bool {
		d := route.Decide(route.Packet{Kind: "edoc", From: g22, To: []string{h29}}, dirB, nil)
		return slices.Equal(d.Unroutable, []string{h29})
	})
	if err := a.Retire(t.Context(), h29, "cli:vanhanh"); !errors.Is(err, agencies.ErrUnknown) {
		t.Errorf("retiring twice: %v", err)
	}

	trail, err := agencies.Audit(t.Context(), cfg, topic, key)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range trail {
		got = append(got, c.Action+" "+c.OrganID+" by "+c.By)
	}
	want := []string{"set " + h29 + " by cli:vanhanh", "retire " + h29 + " by cli:vanhanh"}
	if !slices.Equal(got, want) {
		t.Errorf("audit trail %q, want %q", got, want)
	}
}
