package bus_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/bus"
)

// envKafka names an external broker to test against instead of an
// in-process kfake (scripts/kfake.sh env prints it).
const envKafka = "LIENTHONG_TEST_KAFKA"

// testBrokers returns broker addresses: $LIENTHONG_TEST_KAFKA when set,
// else those of an embedded broker persisting to a temporary directory.
func testBrokers(tb testing.TB) []string {
	tb.Helper()
	if addrs := os.Getenv(envKafka); addrs != "" {
		return strings.Split(addrs, ",")
	}
	b, err := bus.StartBroker(tb.Context(), bus.BrokerConfig{DataDir: tb.TempDir()})
	if err != nil {
		tb.Fatalf("StartBroker: %v", err)
	}
	tb.Cleanup(func() {
		if err := b.Close(); err != nil {
			tb.Errorf("close broker: %v", err)
		}
	})
	return b.Addrs()
}

var nonName = regexp.MustCompile(`[^a-zA-Z0-9]+`)

// uniqueName returns a topic or group name no other test run uses, so
// tests can share an external broker.
func uniqueName(tb testing.TB, suffix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return strings.ToLower(nonName.ReplaceAllString(tb.Name(), "-")) + "-" + suffix + "-" + hex.EncodeToString(b[:])
}

func testConfig(brokers []string) bus.Config {
	return bus.Config{Brokers: brokers, ClientID: "lienthong-test"}
}

func ensureTopics(tb testing.TB, brokers []string, specs ...bus.TopicSpec) {
	tb.Helper()
	a, err := bus.NewAdmin(testConfig(brokers))
	if err != nil {
		tb.Fatal(err)
	}
	defer a.Close()
	if err := a.EnsureTopics(tb.Context(), specs...); err != nil {
		tb.Fatalf("EnsureTopics: %v", err)
	}
}

func newProducer(tb testing.TB, cfg bus.Config) *bus.Producer {
	tb.Helper()
	p, err := bus.NewProducer(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := p.Close(); err != nil {
			tb.Errorf("close producer: %v", err)
		}
	})
	return p
}

func newAdmin(tb testing.TB, brokers []string) *bus.Admin {
	tb.Helper()
	a, err := bus.NewAdmin(testConfig(brokers))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { a.Close() })
	return a
}

// testConsumerConfig joins fast and fetches briefly, for quick tests.
func testConsumerConfig(group string, topics ...string) bus.ConsumerConfig {
	return bus.ConsumerConfig{
		Group:             group,
		Topics:            topics,
		HeartbeatInterval: 200 * time.Millisecond,
		SessionTimeout:    6 * time.Second, // kfake's minimum
		RebalanceTimeout:  6 * time.Second,
		MaxWait:           100 * time.Millisecond,
	}
}

// runner runs a consumer in the background.
type runner struct {
	cancel context.CancelFunc
	done   chan error
}

func startConsumer(tb testing.TB, c *bus.Consumer) *runner {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &runner{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- c.Run(ctx) }()
	tb.Cleanup(func() {
		if err := r.stop(tb); err != nil {
			tb.Logf("consumer stopped with %v", err)
		}
	})
	return r
}

// stop cancels the consumer and returns Run's result; later calls return
// nil.
func (r *runner) stop(tb testing.TB) error {
	tb.Helper()
	r.cancel()
	select {
	case err, ok := <-r.done:
		if ok {
			close(r.done)
		}
		return err
	case <-time.After(30 * time.Second):
		tb.Fatal("consumer did not stop within 30 s")
		return nil
	}
}

// collector records handled messages.
type collector struct {
	mu   sync.Mutex
	msgs []bus.Message
	ch   chan struct{}
}

func newCollector() *collector { return &collector{ch: make(chan struct{}, 1)} }

func (c *collector) handle(_ context.Context, m bus.Message) error {
	c.mu.Lock()
	c.msgs = append(c.msgs, m)
	c.mu.Unlock()
	select {
	case c.ch <- struct{}{}:
	default:
	}
	return nil
}

func (c *collector) snapshot() []bus.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]bus.Message(nil), c.msgs...)
}
