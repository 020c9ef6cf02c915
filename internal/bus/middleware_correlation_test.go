package bus_test

import (
	"context"
	"testing"

	"github.com/lienthong/lienthong/internal/bus"
)

func TestCorrelation(t *testing.T) {
	tests := []struct {
		name string
		give map[string]string
		want string // "" means a new id
	}{
		{name: "keeps the header", give: map[string]string{bus.HeaderCorrelationID: "abc"}, want: "abc"},
		{name: "creates a missing one", give: nil},
		{name: "replaces an empty one", give: map[string]string{bus.HeaderCorrelationID: ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gotCtx, gotHeader string
			h := bus.Correlation()(func(ctx context.Context, m bus.Message) error {
				gotCtx, gotHeader = bus.CorrelationID(ctx), m.Header(bus.HeaderCorrelationID)
				return nil
			})
			if err := h(t.Context(), bus.Message{Headers: tt.give}); err != nil {
				t.Fatal(err)
			}
			if gotCtx == "" || gotCtx != gotHeader {
				t.Fatalf("ctx id %q, header %q; want equal and set", gotCtx, gotHeader)
			}
			if tt.want != "" && gotCtx != tt.want {
				t.Errorf("id %q, want %q", gotCtx, tt.want)
			}
			if tt.want == "" && len(gotCtx) != 32 {
				t.Errorf("new id %q, want 32 hex digits", gotCtx)
			}
			if tt.give != nil && tt.give[bus.HeaderCorrelationID] != tt.want {
				t.Errorf("the message's own headers were modified: %v", tt.give)
			}
		})
	}
	if id := bus.CorrelationID(context.Background()); id != "" {
		t.Errorf("CorrelationID of an empty context = %q", id)
	}
	if a, b := bus.NewCorrelationID(), bus.NewCorrelationID(); a == b {
		t.Errorf("two new ids are equal: %s", a)
	}
}

func TestCarryCorrelation(t *testing.T) {
	tests := []struct {
		name string
		give map[string]string
		want string
	}{
		{name: "carries the header", give: map[string]string{bus.HeaderCorrelationID: "abc"}, want: "abc"},
		{name: "mints none", give: nil, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gotCtx, gotHeader string
			h := bus.CarryCorrelation()(func(ctx context.Context, m bus.Message) error {
				gotCtx, gotHeader = bus.CorrelationID(ctx), m.Header(bus.HeaderCorrelationID)
				return nil
			})
			if err := h(t.Context(), bus.Message{Headers: tt.give}); err != nil {
				t.Fatal(err)
			}
			if gotCtx != tt.want || gotHeader != tt.want {
				t.Errorf("ctx id %q, header %q; want %q", gotCtx, gotHeader, tt.want)
			}
		})
	}
}
