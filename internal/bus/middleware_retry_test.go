package bus_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/bus"
)

// failing returns a handler that fails its first n calls, and a call counter.
func failing(n int, err error) (bus.Handler, *int) {
	calls := new(int)
	return func(context.Context, bus.Message) error {
		*calls++
		if *calls <= n {
			return err
		}
		return nil
	}, calls
}

func TestRetry(t *testing.T) {
	errBoom := errors.New("boom")
	fast := bus.RetryConfig{MaxAttempts: 3, InitialInterval: time.Millisecond, MaxInterval: 2 * time.Millisecond}
	tests := []struct {
		name      string
		give      int   // failures before success
		giveErr   error // what the handler returns while failing
		wantCalls int
		wantErr   error
	}{
		{name: "succeeds at once", give: 0, giveErr: errBoom, wantCalls: 1},
		{name: "succeeds on the last attempt", give: 2, giveErr: errBoom, wantCalls: 3},
		{name: "gives up after MaxAttempts", give: 5, giveErr: errBoom, wantCalls: 3, wantErr: errBoom},
		{name: "permanent is not retried", give: 5, giveErr: bus.Permanent(errBoom), wantCalls: 1, wantErr: errBoom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, calls := failing(tt.give, tt.giveErr)
			err := bus.Retry(fast)(h)(t.Context(), bus.Message{})
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if *calls != tt.wantCalls {
				t.Errorf("calls = %d, want %d", *calls, tt.wantCalls)
			}
		})
	}
}

func TestRetryStopsWhenContextEnds(t *testing.T) {
	errBoom := errors.New("boom")
	h, calls := failing(100, errBoom)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := bus.Retry(bus.RetryConfig{MaxAttempts: 100, InitialInterval: time.Hour})(h)(ctx, bus.Message{})
	if !errors.Is(err, errBoom) {
		t.Errorf("err = %v, want the handler's error", err)
	}
	if *calls != 1 {
		t.Errorf("calls = %d, want 1", *calls)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Retry waited %v after ctx ended", d)
	}
}

func TestRetryBackoffGrowsWithJitter(t *testing.T) {
	errBoom := errors.New("boom")
	var at []time.Time
	h := func(context.Context, bus.Message) error { at = append(at, time.Now()); return errBoom }
	cfg := bus.RetryConfig{MaxAttempts: 4, InitialInterval: 20 * time.Millisecond, Multiplier: 2, MaxInterval: time.Second, Jitter: 0.25}
	_ = bus.Retry(cfg)(h)(t.Context(), bus.Message{})
	if len(at) != 4 {
		t.Fatalf("%d calls, want 4", len(at))
	}
	// Waits of 20, 40 and 80 ms, each within -25% (timers never fire early).
	for i, base := range []time.Duration{20, 40, 80} {
		base *= time.Millisecond
		if got := at[i+1].Sub(at[i]); got < base*3/4 {
			t.Errorf("wait %d = %v, want at least %v", i+1, got, base*3/4)
		}
	}
}
