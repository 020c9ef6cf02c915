package bus_test

import (
	"context"
	"strconv"
	"sync"
	"testing"

	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/testwait"
)

// With Batch, messages already waiting reach it together, in order; a
// failing batch goes through the handler one message at a time, and
// every message is handled once and committed.
func TestConsumerBatch(t *testing.T) {
	brokers := testBrokers(t)
	topic, group := uniqueName(t, "b"), uniqueName(t, "g")
	ensureTopics(t, brokers, bus.TopicSpec{Name: topic, Partitions: 1})
	p := newProducer(t, testConfig(brokers))
	produceN(t, p, topic, 0, 300)

	var (
		mu      sync.Mutex
		got     []string
		sizes   []int
		failed  bool
		singles int
	)
	cc := testConsumerConfig(group, topic)
	cc.Batch = func(_ context.Context, msgs []bus.Message) error {
		mu.Lock()
		defer mu.Unlock()
		if !failed { // the first batch panics and is handled one by one
			failed = true
			panic("first batch refused")
		}
		sizes = append(sizes, len(msgs))
		for _, m := range msgs {
			got = append(got, string(m.Value))
		}
		return nil
	}
	c, err := bus.NewConsumer(testConfig(brokers), cc, func(_ context.Context, m bus.Message) error {
		mu.Lock()
		defer mu.Unlock()
		singles++
		got = append(got, string(m.Value))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	r := startConsumer(t, c)
	testwait.Eventually(t, "300 messages", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 300 })
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for i, v := range got {
		if v != strconv.Itoa(i) {
			t.Fatalf("message %d is %q: order or duplicates (%v)", i, v, got[:i+1])
		}
	}
	big := 0
	for _, n := range sizes {
		if n > 100 {
			t.Errorf("a batch of %d, over CommitEvery", n)
		}
		big = max(big, n)
	}
	if big < 2 || singles < 2 {
		t.Errorf("largest batch %d, %d handled alone: batches did not form or the failed one was not retried", big, singles)
	}
	a, err := bus.NewAdmin(testConfig(brokers))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if lag, err := a.Lag(t.Context(), group, topic); err != nil || lag != 0 {
		t.Errorf("lag after the run: %d %v", lag, err)
	}
}
