package bus_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/testwait"
)

// kafkaSeries returns every series of the kafka-go statistics: counters
// and gauges by "name{label}", summaries by "name{label}" (the sum) and
// "name{label}_count".
func kafkaSeries(t *testing.T, g prometheus.Gatherer) map[string]float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName() + "{" + m.GetLabel()[0].GetValue() + "}"
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				out[key] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[key] = m.GetGauge().GetValue()
			case dto.MetricType_SUMMARY:
				out[key] = m.GetSummary().GetSampleSum()
				out[key+"_count"] = float64(m.GetSummary().GetSampleCount())
			}
		}
	}
	return out
}

// kafka-go's writer and reader statistics reach Prometheus after traffic,
// as running totals that survive kafka-go resetting them on every read and
// a reader closing.
func TestKafkaStats(t *testing.T) {
	brokers := testBrokers(t)
	topic, group := uniqueName(t, "t"), uniqueName(t, "g")
	ensureTopics(t, brokers, bus.TopicSpec{Name: topic, Partitions: 2})
	reg := prometheus.NewPedanticRegistry()
	stats, err := bus.NewKafkaStats(reg)
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(brokers)
	cfg.Stats = stats
	p := newProducer(t, cfg)
	produceN(t, p, topic, 0, 20)

	col := newCollector()
	c, err := bus.NewConsumer(cfg, testConsumerConfig(group, topic), col.handle)
	if err != nil {
		t.Fatal(err)
	}
	r := startConsumer(t, c)
	testwait.Eventually(t, "20 messages consumed", func() bool { return len(col.snapshot()) >= 20 })

	const w, rd = "{lienthong-test}", "{"
	got := kafkaSeries(t, reg)
	tests := []struct {
		give string
		want func(float64) bool
	}{
		{"lienthong_kafka_writer_messages_total" + w, func(v float64) bool { return v == 20 }},
		{"lienthong_kafka_writer_writes_total" + w, func(v float64) bool { return v >= 1 }},
		{"lienthong_kafka_writer_errors_total" + w, func(v float64) bool { return v == 0 }},
		{"lienthong_kafka_writer_retries_total" + w, func(v float64) bool { return v == 0 }},
		{"lienthong_kafka_writer_bytes_total" + w, func(v float64) bool { return v > 0 }},
		{"lienthong_kafka_writer_batch_messages" + w, func(v float64) bool { return v == 20 }},
		{"lienthong_kafka_writer_batch_messages" + w + "_count", func(v float64) bool { return v >= 1 }},
		{"lienthong_kafka_writer_batch_seconds" + w + "_count", func(v float64) bool { return v >= 1 }},
		{"lienthong_kafka_reader_messages_total" + rd + group + "}", func(v float64) bool { return v >= 20 }},
		{"lienthong_kafka_reader_fetches_total" + rd + group + "}", func(v float64) bool { return v >= 1 }},
		{"lienthong_kafka_reader_lag" + rd + group + "}", func(v float64) bool { return v >= 0 }},
	}
	for _, tt := range tests {
		if v, ok := got[tt.give]; !ok || !tt.want(v) {
			t.Errorf("after traffic %s = %v (present %v)", tt.give, v, ok)
		}
	}

	// Totals keep growing across scrapes, and past the reader's close.
	produceN(t, p, topic, 20, 5)
	testwait.Eventually(t, "25 messages consumed", func() bool { return len(col.snapshot()) >= 25 })
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	got = kafkaSeries(t, reg)
	if v := got["lienthong_kafka_writer_messages_total"+w]; v != 25 {
		t.Errorf("writer messages after a second scrape = %v, want 25", v)
	}
	if v := got["lienthong_kafka_reader_messages_total"+rd+group+"}"]; v < 25 {
		t.Errorf("reader messages after its close = %v, want at least 25", v)
	}
	if _, ok := got["lienthong_kafka_reader_lag"+rd+group+"}"]; ok {
		t.Error("a closed reader still reports its lag")
	}
}
