package api_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/blob"
	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/hubtest"
	"github.com/lienthong/lienthong/internal/metrics"
	"github.com/lienthong/lienthong/internal/testwait"
	"github.com/lienthong/lienthong/internal/track"
)

// While the broker is down, submissions get 503 hub.unavailable and never
// a 2xx; once it is back, the hub recovers without a restart, and the
// packet refused before is accepted and delivered.
func TestBrokerDown(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	th := wrap(h)
	g22, h29 := th.agencies["000.00.00.G22"], th.agencies["000.00.00.H29"]
	addr := h.Broker.Addrs()[0]
	if err := h.Broker.Close(); err != nil {
		t.Fatal(err)
	}
	packet := read(t, "edoc-new.xml")
	code, out := th.send(t, g22.token, packet, g22)
	if code != 503 || out["code"] != "hub.unavailable" {
		t.Fatalf("broker down: %d %v", code, out)
	}
	th.inbox(t, h29, "edoc", 0)

	b, err := bus.StartBroker(context.Background(), bus.BrokerConfig{Addr: addr, DataDir: filepath.Join(h.Dir, "kafka")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, out = th.send(t, g22.token, packet, g22)
		if code == 201 {
			break
		}
		if code != 503 || time.Now().After(deadline) {
			t.Fatalf("after the broker returned: %d %v", code, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	th.inbox(t, h29, "edoc", 1)
}

// faultyStore is a real store whose writes fail while down is set: storage
// outages are injected at the Store seam.
type faultyStore struct {
	blob.Store
	down atomic.Bool
}

var errStoreDown = errors.New("store unreachable")

func (s *faultyStore) Create(ctx context.Context, key string, r io.Reader, size int64, meta blob.Meta) (blob.Info, error) {
	if s.down.Load() {
		return blob.Info{}, errStoreDown
	}
	return s.Store.Create(ctx, key, r, size, meta)
}

func TestStorageDown(t *testing.T) {
	store := &faultyStore{Store: hubtest.NewStore(t, t.TempDir())}
	h := hubtest.Start(t, hubtest.Options{Store: store})
	th := wrap(h)
	g22, h29 := th.agencies["000.00.00.G22"], th.agencies["000.00.00.H29"]
	store.down.Store(true)
	if code, out := th.send(t, g22.token, read(t, "edoc-new.xml"), g22); code != 503 || out["code"] != "hub.unavailable" {
		t.Fatalf("storage down: %d %v", code, out)
	}
	store.down.Store(false)
	if code, out := th.send(t, g22.token, read(t, "edoc-new.xml"), g22); code != 201 {
		t.Fatalf("storage back: %d %v", code, out)
	}
	th.inbox(t, h29, "edoc", 1)
}

func wrap(h *hubtest.Hub) *testHub {
	th := &testHub{url: h.URL, store: h.Store, agencies: map[string]*agency{}}
	for id, a := range h.Agencies {
		th.agencies[id] = &agency{id: id, token: a.Token, iss: a.Cert}
	}
	return th
}

// Two hub processes on one broker and one store: a packet sent through one
// is routed once (the router group is shared) and shows in the inbox, the
// fetch and the timeline of the other.
func TestTwoInstances(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	first := wrap(h)
	url2, _ := h.Instance(t)
	second := wrap(h)
	second.url = url2
	g22, h29 := first.agencies["000.00.00.G22"], first.agencies["000.00.00.H29"]
	code, rc := first.send(t, g22.token, read(t, "edoc-new.xml"), g22)
	if code != 201 {
		t.Fatalf("submit: %d %v", code, rc)
	}
	id := rc["id"].(string)
	for _, th := range []*testHub{first, second} {
		items := th.inbox(t, h29, "edoc", 1)
		if items[0]["id"] != id {
			t.Errorf("inbox %v", items)
		}
	}
	if code, out := second.do(t, "GET", "/v1/packets/"+id, h29.token, "", nil); code != 200 || out["raw"] != string(read(t, "edoc-new.xml")) {
		t.Errorf("fetch through the second instance: %d", code)
	}
	// Acknowledged through the second, gone from the first.
	if code, out := second.do(t, "POST", "/v1/inbox/"+id+"/ack", h29.token, "application/json", strings.NewReader(`{"result":"done"}`)); code != 200 {
		t.Fatalf("ack: %d %v", code, out)
	}
	testwait.Eventually(t, "the ack through one instance to reach the other's view", func() bool {
		return len(first.inbox(t, h29, "edoc", -1)) == 0
	})
}

// The signature policy may differ per agency: G12 may send unsigned while
// everyone else must sign.
func TestAgencyPolicy(t *testing.T) {
	th := wrap(hubtest.Start(t, hubtest.Options{AgencyPolicy: map[string]string{"000.00.00.G12": "unsigned-ok"}}))
	g22, g12 := th.agencies["000.00.00.G22"], th.agencies["000.00.00.G12"]
	if code, out := th.send(t, g12.token, read(t, "edoc-new-zip-attachment.xml"), nil); code != 201 {
		t.Errorf("G12 unsigned: %d %v", code, out)
	}
	if code, out := th.send(t, g22.token, read(t, "edoc-new.xml"), nil); code != 422 || out["code"] != "sig.missing" {
		t.Errorf("G22 unsigned: %d %v", code, out)
	}
}

// A message the view cannot read, on the accepted topic (the router
// dead-letters it) or on an inbox topic, does not stop the view: packets
// after it are still delivered.
func TestViewSurvivesGarbage(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	th := wrap(h)
	p, err := bus.NewProducer(bus.Config{Brokers: h.Broker.Addrs()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, topic := range []string{"lienthong.accepted", "lienthong.inbox.000.00.00.H29"} {
		if err := p.Produce(t.Context(), bus.Message{Topic: topic, Key: []byte("garbage"), Value: []byte("{not json")}); err != nil {
			t.Fatal(err)
		}
	}
	// The router and the view meet the garbage first: every lag of this
	// hub's consumers back to 0.
	testwait.EventuallyState(t, "the hub's consumers past the garbage", func() (bool, string) {
		health := h.Hub.Health(t.Context())
		if !health.Up[metrics.ComponentBroker] {
			return false, "broker down"
		}
		for _, l := range health.Lags {
			if l.Messages != 0 {
				return false, fmt.Sprintf("%s lags %d on %s", l.Group, l.Messages, l.Topic)
			}
		}
		return true, ""
	})
	g22, h29 := th.agencies["000.00.00.G22"], th.agencies["000.00.00.H29"]
	code, rc := th.send(t, g22.token, read(t, "edoc-new.xml"), g22)
	if code != 201 {
		t.Fatalf("submit: %d %v", code, rc)
	}
	if items := th.inbox(t, h29, "edoc", 1); items[0]["id"] != rc["id"] {
		t.Errorf("inbox %v", items)
	}
}

// On another replica the view may hold the delivery before the accepted
// event (two topics, read apart): an item listed in the agency's inbox is
// fetchable then, and still nobody else's.
func TestFetchDeliveredBeforeAccepted(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	th := wrap(h)
	h29, g12 := th.agencies["000.00.00.H29"], th.agencies["000.00.00.G12"]
	packet := read(t, "edoc-new.xml")
	const id = "0000000000000000000000000000000000000000000000000000000000000abc"
	if _, err := h.Store.Create(t.Context(), blob.PacketKey(id), bytes.NewReader(packet), int64(len(packet)), blob.Meta{}); err != nil {
		t.Fatal(err)
	}
	at := time.Now()
	if err := h.View.Delivered(track.Item{ID: id, Endpoint: "000.00.00.H29", Organs: []string{"000.00.00.H29"}, Kind: "edoc",
		From: "000.00.00.G22", AcceptedAt: at, Size: int64(len(packet))}, at); err != nil {
		t.Fatal(err)
	}
	if code, out := th.do(t, "GET", "/v1/packets/"+id, h29.token, "", nil); code != 200 || out["raw"] != string(packet) {
		t.Errorf("fetch of a listed item before its accepted event: %d", code)
	}
	if code, _ := th.do(t, "GET", "/v1/packets/"+id, g12.token, "", nil); code != 404 {
		t.Errorf("fetch by another agency: %d, want 404", code)
	}
}
