package bus_test

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/lienthong/lienthong/internal/bus"
)

// ReadTopic reads every partition to its end, keeps the newest when asked,
// and names a missing topic.
func TestReadTopic(t *testing.T) {
	brokers := testBrokers(t)
	cfg := testConfig(brokers)
	topic := uniqueName(t, "read")
	ensureTopics(t, brokers, bus.TopicSpec{Name: topic, Partitions: 2})
	p := newProducer(t, cfg)
	ctx := context.Background()
	for i := range 6 {
		if err := p.Produce(ctx, bus.Message{Topic: topic, Key: []byte(strconv.Itoa(i)), Value: []byte(strconv.Itoa(i))}); err != nil {
			t.Fatal(err)
		}
	}
	all, err := bus.ReadTopic(ctx, cfg, topic, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 6 {
		t.Fatalf("read %d messages, want 6", len(all))
	}
	perPartition := map[int]int{}
	for i, m := range all {
		perPartition[m.Partition]++
		if i > 0 && m.Partition == all[i-1].Partition && m.Offset <= all[i-1].Offset {
			t.Errorf("offsets out of order: %d after %d", m.Offset, all[i-1].Offset)
		}
	}
	newest, err := bus.ReadTopic(ctx, cfg, topic, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(newest) != len(perPartition) {
		t.Errorf("keep 1: %d messages, want one per non-empty partition (%d)", len(newest), len(perPartition))
	}
	if _, err := bus.ReadTopic(ctx, cfg, uniqueName(t, "missing"), 0); !errors.Is(err, bus.ErrUnknownTopic) {
		t.Errorf("missing topic: %v, want %v", err, bus.ErrUnknownTopic)
	}
}
