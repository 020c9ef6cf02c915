package bus

import (
	"context"
	"slices"
	"time"

	"github.com/segmentio/kafka-go"
)

// Message is one Kafka record. Topic, Key, Value and Headers are what a
// producer sets; Partition, Offset and Time are filled in on consumption and
// ignored by Produce.
type Message struct {
	Topic   string
	Key     []byte
	Value   []byte
	Headers map[string]string

	Partition int
	Offset    int64
	Time      time.Time
}

// Header returns the value of header k, or "" when it is absent.
func (m Message) Header(k string) string { return m.Headers[k] }

// withHeader returns a copy of m whose Headers map is fresh and holds k=v,
// so that callers' maps are never modified.
func (m Message) withHeader(k, v string) Message {
	h := make(map[string]string, len(m.Headers)+1)
	for hk, hv := range m.Headers {
		h[hk] = hv
	}
	h[k] = v
	m.Headers = h
	return m
}

// Handler processes one consumed message. Returning nil lets the consumer
// commit the message; an error makes the consumer stop without committing it.
type Handler func(ctx context.Context, msg Message) error

// Middleware wraps a Handler with cross-cutting behaviour.
type Middleware func(Handler) Handler

// Chain wraps h with mws; the first middleware is the outermost, so
// Chain(h, Recover(), Retry(...)) recovers panics raised inside retries.
func Chain(h Handler, mws ...Middleware) Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}

func toKafka(m Message) kafka.Message {
	km := kafka.Message{Topic: m.Topic, Key: m.Key, Value: m.Value}
	if len(m.Headers) > 0 {
		// Sorted so that the same message always has the same bytes.
		keys := make([]string, 0, len(m.Headers))
		for k := range m.Headers {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		km.Headers = make([]kafka.Header, len(keys))
		for i, k := range keys {
			km.Headers[i] = kafka.Header{Key: k, Value: []byte(m.Headers[k])}
		}
	}
	return km
}

func fromKafka(km kafka.Message) Message {
	m := Message{
		Topic:     km.Topic,
		Key:       km.Key,
		Value:     km.Value,
		Partition: km.Partition,
		Offset:    km.Offset,
		Time:      km.Time,
	}
	if len(km.Headers) > 0 {
		// A repeated header keeps its last value, as Kafka's Java
		// Headers.lastHeader does.
		m.Headers = make(map[string]string, len(km.Headers))
		for _, h := range km.Headers {
			m.Headers[h.Key] = string(h.Value)
		}
	}
	return m
}
