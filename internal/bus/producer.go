package bus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
)

// Publisher is the producing side of the seam. Produce returns nil only when
// every message is durably acknowledged.
type Publisher interface {
	Produce(ctx context.Context, msgs ...Message) error
}

var _ Publisher = (*Producer)(nil)

// Producer writes messages synchronously with acks=all. It is safe for
// concurrent use, and concurrent Produce calls share batches: kafka-go keeps
// one open batch per partition that every caller appends to, so N callers
// cost about one round trip per BatchTimeout instead of N.
//
// Keys are assigned to partitions with murmur2, the hash of the Java client's
// default partitioner (and librdkafka's "murmur2_random"), so a key lands on
// the same partition whichever client produced it. Messages without a key
// go to a random partition.
type Producer struct {
	w         *kafka.Writer
	transport *kafka.Transport
	meta      *metadataCache
	closed    atomic.Bool
	unstat    func()
}

// NewProducer returns a Producer for cfg. It does not contact the brokers.
func NewProducer(cfg Config) (*Producer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	t := cfg.transport()
	w := &kafka.Writer{
		Addr:                   kafka.TCP(cfg.Brokers...),
		Balancer:               &kafka.Murmur2Balancer{},
		RequiredAcks:           kafka.RequireAll,
		BatchTimeout:           cfg.BatchTimeout,
		BatchSize:              cfg.BatchSize,
		BatchBytes:             batchBytes,
		WriteTimeout:           cfg.WriteTimeout,
		ReadTimeout:            cfg.WriteTimeout,
		AllowAutoTopicCreation: false,
		Transport:              t,
	}
	return &Producer{w: w, transport: t, meta: &metadataCache{cfg: cfg, transport: t}, unstat: cfg.Stats.addWriter(cfg.ClientID, w)}, nil
}

// Produce writes msgs and returns when all are acknowledged, or with an error
// naming how many failed. A message without an x-correlation-id header takes
// the one in ctx (see Correlation), so a handler's output stays correlated
// with its input. Message byte slices must not be modified until Produce
// returns. When ctx ends first, some messages may still be written.
func (p *Producer) Produce(ctx context.Context, msgs ...Message) error {
	if len(msgs) == 0 {
		return nil
	}
	if p.closed.Load() {
		return ErrClosed
	}
	cid := CorrelationID(ctx)
	kms := make([]kafka.Message, len(msgs))
	for i, m := range msgs {
		if m.Topic == "" {
			return fmt.Errorf("produce message %d: %w", i, ErrNoTopic)
		}
		if cid != "" && m.Headers[HeaderCorrelationID] == "" {
			m = m.withHeader(HeaderCorrelationID, cid)
		}
		kms[i] = toKafka(m)
	}
	start := time.Now()
	err := p.w.WriteMessages(ctx, kms...)
	if isStaleTopic(err) && p.meta.recheck(ctx, start, topicsOf(msgs)) {
		err = p.w.WriteMessages(ctx, kms...)
	}
	if err != nil {
		return produceError(msgs, err)
	}
	return nil
}

// isStaleTopic reports whether err is kafka-go's answer for a topic missing
// from its metadata cache (see metadataCache). The Writer looks every topic
// up before it queues any message, so then nothing was written and the call
// can be repeated.
func isStaleTopic(err error) bool {
	var werrs kafka.WriteErrors
	return isUnknownTopic(err) && !errors.As(err, &werrs)
}

func topicsOf(msgs []Message) []string {
	var topics []string
	for _, m := range msgs {
		if !slices.Contains(topics, m.Topic) {
			topics = append(topics, m.Topic)
		}
	}
	return topics
}

// produceError describes a failed write with the topic and the number of
// failed messages, and marks unknown topics with ErrUnknownTopic.
func produceError(msgs []Message, err error) error {
	topic := msgs[0].Topic
	if len(msgs) > 1 {
		for _, m := range msgs[1:] {
			if m.Topic != topic {
				topic = "several topics"
				break
			}
		}
	}
	failed, first := len(msgs), error(nil)
	var werrs kafka.WriteErrors
	if errors.As(err, &werrs) {
		failed = werrs.Count()
		for _, e := range werrs {
			if e != nil {
				first = e
				break
			}
		}
	}
	switch {
	case isUnknownTopic(err) || (first != nil && isUnknownTopic(first)):
		return fmt.Errorf("produce to %s: %d of %d failed: %w: %w", topic, failed, len(msgs), ErrUnknownTopic, err)
	case first != nil:
		// kafka-go's WriteErrors cannot be unwrapped: name the cause.
		return fmt.Errorf("produce to %s: %d of %d failed (%s): %w", topic, failed, len(msgs), first.Error(), err)
	default:
		return fmt.Errorf("produce to %s: %d of %d failed: %w", topic, failed, len(msgs), err)
	}
}

// Close flushes pending batches and releases connections.
func (p *Producer) Close() error {
	if p.closed.Swap(true) {
		return nil
	}
	err := p.w.Close()
	p.unstat()
	p.transport.CloseIdleConnections()
	if err != nil {
		return fmt.Errorf("close producer: %w", err)
	}
	return nil
}
