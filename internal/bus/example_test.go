package bus_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lienthong/lienthong/internal/bus"
)

// Example wires the bus as the hub does: an embedded broker (Apache Kafka
// in production: only Config.Brokers changes), topics, a metered producer,
// and a consumer whose handler is wrapped in the recommended middleware.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	dir, err := os.MkdirTemp("", "bus-example")
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = os.RemoveAll(dir) }()
	broker, err := bus.StartBroker(ctx, bus.BrokerConfig{DataDir: dir})
	if err != nil {
		log.Fatal(err)
	}
	defer broker.Close()
	cfg := bus.Config{Brokers: broker.Addrs(), ClientID: "hub"}

	admin, err := bus.NewAdmin(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer admin.Close()
	err = admin.EnsureTopics(ctx,
		bus.TopicSpec{Name: "packets.accepted", Partitions: 3},
		bus.TopicSpec{Name: "packets.accepted.dlq", Partitions: 1})
	if err != nil {
		log.Fatal(err)
	}

	metrics, err := bus.NewMetrics(prometheus.NewRegistry())
	if err != nil {
		log.Fatal(err)
	}
	producer, err := bus.NewProducer(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer producer.Close()
	pub := metrics.Publisher(producer)

	// The commit point: Produce returns once the event is acknowledged by
	// all in-sync replicas.
	err = pub.Produce(ctx, bus.Message{
		Topic:   "packets.accepted",
		Key:     []byte("000.00.00.G22"),
		Value:   []byte(`{"id":"4f1c..."}`),
		Headers: map[string]string{bus.HeaderCorrelationID: "req-42"},
	})
	if err != nil {
		log.Fatal(err)
	}

	runCtx, stop := context.WithCancel(ctx)
	route := func(ctx context.Context, msg bus.Message) error {
		fmt.Printf("%s %s %s\n", msg.Key, msg.Value, bus.CorrelationID(ctx))
		stop() // one message is enough for the example
		return nil
	}
	consumer, err := bus.NewConsumer(cfg, bus.ConsumerConfig{Group: "route", Topics: []string{"packets.accepted"}}, route,
		bus.Recover(), // a panic in the middleware below
		bus.Correlation(),
		metrics.Consumed(),
		bus.DeadLetter(pub, "packets.accepted.dlq"),
		bus.Retry(bus.RetryConfig{MaxAttempts: 5}),
		bus.Recover(), // a panicking handler is retried, then parked
		bus.Timeout(30*time.Second),
	)
	if err != nil {
		log.Fatal(err)
	}
	if err := consumer.Run(runCtx); err != nil {
		log.Fatal(err)
	}
	// Output: 000.00.00.G22 {"id":"4f1c..."} req-42
}
