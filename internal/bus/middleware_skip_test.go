package bus_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/internal/bus"
)

func TestSkipPermanent(t *testing.T) {
	var logs bytes.Buffer
	mw := bus.SkipPermanent(slog.New(slog.NewTextHandler(&logs, nil)))
	transient := errors.New("broker away")
	for _, tt := range []struct {
		give, want error
	}{
		{nil, nil},
		{bus.Permanent(errors.New("not JSON")), nil},
		{transient, transient},
	} {
		h := mw(func(context.Context, bus.Message) error { return tt.give })
		got := h(context.Background(), bus.Message{Topic: "t", Offset: 7})
		if (got == nil) != (tt.want == nil) || (tt.want != nil && !errors.Is(got, tt.want)) {
			t.Errorf("handler error %v: got %v, want %v", tt.give, got, tt.want)
		}
	}
	if !strings.Contains(logs.String(), "message skipped") || !strings.Contains(logs.String(), "offset=7") {
		t.Errorf("the skip was not logged: %s", logs.String())
	}
	if strings.Count(logs.String(), "message skipped") != 1 {
		t.Errorf("logged %d skips, want 1", strings.Count(logs.String(), "message skipped"))
	}
}
