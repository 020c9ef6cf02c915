package bus_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/bus"
)

var errRun = errors.New("consumer failed")

func TestRouterRestartPolicy(t *testing.T) {
	tests := []struct {
		name string
		give bus.RestartPolicy
		// failures: how many times the runner fails before it runs on.
		failures  int
		wantRuns  int32
		wantError bool
	}{
		{name: "restarted within the policy, then runs on", give: bus.RestartPolicy{Restarts: 3}, failures: 3, wantRuns: 4},
		{name: "restarts spent: Run fails", give: bus.RestartPolicy{Restarts: 3}, failures: 100, wantRuns: 4, wantError: true},
		{name: "never restarted", give: bus.RestartPolicy{Restarts: -1}, failures: 100, wantRuns: 1, wantError: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.give.Backoff, tt.give.MaxBackoff = time.Millisecond, 4*time.Millisecond
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			var runs atomic.Int32
			steady := make(chan struct{})
			var other atomic.Bool
			r := &bus.Router{Policy: tt.give}
			r.Add("flaky", func(ctx context.Context) error {
				if int(runs.Add(1)) <= tt.failures {
					return errRun
				}
				close(steady)
				<-ctx.Done()
				return nil
			})
			r.Add("other", func(ctx context.Context) error {
				<-ctx.Done()
				other.Store(true)
				return nil
			})
			ran := make(chan error, 1)
			go func() { ran <- r.Run(ctx) }()
			var err error
			select {
			case err = <-ran:
			case <-steady:
				cancel()
				err = <-ran
			}
			if got := runs.Load(); got != tt.wantRuns {
				t.Errorf("runs = %d, want %d", got, tt.wantRuns)
			}
			if tt.wantError != (err != nil) || err != nil && (!errors.Is(err, errRun) || err.Error()[:6] != "flaky:") {
				t.Errorf("Run = %v, want error %v naming flaky", err, tt.wantError)
			}
			if !other.Load() {
				t.Error("the other runner was not stopped before Run returned")
			}
		})
	}
}
