package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"mime/multipart"
	"net/http"
	"slices"
	"testing"

	"github.com/lienthong/lienthong/internal/blob"
	"github.com/lienthong/lienthong/internal/pki"
)

// sendSig posts packet as multipart with the given detached signature,
// answering the status and the body's bytes.
func (th *testHub) sendSig(t *testing.T, token string, packet, sig []byte) (int, []byte) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	w, _ := mw.CreateFormFile("signature", "packet.p7s")
	_, _ = w.Write(sig)
	w, _ = mw.CreateFormFile("packet", "packet.xml")
	_, _ = w.Write(packet)
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, th.url+"/v1/packets", &body)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

func (th *testHub) getRaw(t *testing.T, path, token string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, th.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

// The detached signature is kept in the record of acceptance, not in an
// object of its own (one create fewer per packet; on S3 it has one too,
// for older hub processes), and served from there;
// a record written before that (no signature field, the signature object
// beside the bytes) still has its signature served and answers a
// resubmission with its receipt.
func TestSignatureInTheRecord(t *testing.T) {
	th := startHub(t)
	ctx := context.Background()
	g22, h29 := th.agencies["000.00.00.G22"], th.agencies["000.00.00.H29"]
	packet := read(t, "edoc-new.xml")
	sig, err := pki.SignDetached(bytes.NewReader(packet), g22.iss.Cert, g22.iss.Key, g22.iss.Chain, pki.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	code, answer := th.sendSig(t, g22.token, packet, sig)
	if code != 201 {
		t.Fatalf("submit: %d %s", code, answer)
	}
	var rc struct{ ID string }
	if err := json.Unmarshal(answer, &rc); err != nil {
		t.Fatal(err)
	}
	// On S3, shared with hub processes of the version before, the
	// signature has its own object too, which they read.
	switch _, err := th.store.Stat(ctx, blob.SignatureKey(rc.ID)); {
	case blob.Shared(th.store) && err != nil:
		t.Errorf("no signature object on a shared store (stat: %v), want one for older hub processes", err)
	case !blob.Shared(th.store) && !errors.Is(err, blob.ErrNotFound):
		t.Errorf("a signature object was created (stat: %v), want it in the record only", err)
	}
	path := "/v1/packets/" + rc.ID + "/signature"
	if code, got := th.getRaw(t, path, h29.token); code != 200 || !bytes.Equal(got, sig) {
		t.Errorf("signature from the record: %d, the bytes sent: %v", code, bytes.Equal(got, sig))
	}

	// The record as older versions wrote it.
	r, _, err := th.store.Get(ctx, blob.ReceiptKey(rc.ID), 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	var rec map[string]json.RawMessage
	err = json.NewDecoder(r).Decode(&rec)
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := rec["signature"]; !ok {
		t.Fatalf("the record has no signature field: %v", slices.Collect(maps.Keys(rec)))
	}
	delete(rec, "signature")
	old, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{blob.ReceiptKey(rc.ID), blob.SignatureKey(rc.ID)} {
		if err := th.store.Delete(ctx, key); err != nil && !errors.Is(err, blob.ErrNotFound) {
			t.Fatal(err)
		}
	}
	for key, b := range map[string][]byte{blob.ReceiptKey(rc.ID): old, blob.SignatureKey(rc.ID): sig} {
		if _, err := th.store.Create(ctx, key, bytes.NewReader(b), int64(len(b)), blob.Meta{}); err != nil {
			t.Fatal(err)
		}
	}
	if code, got := th.getRaw(t, path, h29.token); code != 200 || !bytes.Equal(got, sig) {
		t.Errorf("signature of an older record: %d, the bytes sent: %v", code, bytes.Equal(got, sig))
	}
	if code, again := th.sendSig(t, g22.token, packet, sig); code != 200 || !bytes.Equal(again, answer) {
		t.Errorf("resubmission over an older record: %d\n%s\nwant\n%s", code, again, answer)
	}
}
