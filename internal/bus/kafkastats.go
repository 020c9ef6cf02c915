package bus

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
)

// KafkaStats exports kafka-go's own statistics of every Writer (Producer)
// and Reader (Consumer, Follow) made with a Config that names it:
//
//	lienthong_kafka_writer_writes_total{client}       produce requests
//	lienthong_kafka_writer_messages_total{client}     messages written
//	lienthong_kafka_writer_bytes_total{client}        bytes written
//	lienthong_kafka_writer_errors_total{client}       failed writes
//	lienthong_kafka_writer_retries_total{client}      retried writes
//	lienthong_kafka_writer_batch_seconds{client}      time to fill and send a batch (sum, count)
//	lienthong_kafka_writer_write_seconds{client}      produce request round trips (sum, count)
//	lienthong_kafka_writer_batch_messages{client}     messages per batch (sum, count)
//	lienthong_kafka_writer_batch_bytes{client}        bytes per batch (sum, count)
//	lienthong_kafka_reader_fetches_total{reader}      fetch requests
//	lienthong_kafka_reader_messages_total{reader}     messages read
//	lienthong_kafka_reader_bytes_total{reader}        bytes read
//	lienthong_kafka_reader_errors_total{reader}       read errors
//	lienthong_kafka_reader_timeouts_total{reader}     fetches that timed out
//	lienthong_kafka_reader_rebalances_total{reader}   group rebalances
//	lienthong_kafka_reader_lag{reader}                messages behind the partition's end, last fetch
//	lienthong_kafka_reader_queue_length{reader}       fetched messages not yet handed out
//
// reader is the consumer group, or "follow:<topic>" for Follow. kafka-go's
// Stats resets its counters on every call, so the collector adds each
// snapshot to running totals (a reader that closes adds its last one), and
// nothing else may call Stats on a registered writer or reader.
type KafkaStats struct {
	mu      sync.Mutex
	writers map[*kafka.Writer]string
	readers map[*kafka.Reader]string
	wt      map[string]*writerTotals
	rt      map[string]*readerTotals
}

type sumCount struct {
	sum   float64
	count uint64
}

func (s *sumCount) addDuration(d kafka.DurationStats) {
	s.sum += d.Sum.Seconds()
	s.count += uint64(d.Count)
}

func (s *sumCount) addSummary(d kafka.SummaryStats) {
	s.sum += float64(d.Sum)
	s.count += uint64(d.Count)
}

type writerTotals struct {
	writes, messages, bytes, errors, retries float64
	batch, write, batchMessages, batchBytes  sumCount
}

func (t *writerTotals) add(st kafka.WriterStats) {
	t.writes += float64(st.Writes)
	t.messages += float64(st.Messages)
	t.bytes += float64(st.Bytes)
	t.errors += float64(st.Errors)
	t.retries += float64(st.Retries)
	t.batch.addDuration(st.BatchTime)
	t.write.addDuration(st.WriteTime)
	t.batchMessages.addSummary(st.BatchSize)
	t.batchBytes.addSummary(st.BatchBytes)
}

type readerTotals struct {
	fetches, messages, bytes, errors, timeouts, rebalances float64
	lag, queue                                             float64
	live                                                   int // readers of this name running
}

func (t *readerTotals) add(st kafka.ReaderStats) {
	t.fetches += float64(st.Fetches)
	t.messages += float64(st.Messages)
	t.bytes += float64(st.Bytes)
	t.errors += float64(st.Errors)
	t.timeouts += float64(st.Timeouts)
	t.rebalances += float64(st.Rebalances)
}

func kdesc(name, help, label string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, []string{label}, nil)
}

var (
	kwWrites   = kdesc("lienthong_kafka_writer_writes_total", "Produce requests kafka-go's writer sent.", "client")
	kwMessages = kdesc("lienthong_kafka_writer_messages_total", "Messages kafka-go's writer wrote.", "client")
	kwBytes    = kdesc("lienthong_kafka_writer_bytes_total", "Bytes of messages kafka-go's writer wrote.", "client")
	kwErrors   = kdesc("lienthong_kafka_writer_errors_total", "Writes kafka-go's writer failed.", "client")
	kwRetries  = kdesc("lienthong_kafka_writer_retries_total", "Writes kafka-go's writer retried.", "client")
	kwBatch    = kdesc("lienthong_kafka_writer_batch_seconds", "Time from a batch's first message to its send.", "client")
	kwWrite    = kdesc("lienthong_kafka_writer_write_seconds", "Produce request round trips.", "client")
	kwBatchMsg = kdesc("lienthong_kafka_writer_batch_messages", "Messages per batch sent.", "client")
	kwBatchB   = kdesc("lienthong_kafka_writer_batch_bytes", "Bytes per batch sent.", "client")

	krFetches    = kdesc("lienthong_kafka_reader_fetches_total", "Fetch requests of kafka-go's reader.", "reader")
	krMessages   = kdesc("lienthong_kafka_reader_messages_total", "Messages kafka-go's reader read.", "reader")
	krBytes      = kdesc("lienthong_kafka_reader_bytes_total", "Bytes of messages kafka-go's reader read.", "reader")
	krErrors     = kdesc("lienthong_kafka_reader_errors_total", "Errors of kafka-go's reader.", "reader")
	krTimeouts   = kdesc("lienthong_kafka_reader_timeouts_total", "Fetches of kafka-go's reader that timed out.", "reader")
	krRebalances = kdesc("lienthong_kafka_reader_rebalances_total", "Consumer group rebalances kafka-go's reader went through.", "reader")
	krLag        = kdesc("lienthong_kafka_reader_lag", "Messages between the reader's offset and its partition's end at its last fetch (running readers only).", "reader")
	krQueue      = kdesc("lienthong_kafka_reader_queue_length", "Messages fetched and not yet handed to the consumer (running readers only).", "reader")
)

// NewKafkaStats registers the collector on reg. Put it in Config.Stats.
func NewKafkaStats(reg prometheus.Registerer) (*KafkaStats, error) {
	s := &KafkaStats{writers: map[*kafka.Writer]string{}, readers: map[*kafka.Reader]string{},
		wt: map[string]*writerTotals{}, rt: map[string]*readerTotals{}}
	if err := reg.Register(s); err != nil {
		return nil, err
	}
	return s, nil
}

// addWriter reports w under client until the returned function runs (at
// its Close). Safe on a nil *KafkaStats.
func (s *KafkaStats) addWriter(client string, w *kafka.Writer) (remove func()) {
	if s == nil {
		return func() {}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writers[w] = client
	if s.wt[client] == nil {
		s.wt[client] = &writerTotals{}
	}
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if _, ok := s.writers[w]; ok {
			s.wt[client].add(w.Stats())
			delete(s.writers, w)
		}
	}
}

// addReader reports r under name until the returned function runs (call
// it after r.Close). Safe on a nil *KafkaStats.
func (s *KafkaStats) addReader(name string, r *kafka.Reader) (remove func()) {
	if s == nil {
		return func() {}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.readers[r] = name
	t := s.rt[name]
	if t == nil {
		t = &readerTotals{}
		s.rt[name] = t
	}
	t.live++
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if _, ok := s.readers[r]; ok {
			t.add(r.Stats())
			t.live--
			delete(s.readers, r)
		}
	}
}

// Describe implements prometheus.Collector.
func (s *KafkaStats) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{kwWrites, kwMessages, kwBytes, kwErrors, kwRetries, kwBatch, kwWrite, kwBatchMsg, kwBatchB,
		krFetches, krMessages, krBytes, krErrors, krTimeouts, krRebalances, krLag, krQueue} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (s *KafkaStats) Collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for w, client := range s.writers {
		s.wt[client].add(w.Stats())
	}
	for _, t := range s.rt {
		t.lag, t.queue = 0, 0
	}
	for r, name := range s.readers {
		st := r.Stats()
		t := s.rt[name]
		t.add(st)
		t.lag += float64(st.Lag)
		t.queue += float64(st.QueueLength)
	}
	counter := func(d *prometheus.Desc, v float64, label string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, label)
	}
	summary := func(d *prometheus.Desc, sc sumCount, label string) {
		ch <- prometheus.MustNewConstSummary(d, sc.count, sc.sum, nil, label)
	}
	for client, t := range s.wt {
		counter(kwWrites, t.writes, client)
		counter(kwMessages, t.messages, client)
		counter(kwBytes, t.bytes, client)
		counter(kwErrors, t.errors, client)
		counter(kwRetries, t.retries, client)
		summary(kwBatch, t.batch, client)
		summary(kwWrite, t.write, client)
		summary(kwBatchMsg, t.batchMessages, client)
		summary(kwBatchB, t.batchBytes, client)
	}
	for name, t := range s.rt {
		counter(krFetches, t.fetches, name)
		counter(krMessages, t.messages, name)
		counter(krBytes, t.bytes, name)
		counter(krErrors, t.errors, name)
		counter(krTimeouts, t.timeouts, name)
		counter(krRebalances, t.rebalances, name)
		if t.live > 0 {
			ch <- prometheus.MustNewConstMetric(krLag, prometheus.GaugeValue, t.lag, name)
			ch <- prometheus.MustNewConstMetric(krQueue, prometheus.GaugeValue, t.queue, name)
		}
	}
}
