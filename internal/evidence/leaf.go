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
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

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

// Marshal is the leaf's canonical bytes: json.Marshal's, byte for byte
// (TestMarshalIsJSONMarshal), written without reflection: the hub, the
// feeder and the log each marshal every leaf.
func (l Leaf) Marshal() []byte {
	b := make([]byte, 0, 160+len(l.ID)+len(l.SHA256)+len(l.DocumentID)+len(l.From)+16*len(l.To))
	b = strconv.AppendInt(append(b, `{"v":`...), int64(l.V), 10)
	b = appendJSONString(append(b, `,"type":`...), l.Type)
	b = appendJSONString(append(b, `,"id":`...), l.ID)
	b = appendOmitEmpty(b, `,"kind":`, l.Kind)
	b = appendOmitEmpty(b, `,"from":`, l.From)
	if len(l.To) > 0 {
		b = append(b, `,"to":[`...)
		for i, t := range l.To {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, t)
		}
		b = append(b, ']')
	}
	b = appendOmitEmpty(b, `,"documentId":`, l.DocumentID)
	b = appendOmitEmpty(b, `,"statusCode":`, l.StatusCode)
	b = appendOmitEmpty(b, `,"sha256":`, l.SHA256)
	if l.Size != 0 {
		b = strconv.AppendInt(append(b, `,"size":`...), l.Size, 10)
	}
	b = appendOmitEmpty(b, `,"endpoint":`, l.Endpoint)
	b = appendOmitEmpty(b, `,"result":`, l.Result)
	b = appendJSONString(append(b, `,"at":`...), l.At)
	return append(b, '}')
}

func appendOmitEmpty(b []byte, name, s string) []byte {
	if s == "" {
		return b
	}
	return appendJSONString(append(b, name...), s)
}

// appendJSONString appends s as encoding/json writes a string (HTML
// escaping on): the same escapes, U+FFFD for a byte outside UTF-8.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b = append(append(b, s[start:i]...), `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(append(b, s[start:i]...), '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += n
			continue
		}
		i += n
		start = i
	}
	return append(append(b, s[start:]...), '"')
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
	if err := json.Unmarshal(raw, &e); err != nil {
		return Leaf{}, errNotAccepted
	}
	a := Accepted{ID: e.ID, Kind: e.Kind, From: e.From, DocumentID: e.DocumentID, StatusCode: e.StatusCode,
		SHA256: e.SHA256, Size: e.Size, AcceptedAt: e.AcceptedAt, Endpoints: make([]string, 0, len(e.Deliveries))}
	for _, d := range e.Deliveries {
		a.Endpoints = append(a.Endpoints, d.Endpoint)
	}
	return AcceptedLeaf(a)
}

var errNotAccepted = errors.New("evidence: not an accepted event")

// Accepted is what a leaf takes from an accepted event, for the one who
// made the event (the hub, for the receipt's logLeaf): AcceptedLeaf gives
// the leaf FromAccepted makes of the event's JSON, without parsing it.
type Accepted struct {
	ID, Kind, From, DocumentID, StatusCode, SHA256 string
	Size                                           int64
	AcceptedAt                                     time.Time
	Endpoints                                      []string // of the deliveries, in their order
}

// AcceptedLeaf is the leaf of an accepted event with a's fields.
func AcceptedLeaf(a Accepted) (Leaf, error) {
	if a.ID == "" || a.AcceptedAt.IsZero() {
		return Leaf{}, errNotAccepted
	}
	l := Leaf{V: LeafVersion, Type: LeafAccepted, ID: asJSON(a.ID), Kind: asJSON(a.Kind), From: asJSON(a.From),
		DocumentID: asJSON(a.DocumentID), StatusCode: asJSON(a.StatusCode), SHA256: asJSON(a.SHA256), Size: a.Size,
		At: stamp(a.AcceptedAt)}
	for _, ep := range a.Endpoints {
		if ep = asJSON(ep); ep != "" && !slices.Contains(l.To, ep) {
			l.To = append(l.To, ep)
		}
	}
	return l, nil
}

// asJSON is s as it comes back from JSON: each byte that is not part of
// valid UTF-8 becomes U+FFFD (encoding/json writes \ufffd for it), so a
// leaf made from the fields is the leaf made from the event.
func asJSON(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		b.WriteRune(r) // RuneError for an invalid byte (n == 1)
		i += n
	}
	return b.String()
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
