package vdxp

import (
	"slices"
	"sync"
	"time"

	"lienthong/internal/track"
)

// Outbox lists the packets an agency sent, accepted in [since, until)
// (zero times leave that end open), oldest first, at most limit of them:
// track.Store.Sent through the hub.
//
// *hub.Hub has no such method yet. The one this package needs, and picks
// up by itself once it exists, is
//
//	// Sent lists the packets caller sent (its outbox), from the view.
//	func (h *Hub) Sent(caller string, since, until time.Time, limit int) ([]track.Packet, error) {
//		c := caller
//		if id, ok := h.o.Directory.Canonical(organ.ID(caller)); ok {
//			c = string(id)
//		}
//		ps, err := h.o.View.Sent(c, since, until, limit)
//		if err != nil {
//			return nil, unavailable("the view", err)
//		}
//		return ps, nil
//	}
type Outbox interface {
	Sent(caller string, since, until time.Time, limit int) ([]track.Packet, error)
}

// ledger is the stand-in Outbox until the hub has one: the packets sent
// through this handler, in this process's memory. It forgets them on a
// restart and never sees what another process or /v1 accepted.
type ledger struct {
	mu      sync.Mutex
	max     int
	n       int
	byOrgan map[string][]track.Packet
}

func newLedger(capacity int) *ledger {
	return &ledger{max: capacity, byOrgan: map[string][]track.Packet{}}
}

func (l *ledger) add(p track.Packet) {
	l.mu.Lock()
	defer l.mu.Unlock()
	list := l.byOrgan[p.From]
	if slices.ContainsFunc(list, func(x track.Packet) bool { return x.ID == p.ID }) {
		return
	}
	if l.n >= l.max && len(list) > 0 {
		list = list[1:] // drop this agency's oldest
		l.n--
	}
	i, _ := slices.BinarySearchFunc(list, p.AcceptedAt, func(x track.Packet, t time.Time) int { return x.AcceptedAt.Compare(t) })
	l.byOrgan[p.From] = slices.Insert(list, i, p)
	l.n++
}

// Sent implements Outbox.
func (l *ledger) Sent(caller string, since, until time.Time, limit int) ([]track.Packet, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := []track.Packet{}
	for _, p := range l.byOrgan[caller] {
		if (!since.IsZero() && p.AcceptedAt.Before(since)) || (!until.IsZero() && !p.AcceptedAt.Before(until)) {
			continue
		}
		if limit > 0 && len(out) == limit {
			break
		}
		out = append(out, p)
	}
	return out, nil
}
