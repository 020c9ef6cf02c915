package hub_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/lienthong/lienthong/internal/blob"
	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/hub"
	"github.com/lienthong/lienthong/internal/hubtest"
	"github.com/lienthong/lienthong/internal/pki"
)

// A packet the log has but whose receipt was never stored (a crash
// between the event and the receipt, as the hub ordered them before the
// acceptance record) is never 404: Report rebuilds its receipt from the
// log, and a resubmission gets that receipt, dated at the acceptance the
// log holds, without a second accepted event; the signature is the one
// those versions stored beside the bytes. With the bytes gone too,
// Report is 503, pending.
func TestReceiptRebuiltFromLog(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	ctx := context.Background()
	data, err := os.ReadFile(filepath.Join("..", "edxml", "testdata", "fixtures", "edoc-new.xml"))
	if err != nil {
		t.Fatal(err)
	}
	g22 := h.Agencies["000.00.00.G22"]
	sig, err := pki.SignDetached(bytes.NewReader(data), g22.Cert.Cert, g22.Cert.Key, g22.Cert.Chain, pki.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sub := func() hub.Submission {
		return hub.Submission{Caller: g22.ID, Packet: bytes.NewReader(data), Signature: sig, Channel: "v1"}
	}
	rc, created, err := h.Hub.Submit(ctx, sub())
	if err != nil || !created {
		t.Fatalf("submit: %v %v", created, err)
	}
	// As the versions of that order stored it: the signature beside the
	// bytes, not in the record.
	if err := h.Store.Delete(ctx, blob.ReceiptKey(rc.ID)); err != nil {
		t.Fatal(err)
	}
	// (On S3 the hub writes that object too, for older hub processes.)
	if _, err := h.Store.Create(ctx, blob.SignatureKey(rc.ID), bytes.NewReader(sig), int64(len(sig)), blob.Meta{}); err != nil && !errors.Is(err, blob.ErrExists) {
		t.Fatal(err)
	}
	rep, err := h.Hub.Report(ctx, "000.00.00.H29", rc.ID)
	if err != nil || !rep.Valid || len(rep.Signatures) != 1 {
		t.Fatalf("report without a stored receipt: %+v %v", rep, err)
	}
	if at := rep.Signatures[0].CheckedAt; !at.Equal(rc.AcceptedAt) {
		t.Errorf("rebuilt report checked at %v, accepted at %v", at, rc.AcceptedAt)
	}
	// Lost again: the resubmission rebuilds it too.
	if err := h.Store.Delete(ctx, blob.ReceiptKey(rc.ID)); err != nil {
		t.Fatal(err)
	}
	again, created, err := h.Hub.Submit(ctx, sub())
	if err != nil || created || !again.AcceptedAt.Equal(rc.AcceptedAt) {
		t.Fatalf("resubmission: %v accepted at %v, want %v (%v)", created, again.AcceptedAt, rc.AcceptedAt, err)
	}
	msgs, err := bus.ReadTopic(ctx, bus.Config{Brokers: h.Broker.Addrs()}, "lienthong.accepted", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 {
		t.Errorf("%d accepted events, want 1", len(msgs))
	}

	// Neither receipt nor bytes: pending.
	for _, key := range []string{blob.ReceiptKey(rc.ID), blob.PacketKey(rc.ID)} {
		if err := h.Store.Delete(ctx, key); err != nil {
			t.Fatal(err)
		}
	}
	_, err = h.Hub.Report(ctx, "000.00.00.H29", rc.ID)
	if he, ok := errors.AsType[*hub.Error](err); !ok || he.Status != http.StatusServiceUnavailable {
		t.Errorf("report of a packet whose receipt cannot be rebuilt: %v, want 503", err)
	}
}
