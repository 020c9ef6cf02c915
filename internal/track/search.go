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
	sr := &searcher{q: q, doc: strings.ToLower(q.DocumentID), best: []Packet{}}
	err = s.db.View(func(tx *bolt.Tx) error {
		sent, packets := tx.Bucket(bSent).Cursor(), tx.Bucket(bPackets)
		// Each sender's keys are "from 0 nanos id": walk each sender in
		// turn, jumping from one to the next.
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
			prefix := slices.Clone(k[:i+1])
			next = append([]byte(from), 1) // just past this sender's keys
			if sr.walk(sent, packets, prefix) {
				return nil // MaxScan reached
			}
		}
	})
	if err != nil {
		return nil, false, err
	}
	return sr.best, sr.truncated, nil
}

// searcher keeps the newest matches of a search, newest first, at most
// Limit of them.
type searcher struct {
	q         Query
	doc       string
	scanned   int
	best      []Packet
	truncated bool
}

func (sr *searcher) add(p Packet) {
	i, _ := slices.BinarySearchFunc(sr.best, p, func(a, b Packet) int {
		return cmp.Or(b.AcceptedAt.Compare(a.AcceptedAt), strings.Compare(a.ID, b.ID))
	})
	sr.best = slices.Insert(sr.best, i, p)
	if len(sr.best) > sr.q.Limit {
		sr.best, sr.truncated = sr.best[:sr.q.Limit], true
	}
}

// walk reads one sender's packets newest first, and leaves once they are
// older than the Limit newest found; it reports whether MaxScan was
// reached.
func (sr *searcher) walk(sent *bolt.Cursor, packets *bolt.Bucket, prefix []byte) bool {
	q := sr.q
	end := append(slices.Clone(prefix), 0xff) // past every key of the sender
	if !q.Until.IsZero() {
		end = sentKey(string(prefix[:len(prefix)-1]), q.Until, "")
	}
	k, _ := sent.Seek(end)
	if k == nil {
		k, _ = sent.Last()
	} else {
		k, _ = sent.Prev()
	}
	for ; k != nil && bytes.HasPrefix(k, prefix); k, _ = sent.Prev() {
		at := time.Unix(0, int64(binary.BigEndian.Uint64(k[len(prefix):len(prefix)+8])))
		if !q.Since.IsZero() && at.Before(q.Since) {
			return false
		}
		if len(sr.best) == q.Limit && !at.After(sr.best[q.Limit-1].AcceptedAt) {
			sr.truncated = true // older ones may match too
			return false
		}
		if sr.scanned++; sr.scanned > MaxScan {
			sr.truncated = true
			return true
		}
		p, ok, err := get[Packet](packets, k[len(prefix)+8:])
		if err != nil || !ok {
			continue
		}
		if (sr.doc != "" && !strings.Contains(strings.ToLower(p.DocumentID), sr.doc)) || (q.To != "" && !slices.Contains(p.To, q.To)) {
			continue
		}
		sr.add(p)
	}
	return false
}
