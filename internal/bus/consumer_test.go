package bus_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/testwait"
)

func produceN(tb testing.TB, p bus.Publisher, topic string, from, n int) {
	tb.Helper()
	msgs := make([]bus.Message, n)
	for i := range msgs {
		k := strconv.Itoa(from + i)
		msgs[i] = bus.Message{Topic: topic, Key: []byte(k), Value: []byte(k)}
	}
	if err := p.Produce(context.Background(), msgs...); err != nil {
		tb.Fatalf("Produce: %v", err)
	}
}

func TestConsumerGroupRebalance(t *testing.T) {
	brokers := testBrokers(t)
	topic := uniqueName(t, "work")
	group := uniqueName(t, "g")
	ensureTopics(t, brokers, bus.TopicSpec{Name: topic, Partitions: 4})
	p := newProducer(t, testConfig(brokers))

	type member struct {
		col   *collector
		run   *runner
		parts func() []int
	}
	start := func() *member {
		col := newCollector()
		c, err := bus.NewConsumer(testConfig(brokers), testConsumerConfig(group, topic), col.handle)
		if err != nil {
			t.Fatal(err)
		}
		m := &member{col: col, run: startConsumer(t, c)}
		m.parts = func() []int {
			var ps []int
			for _, msg := range col.snapshot() {
				if !slices.Contains(ps, msg.Partition) {
					ps = append(ps, msg.Partition)
				}
			}
			slices.Sort(ps)
			return ps
		}
		return m
	}
	seen := func(ms ...*member) map[string]int {
		n := map[string]int{}
		for _, m := range ms {
			for _, msg := range m.col.snapshot() {
				n[string(msg.Value)]++
			}
		}
		return n
	}

	a := start()
	produceN(t, p, topic, 0, 100)
	testwait.Eventually(t, "a to handle the first 100", func() bool { return len(seen(a)) == 100 })
	if got := a.parts(); len(got) != 4 {
		t.Fatalf("alone, a handled partitions %v, want all 4", got)
	}

	// b joins: the group rebalances and the members split the partitions.
	b := start()
	aBefore := len(a.col.snapshot())
	deadline := time.Now().Add(45 * time.Second)
	next := 100
	for len(b.col.snapshot()) == 0 || len(a.col.snapshot()) == aBefore {
		if time.Now().After(deadline) {
			t.Fatalf("b never got messages (a has %d, b %d)", len(a.col.snapshot()), len(b.col.snapshot()))
		}
		produceN(t, p, topic, next, 20)
		next += 20
		time.Sleep(200 * time.Millisecond)
	}
	// After the split, new messages go to exactly one member each.
	aMark, bMark := len(a.col.snapshot()), len(b.col.snapshot())
	produceN(t, p, topic, next, 100)
	next += 100
	testwait.Eventually(t, "every message so far", func() bool { return len(seen(a, b)) == next })
	var aParts, bParts []int
	for _, m := range a.col.snapshot()[aMark:] {
		aParts = append(aParts, m.Partition)
	}
	for _, m := range b.col.snapshot()[bMark:] {
		bParts = append(bParts, m.Partition)
	}
	for _, p := range aParts {
		if slices.Contains(bParts, p) {
			t.Errorf("partition %d handled by both members after the rebalance", p)
		}
	}
	if len(aParts) == 0 || len(bParts) == 0 {
		t.Errorf("after the rebalance a handled %d and b %d new messages; want both busy", len(aParts), len(bParts))
	}

	// b leaves: a takes its partitions back.
	if err := b.run.stop(t); err != nil {
		t.Fatalf("b Run: %v", err)
	}
	produceN(t, p, topic, next, 100)
	next += 100
	testwait.Eventually(t, "a to handle everything after b left", func() bool { return len(seen(a, b)) == next })
	if err := a.run.stop(t); err != nil {
		t.Fatalf("a Run: %v", err)
	}
	lag, err := newAdmin(t, brokers).Lag(t.Context(), group, topic)
	if err != nil {
		t.Fatal(err)
	}
	if lag != 0 {
		t.Errorf("lag after both stopped = %d, want 0 (all committed)", lag)
	}
}

func TestConsumerCommitsOnlyAfterSuccess(t *testing.T) {
	brokers := testBrokers(t)
	topic := uniqueName(t, "t")
	group := uniqueName(t, "g")
	ensureTopics(t, brokers, bus.TopicSpec{Name: topic, Partitions: 1})
	p := newProducer(t, testConfig(brokers))
	admin := newAdmin(t, brokers)
	produceN(t, p, topic, 0, 10)

	// The first run fails on message 5: 0..4 are committed, 5 is not.
	errBoom := errors.New("boom")
	var handled []string
	c, err := bus.NewConsumer(testConfig(brokers), testConsumerConfig(group, topic), func(_ context.Context, m bus.Message) error {
		handled = append(handled, string(m.Value))
		if string(m.Value) == "5" {
			return errBoom
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	err = c.Run(ctx)
	if !errors.Is(err, errBoom) {
		t.Fatalf("Run = %v, want the handler's error", err)
	}
	if want := []string{"0", "1", "2", "3", "4", "5"}; !slices.Equal(handled, want) {
		t.Fatalf("first run handled %v, want %v", handled, want)
	}
	lag, err := admin.Lag(t.Context(), group, topic)
	if err != nil {
		t.Fatal(err)
	}
	if lag != 5 {
		t.Fatalf("lag after the failure = %d, want 5", lag)
	}

	// A restart delivers 5 again, then the rest.
	col := newCollector()
	c2, err := bus.NewConsumer(testConfig(brokers), testConsumerConfig(group, topic), col.handle)
	if err != nil {
		t.Fatal(err)
	}
	r := startConsumer(t, c2)
	testwait.Eventually(t, "the rest", func() bool { return len(col.snapshot()) >= 5 })
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range col.snapshot() {
		got = append(got, string(m.Value))
	}
	if want := []string{"5", "6", "7", "8", "9"}; !slices.Equal(got, want) {
		t.Fatalf("after restart handled %v, want %v", got, want)
	}
	if lag, err := admin.Lag(t.Context(), group, topic); err != nil || lag != 0 {
		t.Fatalf("lag after restart = %d, %v; want 0", lag, err)
	}
}

func TestConsumerShutdownDoesNotCommitUnfinished(t *testing.T) {
	brokers := testBrokers(t)
	topic := uniqueName(t, "t")
	group := uniqueName(t, "g")
	ensureTopics(t, brokers, bus.TopicSpec{Name: topic, Partitions: 1})
	p := newProducer(t, testConfig(brokers))
	produceN(t, p, topic, 0, 3)

	// The handler finishes 0, then blocks on 1 until the consumer stops.
	started := make(chan struct{})
	c, err := bus.NewConsumer(testConfig(brokers), testConsumerConfig(group, topic), func(ctx context.Context, m bus.Message) error {
		if string(m.Value) == "0" {
			return nil
		}
		close(started)
		<-ctx.Done()
		return ctx.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	r := startConsumer(t, c)
	<-started
	if err := r.stop(t); err != nil {
		t.Fatalf("Run after cancel = %v, want nil", err)
	}
	lag, err := newAdmin(t, brokers).Lag(t.Context(), group, topic)
	if err != nil {
		t.Fatal(err)
	}
	if lag != 2 {
		t.Fatalf("lag = %d, want 2 (0 committed, 1 interrupted, 2 never started)", lag)
	}
}

func TestConsumerPartitionsInOrderAndConcurrent(t *testing.T) {
	brokers := testBrokers(t)
	topic := uniqueName(t, "t")
	ensureTopics(t, brokers, bus.TopicSpec{Name: topic, Partitions: 3})
	p := newProducer(t, testConfig(brokers))
	const n = 300
	produceN(t, p, topic, 0, n)

	var (
		mu      sync.Mutex
		last    = map[int]int64{}
		active  int
		peak    int
		handled int
		order   []string
	)
	c, err := bus.NewConsumer(testConfig(brokers), testConsumerConfig(uniqueName(t, "g"), topic), func(_ context.Context, m bus.Message) error {
		mu.Lock()
		if prev, ok := last[m.Partition]; ok && m.Offset <= prev {
			order = append(order, fmt.Sprintf("partition %d: offset %d after %d", m.Partition, m.Offset, prev))
		}
		last[m.Partition] = m.Offset
		active++
		peak = max(peak, active)
		mu.Unlock()
		time.Sleep(time.Millisecond)
		mu.Lock()
		active--
		handled++
		mu.Unlock()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	startConsumer(t, c)
	testwait.Eventually(t, "all messages", func() bool { mu.Lock(); defer mu.Unlock(); return handled >= n })
	mu.Lock()
	defer mu.Unlock()
	if len(order) > 0 {
		t.Errorf("out of order: %v", order)
	}
	if peak < 2 {
		t.Errorf("at most %d handler ran at once; want partitions handled concurrently", peak)
	}
}

func TestNewConsumerValidates(t *testing.T) {
	cfg := bus.Config{Brokers: []string{"127.0.0.1:9092"}}
	h := func(context.Context, bus.Message) error { return nil }
	tests := []struct {
		give bus.ConsumerConfig
		want error
	}{
		{give: bus.ConsumerConfig{Topics: []string{"t"}}, want: bus.ErrNoGroup},
		{give: bus.ConsumerConfig{Group: "g"}, want: bus.ErrNoTopics},
		{give: bus.ConsumerConfig{Group: "g", Topics: []string{""}}, want: bus.ErrNoTopic},
		{give: bus.ConsumerConfig{Group: "g", Topics: []string{"t"}, MaxWait: -1}, want: bus.ErrBadDuration},
		{give: bus.ConsumerConfig{Group: "g", Topics: []string{"t"}, CommitInterval: -1}, want: bus.ErrBadDuration},
		{give: bus.ConsumerConfig{Group: "g", Topics: []string{"t"}}, want: nil},
	}
	for _, tt := range tests {
		if _, err := bus.NewConsumer(cfg, tt.give, h); !errors.Is(err, tt.want) {
			t.Errorf("NewConsumer(%+v) = %v, want %v", tt.give, err, tt.want)
		}
	}
	if _, err := bus.NewConsumer(cfg, bus.ConsumerConfig{Group: "g", Topics: []string{"t"}}, nil); !errors.Is(err, bus.ErrNoHandler) {
		t.Errorf("NewConsumer without handler = %v, want ErrNoHandler", err)
	}
}
