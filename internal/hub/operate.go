package hub

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"lienthong/internal/push"
	"lienthong/internal/track"
)

// What operators see. These calls are not scoped to a caller: the console
// gives them to operators only. They return metadata, never a packet's
// content.

// Search finds packets in the view (track.Store.Search).
func (h *Hub) Search(q track.Query) ([]track.Packet, bool, error) {
	ps, cut, err := h.o.View.Search(q)
	if err != nil {
		return nil, false, unavailable("the view", err)
	}
	return ps, cut, nil
}

// Trace returns a packet's metadata and its whole timeline.
func (h *Hub) Trace(id string) (track.Packet, track.Timeline, error) {
	p, err := h.o.View.Packet(id)
	if errors.Is(err, track.ErrNotFound) {
		return p, track.Timeline{}, refuse(404, "packet.not_found", "no packet %s", id)
	}
	if err != nil {
		return p, track.Timeline{}, unavailable("the view", err)
	}
	tl, err := h.timeline(id)
	if err != nil && !errors.Is(err, track.ErrNotFound) {
		return p, tl, unavailable("the view", err)
	}
	return p, tl, nil
}

// PushTopics are the dead-letter and replay topics of this hub.
func (h *Hub) PushTopics() push.Topics {
	return push.Topics{Prefix: h.o.Topics.Prefix, ReplicationFactor: h.o.Topics.ReplicationFactor}
}

// DeadLetters lists the newest n entries of the dead-letter topic, newest
// first (push.ListNewestDeadLetters).
func (h *Hub) DeadLetters(ctx context.Context, n int) ([]push.DeadLetter, error) {
	ds, err := push.ListNewestDeadLetters(ctx, h.o.Bus, h.PushTopics(), n)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(ds, func(a, b push.DeadLetter) int { return b.Time.Compare(a.Time) })
	return ds[:min(n, len(ds))], nil
}

// ErrNoSuchDeadLetter is returned when a replay names an entry the topic
// does not hold.
var ErrNoSuchDeadLetter = errors.New("hub: no such dead-letter entry")

// Replay produces the dead-letter entries named by refs (DeadLetter.Ref),
// among the newest n, back to their topics, recording by as who asked
// (push.Replay). Nothing is produced unless every ref names an entry that
// can be replayed.
func (h *Hub) Replay(ctx context.Context, refs []string, n int, by string) ([]push.Replayed, error) {
	all, err := h.DeadLetters(ctx, n)
	if err != nil {
		return nil, err
	}
	byRef := make(map[string]push.DeadLetter, len(all))
	for _, d := range all {
		byRef[d.Ref()] = d
	}
	var pick []push.DeadLetter
	for _, ref := range refs {
		d, ok := byRef[ref]
		if !ok {
			return nil, fmt.Errorf("%w: %s", ErrNoSuchDeadLetter, ref)
		}
		pick = append(pick, d)
	}
	return push.Replay(ctx, h.o.Bus, h.PushTopics(), pick, by, h.o.Now())
}
