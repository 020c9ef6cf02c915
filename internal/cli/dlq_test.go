package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/hubtest"
	"github.com/lienthong/lienthong/internal/push"
	"github.com/lienthong/lienthong/internal/push/pushtest"
	"github.com/lienthong/lienthong/internal/testwait"
	"github.com/lienthong/lienthong/internal/track"
)

// dlq runs `lienthong dlq ARGS` (runDLQ directly: the command table is
// wired elsewhere).
func dlq(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = runDLQ(t.Context(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func dlqBroker(t *testing.T) bus.Config {
	t.Helper()
	b, err := bus.StartBroker(t.Context(), bus.BrokerConfig{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return bus.Config{Brokers: b.Addrs(), ClientID: "dlq-test"}
}

func dlqProduce(t *testing.T, cfg bus.Config, msgs ...bus.Message) {
	t.Helper()
	var specs []bus.TopicSpec
	for _, m := range msgs {
		specs = append(specs, bus.TopicSpec{Name: m.Topic, Partitions: 1})
	}
	a, err := bus.NewAdmin(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.EnsureTopics(t.Context(), specs...); err != nil {
		t.Fatal(err)
	}
	p, err := bus.NewProducer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Produce(t.Context(), msgs...); err != nil {
		t.Fatal(err)
	}
}

// dlqWaitEntries lists the dead-letter topic until it holds n entries.
func dlqWaitEntries(t *testing.T, cfg bus.Config, n int) []push.DeadLetter {
	t.Helper()
	var dls []push.DeadLetter
	testwait.EventuallyState(t, fmt.Sprintf("%d dead letters", n), func() (bool, string) {
		var err error
		dls, err = push.ListDeadLetters(t.Context(), cfg, push.Topics{})
		return err == nil && len(dls) >= n, fmt.Sprintf("%d, %v", len(dls), err)
	})
	return dls
}

func TestDLQWebhookListAndReplay(t *testing.T) {
	t.Setenv("LIENTHONG_BROKERS", "")
	cfg := dlqBroker(t)
	brokers := strings.Join(cfg.Brokers, ",")
	const organ = "000.00.00.H29"
	secret := []byte("webhook-secret-of-h29")
	rcv := pushtest.NewReceiver(t, secret)
	var mu sync.Mutex
	fixed := false
	rcv.Respond(func(context.Context, pushtest.Request) int {
		mu.Lock()
		defer mu.Unlock()
		if fixed {
			return http.StatusAccepted
		}
		return http.StatusBadGateway
	})
	id := strings.Repeat("c0", 32)
	value, _ := json.Marshal(track.Item{ID: id, Endpoint: organ, Organs: []string{organ}, Kind: "edoc", From: "000.00.00.G22",
		AcceptedAt: time.Now().UTC(), SHA256: strings.Repeat("ab", 32), Size: 10})
	inbox := push.Topics{}.Inbox(organ)
	dlqProduce(t, cfg, bus.Message{Topic: inbox, Key: []byte(id), Value: value})

	p, err := push.New(push.Config{Bus: cfg, Endpoints: []push.Endpoint{{OrganID: organ, URL: rcv.URL, Secret: secret}},
		MaxAttempts: 2, InitialBackoff: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-stopped; err != nil {
			t.Errorf("pusher.Run: %v", err)
		}
	})
	dlqWaitEntries(t, cfg, 1)

	// A second, foreign entry: nothing says where it came from.
	dlqProduce(t, cfg, bus.Message{Topic: push.Topics{}.DeadLetter(), Key: []byte("k"), Value: []byte{0xff, 0}})

	code, out, errOut := dlq(t, "list", "--brokers", brokers)
	if code != ExitOK {
		t.Fatalf("dlq list: %d %s", code, errOut)
	}
	t.Logf("list:\n%s%s", out, errOut)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "OFFSET") {
		t.Fatalf("dlq list:\n%s", out)
	}
	for _, want := range []string{inbox, id, "HTTP 502 Bad Gateway", "gave up after 2 attempts", time.Now().UTC().Format("2006-01-02T")} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("dlq list: entry %q does not show %q", lines[1], want)
		}
	}
	if f := strings.Fields(lines[1]); f[0] != "0" || f[4] != "-" {
		t.Errorf("dlq list: entry %q: want offset 0, not replayed", lines[1])
	}
	if !strings.HasPrefix(lines[2], "1 ") || !strings.Contains(errOut, "2 entries in lienthong.dead-letter") {
		t.Errorf("dlq list: second entry %q, stderr %q", lines[2], errOut)
	}

	code, out, _ = dlq(t, "list", "--brokers", brokers, "--json", "--endpoint", organ)
	if code != ExitOK {
		t.Fatalf("dlq list --json: %d", code)
	}
	items := clientLines(t, out)
	if len(items) != 1 {
		t.Fatalf("dlq list --json --endpoint: %d entries\n%s", len(items), out)
	}
	e := items[0]
	if e["offset"] != 0.0 || e["key"] != id || e["originalTopic"] != inbox || e["originalOffset"] != 0.0 || e["endpoint"] != organ ||
		!strings.Contains(e["error"].(string), "HTTP 502") || e["failedAt"] == nil || e["value"].(map[string]any)["id"] != id {
		t.Errorf("dlq list --json: %v", e)
	}

	// Replaying what cannot be replayed, or what is not there: exit 1.
	if code, _, errOut := dlq(t, "replay", "--brokers", brokers, "--offset", "1"); code != ExitInvalid || !strings.Contains(errOut, "cannot be replayed") {
		t.Errorf("replay a foreign entry: %d %s", code, errOut)
	}
	if code, _, errOut := dlq(t, "replay", "--brokers", brokers, "--offset", "0,7"); code != ExitInvalid || !strings.Contains(errOut, "no entry at offset 7") {
		t.Errorf("replay a missing entry: %d %s", code, errOut)
	}
	code, out, _ = dlq(t, "replay", "--brokers", brokers, "--offset", "0", "--dry-run")
	if code != ExitOK || !strings.Contains(out, "would replay 0") {
		t.Errorf("dry run: %d %s", code, out)
	}
	// Had the dry run produced, the pusher would have tried again: check
	// once it has consumed everything in the inbox topic.
	admin, err := bus.NewAdmin(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	testwait.Consumed(t, admin, push.Topics{}.Group(), inbox)
	if n := len(rcv.Requests()); n != 2 {
		t.Fatalf("%d requests after a dry run, want the 2 failed attempts", n)
	}

	// The receiver is fixed: replay, delivered once.
	mu.Lock()
	fixed = true
	mu.Unlock()
	code, out, errOut = dlq(t, "replay", "--brokers", brokers, "--offset", "0")
	t.Logf("replay:\n%s%s", out, errOut)
	if code != ExitOK || !strings.Contains(out, "replayed 0") || !strings.Contains(out, inbox) {
		t.Fatalf("replay: %d\n%s\n%s", code, out, errOut)
	}
	got := rcv.WaitDelivered(t, 1, 20*time.Second)
	if got[0].ID != id || !bytes.Equal(got[0].Body, value) || got[0].Verified != nil {
		t.Errorf("replayed delivery: %+v", got[0])
	}

	code, out, _ = dlq(t, "list", "--brokers", brokers, "--json")
	if items := clientLines(t, out); code != ExitOK || len(items) != 2 || len(items[0]["replays"].([]any)) != 1 || len(items[1]["replays"].([]any)) != 0 {
		t.Errorf("dlq list after replay:\n%s", out)
	} else if r := items[0]["replays"].([]any)[0].(map[string]any); r["to"] != inbox || r["by"] == "" || r["offset"] != 0.0 {
		t.Errorf("replay record %v", r)
	}
	// --all skips what was replayed; the foreign entry stops it before
	// anything is produced.
	if code, _, errOut := dlq(t, "replay", "--brokers", brokers, "--all", "--endpoint", organ); code != ExitOK || !strings.Contains(errOut, "nothing to replay") {
		t.Errorf("replay --all after replay: %d %s", code, errOut)
	}
	if code, _, errOut := dlq(t, "replay", "--brokers", brokers, "--all"); code != ExitInvalid || !strings.Contains(errOut, "cannot be replayed") {
		t.Errorf("replay --all with a foreign entry: %d %s", code, errOut)
	}
	testwait.Consumed(t, admin, push.Topics{}.Group(), inbox)
	if n := len(rcv.Delivered()); n != 1 {
		t.Errorf("delivered %d times, want once", n)
	}
}

// Replaying an entry of a pull agency's inbox, twice, leaves one item in
// its inbox: the view keeps one item per packet and endpoint.
func TestDLQReplayPullInboxOnce(t *testing.T) {
	t.Setenv("LIENTHONG_HUB", "")
	t.Setenv("LIENTHONG_TOKEN", "")
	t.Setenv("LIENTHONG_BROKERS", "")
	h := hubtest.Start(t, hubtest.Options{})
	brokers := strings.Join(h.Broker.Addrs(), ",")
	const g22, h29 = "000.00.00.G22", "000.00.00.H29"
	as := func(id string) []string { return []string{"--hub", h.URL, "--token", h.Agencies[id].Token} }
	send := func(doc string) string {
		c := h.Agencies[g22].Cert
		code, out, errOut := run(t, append([]string{"send", filepath.Join(fixtures, doc), "--cert", c.CertPath, "--key", c.KeyPath, "--chain", c.ChainPath}, as(g22)...)...)
		if code != ExitOK {
			t.Fatalf("send %s: %s", doc, errOut)
		}
		var rc struct{ ID string }
		if err := json.Unmarshal([]byte(out), &rc); err != nil {
			t.Fatal(err)
		}
		return rc.ID
	}
	// inbox waits until the inbox lists want and returns the ids.
	inbox := func(want string) []string {
		deadline := time.Now().Add(20 * time.Second)
		for {
			code, out, errOut := run(t, append([]string{"inbox"}, as(h29)...)...)
			if code != ExitOK {
				t.Fatalf("inbox: %s", errOut)
			}
			var ids []string
			for _, it := range clientLines(t, out) {
				ids = append(ids, it["id"].(string))
			}
			if strings.Contains(out, want) {
				return ids
			}
			if time.Now().After(deadline) {
				t.Fatalf("inbox never listed %s: %v", want, ids)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	id := send("edoc-new.xml")
	inbox(id)

	// The inbox item, parked as the router would have parked it.
	value, _ := json.Marshal(track.Item{ID: id, Endpoint: h29, Organs: []string{h29}, Kind: "edoc", From: g22,
		AcceptedAt: time.Now().UTC(), SHA256: strings.Repeat("ab", 32), Size: 1})
	dlqProduce(t, bus.Config{Brokers: h.Broker.Addrs()}, bus.Message{Topic: "lienthong.dead-letter", Key: []byte(id), Value: value,
		Headers: map[string]string{bus.HeaderOriginalTopic: "lienthong.inbox." + h29, bus.HeaderError: "test", bus.HeaderFailedAt: time.Now().UTC().Format(time.RFC3339)}})
	for range 2 {
		if code, out, errOut := dlq(t, "replay", "--brokers", brokers, "--offset", "0"); code != ExitOK {
			t.Fatalf("replay: %d %s %s", code, out, errOut)
		}
	}
	// A later packet on the same inbox partition: once it is listed, the
	// replays before it have been applied.
	id2 := send("edoc-new-two-recipients.xml")
	ids := inbox(id2)
	if n := strings.Count(strings.Join(ids, " "), id); len(ids) != 2 || n != 1 {
		t.Errorf("inbox after two replays: %v, want %s once and %s", ids, id, id2)
	}
	code, out, _ := dlq(t, "list", "--brokers", brokers, "--json")
	if items := clientLines(t, out); code != ExitOK || len(items) != 1 || len(items[0]["replays"].([]any)) != 2 {
		t.Errorf("dlq list: %s", out)
	}
}

func TestDLQUsage(t *testing.T) {
	t.Setenv("LIENTHONG_BROKERS", "")
	tests := []struct {
		args    []string
		want    int
		wantErr string
	}{
		{nil, ExitUsage, "Usage: lienthong dlq"},
		{[]string{"-h"}, ExitOK, "Usage: lienthong dlq"},
		{[]string{"purge"}, ExitUsage, "unknown subcommand"},
		{[]string{"list"}, ExitUsage, "--brokers is required"},
		{[]string{"list", "--brokers", "nohostport"}, ExitUsage, "--brokers"},
		{[]string{"list", "--brokers", "127.0.0.1:9", "extra"}, ExitUsage, "unexpected argument"},
		{[]string{"replay", "--brokers", "127.0.0.1:9"}, ExitUsage, "--offset or --all"},
		{[]string{"replay", "--brokers", "127.0.0.1:9", "--all", "--offset", "1"}, ExitUsage, "--offset or --all"},
		{[]string{"replay", "--brokers", "127.0.0.1:9", "--offset", "x"}, ExitUsage, "offset"},
		{[]string{"list", "--brokers", "127.0.0.1:1", "--timeout", "3s"}, ExitUsage, "lienthong dlq list: "},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.args), func(t *testing.T) {
			code, _, errOut := dlq(t, tt.args...)
			if code != tt.want || !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("dlq %v = %d, %q; want %d, %q", tt.args, code, errOut, tt.want, tt.wantErr)
			}
		})
	}
	cfg := dlqBroker(t)
	if code, _, errOut := dlq(t, "list", "--brokers", cfg.Brokers[0], "--prefix", "other."); code != ExitUsage || !strings.Contains(errOut, "--prefix") {
		t.Errorf("dlq list with the wrong prefix: %d %q", code, errOut)
	}
}
