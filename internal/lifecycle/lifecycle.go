// Package lifecycle owns a process's goroutines and resources, so that no
// component runs against a resource already closed: runners start in the
// order they were added, the first to stop stops them all, and resources
// close only once every runner has returned, in reverse order of opening.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// ErrStopped is a runner's error when it returned nil before shutdown: a
// component that quietly stops would leave the process half alive.
var ErrStopped = errors.New("stopped before shutdown")

// Runner runs until ctx ends or it fails.
type Runner func(ctx context.Context) error

// Group is a process's components. The zero value is ready to use; it
// starts nothing until Run.
type Group struct {
	// Log receives the errors of shutdown (nil discards them).
	Log *slog.Logger
	// ShutdownTimeout bounds the HTTP servers' graceful shutdown; zero
	// closes them at once.
	ShutdownTimeout time.Duration
	// Wrap, when set, is given each runner before it starts (tests inject
	// failures through it).
	Wrap func(name string, run Runner) Runner
	// Closing, when set, is told each resource's name before it closes.
	Closing func(name string)

	runners []named
	servers []*http.Server
	closers []closer
	once    sync.Once
}

type named struct {
	name string
	run  Runner
}

type closer struct {
	name  string
	close func() error
}

// Go adds a runner, started by Run in the order added.
func (g *Group) Go(name string, run Runner) {
	g.runners = append(g.runners, named{name, run})
}

// Serve adds an HTTP server on ln as a runner. Shutdown stops it first,
// gracefully, so requests in flight finish against live components.
func (g *Group) Serve(name string, srv *http.Server, ln net.Listener) {
	g.servers = append(g.servers, srv)
	g.OnClose(name+" listener", func() error {
		// Serve closes ln, but only if it ran.
		if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			return err
		}
		return nil
	})
	g.Go(name, func(ctx context.Context) error {
		// A runner's ctx ending stops it, this one too (Wrap may end it).
		stop := context.AfterFunc(ctx, func() { _ = srv.Close() })
		defer stop()
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
}

// OnClose adds a resource to close once the runners have stopped, or by
// Close when the process fails before Run.
func (g *Group) OnClose(name string, fn func() error) {
	g.closers = append(g.closers, closer{name, fn})
}

// Run starts the runners and waits for ctx to end or one of them to
// return. Then it shuts the HTTP servers down, cancels the other runners,
// waits for every one, and closes the resources in reverse order. It
// returns the first runner's error, named; nil when ctx ended and every
// runner returned cleanly.
func (g *Group) Run(ctx context.Context) error {
	defer g.Close()
	// The runners outlive ctx until the servers are down: a request in
	// flight may need them.
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		first    error
		shutting bool
		failed   = make(chan struct{})
		fail     sync.Once
	)
	for _, r := range g.runners {
		run := r.run
		if g.Wrap != nil {
			run = g.Wrap(r.name, run)
		}
		wg.Go(func() {
			err := run(runCtx)
			mu.Lock()
			defer mu.Unlock()
			if shutting {
				if err != nil && !errors.Is(err, context.Canceled) {
					g.log().Warn("stopping", "runner", r.name, "err", err)
				}
				return
			}
			if err == nil {
				err = ErrStopped
			}
			if first == nil {
				first = fmt.Errorf("%s: %w", r.name, err)
			}
			fail.Do(func() { close(failed) })
		})
	}
	select {
	case <-ctx.Done():
	case <-failed:
	}
	mu.Lock()
	shutting = true
	mu.Unlock()
	g.shutdownServers()
	cancel()
	wg.Wait()
	return first
}

func (g *Group) shutdownServers() {
	ctx, cancel := context.WithTimeout(context.Background(), g.ShutdownTimeout)
	defer cancel()
	for _, srv := range g.servers {
		if err := srv.Shutdown(ctx); err != nil {
			g.log().Warn("http shutdown", "err", err)
			_ = srv.Close()
		}
	}
}

// Close closes the resources in reverse order of adding, once. Run calls
// it; call it directly when assembling fails before Run.
func (g *Group) Close() {
	g.once.Do(func() {
		for i := len(g.closers) - 1; i >= 0; i-- {
			c := g.closers[i]
			if g.Closing != nil {
				g.Closing(c.name)
			}
			if err := c.close(); err != nil {
				g.log().Warn("close", "resource", c.name, "err", err)
			}
		}
	})
}

func (g *Group) log() *slog.Logger {
	if g.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return g.Log
}
