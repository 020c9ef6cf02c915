package bus_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/internal/bus"
)

func TestRecover(t *testing.T) {
	tests := []struct {
		name      string
		give      bus.Handler
		wantPanic bool
		wantIs    error
	}{
		{name: "no panic", give: func(context.Context, bus.Message) error { return nil }},
		{name: "error passes", give: func(context.Context, bus.Message) error { return io.EOF }, wantIs: io.EOF},
		{name: "panic with string", give: func(context.Context, bus.Message) error { panic("kaboom") }, wantPanic: true},
		{name: "panic with error", give: func(context.Context, bus.Message) error { panic(io.ErrUnexpectedEOF) }, wantPanic: true, wantIs: io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := bus.Recover()(tt.give)(t.Context(), bus.Message{})
			var pe *bus.PanicError
			if got := errors.As(err, &pe); got != tt.wantPanic {
				t.Fatalf("err = %v; PanicError %v, want %v", err, got, tt.wantPanic)
			}
			if tt.wantPanic && !strings.Contains(string(pe.Stack), "middleware_recover_test.go") {
				t.Errorf("stack does not show the panicking handler:\n%s", pe.Stack)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("err = %v, want it to wrap %v", err, tt.wantIs)
			}
		})
	}
}
