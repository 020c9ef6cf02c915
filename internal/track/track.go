// Package track keeps the hub's materialised view: each agency's pending
// inbox, each packet's per-recipient timeline, and what the hub knows of
// each document. The view is derived from the Kafka topics and can be
// rebuilt from them; every update is idempotent, because at-least-once
// delivery replays events.
package track

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/lienthong/lienthong/internal/boltgroup"
	"github.com/lienthong/lienthong/internal/edxml"
	"github.com/lienthong/lienthong/internal/route"
	"github.com/lienthong/lienthong/schemas/events"
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
	// What the registers of Nghị định 30/2020 record of an edoc, as the
	// packet writes it: số, ký hiệu (Code), ngày tháng (PromulgationDate,
	// yyyy/MM/dd), tên loại (TypeName), người ký (Signer), and the
	// sender's name (FromName; the directory's may differ).
	Code             string `json:"code,omitempty"`
	PromulgationDate string `json:"promulgationDate,omitempty"`
	TypeName         string `json:"typeName,omitempty"`
	Signer           string `json:"signer,omitempty"`
	FromName         string `json:"fromName,omitempty"`
	// Attachments: the hub's verdict in brief on the signatures inside the
	// edoc's PDF attachments (events.Accepted).
	Attachments []events.AttachmentVerdict `json:"attachments,omitempty"`
}

// Item is one pending inbox entry: a packet for one endpoint. It is the
// inbox message (schemas/events.Delivery) as the view decoded it, with its
// field names, so the REST inbox answers what the event says. V,
// BusinessType, StatusCode and StatusName are empty in items of messages
// written before the hub added them, and in records stored then.
type Item struct {
	V          int       `json:"v,omitempty"`
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
	// An edoc's BussinessDocType; a status's code (aliases resolved) and
	// the standard's name of it.
	BusinessType string `json:"businessType,omitempty"`
	StatusCode   string `json:"statusCode,omitempty"`
	StatusName   string `json:"statusName,omitempty"`
	// Attachments: an edoc's PDF signatures in brief (events.Delivery).
	Attachments []events.AttachmentVerdict `json:"attachments,omitempty"`
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
	ID         string   `json:"id"`
	DocumentID string   `json:"documentId"`
	From       string   `json:"from"`
	DueDate    string   `json:"dueDate,omitempty"`
	Hops       []string `json:"hops,omitempty"` // hubs that relayed the packet here
	// Attachments: the signatures inside the edoc's PDFs, in brief, as the
	// hub found them on receipt.
	Attachments []events.AttachmentVerdict `json:"attachments,omitempty"`
	Recipients  []Recipient                `json:"recipients"`
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
		for _, b := range [][]byte{bPackets, bTimelines, bDocs, bInbox, bPending, bMeta, bEarly, bSent, bOutbox, bReceived} {
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
	if err := backfillReceived(db); err != nil {
		db.Close() //nolint:errcheck // already failing
		return nil, fmt.Errorf("open view %s: index received documents: %w", path, err)
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
	es := make([]organEvent, len(ds))
	for i, d := range ds {
		es[i] = organEvent{d.Organs, Event{Type: EventRouted, At: at, Flags: []string{}}}
	}
	return w.s.events(w.tx, p.ID, es)
}

// Delivered is Store.Delivered within the batch; created tells whether
// the item became pending (not a replay of one pending or acknowledged).
func (w *Writer) Delivered(it Item, at time.Time) (created bool, err error) {
	return w.s.delivered(w.tx, it, at)
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
