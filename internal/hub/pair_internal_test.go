package hub

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/blob"
)

// countingLog is the log store, counting the objects created one at a
// time (Create) rather than as a pair.
type countingLog struct {
	*blob.Log
	creates atomic.Int32
}

func (c *countingLog) Create(ctx context.Context, key string, r io.Reader, size int64, meta blob.Meta) (blob.Info, error) {
	c.creates.Add(1)
	return c.Log.Create(ctx, key, r, size, meta)
}

// A new packet's bytes and its record of acceptance go to the log store
// as one pair (one write, one fdatasync, one index commit), not two
// Creates; the record holds the receipt answered, byte for byte.
func TestSubmitStoresBytesAndRecordAsOne(t *testing.T) {
	l, err := blob.NewLog(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	store := &countingLog{Log: l}
	h, _, _ := memHubStore(t, store)
	raw := edocNew(t)
	rc, created, err := submitRaw(h, raw)
	if err != nil || !created {
		t.Fatalf("submit: %v %v", created, err)
	}
	if n := store.creates.Load(); n != 0 {
		t.Errorf("%d objects created one at a time, want the pair only", n)
	}
	if got, err := h.read(context.Background(), blob.PacketKey(rc.ID)); err != nil || !bytes.Equal(got, raw) {
		t.Errorf("stored bytes: %v, identical %v", err, bytes.Equal(got, raw))
	}
	acc, ok, err := h.acceptance(context.Background(), rc.ID)
	if err != nil || !ok {
		t.Fatalf("record: %v %v", ok, err)
	}
	stored, err := marshalPlain(&acc.Receipt)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stored, rc.JSON()) {
		t.Errorf("the record's receipt\n%s\nis not the one answered\n%s", stored, rc.JSON())
	}
	if acc.Signature == nil || len(*acc.Signature) != 0 {
		t.Errorf("an unsigned packet's record: signature %v, want \"\"", acc.Signature)
	}
}

// A retry of a packet already accepted answers its recorded receipt
// without signing a new one or asking the TSA for a stamp it would drop.
func TestRetryDoesNotSignAgain(t *testing.T) {
	h, _, _ := memHub(t)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "receipts"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	if h.o.ReceiptCert, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	var stamps atomic.Int32
	h.o.ReceiptKey = key
	h.o.StampReceipt = func(context.Context, []byte) ([]byte, error) { stamps.Add(1); return []byte("token"), nil }
	raw := edocNew(t)
	first, created, err := submitRaw(h, raw)
	if err != nil || !created {
		t.Fatalf("submit: %v %v", created, err)
	}
	again, created, err := submitRaw(h, raw)
	if err != nil || created {
		t.Fatalf("retry: %v %v", created, err)
	}
	if n := stamps.Load(); n != 1 {
		t.Errorf("%d time-stamps asked for, want 1: the retry made a receipt of its own", n)
	}
	got, err := marshalPlain(again)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, first.JSON()) {
		t.Errorf("the retry's receipt\n%s\nis not the first\n%s", got, first.JSON())
	}
}
