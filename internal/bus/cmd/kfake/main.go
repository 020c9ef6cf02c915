// Command kfake runs lienthong's embedded Kafka broker until it receives
// SIGINT or SIGTERM; scripts/kfake.sh starts it for development and CI
// until `lienthong broker` exists.
//
//	go run ./internal/bus/cmd/kfake --addr 127.0.0.1:9092 --data DIR
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/lienthong/lienthong/internal/bus"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9092", "address to listen on and advertise (port 0 picks one)")
	data := flag.String("data", "", "data directory (required)")
	flag.Parse()
	if *data == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := bus.RunBroker(ctx, bus.BrokerConfig{Addr: *addr, DataDir: *data, Logger: log}); err != nil {
		stop()
		fmt.Fprintln(os.Stderr, "kfake:", err)
		os.Exit(1)
	}
}
