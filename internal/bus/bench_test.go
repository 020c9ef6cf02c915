package bus_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/bus"
)

// BenchmarkProduce measures synchronous Produce throughput (acks=all) with 1
// and 64 concurrent producers sharing one Producer, each Produce carrying
// one message. Tune with LIENTHONG_BENCH_BATCH_TIMEOUT (a duration),
// LIENTHONG_BENCH_BATCH_SIZE and LIENTHONG_BENCH_PARTITIONS.
func BenchmarkProduce(b *testing.B) {
	brokers := testBrokers(b)
	cfg := testConfig(brokers)
	partitions := 3
	if v := os.Getenv("LIENTHONG_BENCH_BATCH_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatal(err)
		}
		cfg.BatchTimeout = d
	}
	if v := os.Getenv("LIENTHONG_BENCH_BATCH_SIZE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatal(err)
		}
		cfg.BatchSize = n
	}
	if v := os.Getenv("LIENTHONG_BENCH_PARTITIONS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatal(err)
		}
		partitions = n
	}
	for _, size := range []int{1 << 10, 50 << 10} {
		for _, producers := range []int{1, 64} {
			b.Run(fmt.Sprintf("size=%dKiB/producers=%d", size>>10, producers), func(b *testing.B) {
				topic := uniqueName(b, "bench")
				ensureTopics(b, brokers, bus.TopicSpec{Name: topic, Partitions: partitions})
				p := newProducer(b, cfg)
				value := make([]byte, size)
				ctx := context.Background()
				// Warm up connections and metadata.
				if err := p.Produce(ctx, bus.Message{Topic: topic, Value: value}); err != nil {
					b.Fatal(err)
				}
				var (
					next atomic.Int64
					wg   sync.WaitGroup
					errs = make(chan error, producers)
				)
				b.SetBytes(int64(size))
				b.ResetTimer()
				start := time.Now()
				for g := range producers {
					wg.Go(func() {
						key := []byte(strconv.Itoa(g))
						for next.Add(1) <= int64(b.N) {
							if err := p.Produce(ctx, bus.Message{Topic: topic, Key: key, Value: value}); err != nil {
								errs <- err
								return
							}
						}
					})
				}
				wg.Wait()
				elapsed := time.Since(start)
				b.StopTimer()
				close(errs)
				for err := range errs {
					b.Fatal(err)
				}
				b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msg/s")
			})
		}
	}
}
