package bus

import (
	"context"
	"errors"
	"fmt"

	"github.com/segmentio/kafka-go"
)

// Follow reads a single-partition topic from its first offset and calls
// handle for each message, in order, then waits for more until ctx ends.
// It joins no group and commits nothing: every process that follows a
// topic sees all of it, which suits small state that each process keeps
// whole (such as the credentials issued at run time). caughtUp, when set,
// is called once, after the messages present when Follow began are
// handled. An error from handle stops Follow.
func Follow(ctx context.Context, cfg Config, topic string, handle func(Message) error, caughtUp func()) error {
	return FollowFrom(ctx, cfg, topic, 0, handle, caughtUp)
}

// FollowFrom is Follow from offset from (or the first offset the topic
// still has, when later): for a process that keeps what it read and
// resumes after a restart.
func FollowFrom(ctx context.Context, cfg Config, topic string, from int64, handle func(Message) error, caughtUp func()) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	admin, err := NewAdmin(cfg)
	if err != nil {
		return err
	}
	parts, err := admin.partitions(ctx, []string{topic})
	var start, end map[topicPartition]int64
	if err == nil {
		if len(parts[topic]) != 1 {
			err = fmt.Errorf("follow %s: %d partitions, want 1", topic, len(parts[topic]))
		} else if start, err = admin.offsets(ctx, parts, kafka.FirstOffset); err == nil {
			end, err = admin.offsets(ctx, parts, kafka.LastOffset)
		}
	}
	_ = admin.Close()
	if err != nil {
		return fmt.Errorf("follow %s: %w", topic, err)
	}
	tp := topicPartition{topic, parts[topic][0]}
	first, last := start[tp], end[tp]
	notify := func() {
		if caughtUp != nil {
			caughtUp()
			caughtUp = nil
		}
	}
	if max(first, from) >= last {
		// Nothing to read: empty, retention removed every record, or all
		// was read before.
		notify()
	}
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:     cfg.Brokers,
		Topic:       topic,
		Partition:   parts[topic][0],
		Dialer:      cfg.dialer(),
		StartOffset: kafka.FirstOffset,
		MaxWait:     DefaultMaxWait,
	})
	unstat := cfg.Stats.addReader("follow:"+topic, r)
	defer unstat()
	defer r.Close() //nolint:errcheck // read-only
	if from > first {
		if err := r.SetOffset(from); err != nil {
			return fmt.Errorf("follow %s from %d: %w", topic, from, err)
		}
	}
	for {
		km, err := r.ReadMessage(ctx)
		if err != nil {
			if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
				return nil
			}
			return fmt.Errorf("follow %s: %w", topic, err)
		}
		if err := handle(fromKafka(km)); err != nil {
			return fmt.Errorf("follow %s@%d: %w", topic, km.Offset, err)
		}
		if km.Offset+1 >= last {
			notify()
		}
	}
}
