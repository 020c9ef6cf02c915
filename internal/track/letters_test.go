package track_test

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/lienthong/lienthong/internal/edxml"
	"github.com/lienthong/lienthong/internal/track"
)

const (
	g22 = "000.00.00.G22"
	h29 = "000.00.00.H29"
	g12 = "000.00.00.G12"
)

// letter is an edoc from G22 routed to H29's and G12's inboxes.
func letter(id, subject, code string, prio int, at time.Time) track.Packet {
	p := edoc(id, at)
	p.DocumentID = g22 + ",2025/11/20," + id
	p.Subject, p.Code, p.Priority, p.Endpoints = subject, code, prio, []string{h29, g12}
	return p
}

func ids(ls []track.Letter) []string {
	out := []string{}
	for _, l := range ls {
		out = append(out, l.ID)
	}
	return out
}

func mineOf(organ string) func(string) bool { return func(id string) bool { return id == organ } }

func answer(t *testing.T, s *track.Store, id, doc, from string, code edxml.StatusCode, at time.Time) {
	t.Helper()
	must(t, s.Accepted(track.Packet{ID: id, Kind: "status", From: from, StatusCode: code, ResponseForOrgan: g22,
		ResponseForDocument: doc, AcceptedAt: at}))
}

func TestReceivedLists(t *testing.T) {
	s := open(t)
	a := letter("a", "Quyết định phê duyệt kế hoạch", "12/QĐ-VPCP", 0, t0)
	b := letter("b", "Công văn về việc rà soát", "34/VPCP-KSTT", 2, t0.Add(time.Hour))
	c := letter("c", "Báo cáo tình hình", "56/BC-VPCP", 0, t0.Add(2*time.Hour))
	for _, p := range []track.Packet{a, b, c} {
		must(t, s.Accepted(p))
		must(t, s.Delivered(item(p.ID, h29, "edoc", p.AcceptedAt), p.AcceptedAt))
	}
	// A status packet is not a received document.
	must(t, s.Accepted(track.Packet{ID: "s", Kind: "status", From: g12, StatusCode: "01", ResponseForOrgan: h29,
		ResponseForDocument: "x", AcceptedAt: t0, Endpoints: []string{h29}}))
	// Acknowledged letters stay listed; H29 handles b (03).
	must(t, s.Acked(h29, "a", "done", t0.Add(3*time.Hour)))
	answer(t, s, "b03", b.DocumentID, h29, edxml.StatusAccepted, t0.Add(4*time.Hour))
	answer(t, s, "c01", c.DocumentID, h29, edxml.StatusArrived, t0.Add(4*time.Hour))

	five := 2
	tests := []struct {
		name string
		give track.MailQuery
		want []string
	}{
		{"all, newest first", track.MailQuery{}, []string{"c", "b", "a"}},
		{"oldest first", track.MailQuery{Oldest: true}, []string{"a", "b", "c"}},
		{"pending (01 is not handling)", track.MailQuery{View: track.ViewPending}, []string{"c", "a"}},
		{"handled", track.MailQuery{View: track.ViewHandled}, []string{"b"}},
		{"subject without diacritics", track.MailQuery{Text: "QUYET DINH"}, []string{"a"}},
		{"subject with diacritics", track.MailQuery{Text: "rà soát"}, []string{"b"}},
		{"số, ký hiệu", track.MailQuery{Code: "bc-vpcp"}, []string{"c"}},
		{"urgency", track.MailQuery{Priority: &five}, []string{"b"}},
		{"sender", track.MailQuery{Party: g12}, []string{}},
		{"DocumentId", track.MailQuery{DocumentID: b.DocumentID}, []string{"b"}},
		{"DocumentId from its sender", track.MailQuery{DocumentID: b.DocumentID, Party: g22}, []string{"b"}},
		{"DocumentId from another", track.MailQuery{DocumentID: b.DocumentID, Party: g12}, []string{}},
		{"date range", track.MailQuery{Since: t0.Add(time.Hour), Until: t0.Add(2 * time.Hour)}, []string{"b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, next, err := s.Received(h29, mineOf(h29), tt.give)
			must(t, err)
			if !slices.Equal(ids(got), tt.want) || next != "" {
				t.Errorf("got %v next %q, want %v", ids(got), next, tt.want)
			}
		})
	}
	// H29 sees its own part only, and G12's list is its own.
	got, _, err := s.Received(h29, mineOf(h29), track.MailQuery{Text: "rà soát"})
	must(t, err)
	if len(got[0].Parts) != 1 || got[0].Parts[0].OrganID != h29 || got[0].Parts[0].State != "03" || !got[0].Handled {
		t.Errorf("b for H29: %+v", got[0])
	}
	// A letter routed to H29 only is not G12's, found by its DocumentId or not.
	d := letter("d", "Chỉ gửi H29", "9/VPCP", 0, t0.Add(5*time.Hour))
	d.Endpoints = []string{h29}
	must(t, s.Accepted(d))
	got, _, err = s.Received(g12, mineOf(g12), track.MailQuery{Party: g22, DocumentID: d.DocumentID})
	must(t, err)
	if len(got) != 0 {
		t.Errorf("G12 finds H29's letter by its DocumentId: %v", ids(got))
	}
	got, _, err = s.Received(g12, mineOf(g12), track.MailQuery{View: track.ViewPending, Until: d.AcceptedAt})
	must(t, err)
	if !slices.Equal(ids(got), []string{"c", "b", "a"}) {
		t.Errorf("G12 pending: %v", ids(got))
	}
}

func TestLettersPaginate(t *testing.T) {
	s := open(t)
	var want []string
	for i := range 7 {
		p := letter(string(rune('a'+i)), "V/v", "", 0, t0.Add(time.Duration(i)*time.Minute))
		must(t, s.Accepted(p))
		want = append([]string{p.ID}, want...)
	}
	for _, oldest := range []bool{false, true} {
		var got []string
		cursor, pages := "", 0
		for {
			ls, next, err := s.Received(h29, mineOf(h29), track.MailQuery{Limit: 3, Cursor: cursor, Oldest: oldest})
			must(t, err)
			got, pages = append(got, ids(ls)...), pages+1
			if next == "" {
				break
			}
			cursor = next
		}
		w := slices.Clone(want)
		if oldest {
			slices.Reverse(w)
		}
		if !slices.Equal(got, w) || pages != 3 {
			t.Errorf("oldest=%v: %v in %d pages, want %v in 3", oldest, got, pages, w)
		}
	}
	if _, _, err := s.Received(h29, mineOf(h29), track.MailQuery{Cursor: "zz"}); !errors.Is(err, track.ErrBadCursor) {
		t.Errorf("bad cursor: %v", err)
	}
	// A cursor of another inbox is not this one's.
	_, next, err := s.Received(g12, mineOf(g12), track.MailQuery{Limit: 1})
	must(t, err)
	if _, _, err := s.Received(h29, mineOf(h29), track.MailQuery{Cursor: next}); !errors.Is(err, track.ErrBadCursor) {
		t.Errorf("G12's cursor at H29: %v", err)
	}
}

func TestOutgoingHandled(t *testing.T) {
	s := open(t)
	a := letter("a", "V/v một", "1/VPCP", 0, t0)
	b := letter("b", "V/v hai", "2/VPCP", 0, t0.Add(time.Minute))
	must(t, s.Accepted(a))
	must(t, s.Accepted(b))
	must(t, s.Accepted(status("s", g22, "01", t0))) // G22's own statuses are not outgoing documents
	c := letter("c", "V/v ba", "3/VPCP", 0, t0.Add(2*time.Minute))
	must(t, s.Accepted(c))
	// c: H29 completed; G12 is asked to give it back (13) and has not
	// answered: the sender still waits.
	answer(t, s, "c06", c.DocumentID, h29, edxml.StatusCompleted, t0.Add(time.Hour))
	must(t, s.Accepted(track.Packet{ID: "c13", Kind: "status", From: g22, StatusCode: edxml.StatusTakeBack, ResponseForOrgan: g12,
		ResponseForDocument: c.DocumentID, AcceptedAt: t0.Add(time.Hour)}))
	// a: H29 completed, G12 refused; b: H29 completed only.
	answer(t, s, "a06", a.DocumentID, h29, edxml.StatusCompleted, t0.Add(time.Hour))
	answer(t, s, "a02", a.DocumentID, g12, edxml.StatusRejected, t0.Add(time.Hour))
	answer(t, s, "b06", b.DocumentID, h29, edxml.StatusCompleted, t0.Add(time.Hour))
	for _, tt := range []struct {
		give track.MailQuery
		want []string
	}{
		{track.MailQuery{}, []string{"c", "b", "a"}},
		{track.MailQuery{View: track.ViewHandled}, []string{"a"}},
		{track.MailQuery{View: track.ViewPending}, []string{"c", "b"}},
		{track.MailQuery{Party: g12, View: track.ViewPending}, []string{"c", "b"}},
		{track.MailQuery{DocumentID: a.DocumentID}, []string{"a"}},
		{track.MailQuery{DocumentID: a.DocumentID, View: track.ViewPending}, []string{}},
	} {
		got, _, err := s.Outgoing(g22, tt.give)
		must(t, err)
		if !slices.Equal(ids(got), tt.want) {
			t.Errorf("%+v: got %v, want %v", tt.give, ids(got), tt.want)
		}
	}
}

// A view made before the received index gets it when opened.
func TestReceivedBackfilled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "view.db")
	s, err := track.Open(path)
	must(t, err)
	must(t, s.Accepted(letter("a", "V/v", "", 0, t0)))
	must(t, s.Close())
	db, err := bolt.Open(path, 0o600, nil)
	must(t, err)
	must(t, db.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket([]byte("received")); err != nil {
			return err
		}
		if _, err := tx.CreateBucket([]byte("received")); err != nil {
			return err
		}
		return tx.Bucket([]byte("meta")).Delete([]byte("received v1"))
	}))
	must(t, db.Close())
	s, err = track.Open(path)
	must(t, err)
	defer s.Close()
	got, _, err := s.Received(h29, mineOf(h29), track.MailQuery{})
	must(t, err)
	if !slices.Equal(ids(got), []string{"a"}) {
		t.Errorf("after backfill: %v", ids(got))
	}
}
