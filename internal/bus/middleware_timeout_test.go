package bus_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/bus"
)

func TestTimeout(t *testing.T) {
	slow := func(ctx context.Context, _ bus.Message) error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Second):
			return nil
		}
	}
	quick := func(ctx context.Context, _ bus.Message) error {
		if _, ok := ctx.Deadline(); !ok {
			return errors.New("no deadline")
		}
		return nil
	}
	tests := []struct {
		name string
		give bus.Handler
		want error
	}{
		{name: "slow handler is cut off", give: slow, want: context.DeadlineExceeded},
		{name: "quick handler sees a deadline", give: quick, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			err := bus.Timeout(20*time.Millisecond)(tt.give)(t.Context(), bus.Message{})
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
	// The caller's context is not affected.
	_ = bus.Timeout(time.Millisecond)(slow)(t.Context(), bus.Message{})
	if t.Context().Err() != nil {
		t.Error("Timeout ended the caller's context")
	}
}
