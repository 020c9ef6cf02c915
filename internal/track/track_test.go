package track_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/edxml"
	"github.com/lienthong/lienthong/internal/route"
	"github.com/lienthong/lienthong/internal/track"
)

var t0 = time.Date(2025, 11, 20, 9, 15, 0, 0, time.UTC)

func open(t *testing.T) *track.Store {
	t.Helper()
	s, err := track.Open(filepath.Join(t.TempDir(), "view.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

const doc = "000.00.00.G22,2025/11/20,1234/VPCP-KSTT"

func edoc(id string, at time.Time) track.Packet {
	return track.Packet{ID: id, Kind: "edoc", From: "000.00.00.G22", To: []string{"000.00.00.H29", "000.00.00.G12"},
		DocumentID: doc, Subject: "V/v", AcceptedAt: at}
}

func status(id, from string, code edxml.StatusCode, at time.Time) track.Packet {
	rf := "000.00.00.G22"
	if code == "13" {
		rf = "000.00.00.H29"
	}
	return track.Packet{ID: id, Kind: "status", From: from, StatusCode: code, ResponseForOrgan: rf, ResponseForDocument: doc, AcceptedAt: at}
}

func item(id, endpoint, kind string, at time.Time) track.Item {
	return track.Item{ID: id, Endpoint: endpoint, Organs: []string{endpoint}, Kind: kind, From: "000.00.00.G22", AcceptedAt: at}
}

func TestInboxLifecycle(t *testing.T) {
	s := open(t)
	must(t, s.Accepted(edoc("p1", t0)))
	must(t, s.Accepted(edoc("p1", t0))) // replayed
	must(t, s.Routed("p1", route.Delivery{Endpoint: "000.00.00.H29", Organs: []string{"000.00.00.H29"}}, t0.Add(time.Second)))
	for range 2 { // replayed delivery stays one item
		must(t, s.Delivered(item("p1", "000.00.00.H29", "edoc", t0), t0.Add(2*time.Second)))
	}
	must(t, s.Delivered(item("p2", "000.00.00.H29", "status", t0.Add(time.Minute)), t0.Add(time.Minute)))
	must(t, s.Delivered(item("p3", "000.00.00.H29", "edoc", t0.Add(2*time.Minute)), t0.Add(2*time.Minute)))

	items, next, err := s.Inbox("000.00.00.H29", "", 2, "")
	must(t, err)
	if len(items) != 2 || items[0].ID != "p1" || items[1].ID != "p2" || next == "" {
		t.Fatalf("page 1: %+v next %q", items, next)
	}
	items, next, err = s.Inbox("000.00.00.H29", "", 2, next)
	must(t, err)
	if len(items) != 1 || items[0].ID != "p3" || next != "" {
		t.Fatalf("page 2: %+v next %q", items, next)
	}
	items, _, err = s.Inbox("000.00.00.H29", "edoc", 10, "")
	must(t, err)
	if ids := []string{items[0].ID, items[1].ID}; len(items) != 2 || !slices.Equal(ids, []string{"p1", "p3"}) {
		t.Fatalf("edoc only: %+v", items)
	}
	if items, _, _ := s.Inbox("000.00.00.G12", "", 10, ""); len(items) != 0 {
		t.Errorf("another endpoint sees %+v", items)
	}

	must(t, s.Fetched("000.00.00.H29", "p1", t0.Add(3*time.Second)))
	if s.Done("000.00.00.H29", "p1") {
		t.Error("a fetched item is done before it is acknowledged")
	}
	must(t, s.Acked("000.00.00.H29", "p1", "done", t0.Add(4*time.Second)))
	if !s.Done("000.00.00.H29", "p1") || s.Done("000.00.00.G12", "p1") {
		t.Error("Done does not follow the acknowledgement of its endpoint")
	}
	must(t, s.Acked("000.00.00.H29", "p1", "done", t0.Add(5*time.Second))) // twice is fine
	must(t, s.Delivered(item("p1", "000.00.00.H29", "edoc", t0), t0.Add(6*time.Second)))
	if _, err := s.Item("000.00.00.H29", "p1"); !errors.Is(err, track.ErrNotFound) {
		t.Errorf("acked item still pending after a replayed delivery: %v", err)
	}
	n, oldest, err := s.Pending("000.00.00.H29")
	must(t, err)
	if n != 2 || !oldest.Equal(t0.Add(time.Minute)) {
		t.Errorf("pending %d oldest %v", n, oldest)
	}

	tl, err := s.Timeline("p1")
	must(t, err)
	var types []string
	for _, e := range tl.Recipients[0].Events {
		types = append(types, e.Type)
	}
	if want := []string{"accepted", "routed", "delivered", "fetched", "acked"}; !slices.Equal(types, want) || tl.Recipients[0].State != "acked:done" {
		t.Errorf("H29 timeline %v state %q, want %v", types, tl.Recipients[0].State, want)
	}
	if tl.Recipients[1].State != "accepted" {
		t.Errorf("G12 state %q", tl.Recipients[1].State)
	}
}

func TestStatusesOnTimeline(t *testing.T) {
	s := open(t)
	must(t, s.Accepted(edoc("p1", t0)))
	steps := []struct {
		give  track.Packet
		organ string
		code  string
		flags []string
	}{
		{status("s1", "000.00.00.H29", "01", t0.Add(time.Minute)), "000.00.00.H29", "01", []string{}},
		{status("s2", "000.00.00.H29", "05", t0.Add(2*time.Minute)), "000.00.00.H29", "05", []string{}},
		{status("s3", "000.00.00.H29", "03", t0.Add(3*time.Minute)), "000.00.00.H29", "03", []string{track.FlagOutOfOrder}},
		{status("s4", "000.00.12.H29", "06", t0.Add(4*time.Minute)), "000.00.00.H29", "06", []string{}},
		{status("s5", "000.00.00.G12", "02", t0.Add(5*time.Minute)), "000.00.00.G12", "02", []string{}},
		{status("s6", "000.00.00.G12", "03", t0.Add(6*time.Minute)), "000.00.00.G12", "03", []string{track.FlagOutOfOrder}},
		{status("s7", "000.00.00.G22", "13", t0.Add(7*time.Minute)), "000.00.00.H29", "13", []string{}},
	}
	for _, st := range steps {
		must(t, s.Accepted(st.give))
		tl, err := s.Timeline("p1")
		must(t, err)
		i := slices.IndexFunc(tl.Recipients, func(r track.Recipient) bool { return r.OrganID == st.organ })
		r := tl.Recipients[i]
		last := r.Events[len(r.Events)-1]
		if last.Type != "status" || last.Code != edxml.StatusCode(st.code) || last.Packet != st.give.ID || !reflect.DeepEqual(last.Flags, st.flags) || r.State != st.code {
			t.Errorf("%s: last event %+v state %q", st.give.ID, last, r.State)
		}
	}
	tl, _ := s.Timeline("p1")
	if got := len(tl.Recipients[1].Events); got != 3 { // accepted, 02, 03: the 13 named H29 only
		t.Errorf("G12 has %d events", got)
	}
}

func TestDocument(t *testing.T) {
	s := open(t)
	if d, err := s.Document("000.00.00.G22", doc); err != nil || d != nil {
		t.Fatalf("unknown document: %+v %v", d, err)
	}
	first := edoc("p1", t0)
	first.Endpoints = []string{"000.00.00.H29", "000.00.00.G12"}
	must(t, s.Accepted(first))
	upd := edoc("p2", t0.Add(time.Hour))
	upd.To = append(upd.To, "000.00.12.H29")
	upd.Endpoints = []string{"000.00.00.G12", "000.00.00.H29"} // the unit reads through its parent's inbox
	must(t, s.Accepted(upd))
	d, err := s.Document("000.00.00.G22", doc)
	must(t, err)
	want := &route.Document{From: "000.00.00.G22", Recipients: []string{"000.00.00.H29", "000.00.00.G12", "000.00.12.H29"},
		Endpoints: []string{"000.00.00.H29", "000.00.00.G12"}}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("document %+v", d)
	}
	if d, _ := s.Document("000.00.00.H29", doc); d != nil {
		t.Errorf("another sender's document of the same id: %+v", d)
	}
}

func TestPersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "view.db")
	s, err := track.Open(path)
	must(t, err)
	must(t, s.Accepted(edoc("p1", t0)))
	must(t, s.Delivered(item("p1", "000.00.00.H29", "edoc", t0), t0))
	must(t, s.Close())
	s, err = track.Open(path)
	must(t, err)
	defer s.Close()
	if _, err := s.Item("000.00.00.H29", "p1"); err != nil {
		t.Error(err)
	}
	if _, err := s.Packet("p1"); err != nil {
		t.Error(err)
	}
	if _, _, err := s.Inbox("000.00.00.H29", "", 1, "zz"); err == nil {
		t.Error("a bad cursor was accepted")
	}
}

// Topics are consumed concurrently: a delivery seen before its accepted
// event still lands on the timeline, in time order.
func TestDeliveredBeforeAccepted(t *testing.T) {
	s := open(t)
	must(t, s.Delivered(item("p1", "000.00.00.H29", "edoc", t0), t0.Add(2*time.Second)))
	must(t, s.Accepted(edoc("p1", t0)))
	must(t, s.Routed("p1", route.Delivery{Endpoint: "000.00.00.H29", Organs: []string{"000.00.00.H29"}}, t0.Add(time.Second)))
	tl, err := s.Timeline("p1")
	must(t, err)
	var types []string
	for _, e := range tl.Recipients[0].Events {
		types = append(types, e.Type)
	}
	if want := []string{"accepted", "routed", "delivered"}; !slices.Equal(types, want) || tl.Recipients[0].State != "delivered" {
		t.Errorf("timeline %v state %q, want %v", types, tl.Recipients[0].State, want)
	}
}

func TestSent(t *testing.T) {
	s := open(t)
	for i, id := range []string{"a", "b", "c"} {
		must(t, s.Accepted(edoc(id, t0.Add(time.Duration(i)*time.Hour))))
	}
	other := edoc("d", t0)
	other.From = "000.00.00.G12"
	must(t, s.Accepted(other))
	tests := []struct {
		name         string
		since, until time.Time
		want         []string
	}{
		{"all", time.Time{}, time.Time{}, []string{"a", "b", "c"}},
		{"since", t0.Add(time.Hour), time.Time{}, []string{"b", "c"}},
		{"until", time.Time{}, t0.Add(time.Hour), []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Sent("000.00.00.G22", tt.since, tt.until, 0)
			must(t, err)
			var ids []string
			for _, p := range got {
				ids = append(ids, p.ID)
			}
			if !slices.Equal(ids, tt.want) {
				t.Errorf("sent %v, want %v", ids, tt.want)
			}
		})
	}
}

// Urgent packets come first in an inbox, whatever bulk traffic is ahead.
func TestInboxPriority(t *testing.T) {
	s := open(t)
	for i, pr := range []int{0, 0, 3, 1, 0, 3} {
		it := item(fmt.Sprintf("p%d", i), "000.00.00.H29", "edoc", t0.Add(time.Duration(i)*time.Minute))
		it.Priority = pr
		must(t, s.Delivered(it, it.AcceptedAt))
	}
	items, _, err := s.Inbox("000.00.00.H29", "", 10, "")
	must(t, err)
	var ids []string
	for _, it := range items {
		ids = append(ids, it.ID)
	}
	if want := []string{"p2", "p5", "p3", "p0", "p1", "p4"}; !slices.Equal(ids, want) {
		t.Errorf("order %v, want %v", ids, want)
	}
	n, oldest, err := s.Pending("000.00.00.H29")
	must(t, err)
	if n != 6 || !oldest.Equal(t0) {
		t.Errorf("pending %d oldest %v", n, oldest)
	}
}

// A revoke, an update and a replacement show on the timelines of the
// documents they change, for the recipients they go to.
func TestChanges(t *testing.T) {
	s := open(t)
	must(t, s.Accepted(edoc("orig", t0)))
	upd := edoc("upd", t0.Add(time.Hour))
	upd.BusinessType, upd.To = "2", []string{"000.00.00.H29"}
	must(t, s.Accepted(upd))
	rev := edoc("rev", t0.Add(2*time.Hour))
	rev.BusinessType, rev.To = "1", []string{"000.00.00.G12"}
	must(t, s.Accepted(rev))
	other := edoc("new", t0.Add(3*time.Hour))
	other.DocumentID, other.BusinessType, other.Replaces = "another", "3", []string{doc}
	must(t, s.Accepted(other))

	tl, err := s.Timeline("orig")
	must(t, err)
	got := map[string][]string{}
	states := map[string]string{}
	for _, r := range tl.Recipients {
		for _, e := range r.Events {
			got[r.OrganID] = append(got[r.OrganID], e.Type+":"+e.Packet)
		}
		states[r.OrganID] = r.State
	}
	want := map[string][]string{
		"000.00.00.H29": {"accepted:", "updated:upd", "replaced:new"},
		"000.00.00.G12": {"accepted:", "revoked:rev", "replaced:new"},
	}
	if !reflect.DeepEqual(got, want) || states["000.00.00.H29"] != "replaced" || states["000.00.00.G12"] != "replaced" {
		t.Errorf("events %v states %v", got, states)
	}
}

// A status after a revocation is recorded but does not reopen the copy.
func TestStatusAfterRevoke(t *testing.T) {
	s := open(t)
	must(t, s.Accepted(edoc("orig", t0)))
	rev := edoc("rev", t0.Add(time.Hour))
	rev.BusinessType, rev.To = "1", []string{"000.00.00.H29"}
	must(t, s.Accepted(rev))
	must(t, s.Accepted(status("s1", "000.00.00.H29", "01", t0.Add(2*time.Hour))))
	must(t, s.Accepted(status("s2", "000.00.00.G12", "03", t0.Add(2*time.Hour))))
	tl, err := s.Timeline("orig")
	must(t, err)
	for _, r := range tl.Recipients {
		last := r.Events[len(r.Events)-1]
		switch r.OrganID {
		case "000.00.00.H29":
			if r.State != track.EventRevoked || last.Code != "01" {
				t.Errorf("H29: state %q, last event %+v", r.State, last)
			}
		case "000.00.00.G12":
			if r.State != "03" {
				t.Errorf("G12: state %q, want 03", r.State)
			}
		}
	}
}

func TestOverdue(t *testing.T) {
	parse := func(s string) (time.Time, error) { return time.Parse("2006/01/02", s) }
	tl := track.Timeline{DueDate: "2025/12/05", Recipients: []track.Recipient{{OrganID: "a", State: "03"}, {OrganID: "b", State: "06"}, {OrganID: "c", State: "revoked"}}}
	before := tl
	before.Recipients = slices.Clone(tl.Recipients)
	before.MarkOverdue(time.Date(2025, 12, 5, 23, 0, 0, 0, time.UTC), parse)
	if before.Recipients[0].Overdue {
		t.Error("overdue on its due date")
	}
	tl.MarkOverdue(time.Date(2025, 12, 6, 1, 0, 0, 0, time.UTC), parse)
	if !tl.Recipients[0].Overdue || tl.Recipients[1].Overdue || tl.Recipients[2].Overdue {
		t.Errorf("overdue %v %v %v", tl.Recipients[0].Overdue, tl.Recipients[1].Overdue, tl.Recipients[2].Overdue)
	}
}

func TestForwarded(t *testing.T) {
	s := open(t)
	must(t, s.Accepted(edoc("p1", t0)))
	must(t, s.Delivered(item("p1", "000.00.00.H29", "edoc", t0), t0.Add(time.Second)))
	must(t, s.Forwarded("000.00.00.H29", "p1", "hcm", t0.Add(2*time.Second)))
	if _, err := s.Item("000.00.00.H29", "p1"); !errors.Is(err, track.ErrNotFound) {
		t.Errorf("a forwarded item is still pending: %v", err)
	}
	tl, err := s.Timeline("p1")
	must(t, err)
	last := tl.Recipients[0].Events[len(tl.Recipients[0].Events)-1]
	if last.Type != track.EventForwarded || last.Result != "hcm" || tl.Recipients[0].State != "forwarded:hcm" {
		t.Errorf("last event %+v state %q", last, tl.Recipients[0].State)
	}
}

// AcceptedRouted records the packet and its routing in one go, as
// Accepted then Routed would, and again changes nothing.
func TestAcceptedRouted(t *testing.T) {
	s := open(t)
	p := edoc("a", t0)
	ds := []route.Delivery{{Endpoint: "000.00.00.H29", Organs: []string{"000.00.00.H29"}}, {Endpoint: "000.00.00.G12", Organs: []string{"000.00.00.G12"}}}
	for range 2 {
		must(t, s.AcceptedRouted(p, ds, t0.Add(time.Second)))
	}
	tl, err := s.Timeline("a")
	must(t, err)
	for _, r := range tl.Recipients {
		var types []string
		for _, e := range r.Events {
			types = append(types, e.Type)
		}
		// The second call repeats the routed event, as a replayed
		// Routed would; the packet itself is recorded once.
		if len(types) < 2 || types[0] != track.EventAccepted || types[1] != track.EventRouted {
			t.Errorf("%s: events %v", r.OrganID, types)
		}
	}
	if got, _ := s.Sent("000.00.00.G22", time.Time{}, time.Time{}, 0); len(got) != 1 {
		t.Errorf("sent %d, want 1", len(got))
	}
}

// The view's errors a caller tells apart are its sentinels; a view that
// fails (here: its file closed) answers with neither, so the hub does not
// take its failure for the request's fault.
func TestSentinels(t *testing.T) {
	s, err := track.Open(filepath.Join(t.TempDir(), "view.db"))
	must(t, err)
	const h29 = "000.00.00.H29"
	must(t, s.Accepted(edoc("p1", t0)))
	for _, id := range []string{"p1", "p2"} {
		must(t, s.Delivered(item(id, h29, "edoc", t0), t0))
	}
	_, cursor, err := s.Inbox(h29, "", 1, "")
	must(t, err)
	if cursor == "" {
		t.Fatal("no cursor after a first page of one")
	}
	_, other, err := s.Inbox(h29, "", 1, "")
	must(t, err)
	tests := []struct {
		name    string
		give    func() error
		wantErr error
	}{
		{"a cursor that is not hex", func() error { _, _, err := s.Inbox(h29, "", 1, "zz"); return err }, track.ErrBadCursor},
		{"another endpoint's cursor", func() error { _, _, err := s.Inbox("000.00.00.G12", "", 1, other); return err }, track.ErrBadCursor},
		{"an unknown packet", func() error { _, err := s.Packet("p9"); return err }, track.ErrNotFound},
		{"an unknown timeline", func() error { _, err := s.Timeline("p9"); return err }, track.ErrNotFound},
		{"an item not pending", func() error { _, err := s.Item("000.00.00.G12", "p1"); return err }, track.ErrNotFound},
	}
	for _, tt := range tests {
		if err := tt.give(); !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.wantErr)
		}
	}

	must(t, s.Close())
	closed := []struct {
		name string
		give func() error
	}{
		{"the inbox with a good cursor", func() error { _, _, err := s.Inbox(h29, "", 1, cursor); return err }},
		{"the inbox", func() error { _, _, err := s.Inbox(h29, "", 1, ""); return err }},
		{"a packet", func() error { _, err := s.Packet("p1"); return err }},
		{"a timeline", func() error { _, err := s.Timeline("p1"); return err }},
		{"an item", func() error { _, err := s.Item(h29, "p1"); return err }},
	}
	for _, tt := range closed {
		err := tt.give()
		if err == nil || errors.Is(err, track.ErrBadCursor) || errors.Is(err, track.ErrNotFound) {
			t.Errorf("%s, the view closed: %v, want its failure", tt.name, err)
		}
	}
}

// An item keeps the inbox message's kind fields through the view's store,
// and one decoded from an older message (without them) lists with them
// empty.
func TestInboxItemFields(t *testing.T) {
	tests := []struct {
		name string
		give string // the inbox message
		want track.Item
	}{
		{"status", `{"v":1,"id":"p1","endpoint":"000.00.00.G22","organs":["000.00.00.G22"],"kind":"status","from":"000.00.00.H29",` +
			`"documentId":"d","acceptedAt":"2025-11-20T09:15:00Z","statusCode":"01","statusName":"Đã đến"}`,
			track.Item{V: 1, ID: "p1", Endpoint: "000.00.00.G22", Organs: []string{"000.00.00.G22"}, Kind: "status", From: "000.00.00.H29",
				DocumentID: "d", AcceptedAt: t0, StatusCode: "01", StatusName: "Đã đến"}},
		{"edoc", `{"v":1,"id":"p1","endpoint":"000.00.00.G22","organs":["000.00.00.G22"],"kind":"edoc","from":"000.00.00.H29",` +
			`"documentId":"d","acceptedAt":"2025-11-20T09:15:00Z","businessType":"2"}`,
			track.Item{V: 1, ID: "p1", Endpoint: "000.00.00.G22", Organs: []string{"000.00.00.G22"}, Kind: "edoc", From: "000.00.00.H29",
				DocumentID: "d", AcceptedAt: t0, BusinessType: "2"}},
		{"older hub", `{"id":"p1","endpoint":"000.00.00.G22","organs":["000.00.00.G22"],"kind":"status","from":"000.00.00.H29",` +
			`"documentId":"d","acceptedAt":"2025-11-20T09:15:00Z"}`,
			track.Item{ID: "p1", Endpoint: "000.00.00.G22", Organs: []string{"000.00.00.G22"}, Kind: "status", From: "000.00.00.H29",
				DocumentID: "d", AcceptedAt: t0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			var it track.Item
			must(t, json.Unmarshal([]byte(tt.give), &it))
			must(t, s.Delivered(it, t0))
			items, _, err := s.Inbox("000.00.00.G22", "", 10, "")
			must(t, err)
			if len(items) != 1 || !reflect.DeepEqual(items[0], tt.want) {
				t.Errorf("inbox %+v, want %+v", items, tt.want)
			}
		})
	}
}
