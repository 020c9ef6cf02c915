package hub

import (
	"bytes"
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/lienthong/lienthong/internal/blob"
	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/edxml"
	"github.com/lienthong/lienthong/internal/track"
	"github.com/lienthong/lienthong/internal/trust"
)

// acceptance is the receipt object (blob.ReceiptKey): the signed receipt
// and the exact bytes of the accepted event it answers. Submit creates it,
// conditionally, before it produces the event, so a packet is accepted
// once: a retry after a crash or an outage (or a concurrent twin) finds
// it, produces the same bytes again if the event may be missing, and
// answers the same receipt, with the same acceptedAt and report. Receipts
// stored before the record existed have no event: they were stored after
// theirs was produced.
type acceptance struct {
	Receipt
	// Signature is the detached CMS the packet was accepted with, base64,
	// "" when none. Records made before it was kept here have no field
	// (nil): theirs is the object blob.SignatureKey.
	Signature *[]byte         `json:"signature,omitempty"`
	Event     json.RawMessage `json:"acceptedEvent,omitempty"`
}

// record is the bytes of a record of acceptance, as acceptance has them:
// the receipt as answered (receipt, one JSON object), the signature and
// the event, without marshalling any of them again.
func record(receipt, sig, event []byte) []byte {
	rec := make([]byte, 0, len(receipt)+base64.StdEncoding.EncodedLen(len(sig))+len(event)+34)
	rec = append(rec, receipt[:len(receipt)-1]...)
	rec = append(rec, `,"signature":"`...)
	rec = base64.StdEncoding.AppendEncode(rec, sig)
	rec = append(rec, `","acceptedEvent":`...)
	rec = append(rec, event...)
	return append(rec, '}')
}

// signature is the detached signature a packet was accepted with, nil
// when none: from its record of acceptance (acc, nil when there is none),
// or for records made before the record held it, the object beside the
// bytes.
func (h *Hub) signature(ctx context.Context, id string, acc *acceptance) ([]byte, error) {
	if acc != nil && acc.Signature != nil {
		if len(*acc.Signature) == 0 {
			return nil, nil
		}
		return *acc.Signature, nil
	}
	sig, err := h.read(ctx, blob.SignatureKey(id))
	if errors.Is(err, blob.ErrNotFound) {
		return nil, nil
	}
	return sig, err
}

// acceptance reads a packet's record of acceptance.
func (h *Hub) acceptance(ctx context.Context, id string) (*acceptance, bool, error) {
	r, _, err := h.o.Store.Get(ctx, blob.ReceiptKey(id), 0, -1)
	if errors.Is(err, blob.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	defer r.Close() //nolint:errcheck // read-only
	var acc acceptance
	if err := json.NewDecoder(r).Decode(&acc); err != nil {
		return nil, false, fmt.Errorf("receipt of %s: %w", id, err)
	}
	return &acc, true, nil
}

// resume answers a resubmission of stored bytes: from the record of
// acceptance, or, when there is none but the log has the packet (a crash
// before receipts were recorded first), from the log. ok is false when
// the packet was never accepted: the caller accepts it now.
func (h *Hub) resume(ctx context.Context, id string) (rc *Receipt, created, ok bool, err error) {
	acc, found, err := h.acceptance(ctx, id)
	if err != nil {
		return nil, false, false, unavailable("storage", err)
	}
	if found {
		rc, created, err := h.complete(ctx, acc)
		return rc, created, true, err
	}
	p, err := h.o.View.Packet(id)
	switch {
	case errors.Is(err, track.ErrNotFound):
		return nil, false, false, nil
	case err != nil:
		return nil, false, false, unavailable("the view", err)
	}
	if rc, err = h.rebuildReceipt(ctx, p); err != nil {
		return nil, false, false, err
	}
	return rc, false, true, nil
}

// recorded answers a retry that a check now refuses but whose acceptance
// an earlier attempt (cut short by a fault) recorded before the check
// changed its mind: a certificate expired or was revoked, or the directory
// or the view changed, while the client waited to retry. The first
// acceptance stands and is completed; a 4xx would make the client drop a
// letter the hub has signed for. A retry is the same bytes with the same
// detached signature (or none, both times); other submissions of accepted
// bytes are judged as they are. Only refusals pay for the look-ups.
func (h *Hub) recorded(ctx context.Context, id, sha256 string, sig []byte, refusal *Error) (*Receipt, bool, error) {
	if refusal.Status >= 500 {
		return nil, false, refusal
	}
	acc, ok, err := h.acceptance(ctx, id)
	switch {
	case err != nil:
		return nil, false, unavailable("storage", err)
	case !ok || acc.SHA256 != sha256:
		return nil, false, refusal
	}
	stored, err := h.signature(ctx, id, acc)
	if err != nil {
		return nil, false, unavailable("storage", err)
	}
	if !bytes.Equal(stored, sig) {
		return nil, false, refusal
	}
	return h.complete(ctx, acc)
}

// complete finishes a recorded acceptance: when the view does not know
// the packet, the event may never have been produced, and its recorded
// bytes are produced (again: a byte-identical duplicate, which the router
// and the view take as a replay). created tells that this call produced it.
func (h *Hub) complete(ctx context.Context, acc *acceptance) (*Receipt, bool, error) {
	rc := &acc.Receipt
	if acc.Event == nil {
		return rc, false, nil
	}
	if _, err := h.o.View.Packet(acc.ID); err == nil {
		return rc, false, nil
	}
	var a accepted
	if err := json.Unmarshal(acc.Event, &a); err != nil {
		return nil, false, fmt.Errorf("recorded accepted event of %s: %w", acc.ID, err)
	}
	if err := h.publish(ctx, bus.Message{Topic: h.o.Topics.accepted(), Key: []byte(a.ID), Value: acc.Event}); err != nil {
		return nil, false, unavailable("the broker", err)
	}
	// As Submit records it: accepted and routed, at AcceptedAt.
	if err := h.o.View.AcceptedRouted(a.packet(), a.deliveries(), a.AcceptedAt); err != nil {
		h.o.Log.Warn("view: record accepted packet", "id", a.ID, "err", err)
	}
	return rc, true, nil
}

// rebuildReceipt makes the receipt of a packet the log has but whose
// receipt was never stored: dated at the acceptance the log holds, its
// report from verifying the stored bytes (with the detached signature
// stored beside them) at that time. The packet was accepted, so no policy
// makes a missing signature an error here. It is stored for the next call.
func (h *Hub) rebuildReceipt(ctx context.Context, p track.Packet) (*Receipt, error) {
	r, _, err := h.o.Store.Get(ctx, blob.PacketKey(p.ID), 0, -1)
	if err != nil {
		return nil, unavailable("storage", err)
	}
	defer r.Close() //nolint:errcheck // read-only
	f := h.NewSpool()
	defer f.Release()
	dr := trust.NewDigestReader(r, crypto.SHA256)
	if _, err := CopyToSpool(f, dr); err != nil {
		return nil, unavailable("storage", err)
	}
	digests := spoolDigests{dr.Digests()}
	pk, err := edxml.Parse(io.NewSectionReader(f.ReaderAt(), 0, f.Size()), edxml.Options{Limits: h.o.Limits, TempDir: h.o.SpoolDir, Kind: edxml.Kind(p.Kind), NoZipCheck: true})
	if err != nil {
		return nil, fmt.Errorf("stored packet %s: %w", p.ID, err)
	}
	// A packet the log has without a record was accepted by a version
	// that kept its signature beside the bytes.
	sig, err := h.signature(ctx, p.ID, nil)
	if err != nil {
		return nil, unavailable("storage", err)
	}
	report, _ := h.verify(ctx, pk, f.ReaderAt(), f.Size(), digests, sig, p.AcceptedAt, PolicyUnsignedOK)
	rc := &Receipt{ID: p.ID, Kind: p.Kind, DocumentID: p.DocumentID, From: p.From, To: p.To, SHA256: p.SHA256,
		Size: p.Size, AcceptedAt: p.AcceptedAt, Verification: report}
	if rc.To == nil {
		rc.To = []string{}
	}
	if _, err := h.sign(rc); err != nil {
		return nil, err
	}
	if err := h.putJSON(ctx, blob.ReceiptKey(p.ID), acceptance{Receipt: *rc}); err != nil {
		if errors.Is(err, blob.ErrExists) {
			if acc, ok, err := h.acceptance(ctx, p.ID); err == nil && ok {
				return &acc.Receipt, nil
			}
		}
		return nil, unavailable("storage", err)
	}
	return rc, nil
}

// pending is Report's answer while a packet's receipt cannot be had yet.
func pending(id string, err error) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Code: "hub.unavailable", Message: "the receipt of packet " + id + " is pending", Err: err}
}
