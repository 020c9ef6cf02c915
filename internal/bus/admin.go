package bus

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
)

// TopicSpec describes a topic for EnsureTopics.
type TopicSpec struct {
	Name string
	// Partitions is the partition count; 0 leaves it to the broker
	// (num.partitions, or BrokerConfig.NumPartitions).
	Partitions int
	// ReplicationFactor is the replica count; 0 leaves it to the broker
	// (default.replication.factor).
	ReplicationFactor int
	// Config holds topic configs such as retention.ms or cleanup.policy.
	Config map[string]string
}

// Admin manages topics and reads consumer-group progress.
type Admin struct {
	client    *kafka.Client
	transport *kafka.Transport
	meta      *metadataCache
	closed    atomic.Bool
}

// NewAdmin returns an Admin for cfg. It does not contact the brokers.
func NewAdmin(cfg Config) (*Admin, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	t := cfg.transport()
	return &Admin{
		client:    &kafka.Client{Addr: kafka.TCP(cfg.Brokers...), Timeout: cfg.WriteTimeout, Transport: t},
		transport: t,
		meta:      &metadataCache{cfg: cfg, transport: t},
	}, nil
}

// EnsureTopics creates the topics that do not exist yet; existing topics are
// left as they are, even when their settings differ from specs. It returns
// once the created topics are visible in the cluster metadata.
func (a *Admin) EnsureTopics(ctx context.Context, specs ...TopicSpec) error {
	if a.closed.Load() {
		return ErrClosed
	}
	if len(specs) == 0 {
		return nil
	}
	req := &kafka.CreateTopicsRequest{Topics: make([]kafka.TopicConfig, len(specs))}
	for i, s := range specs {
		if s.Name == "" || s.Partitions < 0 || s.ReplicationFactor < 0 {
			return fmt.Errorf("%w: %+v", ErrBadTopicSpec, s)
		}
		tc := kafka.TopicConfig{Topic: s.Name, NumPartitions: -1, ReplicationFactor: -1}
		if s.Partitions > 0 {
			tc.NumPartitions = s.Partitions
		}
		if s.ReplicationFactor > 0 {
			tc.ReplicationFactor = s.ReplicationFactor
		}
		for _, k := range slices.Sorted(maps.Keys(s.Config)) {
			tc.ConfigEntries = append(tc.ConfigEntries, kafka.ConfigEntry{ConfigName: k, ConfigValue: s.Config[k]})
		}
		req.Topics[i] = tc
	}
	// kafka-go's transport waits, after a successful CreateTopics, until
	// the new topics appear in its metadata.
	resp, err := a.client.CreateTopics(ctx, req)
	if err != nil {
		return fmt.Errorf("ensure topics: %w", err)
	}
	var errs []error
	for _, s := range specs {
		err := resp.Errors[s.Name]
		if err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
			errs = append(errs, fmt.Errorf("create topic %s: %w", s.Name, err))
		}
	}
	return errors.Join(errs...)
}

// Lag returns how many messages of topic the consumer group has not
// committed yet, summed over partitions: end offset minus committed offset,
// or minus the log start offset where the group has committed nothing.
func (a *Admin) Lag(ctx context.Context, group, topic string) (int64, error) {
	if a.closed.Load() {
		return 0, ErrClosed
	}
	start := time.Now()
	parts, err := a.partitions(ctx, topic)
	if isUnknownTopic(err) && a.meta.recheck(ctx, start, []string{topic}) {
		parts, err = a.partitions(ctx, topic)
	}
	if err != nil {
		return 0, fmt.Errorf("lag of %s on %s: %w", group, topic, err)
	}
	committed, err := a.committed(ctx, group, topic, parts)
	if err != nil {
		return 0, fmt.Errorf("lag of %s on %s: %w", group, topic, err)
	}
	starts, err := a.offsets(ctx, topic, parts, kafka.FirstOffset)
	if err != nil {
		return 0, fmt.Errorf("lag of %s on %s: %w", group, topic, err)
	}
	ends, err := a.offsets(ctx, topic, parts, kafka.LastOffset)
	if err != nil {
		return 0, fmt.Errorf("lag of %s on %s: %w", group, topic, err)
	}
	var lag int64
	for _, p := range parts {
		from := committed[p]
		if from < starts[p] {
			// Nothing committed (-1), or the log was truncated past
			// the commit by retention.
			from = starts[p]
		}
		if ends[p] > from {
			lag += ends[p] - from
		}
	}
	return lag, nil
}

func (a *Admin) partitions(ctx context.Context, topic string) ([]int, error) {
	md, err := a.client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, err
	}
	for _, t := range md.Topics {
		if t.Name != topic {
			continue
		}
		if t.Error != nil {
			if errors.Is(t.Error, kafka.UnknownTopicOrPartition) {
				return nil, fmt.Errorf("%w %s: %w", ErrUnknownTopic, topic, t.Error)
			}
			return nil, t.Error
		}
		parts := make([]int, len(t.Partitions))
		for i, p := range t.Partitions {
			parts[i] = p.ID
		}
		return parts, nil
	}
	return nil, fmt.Errorf("%w %s", ErrUnknownTopic, topic)
}

func (a *Admin) committed(ctx context.Context, group, topic string, parts []int) (map[int]int64, error) {
	resp, err := a.client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: parts}})
	if err != nil {
		return nil, err
	}
	out := make(map[int]int64, len(parts))
	for _, p := range parts {
		out[p] = -1
	}
	if errors.Is(resp.Error, kafka.GroupIdNotFound) {
		// kfake's answer for a group that never committed; Kafka
		// answers -1 offsets instead.
		return out, nil
	}
	if resp.Error != nil {
		return nil, resp.Error
	}
	for _, p := range resp.Topics[topic] {
		if p.Error != nil {
			return nil, fmt.Errorf("partition %d: %w", p.Partition, p.Error)
		}
		out[p.Partition] = p.CommittedOffset
	}
	return out, nil
}

// offsets lists the first or last offset of each partition. Kafka allows
// one timestamp per partition per request, so first and last take one
// request each.
func (a *Admin) offsets(ctx context.Context, topic string, parts []int, which int64) (map[int]int64, error) {
	reqs := make([]kafka.OffsetRequest, len(parts))
	for i, p := range parts {
		reqs[i] = kafka.OffsetRequest{Partition: p, Timestamp: which}
	}
	resp, err := a.client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		return nil, err
	}
	out := make(map[int]int64, len(parts))
	for _, p := range resp.Topics[topic] {
		if p.Error != nil {
			return nil, fmt.Errorf("partition %d: %w", p.Partition, p.Error)
		}
		if which == kafka.FirstOffset {
			out[p.Partition] = p.FirstOffset
		} else {
			out[p.Partition] = p.LastOffset
		}
	}
	return out, nil
}

// Close releases the Admin's connections.
func (a *Admin) Close() error {
	if !a.closed.Swap(true) {
		a.transport.CloseIdleConnections()
	}
	return nil
}
