package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Restart policy defaults (docs/bus.md, One restart policy).
const (
	DefaultRestarts   = 5
	DefaultBackoff    = time.Second
	DefaultMaxBackoff = 30 * time.Second
)

// RestartPolicy is what a Router does when one of its runners fails. A
// consumer fails only once its middleware gave up (retries spent, the
// dead-letter topic unwritable): the broker is away or refuses. A short
// outage is ridden out by restarting; a long one fails the process, so the
// supervisor restarts it and the probes show it, instead of a process that
// looks alive while it delivers nothing.
type RestartPolicy struct {
	// Restarts of one runner in a row before Run fails (default 5; a run
	// that lasted longer than MaxBackoff starts the count again).
	// Negative: never restart.
	Restarts int
	// Backoff is the pause before the first restart, doubled after each
	// failure up to MaxBackoff (defaults 1 s and 30 s).
	Backoff    time.Duration
	MaxBackoff time.Duration
}

func (p RestartPolicy) withDefaults() RestartPolicy {
	if p.Restarts == 0 {
		p.Restarts = DefaultRestarts
	}
	if p.Backoff <= 0 {
		p.Backoff = DefaultBackoff
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = DefaultMaxBackoff
	}
	p.MaxBackoff = max(p.MaxBackoff, p.Backoff)
	return p
}

// Router runs named consumers (anything with Run(ctx) error, a *Consumer
// or a follower) under one restart policy, until ctx ends or one of them
// fails for good. It is the one place a component's consumers are
// supervised: the hub's and the pusher's run under it alike.
type Router struct {
	Policy RestartPolicy
	Log    *slog.Logger
	names  []string
	runs   []func(context.Context) error
}

// Add registers a runner before Run.
func (r *Router) Add(name string, run func(context.Context) error) {
	r.names = append(r.names, name)
	r.runs = append(r.runs, run)
}

// Run runs every runner, restarting one that returns an error before ctx
// ends, as Policy says. It returns nil when ctx ended, else the error of
// the runner that failed for good, named, once the others stopped. A
// runner that returns nil before ctx ends is done and not restarted.
func (r *Router) Run(ctx context.Context) error {
	p := r.Policy.withDefaults()
	log := r.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg     sync.WaitGroup
		once   sync.Once
		failed error
	)
	for i, run := range r.runs {
		name := r.names[i]
		wg.Go(func() {
			if err := supervise(ctx, p, log, name, run); err != nil {
				once.Do(func() { failed = fmt.Errorf("%s: %w", name, err) })
				cancel()
			}
		})
	}
	wg.Wait()
	return failed
}

// errStopped marks a runner failed for good in supervise's result.
var errStopped = errors.New("restarts spent")

func supervise(ctx context.Context, p RestartPolicy, log *slog.Logger, name string, run func(context.Context) error) error {
	pause, failures := p.Backoff, 0
	for {
		start := time.Now()
		err := run(ctx)
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil && errors.Is(err, ctx.Err()):
			return nil
		case ctx.Err() != nil:
			// It failed as the router stopped: too late to restart, not
			// too late to tell.
			return err
		}
		if time.Since(start) > p.MaxBackoff {
			pause, failures = p.Backoff, 0
		}
		failures++
		if p.Restarts < 0 || failures > p.Restarts {
			log.ErrorContext(ctx, "consumer failed for good", "consumer", name, "failures", failures, "err", err)
			return fmt.Errorf("%w after %d failures: %w", errStopped, failures, err)
		}
		log.WarnContext(ctx, "consumer failed, restarting", "consumer", name, "in", pause, "failures", failures, "err", err)
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		pause = min(2*pause, p.MaxBackoff)
	}
}
