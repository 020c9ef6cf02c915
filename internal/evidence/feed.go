package evidence

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/lienthong/lienthong/internal/bus"
)

// FeedConfig configures the feeder, which turns the hub's accepted and
// transport events into leaves on the log topic.
type FeedConfig struct {
	Bus       bus.Config
	Publisher bus.Publisher
	Admin     *bus.Admin
	Accepted  string // the accepted topic
	Events    string // the transport events topic
	Topic     string // the log topic
	Group     string // the feeder's consumer group
	// ReplicationFactor of the log topic; 0 leaves it to the broker.
	ReplicationFactor int
	Log               *slog.Logger
}

// EnsureTopic creates the log topic: one partition (the log's one order),
// never compacted or expired (the leaves are the record).
func EnsureTopic(ctx context.Context, admin *bus.Admin, topic string, rf int) error {
	return admin.EnsureTopics(ctx, bus.TopicSpec{Name: topic, Partitions: 1, ReplicationFactor: rf,
		Config: map[string]string{"cleanup.policy": "delete", "retention.ms": "-1", "retention.bytes": "-1"}})
}

// Feed runs the feeder until ctx ends. Its consumers commit after the leaf
// is produced, so a crash may produce a leaf twice, never lose one; Log
// skips the repeat.
func Feed(ctx context.Context, cfg FeedConfig) error {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if err := EnsureTopic(ctx, cfg.Admin, cfg.Topic, cfg.ReplicationFactor); err != nil {
		return fmt.Errorf("evidence: log topic: %w", err)
	}
	leaf := func(m bus.Message) (bus.Message, bool) {
		var lf Leaf
		var err error
		if m.Topic == cfg.Accepted {
			lf, err = FromAccepted(m.Value)
		} else {
			lf, err = FromTransport(m.Value)
		}
		if err != nil {
			// The router and the view refuse it too.
			cfg.Log.Warn("evidence: an event that makes no leaf skipped", "topic", m.Topic, "offset", m.Offset, "err", err)
			return bus.Message{}, false
		}
		return bus.Message{Topic: cfg.Topic, Key: []byte(lf.ID), Value: lf.Marshal()}, true
	}
	c, err := bus.NewConsumer(cfg.Bus, bus.ConsumerConfig{Group: cfg.Group, Topics: []string{cfg.Accepted, cfg.Events},
		SessionTimeout: 10 * time.Second, RebalanceTimeout: 10 * time.Second,
		// The leaves of the events waiting go in one produce: a repeat
		// after a failed batch is skipped by the log (dedupWindow).
		Batch: func(ctx context.Context, msgs []bus.Message) error {
			out := make([]bus.Message, 0, len(msgs))
			for _, m := range msgs {
				if l, ok := leaf(m); ok {
					out = append(out, l)
				}
			}
			if len(out) == 0 {
				return nil
			}
			return cfg.Publisher.Produce(ctx, out...)
		}},
		func(ctx context.Context, m bus.Message) error {
			l, ok := leaf(m)
			if !ok {
				return nil
			}
			return cfg.Publisher.Produce(ctx, l)
		}, bus.Recover(), bus.Retry(bus.RetryConfig{MaxAttempts: 10, InitialInterval: 100 * time.Millisecond, MaxInterval: 5 * time.Second}))
	if err != nil {
		return err
	}
	return c.Run(ctx)
}
