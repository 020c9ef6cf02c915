package bus

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
)

// metadataCache works around kafka-go's transport metadata cache, which
// lives up to 6 s and has no refresh call: a topic created meanwhile by
// another client (EnsureTopics in another Admin or process) is reported
// unknown although it exists. On such an error, recheck asks the brokers
// directly, through a one-off transport, and only when every topic exists
// drops the long-lived transport's connection pool (and with it the cache;
// requests in flight keep theirs), so a missing topic does not cost other
// callers their connections.
type metadataCache struct {
	cfg       Config
	transport *kafka.Transport

	mu          sync.Mutex
	refreshedAt time.Time
}

// recheck reports whether a request that began at since and found topics
// unknown is worth repeating: they all exist, and the cache has been
// refreshed since.
func (m *metadataCache) recheck(ctx context.Context, since time.Time, topics []string) bool {
	if !topicsExist(ctx, m.cfg, topics) {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.refreshedAt.Before(since) {
		m.transport.CloseIdleConnections()
		m.refreshedAt = time.Now()
	}
	return true
}

// topicsExist asks the brokers, bypassing every cache, whether all topics
// exist. Metadata requests from kafka-go's transport never ask the broker
// to create a topic.
func topicsExist(ctx context.Context, cfg Config, topics []string) bool {
	t := cfg.transport()
	t.MetadataTopics = topics
	defer t.CloseIdleConnections()
	c := &kafka.Client{Addr: kafka.TCP(cfg.Brokers...), Timeout: cfg.WriteTimeout, Transport: t}
	md, err := c.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
	if err != nil {
		return false
	}
	found := 0
	for _, tp := range md.Topics {
		if tp.Error == nil && len(tp.Partitions) > 0 && slices.Contains(topics, tp.Name) {
			found++
		}
	}
	return found == len(topics)
}

// isUnknownTopic reports whether err says a topic is unknown.
func isUnknownTopic(err error) bool {
	return errors.Is(err, kafka.UnknownTopicOrPartition) || errors.Is(err, ErrUnknownTopic)
}
