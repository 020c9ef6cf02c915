package push_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/push"
	"github.com/lienthong/lienthong/internal/push/pushtest"
	"github.com/lienthong/lienthong/internal/testwait"
	"github.com/lienthong/lienthong/internal/track"
)

const wait = 20 * time.Second // generous: 2 shared cores, a consumer group to join

var topics = push.Topics{Prefix: "t."}

func startBroker(t *testing.T) bus.Config {
	t.Helper()
	b, err := bus.StartBroker(t.Context(), bus.BrokerConfig{DataDir: t.TempDir()})
	if err != nil {
		t.Fatalf("StartBroker: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("close broker: %v", err)
		}
	})
	return bus.Config{Brokers: b.Addrs(), ClientID: "push-test"}
}

func testLog() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// item is an inbox message value as the router writes it.
func item(endpoint string, n int) (id string, value []byte) {
	id = fmt.Sprintf("%064x", n)
	raw, err := json.Marshal(track.Item{ID: id, Endpoint: endpoint, Organs: []string{endpoint}, Kind: "edoc",
		From: "000.00.00.G22", DocumentID: "12/QĐ-UBND", Subject: "Thông báo số " + strconv.Itoa(n), Priority: 0,
		AcceptedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), SHA256: strings.Repeat("ab", 32), Size: 1234})
	if err != nil {
		panic(err)
	}
	return id, raw
}

// produce writes inbox items n..n+count-1 for endpoint, creating its topic.
func produce(t *testing.T, cfg bus.Config, endpoint string, from, count int) map[string][]byte {
	t.Helper()
	a, err := bus.NewAdmin(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.EnsureTopics(t.Context(), bus.TopicSpec{Name: topics.Inbox(endpoint), Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	p, err := bus.NewProducer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	out := map[string][]byte{}
	var msgs []bus.Message
	for n := from; n < from+count; n++ {
		id, v := item(endpoint, n)
		out[id] = v
		msgs = append(msgs, bus.Message{Topic: topics.Inbox(endpoint), Key: []byte(id), Value: v,
			Headers: map[string]string{bus.HeaderCorrelationID: fmt.Sprintf("%032x", n)}})
	}
	if err := p.Produce(t.Context(), msgs...); err != nil {
		t.Fatal(err)
	}
	return out
}

// run starts a Pusher and stops it when the test ends (before the
// receivers, which were started earlier).
func run(t *testing.T, cfg push.Config) *push.Pusher {
	t.Helper()
	if cfg.Log == nil {
		cfg.Log = testLog()
	}
	if cfg.Topics.Prefix == "" {
		cfg.Topics = topics
	}
	p, err := push.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("Run did not return after its context ended")
		}
	})
	return p
}

// consumed waits until the Pusher has handled, and committed, every item of
// organ's inbox topic.
func consumed(t *testing.T, cfg bus.Config, organ string) {
	t.Helper()
	admin, err := bus.NewAdmin(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	testwait.Consumed(t, admin, topics.Group(), topics.Inbox(organ))
}

func secret(organ string) []byte { return []byte("webhook-secret-of-" + organ) }

func noJitter(d time.Duration) time.Duration { return d }

func TestDeliveredSigned(t *testing.T) {
	cfg := startBroker(t)
	const organ = "000.00.00.H29"
	rcv := pushtest.NewReceiver(t, secret(organ))
	items := produce(t, cfg, organ, 1, 2)
	var mu sync.Mutex
	var reported []string
	run(t, push.Config{Bus: cfg, Endpoints: []push.Endpoint{{OrganID: organ, URL: rcv.URL, Secret: secret(organ)}},
		OnDelivered: func(_ context.Context, organID, id string, attempts int) {
			mu.Lock()
			defer mu.Unlock()
			reported = append(reported, fmt.Sprintf("%s %s %d", organID, id, attempts))
		}})

	got := rcv.WaitDelivered(t, 2, wait)
	consumed(t, cfg, organ) // OnDelivered runs before the commit
	mu.Lock()
	if id1, _ := item(organ, 1); len(reported) != 2 || reported[0] != organ+" "+id1+" 1" {
		t.Errorf("OnDelivered calls: %q", reported)
	}
	mu.Unlock()
	for i, r := range got {
		id, want := item(organ, i+1)
		if r.ID != id {
			t.Errorf("delivery %d: X-Lienthong-Id %q, want %q (in order)", i, r.ID, id)
		}
		if r.Verified != nil {
			t.Errorf("delivery %d: %v", i, r.Verified)
		}
		if !bytes.Equal(r.Body, want) || !bytes.Equal(r.Body, items[id]) {
			t.Errorf("delivery %d: body %s, want the inbox value %s", i, r.Body, want)
		}
		if r.ContentType != "application/json" || r.Event != "delivery" || r.Attempt != "1" {
			t.Errorf("delivery %d: Content-Type %q, event %q, attempt %q", i, r.ContentType, r.Event, r.Attempt)
		}
		ts, err := strconv.ParseInt(r.Timestamp, 10, 64)
		if err != nil || time.Since(time.Unix(ts, 0)) > time.Minute {
			t.Errorf("delivery %d: timestamp %q", i, r.Timestamp)
		}
		if want := push.Sign(secret(organ), ts, r.Body); r.Signature != want {
			t.Errorf("delivery %d: signature %q, want %q", i, r.Signature, want)
		}
		var it track.Item
		if err := json.Unmarshal(r.Body, &it); err != nil || it.ID != id || it.Endpoint != organ {
			t.Errorf("delivery %d: body does not decode as the inbox item: %v %+v", i, err, it)
		}
	}
	// Another secret does not verify what was sent.
	r := got[0]
	if err := push.Verify([]byte("not-the-secret-of-h29"), r.Signature, r.Timestamp, r.Body, time.Now(), time.Minute); err == nil {
		t.Error("a delivery verifies under another secret")
	}
}

func TestRetryThenDelivered(t *testing.T) {
	cfg := startBroker(t)
	const organ = "000.00.00.H29"
	rcv := pushtest.NewReceiver(t, secret(organ))
	rcv.Respond(func(_ context.Context, r pushtest.Request) int {
		if r.N <= 3 {
			return http.StatusServiceUnavailable
		}
		return http.StatusNoContent
	})
	produce(t, cfg, organ, 1, 1)
	const initial = 100 * time.Millisecond
	var mu sync.Mutex
	var attempts []string
	run(t, push.Config{Bus: cfg, Endpoints: []push.Endpoint{{OrganID: organ, URL: rcv.URL, Secret: secret(organ)}},
		MaxAttempts: 5, InitialBackoff: initial, MaxBackoff: 150 * time.Millisecond, Jitter: noJitter,
		OnAttempt: func(organID string, err error) {
			mu.Lock()
			defer mu.Unlock()
			var se *push.StatusError
			switch {
			case err == nil:
				attempts = append(attempts, organID+" ok")
			case errors.As(err, &se):
				attempts = append(attempts, organID+" "+strconv.Itoa(se.Status))
			default:
				attempts = append(attempts, organID+" "+err.Error())
			}
		}})

	rcv.WaitDelivered(t, 1, wait)
	consumed(t, cfg, organ) // nothing more comes
	reqs := rcv.Requests()
	if len(reqs) != 4 {
		t.Fatalf("%d requests, want 3 failures and 1 delivery", len(reqs))
	}
	mu.Lock()
	if got := strings.Join(attempts, ", "); got != organ+" 503, "+organ+" 503, "+organ+" 503, "+organ+" ok" {
		t.Errorf("OnAttempt calls: %s", got)
	}
	mu.Unlock()
	// Waits 100, 150 (capped), 150 ms.
	wantGap := []time.Duration{initial, 150 * time.Millisecond, 150 * time.Millisecond}
	for i, r := range reqs {
		if r.Verified != nil || r.Attempt != strconv.Itoa(i+1) || r.ID != reqs[0].ID {
			t.Errorf("request %d: verified %v, attempt %q, id %q", i+1, r.Verified, r.Attempt, r.ID)
		}
		if i > 0 {
			if gap := r.At.Sub(reqs[i-1].At); gap < wantGap[i-1] {
				t.Errorf("attempt %d came %s after the previous one, want at least %s", i+1, gap, wantGap[i-1])
			}
		}
	}
	if n := len(rcv.Delivered()); n != 1 {
		t.Errorf("delivered %d times, want once", n)
	}
	if dls, err := push.ListDeadLetters(t.Context(), cfg, topics); err != nil || len(dls) != 0 {
		t.Errorf("dead letters: %v, %+v", err, dls)
	}
}

func TestDeadLetterAfterMaxAttemptsThenReplay(t *testing.T) {
	cfg := startBroker(t)
	const organ = "000.00.00.H29"
	rcv := pushtest.NewReceiver(t, secret(organ))
	var mu sync.Mutex
	fixed := false
	rcv.Respond(func(context.Context, pushtest.Request) int {
		mu.Lock()
		defer mu.Unlock()
		if fixed {
			return http.StatusOK
		}
		return http.StatusInternalServerError
	})
	items := produce(t, cfg, organ, 1, 2)
	start := time.Now()
	run(t, push.Config{Bus: cfg, Endpoints: []push.Endpoint{{OrganID: organ, URL: rcv.URL + "?token=do-not-log", Secret: secret(organ)}},
		MaxAttempts: 3, InitialBackoff: 20 * time.Millisecond})

	// Both items are tried MaxAttempts times each: the consumer moves on.
	rcv.Wait(t, wait, "6 attempts", func(r []pushtest.Request) bool { return len(r) >= 6 })
	var dls []push.DeadLetter
	testwait.EventuallyState(t, "2 dead letters", func() (bool, string) {
		var err error
		if dls, err = push.ListDeadLetters(t.Context(), cfg, topics); err != nil {
			t.Fatal(err)
		}
		return len(dls) >= 2, fmt.Sprintf("%d", len(dls))
	})
	if len(dls) != 2 {
		t.Fatalf("%d dead letters, want 2", len(dls))
	}
	for i, d := range dls {
		id, _ := item(organ, i+1)
		if string(d.Key) != id || !bytes.Equal(d.Value, items[id]) {
			t.Errorf("dead letter %d: key %s, value %s", i, d.Key, d.Value)
		}
		if d.Topic != "t.dead-letter" || d.OriginalTopic != "t.inbox."+organ || d.OriginalOffset != int64(i) || d.Endpoint != organ {
			t.Errorf("dead letter %d: %+v", i, d)
		}
		for _, want := range []string{"gave up after 3 attempts", "HTTP 500", "receiver says no", rcv.URL} {
			if !strings.Contains(d.Error, want) {
				t.Errorf("dead letter %d: x-error %q does not say %q", i, d.Error, want)
			}
		}
		if strings.Contains(d.Error, "do-not-log") {
			t.Errorf("dead letter %d: x-error %q shows the URL's query", i, d.Error)
		}
		if d.FailedAt.Before(start.Add(-time.Second)) || d.FailedAt.After(time.Now()) {
			t.Errorf("dead letter %d: failed at %s", i, d.FailedAt)
		}
		if d.Headers[bus.HeaderCorrelationID] != fmt.Sprintf("%032x", i+1) {
			t.Errorf("dead letter %d: headers %v lost the correlation id", i, d.Headers)
		}
	}
	if n := len(rcv.Delivered()); n != 0 {
		t.Fatalf("%d deliveries to a failing receiver", n)
	}

	// The receiver is fixed; the operator replays the first entry.
	mu.Lock()
	fixed = true
	mu.Unlock()
	done, err := push.Replay(t.Context(), cfg, topics, dls[:1], "tester@test", time.Now())
	if err != nil || len(done) != 1 || done[0].To != "t.inbox."+organ {
		t.Fatalf("Replay = %+v, %v", done, err)
	}
	got := rcv.WaitDelivered(t, 1, wait)
	if id, _ := item(organ, 1); got[0].ID != id || !bytes.Equal(got[0].Body, items[id]) || got[0].Verified != nil {
		t.Errorf("replayed delivery %+v", got[0])
	}
	after, err := push.ListDeadLetters(t.Context(), cfg, topics)
	if err != nil || len(after) != 2 {
		t.Fatalf("ListDeadLetters after replay: %d, %v", len(after), err)
	}
	if r := after[0].Replays; len(r) != 1 || r[0].By != "tester@test" || r[0].Offset != 0 {
		t.Errorf("replays of entry 0: %+v", r)
	}
	if len(after[1].Replays) != 0 {
		t.Errorf("entry 1 was not replayed, yet %+v", after[1].Replays)
	}
}

func TestMalformedItemIsParkedAtOnce(t *testing.T) {
	cfg := startBroker(t)
	const organ = "A.1"
	rcv := pushtest.NewReceiver(t, secret(organ))
	produce(t, cfg, organ, 1, 0)
	p, err := bus.NewProducer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Produce(t.Context(), bus.Message{Topic: topics.Inbox(organ), Key: []byte("x"), Value: []byte("not json")}); err != nil {
		t.Fatal(err)
	}
	produce(t, cfg, organ, 2, 1)
	run(t, push.Config{Bus: cfg, Endpoints: []push.Endpoint{{OrganID: organ, URL: rcv.URL, Secret: secret(organ)}}})
	got := rcv.WaitDelivered(t, 1, wait)
	if id, _ := item(organ, 2); got[0].ID != id || len(rcv.Requests()) != 1 {
		t.Errorf("requests %+v", rcv.Requests())
	}
	dls, err := push.ListDeadLetters(t.Context(), cfg, topics)
	if err != nil || len(dls) != 1 || string(dls[0].Value) != "not json" || !strings.Contains(dls[0].Error, "not an inbox item") {
		t.Fatalf("dead letters %+v, %v", dls, err)
	}
}

// A receiver that hangs, with a backlog larger than any consumer buffer,
// holds back its own inbox only.
func TestSlowEndpointDoesNotDelayOthers(t *testing.T) {
	cfg := startBroker(t)
	const slow, fast = "000.00.00.H29", "000.00.00.G22"
	slowRcv := pushtest.NewReceiver(t, secret(slow))
	slowRcv.Respond(func(ctx context.Context, _ pushtest.Request) int {
		<-ctx.Done() // hangs until the pusher gives up the request
		return http.StatusServiceUnavailable
	})
	fastRcv := pushtest.NewReceiver(t, secret(fast))
	produce(t, cfg, slow, 1, 300)
	produce(t, cfg, fast, 1, 1)
	run(t, push.Config{Bus: cfg, Endpoints: []push.Endpoint{
		{OrganID: slow, URL: slowRcv.URL, Secret: secret(slow)},
		{OrganID: fast, URL: fastRcv.URL, Secret: secret(fast)},
	}, HTTP: &http.Client{Timeout: time.Minute}})

	fastRcv.WaitDelivered(t, 1, wait)
	testwait.Eventually(t, "the slow receiver to get its request", func() bool { return slowRcv.Arrived() > 0 })
	for i := range 3 {
		sent := time.Now()
		produce(t, cfg, fast, 2+i, 1)
		fastRcv.WaitDelivered(t, 2+i, 5*time.Second)
		if d := time.Since(sent); d > 3*time.Second {
			t.Errorf("delivery %d to %s took %s behind a hung receiver", i+2, fast, d)
		}
	}
	if n, a := len(slowRcv.Requests()), slowRcv.Arrived(); n != 0 || a != 1 {
		t.Errorf("the hung receiver got %d requests and answered %d, want 1 and 0", a, n)
	}
}

func TestNewRejects(t *testing.T) {
	bc := bus.Config{Brokers: []string{"127.0.0.1:9092"}}
	good := push.Endpoint{OrganID: "A.1", URL: "https://dms.example.vn/hook", Secret: []byte("0123456789abcdef")}
	tests := []struct {
		name string
		eps  []push.Endpoint
		want string
	}{
		{"http to a remote host", []push.Endpoint{{OrganID: "A.1", URL: "http://dms.example.vn/hook", Secret: good.Secret}}, "https"},
		{"credentials", []push.Endpoint{{OrganID: "A.1", URL: "https://u:p@dms.example.vn/hook", Secret: good.Secret}}, "credentials"},
		{"pull", []push.Endpoint{{OrganID: "A.1", URL: "pull", Secret: good.Secret}}, "https"},
		{"short secret", []push.Endpoint{{OrganID: "A.1", URL: good.URL, Secret: []byte("short")}}, "secret"},
		{"no secret", []push.Endpoint{{OrganID: "A.1", URL: good.URL}}, "secret"},
		{"twice", []push.Endpoint{good, good}, "twice"},
		{"no organ", []push.Endpoint{{URL: good.URL, Secret: good.Secret}}, "OrganId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := push.New(push.Config{Bus: bc, Endpoints: tt.eps})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v, want an error about %q", err, tt.want)
			}
			if strings.Contains(err.Error(), ":p@") {
				t.Errorf("error %q shows a password", err)
			}
		})
	}
	for _, u := range []string{"https://dms.example.vn/hook", "http://127.0.0.1:8080/hook", "http://localhost/hook", "http://[::1]:9/x"} {
		if _, err := push.New(push.Config{Bus: bc, Endpoints: []push.Endpoint{{OrganID: "A.1", URL: u, Secret: good.Secret}}}); err != nil {
			t.Errorf("New(%s): %v", u, err)
		}
	}
}

func TestRunWithoutEndpointsWaits(t *testing.T) {
	p, err := push.New(push.Config{Bus: bus.Config{Brokers: []string{"127.0.0.1:1"}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := p.Run(ctx); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

type panicTransport struct{}

func (panicTransport) RoundTrip(*http.Request) (*http.Response, error) { panic("transport bug") }

func TestPanicIsParked(t *testing.T) {
	cfg := startBroker(t)
	const organ = "A.1"
	produce(t, cfg, organ, 1, 1)
	run(t, push.Config{Bus: cfg, Endpoints: []push.Endpoint{{OrganID: organ, URL: "https://dms.example.vn/hook", Secret: secret(organ)}},
		HTTP: &http.Client{Transport: panicTransport{}}})
	var dls []push.DeadLetter
	testwait.EventuallyState(t, "the panic parked", func() (bool, string) {
		var err error
		dls, err = push.ListDeadLetters(t.Context(), cfg, topics)
		return err == nil && len(dls) == 1, fmt.Sprintf("dead letters %v, %v", dls, err)
	})
	if !strings.Contains(dls[0].Error, "transport bug") || dls[0].Endpoint != organ {
		t.Errorf("dead letter %+v", dls[0])
	}
}

// ListNewestDeadLetters keeps only the newest entries of each partition,
// however long the topic.
func TestListNewestDeadLetters(t *testing.T) {
	cfg := startBroker(t)
	a, err := bus.NewAdmin(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.EnsureTopics(t.Context(), bus.TopicSpec{Name: topics.DeadLetter(), Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	p, err := bus.NewProducer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for i := range 25 {
		k := strconv.Itoa(i)
		if err := p.Produce(t.Context(), bus.Message{Topic: topics.DeadLetter(), Key: []byte(k), Value: []byte(k),
			Headers: map[string]string{bus.HeaderOriginalTopic: topics.Inbox("000.00.00.H29")}}); err != nil {
			t.Fatal(err)
		}
	}
	all, err := push.ListDeadLetters(t.Context(), cfg, topics)
	if err != nil || len(all) != 25 {
		t.Fatalf("all: %d %v", len(all), err)
	}
	for _, n := range []int{1, 3, 12, 30} {
		got, err := push.ListNewestDeadLetters(t.Context(), cfg, topics, n)
		if err != nil {
			t.Fatal(err)
		}
		want := min(n, 25)
		if len(got) != want || string(got[0].Key) != strconv.Itoa(25-want) || string(got[len(got)-1].Key) != "24" {
			t.Errorf("newest %d: %d entries from %q to %q", n, len(got), got[0].Key, got[len(got)-1].Key)
		}
	}
}

// Endpoints set while Run runs (an agency given a webhook at run time)
// are delivered to without a restart; a new URL and secret apply to the
// next item; an endpoint removed stops taking items, which wait in its
// inbox until it is back.
func TestSetEndpoints(t *testing.T) {
	cfg := startBroker(t)
	const organ = "000.00.00.H29"
	first := pushtest.NewReceiver(t, secret(organ))
	second := pushtest.NewReceiver(t, []byte("the-second-secret-of-h29"))
	produce(t, cfg, organ, 1, 1)
	p := run(t, push.Config{Bus: cfg})

	if err := p.SetEndpoints([]push.Endpoint{{OrganID: organ, URL: first.URL, Secret: []byte("short")}}); err == nil {
		t.Fatal("SetEndpoints took a short secret")
	}
	if err := p.SetEndpoints([]push.Endpoint{{OrganID: organ, URL: first.URL, Secret: secret(organ)}}); err != nil {
		t.Fatal(err)
	}
	if got := first.WaitDelivered(t, 1, wait); got[0].Verified != nil {
		t.Errorf("first endpoint: %v", got[0].Verified)
	}
	consumed(t, cfg, organ)

	if err := p.SetEndpoints([]push.Endpoint{{OrganID: organ, URL: second.URL, Secret: []byte("the-second-secret-of-h29")}}); err != nil {
		t.Fatal(err)
	}
	produce(t, cfg, organ, 2, 1)
	got := second.WaitDelivered(t, 1, wait)
	if id, _ := item(organ, 2); got[0].ID != id || got[0].Verified != nil {
		t.Errorf("after the change: delivery %s (%v), want %s signed with the new secret", got[0].ID, got[0].Verified, id)
	}
	consumed(t, cfg, organ)

	if err := p.SetEndpoints(nil); err != nil {
		t.Fatal(err)
	}
	// The consumer stops before the next item, which waits in the inbox
	// for the endpoint to come back.
	testwait.Eventually(t, "the endpoint's consumer stopped", func() bool { return len(p.Running()) == 0 })
	produce(t, cfg, organ, 3, 1)
	third := pushtest.NewReceiver(t, secret(organ))
	if err := p.SetEndpoints([]push.Endpoint{{OrganID: organ, URL: third.URL, Secret: secret(organ)}}); err != nil {
		t.Fatal(err)
	}
	if got := third.WaitDelivered(t, 1, wait); got[0].ID != func() string { id, _ := item(organ, 3); return id }() {
		t.Errorf("the item produced while the endpoint was off: %s", got[0].ID)
	}
	if n := len(second.Delivered()); n != 1 {
		t.Errorf("the second URL got %d deliveries, want 1", n)
	}
	if n := len(first.Delivered()); n != 1 {
		t.Errorf("the first URL got %d deliveries after it was replaced", n)
	}
}

// Items the agency already acknowledged by pulling are not pushed when it
// moves to a webhook: its consumer starts at the topic's first offset.
func TestDoneNotPushed(t *testing.T) {
	cfg := startBroker(t)
	const organ = "000.00.00.H29"
	rcv := pushtest.NewReceiver(t, secret(organ))
	produce(t, cfg, organ, 1, 3)
	acked, _ := item(organ, 2)
	run(t, push.Config{Bus: cfg, Endpoints: []push.Endpoint{{OrganID: organ, URL: rcv.URL, Secret: secret(organ)}},
		Done: func(organID, id string) bool { return organID == organ && id == acked }})
	got := rcv.WaitDelivered(t, 2, wait)
	consumed(t, cfg, organ)
	for _, r := range got {
		if r.ID == acked {
			t.Errorf("the acknowledged item %s was pushed", acked)
		}
	}
	if n := len(rcv.Delivered()); n != 2 {
		t.Errorf("%d deliveries, want 2", n)
	}
}
