package bus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/segmentio/kafka-go"
)

// ReadTopic returns the messages of topic, partition by partition, from the
// first offset to the end as it was when called, without a consumer group;
// keep > 0 keeps only the last keep of each partition while reading, so
// memory stays bounded however long the topic.
func ReadTopic(ctx context.Context, cfg Config, topic string, keep int) ([]Message, error) {
	admin, err := NewAdmin(cfg)
	if err != nil {
		return nil, err
	}
	defer admin.Close() //nolint:errcheck // read-only
	parts, err := admin.partitions(ctx, []string{topic})
	var first, last map[topicPartition]int64
	if err == nil {
		if first, err = admin.offsets(ctx, parts, kafka.FirstOffset); err == nil {
			last, err = admin.offsets(ctx, parts, kafka.LastOffset)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", topic, err)
	}
	ps := slices.Sorted(slices.Values(parts[topic]))
	var out []Message
	for _, p := range ps {
		tp := topicPartition{topic, p}
		lo, okLo := first[tp]
		hi, okHi := last[tp]
		if !okLo || !okHi || lo < 0 || hi < 0 {
			return nil, fmt.Errorf("read %s/%d: no offsets", topic, p)
		}
		msgs, err := readPartition(ctx, admin.client, topic, p, lo, hi, keep)
		if err != nil {
			return nil, err
		}
		out = append(out, msgs...)
	}
	return out, nil
}

func readPartition(ctx context.Context, client *kafka.Client, topic string, part int, first, last int64, keep int) ([]Message, error) {
	var out []Message
	for off, idle := first, 0; off < last; {
		resp, err := client.Fetch(ctx, &kafka.FetchRequest{Topic: topic, Partition: part, Offset: off,
			MinBytes: 1, MaxBytes: DefaultMaxBytes, MaxWait: 500 * time.Millisecond})
		if err != nil {
			return nil, fmt.Errorf("read %s/%d@%d: %w", topic, part, off, err)
		}
		if resp.Error != nil {
			return nil, fmt.Errorf("read %s/%d@%d: %w", topic, part, off, resp.Error)
		}
		start := off
		for {
			rec, err := resp.Records.ReadRecord()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("read %s/%d@%d: %w", topic, part, off, err)
			}
			if rec.Offset < off {
				continue
			}
			if rec.Offset >= last {
				off = last // written after we started; whatever lies between is not a record
				break
			}
			m := Message{Topic: topic, Partition: part, Offset: rec.Offset, Time: rec.Time}
			if m.Key, err = readBytes(rec.Key); err == nil {
				m.Value, err = readBytes(rec.Value)
			}
			if err != nil {
				return nil, fmt.Errorf("read %s/%d@%d: %w", topic, part, rec.Offset, err)
			}
			for _, h := range rec.Headers {
				if m.Headers == nil {
					m.Headers = map[string]string{}
				}
				m.Headers[h.Key] = string(h.Value)
			}
			if out = append(out, m); keep > 0 && len(out) >= 2*keep {
				out = append(out[:0], out[len(out)-keep:]...)
			}
			off = rec.Offset + 1
		}
		if off == start {
			// The broker answered with nothing before the end: ask
			// again, but do not spin.
			if idle++; idle > 3 {
				return nil, fmt.Errorf("read %s/%d: no records at offset %d of %d", topic, part, off, last)
			}
			continue
		}
		idle = 0
	}
	if keep > 0 && len(out) > keep {
		out = out[len(out)-keep:]
	}
	return out, nil
}

func readBytes(b kafka.Bytes) ([]byte, error) {
	if b == nil {
		return nil, nil
	}
	return io.ReadAll(b)
}
