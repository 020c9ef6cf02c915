package bench

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/internal/devsite"
)

// The embedded run's broker is started on :0 and the floor is given the
// address it listens on, which the hub is given too: a port picked, freed
// and handed to the hub's own broker (the earlier benchFreeAddr) could be
// taken by another process in between. The hub here only answers /readyz,
// so the broker the test reaches can only be bench's.
func TestEmbeddedBroker(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hubCtx, stopHub := context.WithCancel(ctx)
	var got *config.Config
	o := Options{Store: "fs", Serve: func(ctx context.Context, cfg *config.Config, _ *slog.Logger, ready func(net.Addr)) error {
		got = cfg
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), ReadHeaderTimeout: time.Second}
		go srv.Serve(ln) //nolint:errcheck // ErrServerClosed at the end
		ready(ln.Addr())
		<-ctx.Done()
		return srv.Close()
	}}
	env, stopped, err := embedded(ctx, hubCtx, o, t.TempDir(), io.Discard)
	defer func() {
		stopHub()
		if stopped != nil {
			stopped()
		}
	}()
	if err != nil {
		t.Fatal(err)
	}
	if got.Bus.Embedded || len(env.brokers) == 0 || !slices.Equal(got.Bus.Brokers, env.brokers) {
		t.Errorf("hub's bus: embedded %v brokers %v; the floor's brokers %v", got.Bus.Embedded, got.Bus.Brokers, env.brokers)
	}
	if got.Hub.OrganID != devsite.HubOrgan || len(env.agencies) != len(got.Agencies) || len(env.agencies) < 2 {
		t.Errorf("hub %s, %d agencies loaded for %d configured", got.Hub.OrganID, len(env.agencies), len(got.Agencies))
	}
	admin, err := bus.NewAdmin(bus.Config{Brokers: env.brokers, ClientID: "bench-test"})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close() //nolint:errcheck // admin client
	if err := admin.EnsureTopics(ctx, bus.TopicSpec{Name: "bench-probe", Partitions: 1}); err != nil {
		t.Errorf("no broker at the floor's address %v: %v", env.brokers, err)
	}
}
