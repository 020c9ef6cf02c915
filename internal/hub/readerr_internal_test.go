package hub

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/lienthong/lienthong/internal/blob"
	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/organ"
	"github.com/lienthong/lienthong/internal/track"
)

const (
	g22 = "000.00.00.G22"
	h29 = "000.00.00.H29"
	g12 = "000.00.00.G12"
)

var (
	edocID   = strings.Repeat("a1", 32)
	edocID2  = strings.Repeat("b2", 32)
	statusID = strings.Repeat("c3", 32)
	t0       = time.Date(2025, 11, 20, 9, 15, 0, 0, time.UTC)
)

// readHub is a hub with a real view and a real store holding an edoc from
// G22, pending in H29's inbox with a second one, and a status from H29;
// broken breaks the view before the hub is made.
func readHub(t *testing.T, broken func(t *testing.T, path string, v *track.Store) *track.Store) *Hub {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "view.db")
	v, err := track.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{edocID, edocID2} {
		p := track.Packet{ID: id, Kind: "edoc", From: g22, To: []string{h29}, Endpoints: []string{h29}, DocumentID: "doc-" + id, AcceptedAt: t0}
		must(t, v.Accepted(p))
		must(t, v.Delivered(track.Item{ID: id, Endpoint: h29, Organs: []string{h29}, Kind: "edoc", From: g22, AcceptedAt: t0}, t0))
	}
	must(t, v.Accepted(track.Packet{ID: statusID, Kind: "status", From: h29, Endpoints: []string{g22}, StatusCode: "01",
		ResponseForOrgan: g22, ResponseForDocument: "doc-" + edocID, AcceptedAt: t0}))
	if broken != nil {
		v = broken(t, path, v)
	}
	t.Cleanup(func() { _ = v.Close() })
	store, err := blob.NewFS(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	raw := []byte("<packet/>")
	if _, err := store.Create(context.Background(), blob.PacketKey(edocID), bytes.NewReader(raw), int64(len(raw)), blob.Meta{}); err != nil {
		t.Fatal(err)
	}
	d, err := organ.NewDirectory([]organ.Agency{{ID: g22, Name: "G22"}, {ID: h29, Name: "H29"}, {ID: g12, Name: "G12"}})
	if err != nil {
		t.Fatal(err)
	}
	return &Hub{o: Options{OrganID: "000.00.00.G01", Directory: d, Store: store, View: v, Topics: Topics{Prefix: "t."},
		Log: slog.New(slog.DiscardHandler), Now: time.Now}, outboxWake: make(chan struct{}, 1)}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// closedView is a view whose file is closed: every read and write fails.
func closedView(t *testing.T, _ string, v *track.Store) *track.Store {
	t.Helper()
	must(t, v.Close())
	return v
}

// corrupt returns a breaker that overwrites every record of a bucket of
// the view file with bytes that are not JSON, as a damaged disk would.
func corrupt(bucket string) func(t *testing.T, path string, v *track.Store) *track.Store {
	return func(t *testing.T, path string, v *track.Store) *track.Store {
		t.Helper()
		must(t, v.Close())
		db, err := bolt.Open(path, 0o600, nil)
		must(t, err)
		must(t, db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket([]byte(bucket))
			var keys [][]byte
			must(t, b.ForEach(func(k, _ []byte) error { keys = append(keys, bytes.Clone(k)); return nil }))
			if len(keys) == 0 {
				t.Fatalf("nothing to corrupt in %s", bucket)
			}
			for _, k := range keys {
				if err := b.Put(k, []byte("\x00garbage")); err != nil {
					return err
				}
			}
			return nil
		}))
		must(t, db.Close())
		v, err = track.Open(path)
		must(t, err)
		return v
	}
}

// A request's fault is a 4xx with its code; the view failing (a closed
// file, a record it cannot read) is 503 hub.unavailable, never taken for
// a bad cursor or an unknown packet.
func TestReadPathErrors(t *testing.T) {
	var cursor string
	{
		_, next, err := readHub(t, nil).Inbox(h29, "", 1, "")
		must(t, err)
		if next == "" {
			t.Fatal("no cursor after a first page of one")
		}
		cursor = next // the same keys in every view made by readHub
	}
	fetch := func(h *Hub, caller, id string) error {
		rc, _, err := h.Fetch(context.Background(), caller, id)
		if err == nil {
			_ = rc.Close()
		}
		return err
	}
	tests := []struct {
		name       string
		broken     func(t *testing.T, path string, v *track.Store) *track.Store
		give       func(h *Hub) error
		wantStatus int // 0: no error
		wantCode   string
		wantErr    error
	}{
		{name: "inbox, a cursor that is not hex", give: func(h *Hub) error { _, _, err := h.Inbox(h29, "", 1, "zz"); return err },
			wantStatus: 400, wantCode: "request.bad_cursor", wantErr: track.ErrBadCursor},
		{name: "inbox, another inbox's cursor", give: func(h *Hub) error { _, _, err := h.Inbox(g12, "", 1, cursor); return err },
			wantStatus: 400, wantCode: "request.bad_cursor", wantErr: track.ErrBadCursor},
		{name: "inbox, a good cursor", give: func(h *Hub) error { _, _, err := h.Inbox(h29, "", 1, cursor); return err }},
		{name: "inbox, a good cursor, the view closed", broken: closedView,
			give:       func(h *Hub) error { _, _, err := h.Inbox(h29, "", 1, cursor); return err },
			wantStatus: 503, wantCode: "hub.unavailable"},
		{name: "inbox, the view closed", broken: closedView,
			give:       func(h *Hub) error { _, _, err := h.Inbox(h29, "", 1, ""); return err },
			wantStatus: 503, wantCode: "hub.unavailable"},
		{name: "inbox, an item unreadable", broken: corrupt("inbox"),
			give:       func(h *Hub) error { _, _, err := h.Inbox(h29, "", 1, ""); return err },
			wantStatus: 503, wantCode: "hub.unavailable"},
		{name: "timeline", give: func(h *Hub) error { _, err := h.Timeline(h29, edocID); return err }},
		{name: "timeline, an unknown id", give: func(h *Hub) error { _, err := h.Timeline(h29, strings.Repeat("dd", 32)); return err },
			wantStatus: 404, wantCode: "packet.not_found"},
		{name: "timeline, a status packet (it has none)", give: func(h *Hub) error { _, err := h.Timeline(h29, statusID); return err },
			wantStatus: 404, wantCode: "packet.not_found"},
		{name: "timeline, a non-party", give: func(h *Hub) error { _, err := h.Timeline(g12, edocID); return err },
			wantStatus: 404, wantCode: "packet.not_found", wantErr: ErrNotParty},
		{name: "timeline, unreadable", broken: corrupt("timelines"),
			give:       func(h *Hub) error { _, err := h.Timeline(h29, edocID); return err },
			wantStatus: 503, wantCode: "hub.unavailable"},
		{name: "timeline, the view closed", broken: closedView,
			give:       func(h *Hub) error { _, err := h.Timeline(h29, edocID); return err },
			wantStatus: 503, wantCode: "hub.unavailable"},
		{name: "ack, not pending", give: func(h *Hub) error { return h.Ack(context.Background(), g22, edocID, "done", "") },
			wantStatus: 404, wantCode: "packet.not_found"},
		{name: "ack, a non-party", give: func(h *Hub) error { return h.Ack(context.Background(), g12, edocID, "done", "") },
			wantStatus: 404, wantCode: "packet.not_found", wantErr: ErrNotParty},
		{name: "ack, the pending item unreadable", broken: corrupt("inbox"),
			give:       func(h *Hub) error { return h.Ack(context.Background(), h29, edocID, "done", "") },
			wantStatus: 503, wantCode: "hub.unavailable"},
		{name: "fetch", give: func(h *Hub) error { return fetch(h, h29, edocID) }},
		{name: "fetch, the fetch cannot be recorded", broken: corrupt("inbox"),
			give: func(h *Hub) error { return fetch(h, h29, edocID) }, wantStatus: 503, wantCode: "hub.unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.give(readHub(t, tt.broken))
			if tt.wantStatus == 0 {
				if err != nil {
					t.Fatalf("%v, want none", err)
				}
				return
			}
			var he *Error
			if !errors.As(err, &he) || he.Status != tt.wantStatus || he.Code != tt.wantCode {
				t.Fatalf("%#v, want %d %s", err, tt.wantStatus, tt.wantCode)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("%v does not wrap %v", err, tt.wantErr)
			}
			if he.Status >= 500 && he.Err == nil {
				t.Error("a 503 without its cause, which the API logs")
			}
		})
	}
}

// A fetch is recorded with its event in the view's outbox; while the
// broker refuses, the drainer logs and keeps the event, and produces it
// once the broker takes it.
func TestOutboxKeepsWhatTheBrokerRefused(t *testing.T) {
	h := readHub(t, nil)
	var logs bytes.Buffer
	h.o.Log = slog.New(slog.NewTextHandler(&logs, nil))
	pub := &recorder{err: errors.New("broker away")}
	h.o.Publisher, h.o.BrokerWait = pub, time.Second
	rc, _, err := h.Fetch(context.Background(), h29, edocID)
	must(t, err)
	_ = rc.Close()
	if wait := h.drainOnce(context.Background()); wait == 0 {
		t.Error("the drainer gave up on a refused event")
	}
	if !strings.Contains(logs.String(), "broker away") {
		t.Errorf("the broker's refusal was not logged: %q", logs.String())
	}
	if out, err := h.o.View.Outbox(10); err != nil || len(out) != 1 {
		t.Fatalf("outbox after a refusal: %+v %v", out, err)
	}
	pub.err = nil
	if wait := h.drainOnce(context.Background()); wait != 0 {
		t.Errorf("the drainer waits %v with the broker back", wait)
	}
	if len(pub.msgs) != 1 || !bytes.Contains(pub.msgs[0].Value, []byte(`"fetched"`)) {
		t.Errorf("produced %+v", pub.msgs)
	}
	if out, err := h.o.View.Outbox(10); err != nil || len(out) != 0 {
		t.Errorf("outbox after the broker took it: %+v %v", out, err)
	}
}

// recorder is a publisher that refuses with err while it is set, and
// records what it takes.
type recorder struct {
	err  error
	msgs []bus.Message
}

func (r *recorder) Produce(_ context.Context, msgs ...bus.Message) error {
	if r.err != nil {
		return r.err
	}
	r.msgs = append(r.msgs, msgs...)
	return nil
}

// A forwarder that cannot read a packet's hops cannot tell where it has
// been (whether sending it on makes a loop): it sends nothing and returns
// an error the consumer retries. Once the view answers, the packet goes
// with its hops.
func TestForwardWithoutHopsIsRetried(t *testing.T) {
	var calls atomic.Int32
	var gotHops atomic.Value
	peer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		gotHops.Store(r.Header.Get(HeaderHops))
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusCreated)
	}))
	t.Cleanup(peer.Close)
	const north = "28.22"
	setup := func(h *Hub) {
		d, err := organ.NewDirectory([]organ.Agency{{ID: g22, Name: "G22"}, {ID: north, Name: "north", Endpoint: "hub:north"}})
		must(t, err)
		h.o.Directory, h.o.HTTP = d, peer.Client()
		h.o.Peers = map[string]Peer{"north": {Name: "north", URL: peer.URL, Organs: []string{north}}}
		h.o.Publisher = &recorder{}
	}
	msg := bus.Message{Topic: "t.inbox." + north, Key: []byte(edocID),
		Value: []byte(`{"id":"` + edocID + `","endpoint":"` + north + `","organs":["` + north + `"],"kind":"edoc"}`)}

	h := readHub(t, closedView)
	setup(h)
	attempts := 0
	handler := bus.Retry(bus.RetryConfig{MaxAttempts: 3, InitialInterval: time.Millisecond, MaxInterval: time.Millisecond})(
		func(ctx context.Context, m bus.Message) error { attempts++; return h.forward(ctx, m) })
	err := handler(context.Background(), msg)
	if err == nil || bus.IsPermanent(err) {
		t.Errorf("hops unknown: %v, want an error to retry", err)
	}
	if attempts != 3 {
		t.Errorf("%d attempts, want 3", attempts)
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("the peer was sent the packet %d times without its hops", n)
	}

	h = readHub(t, nil)
	setup(h)
	must(t, h.forward(context.Background(), msg))
	if n, hops := calls.Load(), gotHops.Load(); n != 1 || hops != h.o.OrganID {
		t.Errorf("with the view back: %d calls, hops %q", n, hops)
	}
}
