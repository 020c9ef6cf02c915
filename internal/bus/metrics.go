package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
)

// Outcome label values.
const (
	outcomeOK         = "ok"
	outcomeError      = "error"
	outcomeDeadLetter = "dead_letter"
)

// Metrics holds the bus collectors, registered on an injected registry:
//
//	lienthong_bus_produced_total{topic,outcome}  messages produced (ok, error)
//	lienthong_bus_produce_seconds                duration of Produce calls
//	lienthong_bus_consumed_total{topic,outcome}  messages handled (ok, error, dead_letter)
type Metrics struct {
	produced       *prometheus.CounterVec
	produceSeconds prometheus.Histogram
	consumed       *prometheus.CounterVec
}

// NewMetrics registers the collectors on reg. Registering twice on one
// registry returns collectors that share the first registration.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	produced, err := register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lienthong_bus_produced_total",
		Help: "Messages produced to Kafka, by topic and outcome (ok, error).",
	}, []string{"topic", "outcome"}))
	if err != nil {
		return nil, err
	}
	seconds, err := register(reg, prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "lienthong_bus_produce_seconds",
		Help:    "Duration of synchronous Produce calls, until all messages are acknowledged.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16), // 0.5 ms .. 16 s
	}))
	if err != nil {
		return nil, err
	}
	consumed, err := register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lienthong_bus_consumed_total",
		Help: "Messages handled by consumers, by topic and outcome (ok, error, dead_letter).",
	}, []string{"topic", "outcome"}))
	if err != nil {
		return nil, err
	}
	return &Metrics{produced: produced, produceSeconds: seconds, consumed: consumed}, nil
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		var zero C
		return zero, fmt.Errorf("register bus metrics: %w", err)
	}
	return c, nil
}

// Publisher decorates p so that every Produce is timed and every message
// counted by topic and outcome.
func (m *Metrics) Publisher(p Publisher) Publisher {
	return &meteredPublisher{next: p, m: m}
}

type meteredPublisher struct {
	next Publisher
	m    *Metrics
}

func (p *meteredPublisher) Produce(ctx context.Context, msgs ...Message) error {
	start := time.Now()
	err := p.next.Produce(ctx, msgs...)
	p.m.produceSeconds.Observe(time.Since(start).Seconds())
	// kafka-go reports which messages of a call failed.
	var werrs kafka.WriteErrors
	perMessage := errors.As(err, &werrs) && len(werrs) == len(msgs)
	for i, msg := range msgs {
		outcome := outcomeOK
		if err != nil && (!perMessage || werrs[i] != nil) {
			outcome = outcomeError
		}
		p.m.produced.WithLabelValues(msg.Topic, outcome).Inc()
	}
	return err
}
