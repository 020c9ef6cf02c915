package agencies_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/agencies"
	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/bus/bustest"
	"github.com/lienthong/lienthong/internal/config"
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
	s, dir, _ := replicaIgnoring(t, cfg)
	return s, dir
}

// replicaIgnoring is replica, also counting the records it ignores by
// reason. G22 is configured with a national-axis system.
func replicaIgnoring(t *testing.T, cfg bus.Config) (*agencies.Store, *organ.Directory, func(reason string) int) {
	t.Helper()
	dir, err := organ.NewDirectory([]organ.Agency{{ID: g22, Name: "Văn phòng Chính phủ"}})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	ignored := map[string]int{}
	base := []config.Agency{{OrganID: g22, Name: "Văn phòng Chính phủ", VDXPSystemID: "vpcp-dms", VDXPSecret: "vpcp-secret-0123456789"}}
	s, err := agencies.New(t.Context(), agencies.Config{Bus: cfg, Topic: topic, Key: key, Directory: dir, Inbox: inbox,
		Base: base, Validate: (&config.Config{}).ValidateAgencies,
		OnIgnored: func(reason string) { mu.Lock(); ignored[reason]++; mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() }) // after Run stops: cleanups run last first
	bustest.Run(t, "agencies", s.Run)
	wctx, wcancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer wcancel()
	if err := s.WaitReady(wctx); err != nil {
		t.Fatal(err)
	}
	return s, dir, func(reason string) int { mu.Lock(); defer mu.Unlock(); return ignored[reason] }
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
	cfg := bustest.Broker(t)
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
		if err := a.Set(t.Context(), tt.give, nil, "cli:vanhanh"); !errors.Is(err, tt.want) {
			t.Errorf("Set(%+v) = %v, want %v", tt.give, err, tt.want)
		}
	}

	if err := a.Set(t.Context(), organ.Agency{ID: h29, Name: "Bộ Y tế"}, nil, "cli:vanhanh"); err != nil {
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

func credentialsOf(s *agencies.Store, id string) (config.Agency, bool) {
	for _, a := range s.Credentials() {
		if a.OrganID == id {
			return a, true
		}
	}
	return config.Agency{}, false
}

// Credentials set at run time reach every replica, sealed on the topics;
// they follow the configuration's rules; a change without them keeps them;
// sealed secrets moved to another agency's record do not open.
func TestSecrets(t *testing.T) {
	cfg := bustest.Broker(t)
	a, _ := replica(t, cfg)
	other, _, ignored := replicaIgnoring(t, cfg)
	select { // drained: the next token is a change's
	case <-other.Changed():
	default:
	}

	hook := organ.Agency{ID: h29, Name: "Bộ Y tế", Endpoint: "https://dms.h29.example.vn/hook"}
	tests := []struct {
		name string
		give *agencies.Secrets
	}{
		{name: "webhook without a secret", give: nil},
		{name: "short webhook secret", give: &agencies.Secrets{WebhookSecret: "short"}},
		{name: "G22's system", give: &agencies.Secrets{WebhookSecret: "h29-webhook-0123456789", VDXPSystemID: "vpcp-dms", VDXPSecret: "another-secret-0123456789"}},
		{name: "system without a secret", give: &agencies.Secrets{WebhookSecret: "h29-webhook-0123456789", VDXPSystemID: "byt-dms"}},
		{name: "bad Kafka user", give: &agencies.Secrets{WebhookSecret: "h29-webhook-0123456789", KafkaUser: "User:x", KafkaPassword: "kafka-password-0123"}},
	}
	for _, tt := range tests {
		if err := a.Set(t.Context(), hook, tt.give, "cli:vanhanh"); !errors.Is(err, agencies.ErrInvalid) {
			t.Errorf("%s: Set = %v, want ErrInvalid", tt.name, err)
		}
	}

	sec := &agencies.Secrets{WebhookSecret: "h29-webhook-0123456789", VDXPSystemID: "byt-dms", VDXPSecret: "byt-vdxp-secret-0123456789"}
	if err := a.Set(t.Context(), hook, sec, "cli:vanhanh"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-other.Changed():
	case <-time.After(20 * time.Second):
		t.Fatal("the other replica was not told of the change")
	}
	got, ok := credentialsOf(other, h29)
	if !ok || got.WebhookSecret != sec.WebhookSecret || got.VDXPSystemID != "byt-dms" || got.VDXPSecret != sec.VDXPSecret || got.Endpoint != hook.Endpoint {
		t.Fatalf("H29 on the other replica: %+v (found %v)", got, ok)
	}
	if g, _ := credentialsOf(other, g22); g.VDXPSystemID != "vpcp-dms" || g.VDXPSecret != "vpcp-secret-0123456789" {
		t.Errorf("the configuration's G22 lost its credentials: %+v", g)
	}

	// A change of the entry alone keeps the secrets.
	hook.Name = "Bộ Y tế (mới)"
	if err := a.Set(t.Context(), hook, nil, "cli:vanhanh"); err != nil {
		t.Fatal(err)
	}
	testwait.Eventually(t, "the new name on the other replica", func() bool {
		c, _ := credentialsOf(other, h29)
		return c.Name == hook.Name
	})
	if c, _ := credentialsOf(other, h29); c.WebhookSecret != sec.WebhookSecret || c.VDXPSecret != sec.VDXPSecret {
		t.Errorf("a change without secrets dropped them: %+v", c)
	}

	// Neither the topic nor the audit trail holds a secret in the clear.
	raw := readAll(t, cfg, topic) + readAll(t, cfg, topic+".audit")
	for _, s := range []string{"h29-webhook-0123456789", "byt-vdxp-secret-0123456789"} {
		if strings.Contains(raw, s) {
			t.Errorf("a secret in the clear on the topics: %q", s)
		}
	}

	// H29's sealed secrets, signed into a record of another agency by
	// whoever holds the record key, do not open there.
	var h29Change agencies.Change
	for _, c := range a.Changes() {
		if c.OrganID == h29 {
			h29Change = c
		}
	}
	if h29Change.Secrets == "" {
		t.Fatal("no sealed secrets in H29's change")
	}
	moved := agencies.Change{V: 1, OrganID: "000.00.00.X99", Action: agencies.ActionSet, Agency: &organ.Agency{ID: "000.00.00.X99"}, Secrets: h29Change.Secrets, At: time.Now()}
	moved.MAC = bus.RecordMAC(key, moved)
	p, err := bus.NewProducer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close() //nolint:errcheck // test
	rawMoved, _ := json.Marshal(moved)
	if err := p.Produce(t.Context(), bus.Message{Topic: topic, Key: []byte(moved.OrganID), Value: rawMoved}); err != nil {
		t.Fatal(err)
	}
	testwait.Eventually(t, "the moved secrets ignored", func() bool { return ignored("unsigned") == 1 })
	if _, ok := credentialsOf(other, "000.00.00.X99"); ok {
		t.Error("X99 was added with another agency's secrets")
	}
}

// readAll is every record value of topic, as read until its end.
func readAll(t *testing.T, cfg bus.Config, topic string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var sb strings.Builder
	err := bus.Follow(ctx, cfg, topic, func(m bus.Message) error {
		sb.Write(m.Value)
		return nil
	}, cancel)
	if err != nil && ctx.Err() == nil {
		t.Fatal(err)
	}
	return sb.String()
}

// Two replicas each publish, at the same moment, a change that fits alone
// (two agencies taking one alias): one is told it was refused, and both
// replicas route the alias to the same agency.
func TestConcurrentConflict(t *testing.T) {
	cfg := bustest.Broker(t)
	a, dirA := replica(t, cfg)
	b, dirB := replica(t, cfg)
	const alias = "000.00.00.X01"
	errs := make(chan error, 2)
	for _, s := range []struct {
		store *agencies.Store
		id    string
	}{{a, h29}, {b, "000.00.00.K01"}} {
		go func() {
			errs <- s.store.Set(t.Context(), organ.Agency{ID: organ.ID(s.id), Name: s.id, Aliases: []organ.ID{alias}}, nil, "cli:vanhanh")
		}()
	}
	var failed int
	for range 2 {
		if err := <-errs; err != nil {
			if !errors.Is(err, agencies.ErrInvalid) {
				t.Fatalf("Set: %v", err)
			}
			failed++
		}
	}
	if failed != 1 {
		t.Fatalf("%d of the two conflicting changes refused, want 1", failed)
	}
	canon := func(d *organ.Directory) organ.ID { c, _ := d.Canonical(alias); return c }
	testwait.EventuallyState(t, "both replicas agree", func() (bool, string) {
		return canon(dirA) != "" && canon(dirA) == canon(dirB), fmt.Sprint(canon(dirA), " ", canon(dirB))
	})
}
