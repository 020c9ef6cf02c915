package hub

import (
	"errors"

	"github.com/lienthong/lienthong/internal/track"
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
