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
	c, err := bus.NewConsumer(cfg.Bus, bus.ConsumerConfig{Group: cfg.Group, Topics: []string{cfg.Accepted, cfg.Events},
		SessionTimeout: 10 * time.Second, RebalanceTimeout: 10 * time.Second},
		func(ctx context.Context, m bus.Message) error {
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
				return nil
			}
			return cfg.Publisher.Produce(ctx, bus.Message{Topic: cfg.Topic, Key: []byte(lf.ID), Value: lf.Marshal()})
		}, bus.Recover(), bus.Retry(bus.RetryConfig{MaxAttempts: 10, InitialInterval: 100 * time.Millisecond, MaxInterval: 5 * time.Second}))
	if err != nil {
		return err
	}
	return c.Run(ctx)
}
