package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/lienthong/lienthong/internal/blob"
	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/organ"
	"github.com/lienthong/lienthong/internal/track"
)

// Peer is another hub that receives for a subtree of agencies (registered
// with the endpoint "hub:<name>"), and that may relay packets to this one.
type Peer struct {
	Name  string
	URL   string // its API, e.g. https://lienthong.hochiminhcity.example
	Token string // this hub's token at the peer
	// Organs are the subtrees the peer may submit packets for: a relay's
	// packet must come from one of them or a unit under one.
	Organs []string
}

// Relay describes a submission a peer hub relays.
type Relay struct {
	Peer string
	// Hops are the hubs the packet passed before this one, nearest last:
	// metadata carried beside the bytes, never written into them.
	Hops []string
}

// HeaderHops carries the hops between hubs.
const HeaderHops = "X-Lienthong-Hops"

// permitsRelay tells whether the peer may submit a packet from from: from
// is one of its subtrees or under one. Both are read in dir (an alias is
// its agency, explicit parents count), so no spelling of an organ's id
// moves it into a subtree or out of one.
func (p Peer) permitsRelay(dir *organ.Directory, from string) bool {
	canonical := func(s string) organ.ID {
		if c, ok := dir.Canonical(organ.ID(s)); ok {
			return c
		}
		return organ.ID(s)
	}
	subtrees := make([]organ.ID, 0, len(p.Organs))
	for _, o := range p.Organs {
		subtrees = append(subtrees, canonical(o))
	}
	for id, ok := canonical(from), true; ok; id, ok = dir.ParentOf(id) {
		if slices.Contains(subtrees, id) {
			return true
		}
	}
	return false
}

// peerFor returns the peer an endpoint forwards to.
func (h *Hub) peerFor(endpoint string) (Peer, bool) {
	a, ok := h.o.Directory.Lookup(organ.ID(endpoint))
	if !ok {
		return Peer{}, false
	}
	name, isHub := strings.CutPrefix(a.Endpoint, organ.HubPrefix)
	if !isHub {
		return Peer{}, false
	}
	p, ok := h.o.Peers[name]
	return p, ok
}

// forwardTopics are the inboxes of endpoints that are other hubs.
func (h *Hub) forwardTopics() []string {
	var topics []string
	for _, a := range h.o.Directory.Agencies() {
		if strings.HasPrefix(a.Endpoint, organ.HubPrefix) {
			topics = append(topics, h.o.Topics.inbox(string(a.ID)))
		}
	}
	return topics
}

// forward relays an inbox item to the peer hub that receives for its
// endpoint: the exact bytes and the signature they came with, through the
// peer's idempotent API, so a redelivery is answered with the original
// receipt. The hop is recorded as a transport event.
func (h *Hub) forward(ctx context.Context, m bus.Message) error {
	var it track.Item
	if err := json.Unmarshal(m.Value, &it); err != nil {
		return bus.Permanent(err)
	}
	// An endpoint moved to a peer at run time has its consumer start at
	// the topic's first offset: what was acknowledged here stays here.
	if h.o.View.Done(it.Endpoint, it.ID) {
		return nil
	}
	peer, ok := h.peerFor(it.Endpoint)
	if !ok {
		return bus.Permanent(fmt.Errorf("no peer hub configured for endpoint %s", it.Endpoint))
	}
	// The hops are the packet's route, the peer's record of where it has
	// been (and how a loop shows): rather than send it with a wrong one,
	// the lookup is retried.
	hops, err := h.hops(ctx, it.ID)
	if err != nil {
		return fmt.Errorf("forward %s to %s: %w", it.ID, peer.Name, err)
	}
	acc, _, err := h.acceptance(ctx, it.ID)
	if err != nil {
		return err
	}
	sig, err := h.signature(ctx, it.ID, acc)
	if err != nil {
		return err
	}
	packet, _, err := h.o.Store.Get(ctx, blob.PacketKey(it.ID), 0, -1)
	if err != nil {
		return err
	}
	defer packet.Close() //nolint:errcheck // read-only
	// The packet streams from the store to the peer: a large one is never
	// held in memory.
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		err := func() error {
			if sig != nil {
				w, err := mw.CreateFormFile("signature", "packet.p7s")
				if err != nil {
					return err
				}
				if _, err := w.Write(sig); err != nil {
					return err
				}
			}
			w, err := mw.CreateFormFile("packet", "packet.xml")
			if err != nil {
				return err
			}
			if _, err := io.Copy(w, packet); err != nil {
				return err
			}
			return mw.Close()
		}()
		pw.CloseWithError(err)
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(peer.URL, "/")+"/v1/packets", pr)
	if err != nil {
		pr.Close() //nolint:errcheck // nothing was sent
		return bus.Permanent(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+peer.Token)
	req.Header.Set(HeaderHops, strings.Join(append(hops, h.o.OrganID), ","))
	// The peer continues the packet's correlation id and trace.
	if cid := bus.CorrelationID(ctx); cid != "" {
		req.Header.Set("X-Correlation-Id", cid)
	}
	h.o.Tracer.InjectHTTP(ctx, req.Header)
	resp, err := h.http().Do(req)
	if err != nil {
		return fmt.Errorf("forward %s to %s: %w", it.ID, peer.Name, err)
	}
	defer resp.Body.Close() //nolint:errcheck // read-only
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusCreated:
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return fmt.Errorf("forward %s to %s: %s", it.ID, peer.Name, resp.Status)
	default:
		// The peer refused the packet: retrying will not help.
		return bus.Permanent(fmt.Errorf("forward %s to %s: %s: %s", it.ID, peer.Name, resp.Status, answer))
	}
	e := event{V: 1, Type: "forwarded", ID: it.ID, Endpoint: it.Endpoint, Result: peer.Name, At: h.o.Now().UTC()}
	return h.produce(ctx, h.o.Topics.events(), it.ID, e)
}

func (h *Hub) read(ctx context.Context, key string) ([]byte, error) {
	r, _, err := h.o.Store.Get(ctx, key, 0, -1)
	if err != nil {
		return nil, err
	}
	defer r.Close() //nolint:errcheck // read-only
	return io.ReadAll(r)
}

func (h *Hub) http() *http.Client {
	if h.o.HTTP != nil {
		return h.o.HTTP
	}
	return &http.Client{Timeout: 2 * time.Minute}
}

// hops returns the hubs a packet passed before this one. A packet this
// view does not know yet (its consumer lags the forwarder's) is an error
// too: its hops are not known.
func (h *Hub) hops(_ context.Context, id string) ([]string, error) {
	p, err := h.o.View.Packet(id)
	if err != nil {
		return nil, fmt.Errorf("hops of %s: %w", id, err)
	}
	return p.Hops, nil
}
