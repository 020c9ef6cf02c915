package track

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Query selects packets for the operators' search. Empty fields match
// everything; Since and Until bound the acceptance time, [Since, Until).
type Query struct {
	ID         string // exact packet id; the other fields are then ignored
	DocumentID string // a part of the DocumentId, any case
	From       string // the sender's OrganId
	To         string // one recipient's OrganId
	Since      time.Time
	Until      time.Time
	Limit      int // default and most 200
}

// MaxScan bounds the packets one search reads, so a broad query on a
// large view answers in bounded time; Search reports when it stopped
// there.
const MaxScan = 200_000

// Search lists the packets matching q, newest first. It walks the senders'
// outboxes within the time range (an id is a direct lookup), so narrowing
// by sender or date makes it cheaper. truncated tells that the limit or
// MaxScan cut the answer.
func (s *Store) Search(q Query) (out []Packet, truncated bool, err error) {
	if q.Limit <= 0 || q.Limit > 200 {
		q.Limit = 200
	}
	out = []Packet{}
	if q.ID != "" {
		p, err := s.Packet(q.ID)
		if errors.Is(err, ErrNotFound) {
			return out, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		return append(out, p), false, nil
	}
	doc := strings.ToLower(q.DocumentID)
	scanned := 0
	err = s.db.View(func(tx *bolt.Tx) error {
		sent, packets := tx.Bucket(bSent).Cursor(), tx.Bucket(bPackets)
		// Each sender's keys are "from 0 nanos id": walk each sender's
		// range in turn, jumping from one sender to the next.
		next := []byte(q.From)
		for {
			k, _ := sent.Seek(next)
			if k == nil {
				return nil
			}
			i := bytes.IndexByte(k, 0)
			if i < 0 || len(k) < i+9 {
				return nil
			}
			from := string(k[:i])
			if q.From != "" && from != q.From {
				return nil
			}
			prefix := k[: i+1 : i+1]
			start := prefix
			if !q.Since.IsZero() {
				start = inboxKey(from, q.Since, "")
			}
			for k, _ := sent.Seek(start); k != nil && bytes.HasPrefix(k, prefix); k, _ = sent.Next() {
				at := int64(binary.BigEndian.Uint64(k[len(prefix) : len(prefix)+8]))
				if !q.Until.IsZero() && at >= q.Until.UnixNano() {
					break
				}
				if scanned++; scanned > MaxScan {
					truncated = true
					return nil
				}
				p, ok, err := get[Packet](packets, k[len(prefix)+8:])
				if err != nil {
					return err
				}
				if !ok || (doc != "" && !strings.Contains(strings.ToLower(p.DocumentID), doc)) ||
					(q.To != "" && !slices.Contains(p.To, q.To)) {
					continue
				}
				if out = append(out, p); len(out) >= 4*q.Limit {
					// Keep memory bounded: only the newest Limit can
					// be in the answer.
					out, truncated = newest(out, q.Limit), true
				}
			}
			next = append([]byte(from), 1) // just past this sender's keys
		}
	})
	if err != nil {
		return nil, false, err
	}
	if len(out) > q.Limit {
		truncated = true
	}
	return newest(out, q.Limit), truncated, nil
}

// newest sorts ps newest first and keeps at most n.
func newest(ps []Packet, n int) []Packet {
	slices.SortFunc(ps, func(a, b Packet) int {
		return cmp.Or(b.AcceptedAt.Compare(a.AcceptedAt), strings.Compare(a.ID, b.ID))
	})
	return ps[:min(n, len(ps))]
}
