package bus_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/testwait"
)

// A consumer that keeps up with a trickle (each message alone in its
// fetch, every partition's queue dry after it) commits a few times a
// CommitInterval, not once per message: each commit is a request the
// broker serves and, on kfake, persists. What it handled is still all
// committed when it stops.
func TestConsumerCommitsLingerOnTrickle(t *testing.T) {
	b, err := bus.StartBroker(t.Context(), bus.BrokerConfig{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	var commits, fetches atomic.Int64
	count := func(n *atomic.Int64) func(kmsg.Request) (kmsg.Response, error, bool) {
		return func(kmsg.Request) (kmsg.Response, error, bool) {
			b.Cluster().KeepControl()
			n.Add(1)
			return nil, nil, false
		}
	}
	b.Cluster().ControlKey(int16(kmsg.OffsetCommit), count(&commits))
	b.Cluster().ControlKey(int16(kmsg.Fetch), count(&fetches))

	brokers := b.Addrs()
	topic, group := uniqueName(t, "t"), uniqueName(t, "g")
	ensureTopics(t, brokers, bus.TopicSpec{Name: topic, Partitions: 3})
	p := newProducer(t, testConfig(brokers))
	col := newCollector()
	c, err := bus.NewConsumer(testConfig(brokers), testConsumerConfig(group, topic), col.handle)
	if err != nil {
		t.Fatal(err)
	}
	r := startConsumer(t, c)
	produceN(t, p, topic, 0, 1)
	testwait.Eventually(t, "the group to start", func() bool { return len(col.snapshot()) == 1 })

	const n = 200
	c0, f0 := commits.Load(), fetches.Load()
	for i := 1; i <= n; i++ {
		produceN(t, p, topic, i, 1)
		time.Sleep(2 * time.Millisecond) // a trickle: ~300 messages/s at most
	}
	testwait.Eventually(t, "every message", func() bool { return len(col.snapshot()) == n+1 })
	nc, nf := commits.Load()-c0, fetches.Load()-f0
	t.Logf("%d messages: %d OffsetCommit requests, %d Fetch requests", n, nc, nf)
	if nc > n/5 {
		t.Errorf("%d OffsetCommit requests for %d messages, want at most %d", nc, n, n/5)
	}
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	if lag, err := newAdmin(t, brokers).Lag(t.Context(), group, topic); err != nil || lag != 0 {
		t.Errorf("lag after stop = %d, %v; want 0 (everything handled committed)", lag, err)
	}
}
