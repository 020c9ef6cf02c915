package bus_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/testwait"
)

func TestRoundTripKeysAndHeaders(t *testing.T) {
	brokers := testBrokers(t)
	topic := uniqueName(t, "events")
	ensureTopics(t, brokers, bus.TopicSpec{Name: topic, Partitions: 3})
	p := newProducer(t, testConfig(brokers))

	const perKey = 10
	keys := []string{"000.00.00.G22", "000.00.12.H29", "000.00.00.H29"}
	var sent []bus.Message
	for i := range perKey {
		for _, k := range keys {
			sent = append(sent, bus.Message{
				Topic:   topic,
				Key:     []byte(k),
				Value:   fmt.Appendf(nil, "%s#%d", k, i),
				Headers: map[string]string{"kind": "edoc", "seq": fmt.Sprint(i), "empty": ""},
			})
		}
	}
	// One call with many messages and many calls with one each.
	if err := p.Produce(t.Context(), sent[:len(sent)/2]...); err != nil {
		t.Fatalf("Produce: %v", err)
	}
	for _, m := range sent[len(sent)/2:] {
		if err := p.Produce(t.Context(), m); err != nil {
			t.Fatalf("Produce: %v", err)
		}
	}

	col := newCollector()
	c, err := bus.NewConsumer(testConfig(brokers), testConsumerConfig(uniqueName(t, "g"), topic), col.handle)
	if err != nil {
		t.Fatal(err)
	}
	r := startConsumer(t, c)
	testwait.Eventually(t, "all messages", func() bool { return len(col.snapshot()) >= len(sent) })
	if err := r.stop(t); err != nil {
		t.Fatalf("Run: %v", err)
	}

	got := col.snapshot()
	if len(got) != len(sent) {
		t.Fatalf("got %d messages, want %d", len(got), len(sent))
	}
	partOf := map[string]int{}
	seqOf := map[string][]string{}
	for _, m := range got {
		k := string(m.Key)
		if p, ok := partOf[k]; ok && p != m.Partition {
			t.Errorf("key %s on partitions %d and %d", k, p, m.Partition)
		}
		partOf[k] = m.Partition
		if m.Topic != topic || m.Header("kind") != "edoc" || m.Header("empty") != "" || len(m.Headers) != 3 {
			t.Errorf("message %s/%d@%d: topic %q headers %v", m.Topic, m.Partition, m.Offset, m.Topic, m.Headers)
		}
		if want := fmt.Sprintf("%s#%s", k, m.Header("seq")); string(m.Value) != want {
			t.Errorf("value %q, want %q", m.Value, want)
		}
		if m.Time.IsZero() {
			t.Errorf("message %d has no time", m.Offset)
		}
		seqOf[k] = append(seqOf[k], m.Header("seq"))
	}
	want := make([]string, perKey)
	for i := range want {
		want[i] = fmt.Sprint(i)
	}
	for _, k := range keys {
		if !slices.Equal(seqOf[k], want) {
			t.Errorf("key %s delivered in order %v, want %v", k, seqOf[k], want)
		}
	}
}

func TestProduceToMissingTopicFails(t *testing.T) {
	brokers := testBrokers(t)
	p := newProducer(t, testConfig(brokers))
	topic := uniqueName(t, "missing")
	err := p.Produce(t.Context(), bus.Message{Topic: topic, Value: []byte("x")})
	if !errors.Is(err, bus.ErrUnknownTopic) {
		t.Fatalf("Produce to a missing topic: %v, want ErrUnknownTopic", err)
	}
	// Nothing was created behind our back.
	if _, err := newAdmin(t, brokers).Lag(t.Context(), "nobody", topic); !errors.Is(err, bus.ErrUnknownTopic) {
		t.Fatalf("Lag on the missing topic: %v, want ErrUnknownTopic", err)
	}
	// The producer's metadata cache (kept up to 6 s) must not hide a topic
	// created meanwhile by another client.
	ensureTopics(t, brokers, bus.TopicSpec{Name: topic, Partitions: 1})
	if err := p.Produce(t.Context(), bus.Message{Topic: topic, Value: []byte("x")}); err != nil {
		t.Fatalf("Produce right after EnsureTopics: %v", err)
	}
}

func TestProduceValidates(t *testing.T) {
	tests := []struct {
		give bus.Config
		want error
	}{
		{give: bus.Config{}, want: bus.ErrNoBrokers},
		{give: bus.Config{Brokers: []string{"localhost"}}, want: bus.ErrBadBroker},
		{give: bus.Config{Brokers: []string{"localhost:9092"}, BatchTimeout: -1}, want: bus.ErrBadDuration},
		{give: bus.Config{Brokers: []string{"localhost:9092"}, BatchSize: -1}, want: bus.ErrBadBatchSize},
		{give: bus.Config{Brokers: []string{"localhost:9092"}}, want: nil},
	}
	for _, tt := range tests {
		_, err := bus.NewProducer(tt.give)
		if !errors.Is(err, tt.want) {
			t.Errorf("NewProducer(%+v) = %v, want %v", tt.give, err, tt.want)
		}
	}

	p, err := bus.NewProducer(bus.Config{Brokers: []string{"127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Produce(t.Context(), bus.Message{Value: []byte("x")}); !errors.Is(err, bus.ErrNoTopic) {
		t.Errorf("Produce without topic = %v, want ErrNoTopic", err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Produce(t.Context(), bus.Message{Topic: "t"}); !errors.Is(err, bus.ErrClosed) {
		t.Errorf("Produce after Close = %v, want ErrClosed", err)
	}
}

func TestProduceCopiesCorrelationFromContext(t *testing.T) {
	brokers := testBrokers(t)
	topic := uniqueName(t, "corr")
	ensureTopics(t, brokers, bus.TopicSpec{Name: topic, Partitions: 1})
	p := newProducer(t, testConfig(brokers))
	ctx := bus.WithCorrelationID(t.Context(), "req-1")
	own := map[string]string{bus.HeaderCorrelationID: "own"}
	if err := p.Produce(ctx, bus.Message{Topic: topic, Value: []byte("a")}, bus.Message{Topic: topic, Value: []byte("b"), Headers: own}); err != nil {
		t.Fatal(err)
	}
	if len(own) != 1 {
		t.Errorf("Produce modified the caller's headers: %v", own)
	}
	col := newCollector()
	c, err := bus.NewConsumer(testConfig(brokers), testConsumerConfig(uniqueName(t, "g"), topic), col.handle)
	if err != nil {
		t.Fatal(err)
	}
	startConsumer(t, c)
	testwait.Eventually(t, "2 messages", func() bool { return len(col.snapshot()) >= 2 })
	got := col.snapshot()
	if got[0].Header(bus.HeaderCorrelationID) != "req-1" || got[1].Header(bus.HeaderCorrelationID) != "own" {
		t.Errorf("correlation ids %q, %q; want req-1, own", got[0].Header(bus.HeaderCorrelationID), got[1].Header(bus.HeaderCorrelationID))
	}
}

func TestProduceConcurrent(t *testing.T) {
	brokers := testBrokers(t)
	topic := uniqueName(t, "conc")
	ensureTopics(t, brokers, bus.TopicSpec{Name: topic, Partitions: 3})
	p := newProducer(t, testConfig(brokers))
	const producers, each = 32, 20
	errs := make(chan error, producers)
	for g := range producers {
		go func() {
			var err error
			for i := range each {
				if err = p.Produce(context.Background(), bus.Message{Topic: topic, Key: fmt.Appendf(nil, "%d", g), Value: fmt.Appendf(nil, "%d-%d", g, i)}); err != nil {
					break
				}
			}
			errs <- err
		}()
	}
	for range producers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	lag, err := newAdmin(t, brokers).Lag(t.Context(), uniqueName(t, "g"), topic)
	if err != nil {
		t.Fatal(err)
	}
	if lag != producers*each {
		t.Fatalf("topic holds %d messages, want %d", lag, producers*each)
	}
}
