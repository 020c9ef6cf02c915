package bus_test

import (
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lienthong/lienthong/internal/bus"
)

// series returns the value of every series of metric name, keyed by
// "topic/outcome" for counters and "" for a histogram's sample count.
func series(t *testing.T, g prometheus.Gatherer, name string) map[string]float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			switch {
			case m.GetCounter() != nil:
				out[labels["topic"]+"/"+labels["outcome"]] = m.GetCounter().GetValue()
			case m.GetHistogram() != nil:
				out[""] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

func equalSeries(a, b map[string]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestMetricsPublisher(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m, err := bus.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	ok := m.Publisher(&recordingPublisher{})
	if err := ok.Produce(t.Context(), bus.Message{Topic: "a"}, bus.Message{Topic: "a"}, bus.Message{Topic: "b"}); err != nil {
		t.Fatal(err)
	}
	errDown := errors.New("down")
	bad := m.Publisher(&recordingPublisher{err: errDown})
	if err := bad.Produce(t.Context(), bus.Message{Topic: "a"}); !errors.Is(err, errDown) {
		t.Fatalf("decorated Produce = %v, want the inner error", err)
	}
	want := map[string]float64{"a/ok": 2, "b/ok": 1, "a/error": 1}
	if got := series(t, reg, "lienthong_bus_produced_total"); !equalSeries(got, want) {
		t.Errorf("produced_total = %v, want %v", got, want)
	}
	if got := series(t, reg, "lienthong_bus_produce_seconds"); got[""] != 2 {
		t.Errorf("produce_seconds observed %v calls, want 2", got[""])
	}

	// A second registration on the same registry shares the collectors.
	m2, err := bus.NewMetrics(reg)
	if err != nil {
		t.Fatalf("NewMetrics again: %v", err)
	}
	if err := m2.Publisher(&recordingPublisher{}).Produce(t.Context(), bus.Message{Topic: "b"}); err != nil {
		t.Fatal(err)
	}
	if got := series(t, reg, "lienthong_bus_produced_total")["b/ok"]; got != 2 {
		t.Errorf("shared counter = %v, want 2", got)
	}
}

func TestMetricsPublisherCountsPartialFailures(t *testing.T) {
	brokers := testBrokers(t)
	topic := uniqueName(t, "t")
	ensureTopics(t, brokers, bus.TopicSpec{Name: topic, Partitions: 1})
	reg := prometheus.NewPedanticRegistry()
	m, err := bus.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	p := m.Publisher(newProducer(t, testConfig(brokers)))
	if err := p.Produce(t.Context(), bus.Message{Topic: topic, Value: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	missing := uniqueName(t, "missing")
	if err := p.Produce(t.Context(), bus.Message{Topic: missing}); !errors.Is(err, bus.ErrUnknownTopic) {
		t.Fatalf("Produce to a missing topic = %v", err)
	}
	want := map[string]float64{topic + "/ok": 1, missing + "/error": 1}
	if got := series(t, reg, "lienthong_bus_produced_total"); !equalSeries(got, want) {
		t.Errorf("produced_total = %v, want %v", got, want)
	}
}

func TestNewMetricsConflict(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: "lienthong_bus_produce_seconds", Help: "not ours"}))
	if _, err := bus.NewMetrics(reg); err == nil {
		t.Fatal("NewMetrics over a conflicting collector succeeded")
	}
}
