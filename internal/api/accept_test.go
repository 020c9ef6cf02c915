package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/blob"
	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/hub"
	"github.com/lienthong/lienthong/internal/hubtest"
	"github.com/lienthong/lienthong/internal/pki"
)

const (
	acceptedTopic = "lienthong.accepted"
	h29Inbox      = "lienthong.inbox.000.00.00.H29"
)

var errInjected = errors.New("injected fault")

// stepStore is a real store whose next Create of a key ending in failKey
// fails, before anything is written.
type stepStore struct {
	blob.Store
	failKey atomic.Pointer[string]
}

func (s *stepStore) Create(ctx context.Context, key string, r io.Reader, size int64, meta blob.Meta) (blob.Info, error) {
	if k := s.failKey.Load(); k != nil && strings.HasSuffix(key, *k) && s.failKey.CompareAndSwap(k, nil) {
		return blob.Info{}, errInjected
	}
	return s.Store.Create(ctx, key, r, size, meta)
}

// Modes of stepPublisher, for its next accepted event.
const (
	pass         int32 = iota
	failBefore         // refuse it: nothing written
	failAfterAck       // write it, then report a failure (a lost acknowledgement, a crash)
)

// stepPublisher is the hub's real producer with a fault armed for the
// next accepted event.
type stepPublisher struct {
	bus.Publisher
	mode atomic.Int32
}

func (p *stepPublisher) Produce(ctx context.Context, msgs ...bus.Message) error {
	if len(msgs) > 0 && msgs[0].Topic == acceptedTopic {
		switch p.mode.Swap(pass) {
		case failBefore:
			return errInjected
		case failAfterAck:
			if err := p.Publisher.Produce(ctx, msgs...); err != nil {
				return err
			}
			return errInjected
		}
	}
	return p.Publisher.Produce(ctx, msgs...)
}

type faultHub struct {
	*testHub
	h     *hubtest.Hub
	store *stepStore
	pub   *stepPublisher
	ahead atomic.Int64 // how far the hub's clock runs ahead, in ns
}

func startFaultHub(t *testing.T) *faultHub {
	t.Helper()
	fh := &faultHub{store: &stepStore{Store: hubtest.NewStore(t, t.TempDir())}, pub: &stepPublisher{}}
	fh.h = hubtest.Start(t, hubtest.Options{Store: fh.store, Hub: func(o *hub.Options) {
		fh.pub.Publisher, o.Publisher = o.Publisher, fh.pub
		o.Now = func() time.Time { return time.Now().Add(time.Duration(fh.ahead.Load())) }
	}})
	fh.testHub = wrap(fh.h)
	return fh
}

// signedPacket is edoc-new.xml made distinct by n, with a detached CMS by
// G22: the same bytes and signature each time it is sent.
type signedPacket struct{ data, sig []byte }

func (th *testHub) packet(t *testing.T, n int) signedPacket {
	t.Helper()
	data := bytes.ReplaceAll(read(t, "edoc-new.xml"), []byte("000.00.00.G22,2025/11/20,1234/VPCP-KSTT"), fmt.Appendf(nil, "000.00.00.G22,2025/11/20,%d/VPCP-KSTT", 5000+n))
	g22 := th.agencies["000.00.00.G22"]
	sig, err := pki.SignDetached(bytes.NewReader(data), g22.iss.Cert, g22.iss.Key, g22.iss.Chain, pki.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return signedPacket{data, sig}
}

// submit posts p as multipart and returns the status, the Retry-After
// header and the raw body.
func (th *testHub) submit(t *testing.T, p signedPacket) (int, string, []byte) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	w, _ := mw.CreateFormFile("packet", "packet.xml")
	_, _ = w.Write(p.data)
	w, _ = mw.CreateFormFile("signature", "packet.p7s")
	_, _ = w.Write(p.sig)
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, th.url+"/v1/packets", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+th.agencies["000.00.00.G22"].token)
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After"), raw
}

type receiptOut struct {
	ID         string    `json:"id"`
	AcceptedAt time.Time `json:"acceptedAt"`
	Receipt    string    `json:"receipt"`
}

func decodeReceipt(t *testing.T, raw []byte) receiptOut {
	t.Helper()
	var rc receiptOut
	if err := json.Unmarshal(raw, &rc); err != nil || rc.ID == "" || rc.Receipt == "" {
		t.Fatalf("not a signed receipt (%v): %s", err, raw)
	}
	return rc
}

// records returns the values of topic's messages keyed id, once the
// router has handled every accepted event (so a second inbox message, if
// any was produced, is there).
func records(t *testing.T, h *hubtest.Hub, topic, id string) [][]byte {
	t.Helper()
	cfg := bus.Config{Brokers: h.Broker.Addrs()}
	admin, err := bus.NewAdmin(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close() //nolint:errcheck // test
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		lag, err := admin.Lag(ctx, "lienthong.router", acceptedTopic)
		if err == nil && lag == 0 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("router lag: %d %v", lag, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	msgs, err := bus.ReadTopic(ctx, cfg, topic, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, m := range msgs {
		if string(m.Key) == id {
			out = append(out, m.Value)
		}
	}
	return out
}

// checkOnce fails unless topic holds records for id that are all
// byte-identical: exactly one when exact, else at least one.
func checkOnce(t *testing.T, h *hubtest.Hub, topic, id string, exact bool) {
	t.Helper()
	recs := records(t, h, topic, id)
	switch {
	case len(recs) == 0:
		t.Errorf("%s has no record of %s", topic, id)
	case exact && len(recs) != 1:
		t.Errorf("%s has %d records of %s, want 1", topic, len(recs), id)
	}
	for i := 1; i < len(recs); i++ {
		if !bytes.Equal(recs[i], recs[0]) {
			t.Errorf("%s: records of %s differ:\n%s\n%s", topic, id, recs[0], recs[i])
		}
	}
}

// timelineAcceptedAt is the acceptance the sender's timeline shows.
func (th *testHub) timelineAcceptedAt(t *testing.T, id string) time.Time {
	t.Helper()
	code, out := th.do(t, http.MethodGet, "/v1/packets/"+id+"/timeline", th.agencies["000.00.00.G22"].token, "", nil)
	if code != 200 {
		t.Fatalf("timeline %s: %d %v", id, code, out)
	}
	for _, r := range out["recipients"].([]any) {
		for _, e := range r.(map[string]any)["events"].([]any) {
			if ev := e.(map[string]any); ev["type"] == "accepted" {
				at, err := time.Parse(time.RFC3339Nano, ev["at"].(string))
				if err != nil {
					t.Fatal(err)
				}
				return at
			}
		}
	}
	t.Fatalf("timeline %s has no accepted event: %v", id, out)
	return time.Time{}
}

// A fault at each step boundary of Submit makes the submission 503 with
// Retry-After; the retry completes the first acceptance: the receipt's
// acceptedAt is the timeline's, a further resubmission gets the same
// receipt, and the accepted topic and the inbox topic hold one record of
// the packet, or byte-identical ones where the event may have been written
// before the failure.
func TestAcceptOnceAcrossFaults(t *testing.T) {
	fh := startFaultHub(t)
	suffix := func(s string) *string { return &s }
	tests := []struct {
		name  string
		arm   func()
		exact bool // no byte-identical repeat is allowed
	}{
		{"before store", func() { fh.store.failKey.Store(suffix("/packet.xml")) }, true},
		{"after store", func() { fh.store.failKey.Store(suffix("/receipt.json")) }, true},
		{"after receipt", func() { fh.pub.mode.Store(failBefore) }, true},
		{"after produce", func() { fh.pub.mode.Store(failAfterAck) }, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := fh.packet(t, i)
			tt.arm()
			code, retry, raw := fh.submit(t, p)
			if code != 503 || retry == "" {
				t.Fatalf("with the fault: %d Retry-After %q: %s", code, retry, raw)
			}
			code, _, raw = fh.submit(t, p)
			if code != 201 && code != 200 {
				t.Fatalf("retry: %d %s", code, raw)
			}
			rc := decodeReceipt(t, raw)
			code, _, raw2 := fh.submit(t, p)
			if code != 200 || !bytes.Equal(raw, raw2) {
				t.Fatalf("a further resubmission: %d, receipt\n%s\nwant\n%s", code, raw2, raw)
			}
			h29 := fh.agencies["000.00.00.H29"]
			items := fh.inbox(t, h29, "edoc", i+1)
			for _, it := range items {
				if it["id"] == rc.ID {
					if at, _ := time.Parse(time.RFC3339Nano, it["acceptedAt"].(string)); !at.Equal(rc.AcceptedAt) {
						t.Errorf("inbox acceptedAt %v, receipt %v", at, rc.AcceptedAt)
					}
				}
			}
			if at := fh.timelineAcceptedAt(t, rc.ID); !at.Equal(rc.AcceptedAt) {
				t.Errorf("receipt acceptedAt %v, timeline %v", rc.AcceptedAt, at)
			}
			checkOnce(t, fh.h, acceptedTopic, rc.ID, tt.exact)
			checkOnce(t, fh.h, h29Inbox, rc.ID, tt.exact)
		})
	}
}

// An identical resubmission of an accepted packet produces nothing: one
// accepted event and one inbox message, though the API answers 200 either
// way and the view would hide a second.
func TestResubmissionProducesNothing(t *testing.T) {
	th := hubtest.Start(t, hubtest.Options{})
	w := wrap(th)
	p := w.packet(t, 0)
	code, _, raw := w.submit(t, p)
	if code != 201 {
		t.Fatalf("submit: %d %s", code, raw)
	}
	id := decodeReceipt(t, raw).ID
	w.inbox(t, w.agencies["000.00.00.H29"], "edoc", 1)
	for range 2 {
		if code, _, again := w.submit(t, p); code != 200 || !bytes.Equal(again, raw) {
			t.Errorf("resubmission: %d, the receipt the same: %v", code, bytes.Equal(again, raw))
		}
	}
	checkOnce(t, th, acceptedTopic, id, true)
	checkOnce(t, th, h29Inbox, id, true)
}

// A retry whose checks now refuse the packet (here the signer's certificate
// expired while the client waited) still gets the acceptance recorded by
// the attempt a fault cut short, and the event is produced: a 4xx would
// make the client drop a letter the hub has signed for.
func TestRecordedAcceptanceOutlivesARefusal(t *testing.T) {
	fh := startFaultHub(t)
	p := fh.packet(t, 0)
	fh.pub.mode.Store(failBefore)
	if code, _, raw := fh.submit(t, p); code != 503 {
		t.Fatalf("with the fault: %d %s", code, raw)
	}
	fh.ahead.Store(int64(20 * 365 * 24 * time.Hour)) // past every test certificate
	code, _, raw := fh.submit(t, p)
	if code != 201 {
		t.Fatalf("retry after the certificate expired: %d %s", code, raw)
	}
	rc := decodeReceipt(t, raw)
	if time.Since(rc.AcceptedAt) > time.Hour {
		t.Errorf("receipt dated %v, not at the first attempt", rc.AcceptedAt)
	}
	checkOnce(t, fh.h, acceptedTopic, rc.ID, true)
	// A new packet is refused as before: the clock is really past.
	if code, _, raw := fh.submit(t, fh.packet(t, 1)); code != 422 {
		t.Errorf("a new packet with the expired certificate: %d %s", code, raw)
	}
}
