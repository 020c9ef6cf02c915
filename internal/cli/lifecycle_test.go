package cli

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/internal/lifecycle"
	"github.com/lienthong/lienthong/internal/testwait"
)

// Each of serve's runners failing in turn stops serve with its error,
// named: every other runner stops, and only once they all returned do
// the resources close, last opened first (TestShutdownOrder in
// internal/lifecycle: the HTTP server shuts down before they are told).
func TestServeRunnerFails(t *testing.T) {
	tests := []struct {
		give string // the runner that fails
	}{
		{give: "hub"}, {give: "pusher"}, {give: "tokens"}, {give: "logouts"}, {give: "agencies"}, {give: "agency credentials"}, {give: "console"},
		{give: "http"}, {give: "evidence log"}, {give: "evidence feed"}, {give: "evidence checkpoints"}, {give: "pdf engine"},
		{give: "blob compaction"},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			cfg := lifecycleConfig(t)
			baseline := runtime.NumGoroutine()
			boom := errors.New("injected failure")
			trigger := make(chan struct{})
			var (
				mu     sync.Mutex
				events []string
			)
			record := func(e string) {
				mu.Lock()
				defer mu.Unlock()
				events = append(events, e)
			}
			hook := func(g *lifecycle.Group) {
				g.Closing = func(name string) { record("close " + name) }
				g.Wrap = func(name string, run lifecycle.Runner) lifecycle.Runner {
					return func(ctx context.Context) error {
						defer record("stopped " + name)
						if name != tt.give {
							return run(ctx)
						}
						// The real runner runs until the hub is ready, then fails.
						ctx, cancel := context.WithCancel(ctx)
						defer cancel()
						ran := make(chan error, 1)
						go func() { ran <- run(ctx) }()
						select {
						case err := <-ran:
							return fmt.Errorf("ended before the failure: %w", err)
						case <-trigger:
						}
						cancel()
						if err := <-ran; err != nil {
							return fmt.Errorf("%w (and %w)", boom, err)
						}
						return boom
					}
				}
			}
			addr := make(chan net.Addr, 1)
			served := make(chan error, 1)
			go func() {
				served <- serveWith(context.Background(), cfg, slog.New(slog.DiscardHandler), func(a net.Addr) { addr <- a }, hook)
			}()
			var base string
			select {
			case a := <-addr:
				base = "http://" + a.String()
			case err := <-served:
				t.Fatalf("serve: %v", err)
			}
			if err := waitReady(base, http.DefaultClient); err != nil {
				t.Fatalf("not ready: %v", err)
			}
			close(trigger)
			var err error
			select {
			case err = <-served:
			case <-time.After(30 * time.Second):
				t.Fatal("serve did not return after a runner failed")
			}
			if !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), tt.give+": ") {
				t.Fatalf("serve = %v, want %q's injected failure", err, tt.give)
			}

			mu.Lock()
			got := slices.Clone(events)
			mu.Unlock()
			var stops, closes []string
			for i, e := range got {
				if name, ok := strings.CutPrefix(e, "stopped "); ok {
					stops = append(stops, name)
					if len(closes) > 0 {
						t.Errorf("runner %s stopped after a resource closed: %q", name, got[:i+1])
					}
				} else {
					closes = append(closes, strings.TrimPrefix(e, "close "))
				}
			}
			if len(stops) != len(tests) || stops[0] != tt.give {
				t.Errorf("runners stopped %q, want all %d, %s first", stops, len(tests), tt.give)
			}
			if want := []string{"http listener", "evidence log", "logouts", "tokens", "view", "agencies", "bus producer", "bus admin", "store", "broker"}; !slices.Equal(closes, want) {
				t.Errorf("closed %q, want %q", closes, want)
			}
			if resp, err := http.Get(base + "/healthz"); err == nil {
				resp.Body.Close()
				t.Error("the API still answers")
			}
			// Nothing serve started is left running.
			deadline := time.Now().Add(10 * time.Second)
			for runtime.NumGoroutine() > baseline+2 {
				if time.Now().After(deadline) {
					buf := make([]byte, 1<<20)
					t.Fatalf("goroutines: %d, %d before serve:\n%s", runtime.NumGoroutine(), baseline, buf[:runtime.Stack(buf, true)])
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

// A hub stopped by its context returns nil and closes everything too.
func TestServeStops(t *testing.T) {
	cfg := lifecycleConfig(t)
	var closes []string
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan net.Addr, 1)
	served := make(chan error, 1)
	go func() {
		served <- serveWith(ctx, cfg, slog.New(slog.DiscardHandler), func(a net.Addr) { addr <- a },
			func(g *lifecycle.Group) { g.Closing = func(name string) { closes = append(closes, name) } })
	}()
	if err := waitReady("http://"+(<-addr).String(), http.DefaultClient); err != nil {
		t.Fatalf("not ready: %v", err)
	}
	cancel()
	if err := <-served; err != nil {
		t.Fatalf("serve = %v, want nil", err)
	}
	if len(closes) != 10 { // those TestServeRunnerFails names
		t.Errorf("closed %q", closes)
	}
}

// lifecycleConfig runs every runner serve has: the console (with its
// token and sign-out stores and, with metrics, its chart's sampler).
func lifecycleConfig(t *testing.T) *config.Config {
	t.Helper()
	dir := t.TempDir()
	ca, _ := testCA(t, dir)
	yaml := `hub:
  organId: "000.00.00.G01"
  addr: 127.0.0.1:0
  dataDir: ` + filepath.Join(dir, "data") + `
trust:
  roots: [` + ca.RootPath() + `]
metrics:
  enabled: true
console:
  sessionKey: session-key-of-the-lifecycle-test-01234
evidence:
  key: ` + logKey(t, dir) + `
agencies:
  - organId: "000.00.00.G22"
    name: Văn phòng Chính phủ
    tokens: ["g22-token-0123456789"]
`
	path := filepath.Join(dir, "lienthong.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// The run-time token and sign-out followers ride out a failure as the
// hub's consumers do: restarted, not the end of the process.
func TestSupervisedFollowerRestarts(t *testing.T) {
	var calls atomic.Int32
	run := supervised("tokens", func(ctx context.Context) error {
		if calls.Add(1) == 1 {
			return errors.New("broker gone for a moment")
		}
		<-ctx.Done()
		return nil
	}, nil)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	testwait.Eventually(t, "the follower restarted", func() bool { return calls.Load() == 2 })
	cancel()
	if err := <-done; err != nil {
		t.Errorf("a follower that failed once and was restarted: %v", err)
	}
}

// logKey writes a verifiable log's key into dir and returns its file.
func logKey(t *testing.T, dir string) string {
	t.Helper()
	skey, _, err := note.GenerateKey(rand.Reader, "lienthong.test/log")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "log.key")
	if err := os.WriteFile(path, []byte(skey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
