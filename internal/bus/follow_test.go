package bus_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/testwait"
)

// Follow reads a topic from its start, says when it has caught up with
// what was there, and goes on with what comes after; two followers each
// see everything.
func TestFollow(t *testing.T) {
	brokers := testBrokers(t)
	cfg := testConfig(brokers)
	topic := uniqueName(t, "f")
	ensureTopics(t, brokers, bus.TopicSpec{Name: topic, Partitions: 1})
	p := newProducer(t, cfg)
	produceN(t, p, topic, 0, 5)

	type follower struct {
		mu      sync.Mutex
		got     []string
		atCatch int
		caught  chan struct{}
	}
	start := func() *follower {
		f := &follower{caught: make(chan struct{})}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- bus.Follow(ctx, cfg, topic, func(m bus.Message) error {
				f.mu.Lock()
				defer f.mu.Unlock()
				f.got = append(f.got, string(m.Value))
				return nil
			}, func() {
				f.mu.Lock()
				f.atCatch = len(f.got)
				f.mu.Unlock()
				close(f.caught)
			})
		}()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Follow: %v", err)
			}
		})
		return f
	}
	a, b := start(), start()
	for _, f := range []*follower{a, b} {
		select {
		case <-f.caught:
		case <-time.After(20 * time.Second):
			t.Fatal("never caught up")
		}
		f.mu.Lock()
		if f.atCatch != 5 {
			t.Errorf("caught up after %d messages, want 5", f.atCatch)
		}
		f.mu.Unlock()
	}
	produceN(t, p, topic, 5, 3)
	for _, f := range []*follower{a, b} {
		testwait.Eventually(t, "8 messages", func() bool {
			f.mu.Lock()
			defer f.mu.Unlock()
			return len(f.got) == 8
		})
		f.mu.Lock()
		for i, v := range f.got {
			if want := strconv.Itoa(i); v != want {
				t.Errorf("message %d = %q, want %q", i, v, want)
			}
		}
		f.mu.Unlock()
	}

	// An empty topic is caught up at once; a topic of many partitions is refused.
	empty := uniqueName(t, "e")
	ensureTopics(t, brokers, bus.TopicSpec{Name: empty, Partitions: 1})
	ctx, cancel := context.WithCancel(context.Background())
	caught := make(chan struct{})
	go func() {
		_ = bus.Follow(ctx, cfg, empty, func(bus.Message) error { return nil }, func() { close(caught) })
	}()
	select {
	case <-caught:
	case <-time.After(20 * time.Second):
		t.Error("an empty topic never caught up")
	}
	cancel()
	many := uniqueName(t, "m")
	ensureTopics(t, brokers, bus.TopicSpec{Name: many, Partitions: 3})
	if err := bus.Follow(t.Context(), cfg, many, func(bus.Message) error { return nil }, nil); err == nil {
		t.Error("Follow of a 3-partition topic: no error")
	}
}
