package hub

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/bus"
)

type parked struct{ msgs []bus.Message }

func (p *parked) Produce(_ context.Context, msgs ...bus.Message) error {
	p.msgs = append(p.msgs, msgs...)
	return nil
}

// The router and the forwarder retry a failure before they park the
// message: a view that lags the forwarder for a moment ("hops of …: not
// found") must not send the packet to the dead letters.
func TestParkingRetriesFirst(t *testing.T) {
	tests := []struct {
		name       string
		give       []error // the handler's answers, in turn
		wantCalls  int
		wantParked int
	}{
		{name: "a transient failure is retried", give: []error{errors.New("hops of p1: track: not found"), nil}, wantCalls: 2},
		{name: "a permanent one is parked at once", give: []error{bus.Permanent(errors.New("no peer hub"))}, wantCalls: 1, wantParked: 1},
		{name: "retries spent, parked", give: []error{errors.New("a"), errors.New("b"), errors.New("c")}, wantCalls: 3, wantParked: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dl := &parked{}
			h := &Hub{o: Options{Publisher: dl}}
			calls := 0
			handler := bus.Chain(func(context.Context, bus.Message) error {
				calls++
				return tt.give[min(calls, len(tt.give))-1]
			}, h.parking("forward", bus.RetryConfig{MaxAttempts: 3, InitialInterval: time.Millisecond, MaxInterval: time.Millisecond})...)
			msg := bus.Message{Topic: h.o.Topics.inbox("000.00.00.H29"), Key: []byte("p1"), Value: []byte(`{}`),
				Headers: map[string]string{bus.HeaderCorrelationID: "cid-1"}}
			if err := handler(t.Context(), msg); err != nil {
				t.Fatalf("handler: %v", err)
			}
			if calls != tt.wantCalls || len(dl.msgs) != tt.wantParked {
				t.Errorf("%d calls, %d parked; want %d, %d", calls, len(dl.msgs), tt.wantCalls, tt.wantParked)
			}
			for _, m := range dl.msgs {
				if m.Topic != h.o.Topics.deadLetter() || m.Header(bus.HeaderCorrelationID) != "cid-1" {
					t.Errorf("parked on %s with headers %v", m.Topic, m.Headers)
				}
			}
		})
	}
}
