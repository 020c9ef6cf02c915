// Package evidence keeps the exchange's verifiable log: every accepted
// packet (with its routing), every fetch, acknowledgement and forward is a
// leaf of one RFC 6962 Merkle tree, in the order of a single-partition
// topic that every replica reads, so every replica computes the same tree.
// Checkpoints are C2SP signed notes under the hub's log key; proofs are
// built with github.com/transparency-dev/merkle from hashes stored as in
// golang.org/x/mod/sumdb/tlog (whose tiles C2SP tlog-tiles follows).
package evidence

import (
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/transparency-dev/merkle/rfc6962"
)

// LeafVersion is the version of the leaf format (schemas/log/leaf.schema.json).
const LeafVersion = 1

// Leaf types.
const (
	LeafAccepted  = "accepted"
	LeafFetched   = "fetched"
	LeafAcked     = "acked"
	LeafForwarded = "forwarded"
)

// Leaf is one entry of the log. Its canonical bytes (Marshal) are what is
// hashed: JSON with the fields in this order, no spaces, times in UTC with
// nanoseconds; fields are only added in later versions, never reordered.
type Leaf struct {
	V    int    `json:"v"`
	Type string `json:"type"`
	ID   string `json:"id"` // the packet id (SHA-256 of its bytes, hex)
	// For accepted.
	Kind       string   `json:"kind,omitempty"`
	From       string   `json:"from,omitempty"`
	To         []string `json:"to,omitempty"` // the endpoints it was routed to
	DocumentID string   `json:"documentId,omitempty"`
	StatusCode string   `json:"statusCode,omitempty"`
	SHA256     string   `json:"sha256,omitempty"` // of the packet's bytes
	Size       int64    `json:"size,omitempty"`
	// For fetched, acked and forwarded.
	Endpoint string `json:"endpoint,omitempty"`
	Result   string `json:"result,omitempty"`
	At       string `json:"at"`
}

// Marshal is the leaf's canonical bytes.
func (l Leaf) Marshal() []byte {
	b, err := json.Marshal(l)
	if err != nil {
		panic(err) // strings and ints only
	}
	return b
}

// LeafHash is the RFC 6962 hash of a leaf's canonical bytes.
func LeafHash(b []byte) []byte { return rfc6962.DefaultHasher.HashLeaf(b) }

// ParseLeaf reads a leaf's canonical bytes; bytes that are not exactly a
// leaf's canonical form are refused, so one leaf has one encoding.
func ParseLeaf(b []byte) (Leaf, error) {
	var l Leaf
	if err := json.Unmarshal(b, &l); err != nil {
		return Leaf{}, err
	}
	if l.V != LeafVersion || l.Type == "" || l.ID == "" || string(l.Marshal()) != string(b) {
		return Leaf{}, errors.New("evidence: not a canonical leaf")
	}
	return l, nil
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// acceptedEvent is what a leaf takes from an accepted event
// (schemas/events/accepted.schema.json).
type acceptedEvent struct {
	ID         string    `json:"id"`
	Kind       string    `json:"kind"`
	From       string    `json:"from"`
	DocumentID string    `json:"documentId"`
	StatusCode string    `json:"statusCode"`
	SHA256     string    `json:"sha256"`
	Size       int64     `json:"size"`
	AcceptedAt time.Time `json:"acceptedAt"`
	Deliveries []struct {
		Endpoint string `json:"endpoint"`
	} `json:"deliveries"`
}

// transportEvent is what a leaf takes from a transport event
// (schemas/events/transport.schema.json).
type transportEvent struct {
	Type     string    `json:"type"`
	ID       string    `json:"id"`
	Endpoint string    `json:"endpoint"`
	Result   string    `json:"result"`
	At       time.Time `json:"at"`
}

// FromAccepted is the leaf of an accepted event.
func FromAccepted(raw []byte) (Leaf, error) {
	var e acceptedEvent
	if err := json.Unmarshal(raw, &e); err != nil || e.ID == "" || e.AcceptedAt.IsZero() {
		return Leaf{}, errors.New("evidence: not an accepted event")
	}
	l := Leaf{V: LeafVersion, Type: LeafAccepted, ID: e.ID, Kind: e.Kind, From: e.From, DocumentID: e.DocumentID,
		StatusCode: e.StatusCode, SHA256: e.SHA256, Size: e.Size, At: stamp(e.AcceptedAt)}
	for _, d := range e.Deliveries {
		if d.Endpoint != "" && !slices.Contains(l.To, d.Endpoint) {
			l.To = append(l.To, d.Endpoint)
		}
	}
	return l, nil
}

// FromTransport is the leaf of a transport event.
func FromTransport(raw []byte) (Leaf, error) {
	var e transportEvent
	if err := json.Unmarshal(raw, &e); err != nil || e.ID == "" || e.At.IsZero() {
		return Leaf{}, errors.New("evidence: not a transport event")
	}
	switch e.Type {
	case LeafFetched, LeafAcked, LeafForwarded:
	default:
		return Leaf{}, errors.New("evidence: not a transport event")
	}
	return Leaf{V: LeafVersion, Type: e.Type, ID: e.ID, Endpoint: e.Endpoint, Result: e.Result, At: stamp(e.At)}, nil
}

// Concerns reports whether organID is a party to the leaf's packet as the
// leaf shows it: its sender, or one it was routed to or that fetched it.
func (l Leaf) Concerns(organID string) bool {
	return l.From == organID || l.Endpoint == organID || slices.Contains(l.To, organID)
}
