package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/lienthong/lienthong/internal/blob"
	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/edxml"
	"github.com/lienthong/lienthong/internal/organ"
	"github.com/lienthong/lienthong/internal/track"
	"github.com/lienthong/lienthong/internal/trust"
)

// ErrNotParty is wrapped by the refusal of a caller that is not a party to
// a packet, which is otherwise exactly the unknown id's (NotFound): a packet
// id must not tell a non-party that the packet exists.
var ErrNotParty = errors.New("hub: not a party to the packet")

// errUnknownPacket marks a NotFound for a packet the view does not have
// (as against one it has, for others: ErrNotParty).
var errUnknownPacket = errors.New("hub: the view does not know the packet")

// NotFound is the refusal of an unknown packet id.
func NotFound(id string) *Error {
	return refuse(http.StatusNotFound, "packet.not_found", "no packet %s", id)
}

// mayRead is the one rule of who may read a packet, and so speak about
// its document (plan): its sender (or an alias of it), or an organ whose
// inbox, the endpoint that receives for it, the packet was routed to
// (which keeps the right after acknowledging). A registered unit under a
// recipient has its own inbox, so it may not.
func (h *Hub) mayRead(id, from string, endpoints []string) bool {
	if h.sameOrgan(id, from) {
		return true
	}
	a, _, ok := h.o.Directory.Route(organ.ID(id))
	return ok && slices.Contains(endpoints, string(a.ID))
}

// party tells whether caller may read packet p (mayRead).
func (h *Hub) party(caller string, p track.Packet) bool {
	return h.mayRead(caller, p.From, p.Endpoints)
}

func (h *Hub) known(caller, id string) (track.Packet, error) {
	p, err := h.o.View.Packet(id)
	switch {
	case errors.Is(err, track.ErrNotFound):
		e := NotFound(id)
		e.Err = errUnknownPacket
		return p, e
	case err != nil:
		return p, unavailable("the view", err)
	case !h.party(caller, p):
		// Every channel (REST, VDXP, console) answers a non-party as an
		// unknown id; ErrNotParty lets tests (and callers that log)
		// tell the two apart.
		e := NotFound(id)
		e.Err = ErrNotParty
		return p, e
	}
	return p, nil
}

// pendingFor tells whether a packet the view does not know yet is pending
// in caller's inbox: the view consumes the accepted and the inbox topics
// apart, so on another replica the delivery may come first, and an item
// the agency was just listed must be fetchable.
func (h *Hub) pendingFor(caller, id string, err error) bool {
	if !errors.Is(err, errUnknownPacket) {
		return false
	}
	_, ierr := h.o.View.Item(caller, id)
	return ierr == nil
}

// Fetch returns a packet's exact bytes to its sender or a recipient.
func (h *Hub) Fetch(ctx context.Context, caller, id string) (io.ReadCloser, blob.Info, error) {
	if _, err := h.known(caller, id); err != nil && !h.pendingFor(caller, id, err) {
		return nil, blob.Info{}, err
	}
	r, info, err := h.o.Store.Get(ctx, blob.PacketKey(id), 0, -1)
	if err != nil {
		return nil, info, unavailable("storage", err)
	}
	// The fetched event goes through the view's outbox, recorded with the
	// fetch in one commit and produced from there (drainOutbox): reading
	// stored bytes never waits for the broker, and an event is not lost
	// while the broker is away. A view that cannot record the fetch fails
	// it (503, retried): bytes handed out unrecorded would leave the
	// sender's timeline saying the packet was never fetched.
	e := event{V: 1, Type: "fetched", ID: id, Endpoint: caller, At: h.o.Now().UTC()}
	raw, err := json.Marshal(e)
	if err != nil {
		r.Close() //nolint:errcheck // read-only
		return nil, info, err
	}
	kept, err := h.o.View.FetchedOutbox(caller, id, e.At, track.Outgoing{Topic: h.o.Topics.events(), Key: []byte(id), Value: raw})
	if err != nil {
		r.Close() //nolint:errcheck // read-only
		return nil, info, unavailable("the view", fmt.Errorf("record the fetch of %s by %s: %w", id, caller, err))
	}
	if kept {
		h.wakeOutbox()
	}
	return r, info, nil
}

// Signature returns the detached CMS signature a packet was submitted
// with, to its parties; blob.ErrNotFound (as 404) when it came without one.
func (h *Hub) Signature(ctx context.Context, caller, id string) (io.ReadCloser, blob.Info, error) {
	if _, err := h.known(caller, id); err != nil {
		return nil, blob.Info{}, err
	}
	acc, _, err := h.acceptance(ctx, id)
	if err != nil {
		return nil, blob.Info{}, unavailable("storage", err)
	}
	sig, err := h.signature(ctx, id, acc)
	switch {
	case err != nil:
		return nil, blob.Info{}, unavailable("storage", err)
	case sig == nil:
		return nil, blob.Info{}, refuse(http.StatusNotFound, "packet.not_found", "packet %s came without a detached signature", id)
	}
	info := blob.Info{Key: blob.SignatureKey(id), Size: int64(len(sig)), ContentType: "application/pkcs7-signature"}
	return io.NopCloser(bytes.NewReader(sig)), info, nil
}

// Inbox lists the caller's pending items.
func (h *Hub) Inbox(caller, kind string, limit int, cursor string) ([]track.Item, string, error) {
	items, next, err := h.o.View.Inbox(caller, kind, limit, cursor)
	switch {
	case errors.Is(err, track.ErrBadCursor):
		e := refuse(http.StatusBadRequest, "request.bad_cursor", "cursor %q does not continue a listing of this inbox", cursor)
		e.Err = err
		return nil, "", e
	case err != nil:
		return nil, "", unavailable("the view", err)
	}
	return items, next, nil
}

// Ack removes an item from the caller's pending inbox: done (stored) or
// fail (could not be processed). It is a transport acknowledgement, not a
// business status.
func (h *Hub) Ack(ctx context.Context, caller, id, result, reason string) error {
	if result != "done" && result != "fail" {
		return refuse(http.StatusBadRequest, "request.bad_result", "result must be done or fail, not %q", result)
	}
	switch _, err := h.o.View.Item(caller, id); {
	case errors.Is(err, track.ErrNotFound):
		if _, kerr := h.known(caller, id); kerr != nil {
			return kerr
		}
		return refuse(http.StatusNotFound, "packet.not_found", "packet %s is not pending for %s", id, caller)
	case err != nil:
		return unavailable("the view", err)
	}
	e := event{V: 1, Type: "acked", ID: id, Endpoint: caller, Result: result, Reason: reason, At: h.o.Now().UTC()}
	raw, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if err := h.publish(ctx, bus.Message{Topic: h.o.Topics.events(), Key: []byte(id), Value: raw}); err != nil {
		return unavailable("the broker", err)
	}
	// Read your own write: the view consumer will apply it again.
	if err := h.o.View.Acked(caller, id, result, e.At); err != nil {
		return unavailable("the view", err)
	}
	return nil
}

// timeline reads a packet's timeline from the view, overdue recipients
// marked as of now.
func (h *Hub) timeline(id string) (track.Timeline, error) {
	tl, err := h.o.View.Timeline(id)
	if err != nil {
		return tl, err
	}
	tl.MarkOverdue(h.o.Now(), parseDueDate)
	return tl, nil
}

// Timeline returns a packet's per-recipient timeline to a party.
func (h *Hub) Timeline(caller, id string) (track.Timeline, error) {
	if _, err := h.known(caller, id); err != nil {
		return track.Timeline{}, err
	}
	tl, err := h.timeline(id)
	switch {
	case errors.Is(err, track.ErrNotFound): // a status packet has none
		return tl, refuse(http.StatusNotFound, "packet.not_found", "no timeline for packet %s", id)
	case err != nil:
		return tl, unavailable("the view", err)
	}
	if !h.sameOrgan(caller, tl.From) {
		// A recipient sees its own part only.
		tl.Recipients = slices.DeleteFunc(tl.Recipients, func(r track.Recipient) bool {
			a, _, ok := h.o.Directory.Route(organ.ID(r.OrganID))
			return !ok || string(a.ID) != caller
		})
	}
	return tl, nil
}

// Sent lists the packets caller sent (its outbox), from the view, accepted
// in [since, until), oldest first.
func (h *Hub) Sent(caller string, since, until time.Time, limit int) ([]track.Packet, error) {
	c := caller
	if id, ok := h.o.Directory.Canonical(organ.ID(caller)); ok {
		c = string(id)
	}
	ps, err := h.o.View.Sent(c, since, until, limit)
	if err != nil {
		return nil, unavailable("the view", err)
	}
	return ps, nil
}

// Received lists a page of the documents delivered to caller's inbox,
// acknowledged or not, with caller's parts of their timelines: a clerk's
// incoming lists and register.
func (h *Hub) Received(caller string, q track.MailQuery) ([]track.Letter, string, error) {
	mine := func(organID string) bool {
		a, _, ok := h.o.Directory.Route(organ.ID(organID))
		return ok && string(a.ID) == caller
	}
	ls, next, err := h.o.View.Received(caller, mine, q)
	return h.letters(ls, next, q, err)
}

// Outgoing lists a page of the documents caller sent, with every
// recipient's timeline: a clerk's outgoing lists and register.
func (h *Hub) Outgoing(caller string, q track.MailQuery) ([]track.Letter, string, error) {
	c := caller
	if id, ok := h.o.Directory.Canonical(organ.ID(caller)); ok {
		c = string(id)
	}
	ls, next, err := h.o.View.Outgoing(c, q)
	return h.letters(ls, next, q, err)
}

func (h *Hub) letters(ls []track.Letter, next string, q track.MailQuery, err error) ([]track.Letter, string, error) {
	switch {
	case errors.Is(err, track.ErrBadCursor):
		e := refuse(http.StatusBadRequest, "request.bad_cursor", "cursor %q does not continue this listing", q.Cursor)
		e.Err = err
		return nil, "", e
	case err != nil:
		return nil, "", unavailable("the view", err)
	}
	now := h.o.Now()
	for i := range ls {
		tl := track.Timeline{DueDate: ls[i].DueDate, Recipients: ls[i].Parts}
		tl.MarkOverdue(now, parseDueDate)
	}
	return ls, next, nil
}

func parseDueDate(s string) (time.Time, error) {
	t, _, err := edxml.ParseDate(s)
	return t, err
}

// Report returns the verification report stored with a packet, to its
// parties: the one in its receipt, or for packets stored before receipts
// carried it alone, the report object. A packet the log has without
// either (a crash before receipts were recorded ahead of the event) gets
// its receipt rebuilt from the log; until that succeeds the answer is 503,
// pending, never 404 for a packet that was delivered.
func (h *Hub) Report(ctx context.Context, caller, id string) (*trust.Report, error) {
	p, err := h.known(caller, id)
	if err != nil {
		return nil, err
	}
	if acc, ok, err := h.acceptance(ctx, id); err != nil {
		return nil, unavailable("storage", err)
	} else if ok && acc.Verification != nil {
		return acc.Verification, nil
	}
	raw, err := h.read(ctx, blob.ReportKey(id))
	if errors.Is(err, blob.ErrNotFound) {
		rc, err := h.rebuildReceipt(ctx, p)
		if err == nil && rc.Verification == nil { // a receipt stored without one
			err = errors.New("the stored receipt has no verification report")
		}
		if err != nil {
			return nil, pending(id, fmt.Errorf("rebuild receipt: %w", err))
		}
		return rc.Verification, nil
	}
	if err != nil {
		return nil, unavailable("storage", err)
	}
	var r trust.Report
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("report of %s: %w", id, err)
	}
	return &r, nil
}
