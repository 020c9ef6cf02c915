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

// AdminOf returns shared when a process passed one in, else an admin of
// its own from cfg; release closes only an admin AdminOf opened.
func AdminOf(cfg Config, shared *Admin) (admin *Admin, release func(), err error) {
	if shared != nil {
		return shared, func() {}, nil
	}
	own, err := NewAdmin(cfg)
	if err != nil {
		return nil, nil, err
	}
	return own, func() { _ = own.Close() }, nil
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
	lags, err := a.Lags(ctx, group, []string{topic})
	return lags[topic], err
}

// Lags is Lag for several topics of one group, in four requests whatever
// their number, so a dashboard can read every inbox topic at each scrape.
func (a *Admin) Lags(ctx context.Context, group string, topics []string) (map[string]int64, error) {
	if a.closed.Load() {
		return nil, ErrClosed
	}
	start := time.Now()
	parts, err := a.partitions(ctx, topics)
	if isUnknownTopic(err) && a.meta.recheck(ctx, start, topics) {
		parts, err = a.partitions(ctx, topics)
	}
	if err != nil {
		return nil, fmt.Errorf("lag of %s: %w", group, err)
	}
	committed, err := a.committed(ctx, group, parts)
	if err != nil {
		return nil, fmt.Errorf("lag of %s: %w", group, err)
	}
	starts, err := a.offsets(ctx, parts, kafka.FirstOffset)
	if err != nil {
		return nil, fmt.Errorf("lag of %s: %w", group, err)
	}
	ends, err := a.offsets(ctx, parts, kafka.LastOffset)
	if err != nil {
		return nil, fmt.Errorf("lag of %s: %w", group, err)
	}
	lags := make(map[string]int64, len(parts))
	for topic, ps := range parts {
		var lag int64
		for _, p := range ps {
			tp := topicPartition{topic, p}
			from := committed[tp]
			if from < starts[tp] {
				// Nothing committed (-1), or the log was truncated
				// past the commit by retention.
				from = starts[tp]
			}
			if ends[tp] > from {
				lag += ends[tp] - from
			}
		}
		lags[topic] = lag
	}
	return lags, nil
}

type topicPartition struct {
	topic     string
	partition int
}

// partitions lists the partitions of each topic.
func (a *Admin) partitions(ctx context.Context, topics []string) (map[string][]int, error) {
	md, err := a.client.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
	if err != nil {
		return nil, err
	}
	out := make(map[string][]int, len(topics))
	for _, t := range md.Topics {
		if !slices.Contains(topics, t.Name) {
			continue
		}
		if t.Error != nil {
			if errors.Is(t.Error, kafka.UnknownTopicOrPartition) {
				return nil, fmt.Errorf("%w %s: %w", ErrUnknownTopic, t.Name, t.Error)
			}
			return nil, fmt.Errorf("%s: %w", t.Name, t.Error)
		}
		parts := make([]int, len(t.Partitions))
		for i, p := range t.Partitions {
			parts[i] = p.ID
		}
		out[t.Name] = parts
	}
	for _, t := range topics {
		if _, ok := out[t]; !ok {
			return nil, fmt.Errorf("%w %s", ErrUnknownTopic, t)
		}
	}
	return out, nil
}

func (a *Admin) committed(ctx context.Context, group string, parts map[string][]int) (map[topicPartition]int64, error) {
	resp, err := a.client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: parts})
	if err != nil {
		return nil, err
	}
	out := map[topicPartition]int64{}
	for topic, ps := range parts {
		for _, p := range ps {
			out[topicPartition{topic, p}] = -1
		}
	}
	if errors.Is(resp.Error, kafka.GroupIdNotFound) {
		// kfake's answer for a group that never committed; Kafka
		// answers -1 offsets instead.
		return out, nil
	}
	if resp.Error != nil {
		return nil, resp.Error
	}
	for topic, ps := range resp.Topics {
		for _, p := range ps {
			if p.Error != nil {
				return nil, fmt.Errorf("%s partition %d: %w", topic, p.Partition, p.Error)
			}
			out[topicPartition{topic, p.Partition}] = p.CommittedOffset
		}
	}
	return out, nil
}

// offsets lists the first or last offset of each partition. Kafka allows
// one timestamp per partition per request, so first and last take one
// request each.
func (a *Admin) offsets(ctx context.Context, parts map[string][]int, which int64) (map[topicPartition]int64, error) {
	reqs := make(map[string][]kafka.OffsetRequest, len(parts))
	for topic, ps := range parts {
		for _, p := range ps {
			reqs[topic] = append(reqs[topic], kafka.OffsetRequest{Partition: p, Timestamp: which})
		}
	}
	resp, err := a.client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: reqs})
	if err != nil {
		return nil, err
	}
	out := map[topicPartition]int64{}
	for topic, ps := range resp.Topics {
		for _, p := range ps {
			if p.Error != nil {
				return nil, fmt.Errorf("%s partition %d: %w", topic, p.Partition, p.Error)
			}
			if which == kafka.FirstOffset {
				out[topicPartition{topic, p.Partition}] = p.FirstOffset
			} else {
				out[topicPartition{topic, p.Partition}] = p.LastOffset
			}
		}
	}
	return out, nil
}

// TopicConfig returns the value of one config of a topic, such as
// cleanup.policy (the broker's default when the topic does not set it).
func (a *Admin) TopicConfig(ctx context.Context, topic, name string) (string, error) {
	if a.closed.Load() {
		return "", ErrClosed
	}
	resp, err := a.client.DescribeConfigs(ctx, &kafka.DescribeConfigsRequest{Resources: []kafka.DescribeConfigRequestResource{{
		ResourceType: kafka.ResourceTypeTopic, ResourceName: topic, ConfigNames: []string{name}}}})
	if err != nil {
		return "", fmt.Errorf("config %s of %s: %w", name, topic, err)
	}
	for _, r := range resp.Resources {
		if r.Error != nil {
			return "", fmt.Errorf("config %s of %s: %w", name, topic, r.Error)
		}
		for _, e := range r.ConfigEntries {
			if e.ConfigName == name {
				return e.ConfigValue, nil
			}
		}
	}
	return "", fmt.Errorf("config %s of %s: not reported", name, topic)
}

// Close releases the Admin's connections.
func (a *Admin) Close() error {
	if !a.closed.Swap(true) {
		a.transport.CloseIdleConnections()
	}
	return nil
}
