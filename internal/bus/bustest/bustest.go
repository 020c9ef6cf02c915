// Package bustest starts what tests of the bus's users need: an in-process
// Kafka-protocol broker (kfake over TCP) for the test's life, and a
// component's Run in the background until the test ends.
package bustest

import (
	"context"
	"testing"

	"github.com/lienthong/lienthong/internal/bus"
)

// Broker starts a broker persisted in a temporary directory, closed when
// the test ends, and returns a client configuration for it.
func Broker(tb testing.TB) bus.Config {
	tb.Helper()
	b, err := bus.StartBroker(tb.Context(), bus.BrokerConfig{DataDir: tb.TempDir()})
	if err != nil {
		tb.Fatalf("start broker: %v", err)
	}
	tb.Cleanup(func() {
		if err := b.Close(); err != nil {
			tb.Errorf("close broker: %v", err)
		}
	})
	return bus.Config{Brokers: b.Addrs()}
}

// Run runs run in the background until the test ends, then cancels it and
// fails the test if it returned an error other than by the cancellation.
// stop, also called at the end, cancels it earlier and waits.
func Run(tb testing.TB, name string, run func(context.Context) error) (stop func()) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("%s: %v", name, err)
		}
	}
	tb.Cleanup(stop)
	return stop
}
