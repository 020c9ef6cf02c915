package hub

import (
	"context"
	"time"

	"github.com/lienthong/lienthong/internal/bus"
)

// outboxRetry is how long the drainer waits after the broker refused.
const outboxRetry = time.Second

func (h *Hub) wakeOutbox() {
	select {
	case h.outboxWake <- struct{}{}:
	default:
	}
}

// drainOutbox produces the events the view keeps in its outbox (fetches
// made while the broker was away, or not yet produced) until ctx ends:
// at once when woken, and again after outboxRetry while the broker
// refuses. A message produced but not yet removed when the process dies is
// produced again; the view applies a fetch once.
func (h *Hub) drainOutbox(ctx context.Context) {
	for {
		wait := h.drainOnce(ctx)
		if wait == 0 {
			select {
			case <-ctx.Done():
				return
			case <-h.outboxWake:
			}
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// drainOnce produces what the outbox holds; it returns 0 once the outbox
// is empty, or how long to wait before trying again.
func (h *Hub) drainOnce(ctx context.Context) time.Duration {
	for ctx.Err() == nil {
		out, err := h.o.View.Outbox(256)
		if err != nil {
			h.o.Log.Warn("outbox: read", "err", err)
			return outboxRetry
		}
		if len(out) == 0 {
			return 0
		}
		msgs := make([]bus.Message, len(out))
		seqs := make([]uint64, len(out))
		for i, m := range out {
			msgs[i] = bus.Message{Topic: m.Topic, Key: m.Key, Value: m.Value}
			seqs[i] = m.Seq
		}
		if err := h.publish(ctx, msgs...); err != nil {
			h.o.Log.Warn("outbox: produce", "messages", len(msgs), "err", err)
			return outboxRetry
		}
		if err := h.o.View.OutboxDone(seqs...); err != nil {
			h.o.Log.Warn("outbox: remove produced", "err", err)
			return outboxRetry
		}
	}
	return 0
}
