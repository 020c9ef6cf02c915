package lifecycle_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/lifecycle"
)

// log records events from several goroutines.
type log struct {
	mu sync.Mutex
	e  []string
}

func (l *log) add(e string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.e = append(l.e, e)
}

func (l *log) events() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.e)
}

// waiter runs until its ctx ends, then records that it stopped.
func waiter(l *log, name string) lifecycle.Runner {
	return func(ctx context.Context) error {
		<-ctx.Done()
		l.add("stopped " + name)
		return nil
	}
}

func TestRun(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name string
		give lifecycle.Runner // the runner "b", beside "a" and "c" that wait
		want error            // nil: ctx ends the group
		msg  string
	}{
		{name: "fails", give: func(context.Context) error { return boom }, want: boom, msg: "b: boom"},
		{name: "stops early", give: func(context.Context) error { return nil }, want: lifecycle.ErrStopped, msg: "b: stopped before shutdown"},
		{name: "ctx ends", give: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l log
			g := &lifecycle.Group{Closing: func(name string) { l.add("close " + name) }}
			for _, r := range []string{"x", "y", "z"} {
				g.OnClose(r, func() error { return nil })
			}
			g.Go("a", waiter(&l, "a"))
			g.Go("b", tt.give)
			g.Go("c", waiter(&l, "c"))
			ctx, cancel := context.WithCancel(context.Background())
			if tt.want == nil {
				cancel()
			}
			defer cancel()
			err := g.Run(ctx)
			if !errors.Is(err, tt.want) || (err != nil && err.Error() != tt.msg) {
				t.Fatalf("Run = %v, want %q", err, tt.msg)
			}
			got := l.events()
			slices.Sort(got[:2]) // a and c stop in either order
			if want := []string{"stopped a", "stopped c", "close z", "close y", "close x"}; !slices.Equal(got, want) {
				t.Errorf("events %q, want %q", got, want)
			}
		})
	}
}

// The HTTP servers shut down gracefully before any runner is told to
// stop: a request in flight finishes against live components.
func TestShutdownOrder(t *testing.T) {
	var l log
	release := make(chan struct{})
	inFlight := make(chan struct{})
	var released atomic.Bool
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(inFlight)
		<-release
		released.Store(true)
		_, _ = w.Write([]byte("done"))
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	fail := make(chan struct{})
	g := &lifecycle.Group{ShutdownTimeout: 10 * time.Second, Closing: func(name string) { l.add("close " + name) }}
	g.OnClose("store", func() error { return nil })
	g.Go("worker", func(ctx context.Context) error {
		<-ctx.Done()
		if !released.Load() {
			l.add("worker told to stop with a request in flight")
		}
		l.add("stopped worker")
		return nil
	})
	g.Go("failing", func(ctx context.Context) error {
		select {
		case <-fail:
			return boom
		case <-ctx.Done():
			return nil
		}
	})
	g.Serve("http", srv, ln)
	ran := make(chan error, 1)
	go func() { ran <- g.Run(context.Background()) }()
	got := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String())
		if err != nil {
			got <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		got <- string(b)
	}()
	<-inFlight
	close(fail)
	// Shutdown waits for the request; let it finish once Run is stopping.
	time.AfterFunc(100*time.Millisecond, func() { close(release) })
	if err := <-ran; !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), "failing: ") {
		t.Fatalf("Run = %v, want failing's boom", err)
	}
	if body := <-got; body != "done" {
		t.Errorf("the request in flight got %q, want done", body)
	}
	if want := []string{"stopped worker", "close http listener", "close store"}; !slices.Equal(l.events(), want) {
		t.Errorf("events %q, want %q", l.events(), want)
	}
}

// Close, after an assembly that failed, closes what was opened, once.
func TestCloseOnce(t *testing.T) {
	var l log
	g := &lifecycle.Group{}
	g.OnClose("a", func() error { l.add("a"); return nil })
	g.OnClose("b", func() error { l.add("b"); return errors.New("already closed") })
	g.Close()
	g.Close()
	if want := []string{"b", "a"}; !slices.Equal(l.events(), want) {
		t.Errorf("closed %q, want %q", l.events(), want)
	}
}
