package track

import (
	"slices"
	"time"

	"github.com/lienthong/lienthong/internal/edxml"
	"github.com/lienthong/lienthong/internal/organ"
	"github.com/lienthong/lienthong/internal/route"

	bolt "go.etcd.io/bbolt"
)

func (s *Store) accepted(tx *bolt.Tx, p Packet) error {
	packets := tx.Bucket(bPackets)
	if packets.Get([]byte(p.ID)) != nil {
		return nil
	}
	if err := put(packets, []byte(p.ID), p); err != nil {
		return err
	}
	if err := tx.Bucket(bSent).Put(sentKey(p.From, p.AcceptedAt, p.ID), nil); err != nil {
		return err
	}
	if err := indexReceived(tx, p); err != nil {
		return err
	}
	timelines := tx.Bucket(bTimelines)
	if p.Kind == "edoc" {
		tl := Timeline{ID: p.ID, DocumentID: p.DocumentID, From: p.From, DueDate: p.DueDate, Hops: p.Hops, Attachments: p.Attachments}
		for _, to := range p.To {
			tl.Recipients = append(tl.Recipients, Recipient{OrganID: to, State: EventAccepted,
				Events: []Event{{Type: EventAccepted, At: p.AcceptedAt, Flags: []string{}}}})
		}
		if err := put(timelines, []byte(p.ID), tl); err != nil {
			return err
		}
		// Topics are consumed concurrently: a delivery may have been
		// seen before its accepted event.
		early, _, err := get[[]earlyEvent](tx.Bucket(bEarly), []byte(p.ID))
		if err != nil {
			return err
		}
		for _, e := range early {
			if err := s.event(tx, p.ID, e.Organs, e.Event); err != nil {
				return err
			}
		}
		if err := tx.Bucket(bEarly).Delete([]byte(p.ID)); err != nil {
			return err
		}
		docs := tx.Bucket(bDocs)
		key := docKey(p.From, p.DocumentID)
		ids, _, err := get[[]string](docs, key)
		if err != nil {
			return err
		}
		if err := s.changes(tx, p, ids); err != nil {
			return err
		}
		return put(docs, key, append(ids, p.ID))
	}
	return s.statusEvent(tx, p)
}

// changes links a revoke, update or replace to the timelines of the
// documents it changes, for the recipients it goes to: earlier packets of
// the same document (ids), or for a replacement the documents it names.
func (s *Store) changes(tx *bolt.Tx, p Packet, ids []string) error {
	typ := map[string]string{"1": EventRevoked, "2": EventUpdated, "3": EventReplaced}[p.BusinessType]
	if typ == "" {
		return nil
	}
	if typ == EventReplaced {
		ids = nil
		for _, doc := range p.Replaces {
			more, _, err := get[[]string](tx.Bucket(bDocs), docKey(p.From, doc))
			if err != nil {
				return err
			}
			ids = append(ids, more...)
		}
	}
	e := Event{Type: typ, Packet: p.ID, At: p.AcceptedAt, Flags: []string{}}
	timelines := tx.Bucket(bTimelines)
	for _, id := range ids {
		tl, ok, err := get[Timeline](timelines, []byte(id))
		if err != nil || !ok {
			return err
		}
		for i := range tl.Recipients {
			r := &tl.Recipients[i]
			if !slices.Contains(p.To, r.OrganID) {
				continue
			}
			r.Events = append(r.Events, e)
			slices.SortStableFunc(r.Events, func(a, b Event) int { return a.At.Compare(b.At) })
			if typ != EventUpdated {
				r.State = typ
			}
		}
		if err := put(timelines, []byte(id), tl); err != nil {
			return err
		}
	}
	return nil
}

// statusEvent puts a status on the timelines of the packets that carried
// the document: for the recipient it is from (or a unit under it), or, for
// a 13 from the sender, for the recipient it names (all when it names none).
func (s *Store) statusEvent(tx *bolt.Tx, p Packet) error {
	sender := p.ResponseForOrgan
	if p.StatusCode.FromSender() {
		sender = p.From
	}
	ids, _, err := get[[]string](tx.Bucket(bDocs), docKey(sender, p.ResponseForDocument))
	if err != nil {
		return err
	}
	timelines := tx.Bucket(bTimelines)
	for _, id := range ids {
		tl, ok, err := get[Timeline](timelines, []byte(id))
		if err != nil || !ok {
			return err
		}
		match := func(r Recipient) bool {
			return r.OrganID == p.From || organ.ID(p.From).IsUnder(organ.ID(r.OrganID))
		}
		if p.StatusCode.FromSender() {
			named := slices.ContainsFunc(tl.Recipients, func(r Recipient) bool { return r.OrganID == p.ResponseForOrgan })
			match = func(r Recipient) bool { return !named || r.OrganID == p.ResponseForOrgan }
		}
		for i := range tl.Recipients {
			r := &tl.Recipients[i]
			if !match(*r) {
				continue
			}
			flags := append([]string{}, p.Flags...)
			if outOfOrder(r.Events, p.StatusCode) {
				flags = append(flags, FlagOutOfOrder)
			}
			r.Events = append(r.Events, Event{Type: EventStatus, Code: p.StatusCode, Packet: p.ID, At: p.AcceptedAt, Flags: flags})
			// A revoked or replaced copy stays so: a status after it
			// (the recipient's 01 for the revoke packet, which shares
			// the DocumentId) is kept on the timeline only.
			if r.State != EventRevoked && r.State != EventReplaced {
				r.State = string(p.StatusCode)
			}
		}
		if err := put(timelines, []byte(id), tl); err != nil {
			return err
		}
	}
	return nil
}

// closed tells whether a recipient's state is one a transport event does
// not replace: a closing status code, a revocation or a replacement.
func closed(state string) bool {
	return edxml.StatusCode(state).Closes() || state == EventRevoked || state == EventReplaced
}

// MarkOverdue sets Overdue on the recipients of a timeline whose document's
// DueDate (yyyy/MM/dd, in Asia/Ho_Chi_Minh) ended before now and who have
// not completed (06) or otherwise closed it.
func (tl *Timeline) MarkOverdue(now time.Time, parseDate func(string) (time.Time, error)) {
	if tl.DueDate == "" {
		return
	}
	due, err := parseDate(tl.DueDate)
	if err != nil || now.Before(due.AddDate(0, 0, 1)) {
		return
	}
	for i := range tl.Recipients {
		r := &tl.Recipients[i]
		r.Overdue = r.State != string(edxml.StatusCompleted) && !closed(r.State)
	}
}

// outOfOrder: a main-line code lower than one seen, or after a 02 or a
// withdrawing 15 (FORMAT.md §6). Such statuses are kept and flagged.
func outOfOrder(events []Event, code edxml.StatusCode) bool {
	for _, e := range events {
		if e.Type != EventStatus {
			continue
		}
		switch {
		case code.IsMainLine() && e.Code.Rank() > code.Rank():
			return true
		case code.IsMainLine() && e.Code.Withdraws():
			return true
		case code == edxml.StatusRejected && e.Code.Rank() >= edxml.StatusAccepted.Rank():
			return true
		}
	}
	return false
}

type earlyEvent struct {
	Organs []string `json:"organs"`
	Event  Event    `json:"event"`
}

// event appends an event to the timeline entries of the given organs, in
// time order. For a packet not seen yet it is kept until the packet is.
func (s *Store) event(tx *bolt.Tx, id string, organs []string, e Event) error {
	return s.events(tx, id, []organEvent{{organs, e}})
}

type organEvent struct {
	organs []string
	e      Event
}

// events is event for several events of one packet: the timeline is read
// and written once, and not written at all when every event was there
// already (a replay), which would dirty its page and every branch above.
func (s *Store) events(tx *bolt.Tx, id string, es []organEvent) error {
	timelines := tx.Bucket(bTimelines)
	tl, ok, err := get[Timeline](timelines, []byte(id))
	if err != nil {
		return err
	}
	if !ok {
		if tx.Bucket(bPackets).Get([]byte(id)) != nil {
			return nil // a status packet has no timeline of its own
		}
		early, _, err := get[[]earlyEvent](tx.Bucket(bEarly), []byte(id))
		if err != nil {
			return err
		}
		for _, oe := range es {
			early = append(early, earlyEvent{Organs: oe.organs, Event: oe.e})
		}
		return put(tx.Bucket(bEarly), []byte(id), early)
	}
	changed := false
	for _, oe := range es {
		changed = tl.add(oe.organs, oe.e) || changed
	}
	if !changed {
		return nil
	}
	return put(timelines, []byte(id), tl)
}

// add appends e to the entries of organs that do not have it yet, and
// tells whether any did not.
func (tl *Timeline) add(organs []string, e Event) bool {
	changed := false
	for i := range tl.Recipients {
		r := &tl.Recipients[i]
		if !slices.Contains(organs, r.OrganID) {
			continue
		}
		if slices.ContainsFunc(r.Events, func(x Event) bool { return x.Type == e.Type && x.Result == e.Result }) {
			continue // replayed
		}
		changed = true
		r.Events = append(r.Events, e)
		slices.SortStableFunc(r.Events, func(a, b Event) int { return a.At.Compare(b.At) })
		if !edxml.StatusCode(r.State).IsMainLine() && !closed(r.State) {
			last := r.Events[len(r.Events)-1]
			r.State = last.Type
			if last.Result != "" {
				r.State = last.Type + ":" + last.Result
			}
		}
	}
	return changed
}

// Routed records that a packet was routed to an endpoint for organs.
func (s *Store) Routed(id string, d route.Delivery, at time.Time) error {
	return s.w.Update(func(tx *bolt.Tx) error {
		return s.event(tx, id, d.Organs, Event{Type: EventRouted, At: at, Flags: []string{}})
	})
}

// Timeline returns a packet's timeline.
func (s *Store) Timeline(id string) (Timeline, error) {
	var tl Timeline
	err := s.db.View(func(tx *bolt.Tx) error {
		v, ok, err := get[Timeline](tx.Bucket(bTimelines), []byte(id))
		if err == nil && !ok {
			err = ErrNotFound
		}
		tl = v
		return err
	})
	return tl, err
}
