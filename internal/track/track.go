// Package track keeps the hub's materialised view: each agency's pending
// inbox, each packet's per-recipient timeline, and what the hub knows of
// each document. The view is derived from the Kafka topics and can be
// rebuilt from them; every update is idempotent, because at-least-once
// delivery replays events.
package track

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"

	"lienthong/internal/boltgroup"
	"lienthong/internal/edxml"
	"lienthong/internal/organ"
	"lienthong/internal/route"
)

// The view's errors a caller tells apart; any other is the view failing
// (I/O, a record it cannot read), not the request.
var (
	// ErrNotFound means no such packet, timeline or inbox item.
	ErrNotFound = errors.New("track: not found")
	// ErrBadCursor means an inbox cursor this view did not hand out for
	// the endpoint.
	ErrBadCursor = errors.New("track: bad cursor")
)

// Packet is an accepted packet as the view keeps it.
type Packet struct {
	ID                  string           `json:"id"`
	Kind                string           `json:"kind"`
	From                string           `json:"from"`
	To                  []string         `json:"to,omitempty"`
	DocumentID          string           `json:"documentId"`
	Subject             string           `json:"subject,omitempty"`
	Priority            int              `json:"priority"`
	BusinessType        string           `json:"businessType,omitempty"`
	StatusCode          edxml.StatusCode `json:"statusCode,omitempty"`
	ResponseForOrgan    string           `json:"responseForOrgan,omitempty"`
	ResponseForDocument string           `json:"responseForDocument,omitempty"`
	SHA256              string           `json:"sha256"`
	Size                int64            `json:"size"`
	AcceptedAt          time.Time        `json:"acceptedAt"`
	Flags               []string         `json:"flags,omitempty"`
	// Endpoints are the inboxes the packet was routed to: with the sender,
	// the parties that may read it.
	Endpoints []string `json:"endpoints,omitempty"`
	DueDate   string   `json:"dueDate,omitempty"`
	// Hops are the hubs that relayed the packet here, first first.
	Hops []string `json:"hops,omitempty"`
	// Replaces are the DocumentIds a replacement (business type 3)
	// supersedes, all from the same sender.
	Replaces []string `json:"replaces,omitempty"`
}

// Item is one pending inbox entry: a packet for one endpoint.
type Item struct {
	ID         string    `json:"id"`
	Endpoint   string    `json:"endpoint"`
	Organs     []string  `json:"organs"`
	Kind       string    `json:"kind"`
	From       string    `json:"from"`
	DocumentID string    `json:"documentId"`
	Subject    string    `json:"subject"`
	Priority   int       `json:"priority"`
	AcceptedAt time.Time `json:"acceptedAt"`
	SHA256     string    `json:"sha256"`
	Size       int64     `json:"size"`
}

// Event types of a timeline (docs/contracts.md, REST API v1).
const (
	EventAccepted  = "accepted"
	EventRouted    = "routed"
	EventDelivered = "delivered"
	EventFetched   = "fetched"
	EventAcked     = "acked"
	EventStatus    = "status"
	// EventForwarded: the packet went on to the peer hub (Result) that
	// receives for this recipient.
	EventForwarded = "forwarded"
	// A later packet changed this document: revoked it (business type 1),
	// updated it (2) or replaced it (3). Packet names the later packet.
	EventRevoked  = "revoked"
	EventUpdated  = "updated"
	EventReplaced = "replaced"
)

// FlagOutOfOrder marks a status that goes back on the main line.
const FlagOutOfOrder = "status.out_of_order"

// Event is one step of a recipient's timeline.
type Event struct {
	Type   string           `json:"type"`
	Code   edxml.StatusCode `json:"code,omitempty"`
	Result string           `json:"result,omitempty"`
	Packet string           `json:"packet,omitempty"` // the status packet, for status events
	At     time.Time        `json:"at"`
	Flags  []string         `json:"flags"`
}

// Recipient is one recipient's part of a timeline.
type Recipient struct {
	OrganID string  `json:"organId"`
	State   string  `json:"state"`
	Events  []Event `json:"events"`
	// Overdue: the document's DueDate has passed and this recipient has
	// not completed it (06) nor closed it otherwise. Set when read.
	Overdue bool `json:"overdue,omitempty"`
}

// Timeline is a packet's per-recipient history.
type Timeline struct {
	ID         string      `json:"id"`
	DocumentID string      `json:"documentId"`
	From       string      `json:"from"`
	DueDate    string      `json:"dueDate,omitempty"`
	Hops       []string    `json:"hops,omitempty"` // hubs that relayed the packet here
	Recipients []Recipient `json:"recipients"`
}

var (
	bPackets   = []byte("packets")   // id → Packet
	bTimelines = []byte("timelines") // id → Timeline
	bDocs      = []byte("docs")      // sha256(from, documentId) → []edoc id
	bInbox     = []byte("inbox")     // endpoint 0 urgency accepted-nanos id → Item (pendingOrder)
	bPending   = []byte("pending")   // endpoint 0 id → inbox key
	bMeta      = []byte("meta")
	bEarly     = []byte("early") // id → events that arrived before the packet
	bSent      = []byte("sent")  // from 0 accepted-nanos id → nil: an agency's outbox (sentKey)
)

// Store is the view, in a bbolt file.
type Store struct {
	db *bolt.DB
	// w commits concurrent writes together: the submit path's
	// read-your-writes Accepted and the view consumer's batches would
	// otherwise each wait for their own fdatasync, one at a time.
	w     *boltgroup.Group
	epoch string
}

// Open opens or creates the view at path.
func Open(path string) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open view %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bPackets, bTimelines, bDocs, bInbox, bPending, bMeta, bEarly, bSent, bOutbox} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close() //nolint:errcheck // already failing
		return nil, fmt.Errorf("open view %s: %w", path, err)
	}
	s := &Store{db: db, w: boltgroup.New(db)}
	if s.epoch, err = s.loadEpoch(); err != nil {
		db.Close() //nolint:errcheck // already failing
		return nil, fmt.Errorf("open view %s: %w", path, err)
	}
	return s, nil
}

// loadEpoch returns the view's epoch, made when the file is created. The
// hub names its view consumer group after it, so a new (or lost and
// recreated) view reads every topic from the start and rebuilds itself.
func (s *Store) loadEpoch() (string, error) {
	var epoch string
	err := s.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bMeta)
		if v := meta.Get([]byte("epoch")); v != nil {
			epoch = string(v)
			return nil
		}
		epoch = strconv.FormatInt(time.Now().UnixNano(), 36)
		return meta.Put([]byte("epoch"), []byte(epoch))
	})
	return epoch, err
}

// Epoch identifies this view file (see loadEpoch).
func (s *Store) Epoch() string { return s.epoch }

// Close closes the view.
func (s *Store) Close() error { return s.db.Close() }

func docKey(from, documentID string) []byte {
	sum := sha256.Sum256([]byte(from + "\n" + documentID))
	return sum[:]
}

func get[T any](b *bolt.Bucket, key []byte) (T, bool, error) {
	var v T
	raw := b.Get(key)
	if raw == nil {
		return v, false, nil
	}
	return v, true, json.Unmarshal(raw, &v)
}

func put(b *bolt.Bucket, key []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, raw)
}

// Accepted records an accepted packet once. An edoc opens a timeline with
// an accepted event per recipient; a status adds a status event to the
// timelines of the document it is about, flagged when it goes back on the
// main line.
func (s *Store) Accepted(p Packet) error {
	return s.w.Update(func(tx *bolt.Tx) error { return s.accepted(tx, p) })
}

// AcceptedRouted is Accepted followed by Routed for each delivery, in one
// transaction: one commit where three were for a packet to two agencies.
func (s *Store) AcceptedRouted(p Packet, ds []route.Delivery, at time.Time) error {
	return s.Batch(func(w *Writer) error { return w.AcceptedRouted(p, ds, at) })
}

// Writer makes several changes in one transaction (Store.Batch).
type Writer struct {
	s  *Store
	tx *bolt.Tx
}

// Batch runs fn's changes in one transaction, with one commit: the view's
// consumer applies what a poll brought in one go. The commit may be shared
// with other writers, and fn run again alone when another's write failed
// it: fn must start afresh each time it runs.
func (s *Store) Batch(fn func(w *Writer) error) error {
	return s.w.Update(func(tx *bolt.Tx) error { return fn(&Writer{s: s, tx: tx}) })
}

// AcceptedRouted is Store.AcceptedRouted within the batch.
func (w *Writer) AcceptedRouted(p Packet, ds []route.Delivery, at time.Time) error {
	if err := w.s.accepted(w.tx, p); err != nil {
		return err
	}
	for _, d := range ds {
		if err := w.s.event(w.tx, p.ID, d.Organs, Event{Type: EventRouted, At: at, Flags: []string{}}); err != nil {
			return err
		}
	}
	return nil
}

// Delivered is Store.Delivered within the batch; created tells whether
// the item became pending (not a replay of one pending or acknowledged).
func (w *Writer) Delivered(it Item, at time.Time) (created bool, err error) {
	return w.s.delivered(w.tx, it, at)
}

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
	timelines := tx.Bucket(bTimelines)
	if p.Kind == "edoc" {
		tl := Timeline{ID: p.ID, DocumentID: p.DocumentID, From: p.From, DueDate: p.DueDate, Hops: p.Hops}
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

// Document returns what the view knows of a document sent by from, for
// routing and authorising statuses about it; nil when it knows nothing.
func (s *Store) Document(from, documentID string) (*route.Document, error) {
	var doc *route.Document
	err := s.db.View(func(tx *bolt.Tx) error {
		ids, ok, err := get[[]string](tx.Bucket(bDocs), docKey(from, documentID))
		if err != nil || !ok {
			return err
		}
		doc = &route.Document{From: from}
		for _, id := range ids {
			p, ok, err := get[Packet](tx.Bucket(bPackets), []byte(id))
			if err != nil {
				return err
			}
			for _, to := range p.To {
				if ok && !slices.Contains(doc.Recipients, to) {
					doc.Recipients = append(doc.Recipients, to)
				}
			}
			for _, ep := range p.Endpoints {
				if ok && !slices.Contains(doc.Endpoints, ep) {
					doc.Endpoints = append(doc.Endpoints, ep)
				}
			}
		}
		return nil
	})
	return doc, err
}

// Packet returns an accepted packet.
func (s *Store) Packet(id string) (Packet, error) {
	var p Packet
	err := s.db.View(func(tx *bolt.Tx) error {
		v, ok, err := get[Packet](tx.Bucket(bPackets), []byte(id))
		if err == nil && !ok {
			err = ErrNotFound
		}
		p = v
		return err
	})
	return p, err
}

type earlyEvent struct {
	Organs []string `json:"organs"`
	Event  Event    `json:"event"`
}

// event appends an event to the timeline entries of the given organs, in
// time order. For a packet not seen yet it is kept until the packet is.
func (s *Store) event(tx *bolt.Tx, id string, organs []string, e Event) error {
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
		return put(tx.Bucket(bEarly), []byte(id), append(early, earlyEvent{Organs: organs, Event: e}))
	}
	for i := range tl.Recipients {
		r := &tl.Recipients[i]
		if !slices.Contains(organs, r.OrganID) {
			continue
		}
		if slices.ContainsFunc(r.Events, func(x Event) bool { return x.Type == e.Type && x.Result == e.Result }) {
			continue // replayed
		}
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
	return put(timelines, []byte(id), tl)
}

// Routed records that a packet was routed to an endpoint for organs.
func (s *Store) Routed(id string, d route.Delivery, at time.Time) error {
	return s.w.Update(func(tx *bolt.Tx) error {
		return s.event(tx, id, d.Organs, Event{Type: EventRouted, At: at, Flags: []string{}})
	})
}

// sentKey orders an agency's sent packets by acceptance time.
func sentKey(from string, at time.Time, id string) []byte {
	k := make([]byte, 0, len(from)+1+8+len(id))
	k = append(k, from...)
	k = append(k, 0)
	k = binary.BigEndian.AppendUint64(k, uint64(at.UnixNano()))
	return append(k, id...)
}

// pendingOrder sorts an inbox: the most urgent first (Priority 4 hỏa tốc
// hẹn giờ down to 0 thường), then the oldest, so urgent packets are never
// stuck behind bulk traffic.
func pendingOrder(it Item) []byte {
	urgency := byte(4 - min(max(it.Priority, 0), 4))
	k := append([]byte(it.Endpoint), 0, urgency)
	k = binary.BigEndian.AppendUint64(k, uint64(it.AcceptedAt.UnixNano()))
	return append(k, it.ID...)
}

func pendingKey(endpoint, id string) []byte { return []byte(endpoint + "\x00" + id) }

// Delivered puts an item in its endpoint's pending inbox, once.
func (s *Store) Delivered(it Item, at time.Time) error {
	return s.w.Update(func(tx *bolt.Tx) error {
		_, err := s.delivered(tx, it, at)
		return err
	})
}

func (s *Store) delivered(tx *bolt.Tx, it Item, at time.Time) (bool, error) {
	pending := tx.Bucket(bPending)
	pk := pendingKey(it.Endpoint, it.ID)
	if pending.Get(pk) != nil {
		return false, nil
	}
	if acked := tx.Bucket(bMeta).Get(append([]byte("acked\x00"), pk...)); acked != nil {
		return false, nil // replayed after an ack: stays acknowledged
	}
	key := pendingOrder(it)
	if err := put(tx.Bucket(bInbox), key, it); err != nil {
		return false, err
	}
	if err := pending.Put(pk, key); err != nil {
		return false, err
	}
	return true, s.event(tx, it.ID, it.Organs, Event{Type: EventDelivered, At: at, Flags: []string{}})
}

// Item returns a pending item of an endpoint.
func (s *Store) Item(endpoint, id string) (Item, error) {
	var it Item
	err := s.db.View(func(tx *bolt.Tx) error {
		key := tx.Bucket(bPending).Get(pendingKey(endpoint, id))
		if key == nil {
			return ErrNotFound
		}
		v, ok, err := get[Item](tx.Bucket(bInbox), key)
		if err == nil && !ok {
			err = ErrNotFound
		}
		it = v
		return err
	})
	return it, err
}

// Fetched records that an endpoint fetched a packet.
func (s *Store) Fetched(endpoint, id string, at time.Time) error {
	return s.w.Update(func(tx *bolt.Tx) error {
		_, err := s.fetched(tx, endpoint, id, at)
		return err
	})
}

// fetched records a fetch of a pending item; ok is false when the packet
// is not pending for the endpoint.
func (s *Store) fetched(tx *bolt.Tx, endpoint, id string, at time.Time) (ok bool, err error) {
	key := tx.Bucket(bPending).Get(pendingKey(endpoint, id))
	if key == nil {
		return false, nil
	}
	it, ok, err := get[Item](tx.Bucket(bInbox), key)
	if err != nil || !ok {
		return false, err
	}
	return true, s.event(tx, id, it.Organs, Event{Type: EventFetched, At: at, Flags: []string{}})
}

// Forwarded removes an item from its endpoint's pending inbox once it went
// on to the peer hub that receives for the endpoint, and records the hop.
func (s *Store) Forwarded(endpoint, id, peer string, at time.Time) error {
	return s.done(endpoint, id, Event{Type: EventForwarded, Result: peer, At: at, Flags: []string{}})
}

// Acked removes an item from its endpoint's pending inbox and records the
// result (done or fail). Acknowledging twice is not an error.
func (s *Store) Acked(endpoint, id, result string, at time.Time) error {
	return s.done(endpoint, id, Event{Type: EventAcked, Result: result, At: at, Flags: []string{}})
}

func (s *Store) done(endpoint, id string, e Event) error {
	return s.w.Update(func(tx *bolt.Tx) error {
		pending := tx.Bucket(bPending)
		pk := pendingKey(endpoint, id)
		key := pending.Get(pk)
		if key == nil {
			return nil
		}
		it, ok, err := get[Item](tx.Bucket(bInbox), key)
		if err != nil {
			return err
		}
		if err := tx.Bucket(bInbox).Delete(key); err != nil {
			return err
		}
		if err := pending.Delete(pk); err != nil {
			return err
		}
		if err := tx.Bucket(bMeta).Put(append([]byte("acked\x00"), pk...), []byte(e.Result)); err != nil {
			return err
		}
		if !ok {
			return nil
		}
		return s.event(tx, id, it.Organs, e)
	})
}

// Inbox lists an endpoint's pending items, most urgent first, then oldest
// first, of one kind when kind is set. cursor continues a previous
// listing (ErrBadCursor when it is not one of the endpoint's); the
// returned cursor is "" at the end.
func (s *Store) Inbox(endpoint, kind string, limit int, cursor string) ([]Item, string, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	prefix := append([]byte(endpoint), 0)
	start := prefix
	if cursor != "" {
		c, err := hex.DecodeString(cursor)
		if err != nil || !bytes.HasPrefix(c, prefix) {
			return nil, "", ErrBadCursor
		}
		start = append(c, 0) // just after the cursor's key
	}
	items := []Item{}
	next := ""
	var lastKey []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bInbox).Cursor()
		for k, v := c.Seek(start); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var it Item
			if err := json.Unmarshal(v, &it); err != nil {
				return err
			}
			if kind != "" && it.Kind != kind {
				continue
			}
			if len(items) == limit {
				next = hex.EncodeToString(lastKey)
				return nil
			}
			items = append(items, it)
			lastKey = append(lastKey[:0], k...)
		}
		return nil
	})
	return items, next, err
}

// Pending counts an endpoint's pending items and the oldest one's time.
func (s *Store) Pending(endpoint string) (int, time.Time, error) {
	n := 0
	var oldest time.Time
	prefix := append([]byte(endpoint), 0)
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bInbox).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			at := time.Unix(0, int64(binary.BigEndian.Uint64(k[len(prefix)+1:])))
			if n == 0 || at.Before(oldest) {
				oldest = at
			}
			n++
		}
		return nil
	})
	return n, oldest, err
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

// Sent lists the packets an agency sent, accepted in [since, until) (zero
// times leave that end open), oldest first, at most limit of them.
func (s *Store) Sent(from string, since, until time.Time, limit int) ([]Packet, error) {
	if limit <= 0 || limit > 10_000 {
		limit = 1000
	}
	prefix := append([]byte(from), 0)
	start := prefix
	if !since.IsZero() {
		start = sentKey(from, since, "")
	}
	out := []Packet{}
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bSent).Cursor()
		for k, _ := c.Seek(start); k != nil && bytes.HasPrefix(k, prefix) && len(out) < limit; k, _ = c.Next() {
			at := int64(binary.BigEndian.Uint64(k[len(prefix) : len(prefix)+8]))
			if !until.IsZero() && at >= until.UnixNano() {
				break
			}
			p, ok, err := get[Packet](tx.Bucket(bPackets), k[len(prefix)+8:])
			if err != nil {
				return err
			}
			if ok {
				out = append(out, p)
			}
		}
		return nil
	})
	return out, err
}
