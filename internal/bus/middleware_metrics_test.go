package bus_test

import (
	"context"
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lienthong/lienthong/internal/bus"
)

func TestMetricsConsumed(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m, err := bus.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	errBad := errors.New("bad")
	handler := func(_ context.Context, msg bus.Message) error {
		if string(msg.Value) == "bad" {
			return errBad
		}
		return nil
	}
	plain := bus.Chain(handler, m.Consumed())
	parking := bus.Chain(handler, m.Consumed(), bus.DeadLetter(&recordingPublisher{}, "dlq"))
	tests := []struct {
		h    bus.Handler
		give bus.Message
		want error
	}{
		{h: plain, give: bus.Message{Topic: "in", Value: []byte("ok")}},
		{h: plain, give: bus.Message{Topic: "in", Value: []byte("ok")}},
		{h: plain, give: bus.Message{Topic: "in", Value: []byte("bad")}, want: errBad},
		{h: parking, give: bus.Message{Topic: "in", Value: []byte("bad")}},
	}
	for _, tt := range tests {
		if err := tt.h(t.Context(), tt.give); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("handle %s = %v, want %v", tt.give.Value, err, tt.want)
		}
	}
	want := map[string]float64{"in/ok": 2, "in/error": 1, "in/dead_letter": 1}
	if got := series(t, reg, "lienthong_bus_consumed_total"); !equalSeries(got, want) {
		t.Errorf("consumed_total = %v, want %v", got, want)
	}
}
