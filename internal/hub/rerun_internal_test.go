package hub

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/bus/bustest"
	"github.com/lienthong/lienthong/internal/testwait"
)

// rerun starts with no topics, then consumes a topic that appears (an
// agency moved to a peer hub at run time is forwarded), and stops reading
// one that goes.
func TestRerunFollowsTopics(t *testing.T) {
	cfg := bustest.Broker(t)
	admin, err := bus.NewAdmin(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.EnsureTopics(t.Context(), bus.TopicSpec{Name: "t.a", Partitions: 1}, bus.TopicSpec{Name: "t.b", Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	old := topicsRecheck
	topicsRecheck = 50 * time.Millisecond
	t.Cleanup(func() { topicsRecheck = old })

	var mu sync.Mutex
	var topics []string
	var got []string
	var runs [][]string
	setTopics := func(ts ...string) { mu.Lock(); topics = ts; mu.Unlock() }
	h := &Hub{}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- h.rerun(ctx, func() []string { mu.Lock(); defer mu.Unlock(); return slices.Clone(topics) }, func(ts []string) (*bus.Consumer, error) {
			mu.Lock()
			runs = append(runs, ts)
			mu.Unlock()
			return bus.NewConsumer(cfg, bus.ConsumerConfig{Group: "g", Topics: ts, SessionTimeout: 6 * time.Second, RebalanceTimeout: 6 * time.Second},
				func(_ context.Context, m bus.Message) error {
					mu.Lock()
					got = append(got, m.Topic+":"+string(m.Value))
					mu.Unlock()
					return nil
				})
		})
	}()
	p, err := bus.NewProducer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Produce(t.Context(), bus.Message{Topic: "t.a", Key: []byte("1"), Value: []byte("one")}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	mu.Lock()
	if len(runs) != 0 {
		t.Errorf("a consumer made with no topics: %q", runs)
	}
	mu.Unlock()
	setTopics("t.a")
	testwait.Eventually(t, "the message read", func() bool { mu.Lock(); defer mu.Unlock(); return slices.Contains(got, "t.a:one") })
	setTopics("t.a", "t.b")
	if err := p.Produce(t.Context(), bus.Message{Topic: "t.b", Key: []byte("2"), Value: []byte("two")}); err != nil {
		t.Fatal(err)
	}
	testwait.Eventually(t, "the message read", func() bool { mu.Lock(); defer mu.Unlock(); return slices.Contains(got, "t.b:two") })
	cancel()
	if err := <-done; err != nil {
		t.Errorf("rerun: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := [][]string{{"t.a"}, {"t.a", "t.b"}}; !slices.EqualFunc(runs, want, slices.Equal) {
		t.Errorf("consumers made over %q, want %q", runs, want)
	}
}
