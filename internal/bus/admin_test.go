package bus_test

import (
	"errors"
	"testing"

	"github.com/segmentio/kafka-go"

	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/testwait"
)

// partitionCount reads a topic's partition count straight from the broker.
func partitionCount(t *testing.T, brokers []string, topic string) int {
	t.Helper()
	c := &kafka.Client{Addr: kafka.TCP(brokers...), Transport: &kafka.Transport{}}
	md, err := c.Metadata(t.Context(), &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tp := range md.Topics {
		if tp.Name == topic && tp.Error == nil {
			return len(tp.Partitions)
		}
	}
	return 0
}

func TestEnsureTopicsIdempotent(t *testing.T) {
	brokers := testBrokers(t)
	a := newAdmin(t, brokers)
	events, inbox := uniqueName(t, "events"), uniqueName(t, "inbox")
	specs := []bus.TopicSpec{
		{Name: events, Partitions: 4, ReplicationFactor: 1, Config: map[string]string{"retention.ms": "604800000"}},
		{Name: inbox}, // broker defaults
	}
	for i := range 3 {
		if err := a.EnsureTopics(t.Context(), specs...); err != nil {
			t.Fatalf("EnsureTopics #%d: %v", i+1, err)
		}
	}
	// An existing topic is left alone even when the spec differs.
	if err := a.EnsureTopics(t.Context(), bus.TopicSpec{Name: events, Partitions: 8}); err != nil {
		t.Fatalf("EnsureTopics with other settings: %v", err)
	}
	if n := partitionCount(t, brokers, events); n != 4 {
		t.Errorf("%s has %d partitions, want 4", events, n)
	}
	if n := partitionCount(t, brokers, inbox); n < 1 {
		t.Errorf("%s has %d partitions, want the broker default", inbox, n)
	}
	if err := a.EnsureTopics(t.Context()); err != nil {
		t.Errorf("EnsureTopics with nothing: %v", err)
	}
}

func TestEnsureTopicsErrors(t *testing.T) {
	brokers := testBrokers(t)
	a := newAdmin(t, brokers)
	tests := []struct {
		name string
		give bus.TopicSpec
		want error
	}{
		{name: "no name", give: bus.TopicSpec{}, want: bus.ErrBadTopicSpec},
		{name: "negative partitions", give: bus.TopicSpec{Name: "x", Partitions: -1}, want: bus.ErrBadTopicSpec},
		{name: "more replicas than brokers", give: bus.TopicSpec{Name: uniqueName(t, "rf"), ReplicationFactor: 100}, want: kafka.InvalidReplicationFactor},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := a.EnsureTopics(t.Context(), tt.give); !errors.Is(err, tt.want) {
				t.Errorf("EnsureTopics(%+v) = %v, want %v", tt.give, err, tt.want)
			}
		})
	}
}

func TestLag(t *testing.T) {
	brokers := testBrokers(t)
	topic, group := uniqueName(t, "t"), uniqueName(t, "g")
	ensureTopics(t, brokers, bus.TopicSpec{Name: topic, Partitions: 3})
	a := newAdmin(t, brokers)
	p := newProducer(t, testConfig(brokers))

	lag := func() int64 {
		t.Helper()
		n, err := a.Lag(t.Context(), group, topic)
		if err != nil {
			t.Fatalf("Lag: %v", err)
		}
		return n
	}
	if n := lag(); n != 0 {
		t.Fatalf("lag of an empty topic = %d", n)
	}
	produceN(t, p, topic, 0, 30)
	if n := lag(); n != 30 {
		t.Fatalf("lag of a group that never ran = %d, want 30", n)
	}
	col := newCollector()
	c, err := bus.NewConsumer(testConfig(brokers), testConsumerConfig(group, topic), col.handle)
	if err != nil {
		t.Fatal(err)
	}
	r := startConsumer(t, c)
	testwait.Eventually(t, "lag 0", func() bool { return lag() == 0 })
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	produceN(t, p, topic, 30, 7)
	if n := lag(); n != 7 {
		t.Fatalf("lag after 7 more = %d, want 7", n)
	}
	if _, err := a.Lag(t.Context(), group, uniqueName(t, "missing")); !errors.Is(err, bus.ErrUnknownTopic) {
		t.Fatalf("Lag of a missing topic = %v, want ErrUnknownTopic", err)
	}

	// Lags reads several topics at once, each on its own.
	other := uniqueName(t, "u")
	ensureTopics(t, brokers, bus.TopicSpec{Name: other, Partitions: 2})
	produceN(t, p, other, 0, 5)
	lags, err := a.Lags(t.Context(), group, []string{topic, other})
	if err != nil || len(lags) != 2 || lags[topic] != 7 || lags[other] != 5 {
		t.Fatalf("Lags = %v %v, want %s:7 %s:5", lags, err, topic, other)
	}
	if _, err := a.Lags(t.Context(), group, []string{topic, uniqueName(t, "missing")}); !errors.Is(err, bus.ErrUnknownTopic) {
		t.Fatalf("Lags with a missing topic = %v, want ErrUnknownTopic", err)
	}
}

func TestAdminClosed(t *testing.T) {
	a, err := bus.NewAdmin(bus.Config{Brokers: []string{"127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.EnsureTopics(t.Context(), bus.TopicSpec{Name: "x"}); !errors.Is(err, bus.ErrClosed) {
		t.Errorf("EnsureTopics after Close = %v", err)
	}
	if _, err := a.Lag(t.Context(), "g", "x"); !errors.Is(err, bus.ErrClosed) {
		t.Errorf("Lag after Close = %v", err)
	}
}
