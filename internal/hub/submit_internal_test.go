package hub

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/blob"
	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/edxml"
	"github.com/lienthong/lienthong/internal/metrics"
	"github.com/lienthong/lienthong/internal/organ"
	"github.com/lienthong/lienthong/internal/track"
	"github.com/lienthong/lienthong/internal/trust"
)

// The recovery branches of Submit, against an injected publisher: no
// broker, so each case says exactly what was produced. The API-level
// tests (internal/api/accept_test.go) check the same promises end to end
// through a real broker and router.

var errFault = errors.New("injected broker fault")

// Modes of memPublisher for its next accepted event.
const (
	pubPass      int32 = iota
	pubFailFirst       // refuse it: nothing written
	pubFailAfter       // write it, then report a failure (a lost acknowledgement)
)

// memPublisher records what it is given, with a fault armed for the next
// call.
type memPublisher struct {
	mode atomic.Int32
	mu   sync.Mutex
	msgs []bus.Message
}

func (p *memPublisher) Produce(_ context.Context, msgs ...bus.Message) error {
	switch p.mode.Swap(pubPass) {
	case pubFailFirst:
		return errFault
	case pubFailAfter:
		p.record(msgs)
		return errFault
	}
	p.record(msgs)
	return nil
}

func (p *memPublisher) record(msgs []bus.Message) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.msgs = append(p.msgs, msgs...)
}

// accepted returns the values produced to the accepted topic.
func (p *memPublisher) accepted(t Topics) [][]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out [][]byte
	for _, m := range p.msgs {
		if m.Topic == t.accepted() {
			out = append(out, m.Value)
		}
	}
	return out
}

// countingAdmin answers like a broker that has every topic, counting the
// calls.
type countingAdmin struct{ ensures, lags atomic.Int32 }

func (a *countingAdmin) EnsureTopics(context.Context, ...bus.TopicSpec) error {
	a.ensures.Add(1)
	return nil
}

func (a *countingAdmin) Lag(context.Context, string, string) (int64, error) {
	a.lags.Add(1)
	return 0, nil
}

func (a *countingAdmin) Lags(_ context.Context, _ string, topics []string) (map[string]int64, error) {
	a.lags.Add(1)
	out := map[string]int64{}
	for _, t := range topics {
		out[t] = 0
	}
	return out, nil
}

// memHub is a hub made by New with a real store and view, the injected
// publisher and admin, and the unsigned-ok policy (no PKI needed).
func memHub(t *testing.T) (*Hub, *memPublisher, *countingAdmin) {
	t.Helper()
	store, err := blob.NewFS(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	return memHubStore(t, store)
}

// memHubStore is memHub with the given store.
func memHubStore(t *testing.T, store blob.Store) (*Hub, *memPublisher, *countingAdmin) {
	t.Helper()
	dir := t.TempDir()
	v, err := track.Open(filepath.Join(dir, "view.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = v.Close() })
	d, err := organ.NewDirectory([]organ.Agency{{ID: g22, Name: "G22"}, {ID: h29, Name: "H29"}})
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := trust.NewVerifier(trust.Config{Roots: []*x509.Certificate{selfSigned(t)}})
	if err != nil {
		t.Fatal(err)
	}
	pub, admin := &memPublisher{}, &countingAdmin{}
	h, err := New(t.Context(), Options{OrganID: "000.00.00.G01", InstanceID: "t", Directory: d, Store: store, View: v,
		Verifier: verifier, Policy: PolicyUnsignedOK, SpoolDir: dir, Publisher: pub, Admin: admin})
	if err != nil {
		t.Fatal(err)
	}
	return h, pub, admin
}

func selfSigned(t *testing.T) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test root"}, IsCA: true,
		BasicConstraintsValid: true, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func edocNew(t *testing.T) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "edxml", "testdata", "fixtures", "edoc-new.xml"))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func submitRaw(h *Hub, raw []byte) (*Receipt, bool, error) {
	return h.Submit(context.Background(), Submission{Caller: g22, Packet: bytes.NewReader(raw), Channel: "v1", Kind: edxml.KindEdoc})
}

func wantUnavailable(t *testing.T, err error) {
	t.Helper()
	if e, ok := errors.AsType[*Error](err); !ok || e.Status != http.StatusServiceUnavailable || !errors.Is(err, errFault) {
		t.Fatalf("first submit: got %v, want a 503 caused by the broker fault", err)
	}
}

func TestSubmitRecovery(t *testing.T) {
	tests := []struct {
		name string
		// give arranges the first attempt; a receipt it returns is the
		// one the retry must answer with.
		give func(t *testing.T, h *Hub, pub *memPublisher, raw []byte) *Receipt
		// wantCreated: the retry produced the accepted event.
		wantCreated bool
		// wantAccepted: accepted events produced in all, all byte-identical.
		wantAccepted int
	}{
		{
			name: "fail before produce: the retry produces the recorded event",
			give: func(t *testing.T, h *Hub, pub *memPublisher, raw []byte) *Receipt {
				pub.mode.Store(pubFailFirst)
				_, _, err := submitRaw(h, raw)
				wantUnavailable(t, err)
				return nil
			},
			wantCreated: true, wantAccepted: 1,
		},
		{
			name: "fail after ack: the view does not know it, so the retry produces the same bytes again",
			give: func(t *testing.T, h *Hub, pub *memPublisher, raw []byte) *Receipt {
				pub.mode.Store(pubFailAfter)
				_, _, err := submitRaw(h, raw)
				wantUnavailable(t, err)
				return nil
			},
			wantCreated: true, wantAccepted: 2,
		},
		{
			name: "accepted and known to the view: the retry produces nothing",
			give: func(t *testing.T, h *Hub, _ *memPublisher, raw []byte) *Receipt {
				rc, created, err := submitRaw(h, raw)
				if err != nil || !created {
					t.Fatalf("first submit: created %v, %v", created, err)
				}
				return rc
			},
			wantCreated: false, wantAccepted: 1,
		},
		{
			name: "no record of acceptance but the view has it: the receipt is rebuilt, nothing produced",
			give: func(t *testing.T, h *Hub, _ *memPublisher, raw []byte) *Receipt {
				rc, _, err := submitRaw(h, raw)
				if err != nil {
					t.Fatal(err)
				}
				must(t, h.o.Store.Delete(t.Context(), blob.ReceiptKey(rc.ID)))
				return nil
			},
			wantCreated: false, wantAccepted: 1,
		},
		{
			name: "bytes stored, never recorded nor known: accepted now",
			give: func(t *testing.T, h *Hub, _ *memPublisher, raw []byte) *Receipt {
				p, err := edxml.Parse(bytes.NewReader(raw), edxml.Options{})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := h.o.Store.Create(t.Context(), blob.PacketKey(p.ID()), bytes.NewReader(raw), int64(len(raw)), blob.Meta{}); err != nil {
					t.Fatal(err)
				}
				return nil
			},
			wantCreated: true, wantAccepted: 1,
		},
		{
			name: "recorded, then refused by a stricter policy: the first acceptance stands",
			give: func(t *testing.T, h *Hub, pub *memPublisher, raw []byte) *Receipt {
				pub.mode.Store(pubFailFirst)
				_, _, err := submitRaw(h, raw)
				wantUnavailable(t, err)
				h.o.Policy = PolicyRequire // the unsigned packet is now refused
				return nil
			},
			wantCreated: true, wantAccepted: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, pub, _ := memHub(t)
			raw := edocNew(t)
			first := tt.give(t, h, pub, raw)
			rc, created, err := submitRaw(h, raw)
			if err != nil {
				t.Fatalf("retry: %v", err)
			}
			if created != tt.wantCreated {
				t.Errorf("retry created = %v, want %v", created, tt.wantCreated)
			}
			if first != nil && (rc.ID != first.ID || !rc.AcceptedAt.Equal(first.AcceptedAt)) {
				t.Errorf("retry receipt %s at %v, want the first: %s at %v", rc.ID, rc.AcceptedAt, first.ID, first.AcceptedAt)
			}
			got := pub.accepted(h.o.Topics)
			if len(got) != tt.wantAccepted {
				t.Fatalf("%d accepted events produced, want %d", len(got), tt.wantAccepted)
			}
			for i := 1; i < len(got); i++ {
				if !bytes.Equal(got[i], got[0]) {
					t.Errorf("accepted events differ:\n%s\n%s", got[0], got[i])
				}
			}
			if _, err := h.o.View.Packet(rc.ID); err != nil {
				t.Errorf("the view does not know %s after the retry: %v", rc.ID, err)
			}
		})
	}
}

// Ready and Health ask the injected admin: no admin client (and no
// connection) per probe.
func TestProbesUseTheInjectedAdmin(t *testing.T) {
	h, _, admin := memHub(t)
	if got := admin.ensures.Load(); got != 1 {
		t.Errorf("New ensured topics %d times, want 1", got)
	}
	for range 3 {
		if err := h.Ready(t.Context()); err != nil {
			t.Fatal(err)
		}
		if hl := h.Health(t.Context()); !hl.Up[metrics.ComponentBroker] {
			t.Fatalf("health: broker down: %+v", hl)
		}
	}
	if got := admin.lags.Load(); got < 6 {
		t.Errorf("the probes asked the injected admin %d times, want at least 6", got)
	}
}
