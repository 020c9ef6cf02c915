package metrics

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Components whose health lienthong_up reports.
const (
	ComponentBroker = "broker"
	ComponentStore  = "store"
)

// Health is what a probe of the hub's dependencies found.
type Health struct {
	Up   map[string]bool // by component
	Lags []Lag
}

// Lag is how many messages a consumer group has not committed on a topic.
type Lag struct {
	Group    string // the consumer's role: router, view, forward
	Topic    string
	Messages int64
}

// HealthFunc probes the broker, the store and the consumers' lag
// (hub.Hub.Health). It must return by ctx's deadline.
type HealthFunc func(ctx context.Context) Health

var (
	upDesc = prometheus.NewDesc("lienthong_up",
		"Whether a component the hub depends on answered its last probe (1) or not (0).", []string{"component"}, nil)
	lagDesc = prometheus.NewDesc("lienthong_consumer_lag",
		"Messages of a topic a consumer group has not committed yet.", []string{"group", "topic"}, nil)
)

// HealthCollector reports lienthong_up and lienthong_consumer_lag from a
// probe run at scrape time. A probe's result is reused for ttl, so
// scrapes from several Prometheus servers and the dashboard do not each
// hit the broker.
type HealthCollector struct {
	timeout, ttl time.Duration
	now          func() time.Time

	mu    sync.Mutex
	fn    HealthFunc
	last  Health
	taken time.Time
}

// NewHealthCollector probes through fn (nil until SetFunc), for at most
// timeout, reusing a result for ttl.
func NewHealthCollector(fn HealthFunc, timeout, ttl time.Duration) *HealthCollector {
	return &HealthCollector{fn: fn, timeout: timeout, ttl: ttl, now: time.Now}
}

// SetFunc replaces the probe.
func (c *HealthCollector) SetFunc(fn HealthFunc) {
	c.mu.Lock()
	c.fn, c.taken = fn, time.Time{}
	c.mu.Unlock()
}

// Probe returns the last probe's result if fresh, or probes now. Without a
// probe it reports nothing.
func (c *HealthCollector) Probe() Health {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fn == nil {
		return Health{}
	}
	if now := c.now(); c.taken.IsZero() || now.Sub(c.taken) >= c.ttl {
		ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
		c.last = c.fn(ctx)
		cancel()
		c.taken = now
	}
	return c.last
}

// Describe implements prometheus.Collector.
func (c *HealthCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- upDesc
	ch <- lagDesc
}

// Collect implements prometheus.Collector.
func (c *HealthCollector) Collect(ch chan<- prometheus.Metric) {
	h := c.Probe()
	for comp, up := range h.Up {
		v := 0.0
		if up {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(upDesc, prometheus.GaugeValue, v, comp)
	}
	for _, l := range h.Lags {
		ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, float64(l.Messages), l.Group, l.Topic)
	}
}
