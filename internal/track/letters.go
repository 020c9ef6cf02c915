package track

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"time"
	"unicode"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/text/unicode/norm"

	"github.com/lienthong/lienthong/internal/edxml"
)

// bReceived indexes the documents each inbox received, by acceptance
// time: endpoint 0 accepted-nanos id → nil. Unlike the pending inbox it keeps what was acknowledged, so a
// clerk's lists and the incoming register see every letter.
var bReceived = []byte("received")

// receivedIndexVersion marks a view whose received index covers every
// packet (Open backfills views made before the index).
var receivedIndexVersion = []byte("received v1")

// Views of a clerk's lists.
const (
	ViewPending = "pending" // chưa xử lý
	ViewHandled = "handled" // đã xử lý
	ViewAll     = "all"
)

// MailQuery selects a page of an agency's incoming or outgoing documents.
// Empty fields match everything.
type MailQuery struct {
	View  string    // ViewPending, ViewHandled or ViewAll ("" is all)
	Since time.Time // acceptance time, [Since, Until)
	Until time.Time
	// Party is the sender (incoming) or one recipient (outgoing).
	Party string
	// Priority, when not nil, is the urgency (độ khẩn) wanted.
	Priority *int
	// Code and Text are parts of the số, ký hiệu and of the trích yếu,
	// matched in any case, with or without Vietnamese diacritics.
	Code string
	Text string
	// DocumentID, when set, is the DocumentId wanted, exactly; with the
	// sender known (outgoing, or Party) it is read from the documents
	// index, every match on one page.
	DocumentID string
	// Business, when set, keeps only these business types.
	Business []string
	// Oldest lists oldest first (registers); the default is newest first.
	Oldest bool
	Cursor string
	Limit  int // default 50, at most 1000
}

// Letter is a document in a clerk's list: the packet, the parts of its
// timeline the agency sees, and whether it is handled.
type Letter struct {
	Packet
	// Parts are the recipients' timelines: the agency's own parts for an
	// incoming document, every recipient's for an outgoing one.
	Parts []Recipient `json:"parts"`
	// Handled: incoming, the agency answered it with a business status
	// (anything but 01) or it was revoked or replaced; outgoing, every
	// recipient finished (06), refused (02), gave it back (15) or had it
	// revoked or replaced.
	Handled bool `json:"handled"`
}

// maxMailScan bounds the index entries one page reads: a narrow filter
// over a long history answers a short page with a cursor to go on.
const maxMailScan = 20_000

func receivedKey(endpoint string, at time.Time, id string) []byte {
	return sentKey(endpoint, at, id) // the same shape: owner 0 nanos id
}

// indexReceived adds an edoc to the received index of each inbox it goes
// to.
func indexReceived(tx *bolt.Tx, p Packet) error {
	if p.Kind != string(edxml.KindEdoc) {
		return nil
	}
	b := tx.Bucket(bReceived)
	for _, ep := range p.Endpoints {
		if err := b.Put(receivedKey(ep, p.AcceptedAt, p.ID), nil); err != nil {
			return err
		}
	}
	return nil
}

// backfillReceived builds the received index of a view made before it,
// once.
func backfillReceived(db *bolt.DB) error {
	return db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bMeta)
		if meta.Get(receivedIndexVersion) != nil {
			return nil
		}
		err := tx.Bucket(bPackets).ForEach(func(_, v []byte) error {
			var p Packet
			if err := json.Unmarshal(v, &p); err != nil {
				return err
			}
			return indexReceived(tx, p)
		})
		if err != nil {
			return err
		}
		return meta.Put(receivedIndexVersion, []byte{1})
	})
}

// Received lists the documents routed to an inbox (kept after they are
// acknowledged), one page of q; mine tells the recipients whose parts the
// inbox's agency sees. next continues the listing ("" at the end); a
// cursor that is not one of this listing's is ErrBadCursor.
func (s *Store) Received(endpoint string, mine func(organID string) bool, q MailQuery) ([]Letter, string, error) {
	return s.letters(bReceived, endpoint, q, func(p Packet, tl Timeline) (Letter, bool) {
		l := Letter{Packet: p}
		for _, r := range tl.Recipients {
			if mine(r.OrganID) {
				l.Parts = append(l.Parts, r)
				l.Handled = l.Handled || answered(r.State)
			}
		}
		return l, q.Party == "" || p.From == q.Party
	})
}

// Outgoing lists the documents an agency sent, one page of q.
func (s *Store) Outgoing(from string, q MailQuery) ([]Letter, string, error) {
	return s.letters(bSent, from, q, func(p Packet, tl Timeline) (Letter, bool) {
		l := Letter{Packet: p, Parts: tl.Recipients, Handled: len(tl.Recipients) > 0}
		for _, r := range tl.Recipients {
			l.Handled = l.Handled && finished(r.State)
		}
		return l, p.Kind == string(edxml.KindEdoc) && (q.Party == "" || slices.Contains(p.To, q.Party))
	})
}

// answered: a recipient's state after its clerk acted on the document.
func answered(state string) bool {
	if c := edxml.StatusCode(state); c.Valid() {
		return c != edxml.StatusArrived && c != edxml.StatusTakeBack
	}
	return state == EventRevoked || state == EventReplaced
}

// finished: a recipient's state after which the sender waits for nothing:
// completed (06), refused (02), given back (15), revoked or replaced. A
// take-back request (13) waits for its answer; after a refusal to give it
// back (16) the recipient goes on handling the document.
func finished(state string) bool {
	switch edxml.StatusCode(state) {
	case edxml.StatusCompleted, edxml.StatusRejected, edxml.StatusChangeAccepted:
		return true
	}
	return state == EventRevoked || state == EventReplaced
}

type letterFunc func(p Packet, tl Timeline) (Letter, bool)

func (s *Store) letters(bucket []byte, owner string, q MailQuery, build letterFunc) ([]Letter, string, error) {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	q.Limit = min(q.Limit, 1000)
	prefix := append([]byte(owner), 0)
	lo, hi := slices.Clone(prefix), append(slices.Clone(prefix), 0xff)
	if !q.Since.IsZero() {
		lo = sentKey(owner, q.Since, "")
	}
	if !q.Until.IsZero() {
		hi = sentKey(owner, q.Until, "")
	}
	var after []byte // the cursor's key: the page starts past it
	if q.Cursor != "" {
		c, err := hex.DecodeString(q.Cursor)
		if err != nil || !bytes.HasPrefix(c, prefix) || len(c) < len(prefix)+8 {
			return nil, "", ErrBadCursor
		}
		after = c
	}
	code, text := fold(q.Code), fold(q.Text)
	if sender := q.Party; q.DocumentID != "" && (sender != "" || bytes.Equal(bucket, bSent)) {
		if bytes.Equal(bucket, bSent) {
			sender = owner
		}
		return s.document(bucket, owner, sender, q, code, text, build)
	}
	out := []Letter{}
	next := ""
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucket).Cursor()
		packets, timelines := tx.Bucket(bPackets), tx.Bucket(bTimelines)
		var k []byte
		step := func() []byte { k, _ := c.Next(); return k }
		switch {
		case q.Oldest && after != nil:
			if k, _ = c.Seek(after); bytes.Equal(k, after) {
				k, _ = c.Next()
			}
		case q.Oldest:
			k, _ = c.Seek(lo)
		default:
			step = func() []byte { k, _ := c.Prev(); return k }
			start := hi
			if after != nil {
				start = after
			}
			if k, _ = c.Seek(start); k == nil {
				k, _ = c.Last()
			} else {
				k, _ = c.Prev()
			}
		}
		var last []byte // the last key read: a next page starts past it
		for scanned := 0; k != nil && bytes.Compare(k, lo) >= 0 && bytes.Compare(k, hi) < 0; k = step() {
			if scanned++; scanned > maxMailScan || len(out) == q.Limit {
				next = hex.EncodeToString(last)
				return nil
			}
			last = append(last[:0], k...)
			p, ok, err := get[Packet](packets, k[len(prefix)+8:])
			if err != nil {
				return err
			}
			if !ok || !matches(p, q, code, text) {
				continue
			}
			l, ok, err := letter(timelines, p, q, build)
			if err != nil {
				return err
			}
			if ok {
				out = append(out, l)
			}
		}
		return nil
	})
	return out, next, err
}

// letter builds p's letter with its timeline and tells whether the view
// of q (pending, handled, all) keeps it.
func letter(timelines *bolt.Bucket, p Packet, q MailQuery, build letterFunc) (Letter, bool, error) {
	tl, _, err := get[Timeline](timelines, []byte(p.ID))
	if err != nil {
		return Letter{}, false, err
	}
	l, ok := build(p, tl)
	switch q.View {
	case ViewPending:
		ok = ok && !l.Handled
	case ViewHandled:
		ok = ok && l.Handled
	}
	return l, ok, nil
}

// matches applies the filters a packet's own fields answer.
func matches(p Packet, q MailQuery, code, text string) bool {
	switch {
	case q.Priority != nil && p.Priority != *q.Priority:
		return false
	case q.DocumentID != "" && p.DocumentID != q.DocumentID:
		return false
	case len(q.Business) > 0 && !slices.Contains(q.Business, p.BusinessType):
		return false
	case code != "" && !strings.Contains(fold(p.Code), code):
		return false
	case text != "" && !strings.Contains(fold(p.Subject), text):
		return false
	}
	return true
}

// fold makes Vietnamese text comparable with or without diacritics and in
// any case: "Quyết định" and "quyet dinh" fold alike.
func fold(s string) string {
	if s == "" {
		return ""
	}
	var b strings.Builder
	for _, r := range norm.NFD.String(strings.ToLower(s)) {
		switch {
		case unicode.Is(unicode.Mn, r):
		case r == 'đ':
			b.WriteRune('d')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// document answers a query for one DocumentId from the documents index
// (sender and DocumentId → packets), not by walking the listing: newest
// first, every match on one page.
func (s *Store) document(bucket []byte, owner, sender string, q MailQuery, code, text string, build letterFunc) ([]Letter, string, error) {
	out := []Letter{}
	err := s.db.View(func(tx *bolt.Tx) error {
		ids, _, err := get[[]string](tx.Bucket(bDocs), docKey(sender, q.DocumentID))
		if err != nil {
			return err
		}
		for _, id := range ids {
			p, ok, err := get[Packet](tx.Bucket(bPackets), []byte(id))
			if err != nil {
				return err
			}
			if !ok || !matches(p, q, code, text) || (q.Since.After(p.AcceptedAt)) || (!q.Until.IsZero() && !p.AcceptedAt.Before(q.Until)) {
				continue
			}
			// Only the owner's listing: its sent packets, or those routed
			// to its inbox.
			if tx.Bucket(bucket).Get(sentKey(owner, p.AcceptedAt, p.ID)) == nil {
				continue
			}
			l, ok, err := letter(tx.Bucket(bTimelines), p, q, build)
			if err != nil {
				return err
			}
			if ok {
				out = append(out, l)
			}
		}
		return nil
	})
	slices.SortStableFunc(out, func(a, b Letter) int { return b.AcceptedAt.Compare(a.AcceptedAt) })
	if q.Oldest {
		slices.Reverse(out)
	}
	return out, "", err
}
