package console_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"

	"github.com/lienthong/lienthong/internal/console"
	"github.com/lienthong/lienthong/internal/evidence"
	"github.com/lienthong/lienthong/internal/hubtest"
)

const (
	logOrigin = "lienthong.test/log"
	witness   = "lienthong-b.test/witness"
)

// testLog is a real log of n leaves with its checkpointer, before (now
// false) or after its first checkpoint; stamp makes the checkpointer
// attach a (dummy) time-stamp token.
func testLog(t *testing.T, n int, now, stamp bool) (*evidence.Checkpointer, note.Verifier) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, logOrigin)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	l, err := evidence.New(evidence.Config{Signer: signer, Origin: logOrigin})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		lf := evidence.Leaf{V: evidence.LeafVersion, Type: evidence.LeafAccepted, ID: fmt.Sprintf("%064x", i), From: g22, To: []string{h29},
			At: time.Date(2026, 12, 7, 0, 0, 0, i, time.UTC).Format(time.RFC3339Nano)}
		if err := l.Append(lf.Marshal()); err != nil {
			t.Fatal(err)
		}
	}
	cp := &evidence.Checkpointer{Log: l, Clock: func() time.Time { return time.Date(2026, 12, 7, 4, 5, 0, 0, time.UTC) }}
	if stamp {
		cp.Stamp = func(context.Context, []byte) ([]byte, error) { return []byte{0x30, 0x00}, nil }
	}
	if now {
		if _, err := cp.Now(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	return cp, verifier
}

// fixedLog publishes one checkpoint.
type fixedLog struct{ p evidence.Published }

func (f fixedLog) Latest() evidence.Published { return f.p }

// cosigned is the checkpointer's latest checkpoint with a witness's
// cosignature (C2SP tlog-cosignature) added under the log's signature.
func cosigned(t *testing.T, cp *evidence.Checkpointer, v note.Verifier) fixedLog {
	t.Helper()
	skey, _, err := note.GenerateKey(rand.Reader, witness)
	if err != nil {
		t.Fatal(err)
	}
	w, err := fnote.NewSignerForCosignatureV1(skey)
	if err != nil {
		t.Fatal(err)
	}
	p := cp.Latest()
	n, err := note.Open(p.Checkpoint, note.VerifierList(v))
	if err != nil {
		t.Fatal(err)
	}
	if p.Checkpoint, err = note.Sign(n, w); err != nil {
		t.Fatal(err)
	}
	return fixedLog{p}
}

// The operators' page of the verifiable log shows the latest checkpoint
// (its name, size and root), who signed it and when witnesses co-signed,
// whether it is time-stamped, or says the log is off or not ready.
func TestEvidenceLogPage(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	hash, err := console.HashPassword("mật khẩu đúng")
	if err != nil {
		t.Fatal(err)
	}
	zone, err := time.LoadLocation("Asia/Ho_Chi_Minh")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 7, 4, 5, 0, 0, time.UTC)

	plain, v := testLog(t, 5, true, false)
	root, err := evidence.OpenCheckpoint(plain.Latest().Checkpoint, v)
	if err != nil {
		t.Fatal(err)
	}
	rootHex := hex.EncodeToString(root.Hash)
	stamped, _ := testLog(t, 3, true, true)
	pending, _ := testLog(t, 3, false, false)
	withWitness := cosigned(t, plain, v)
	sigs := withWitness.p.Signatures()
	if len(sigs) != 2 || sigs[1].At.IsZero() {
		t.Fatalf("the cosigned checkpoint's signatures: %+v", sigs)
	}
	cosignedAt := sigs[1].At.In(zone).Format("02/01/2006 15:04")

	on := []string{`<span class="badge ok">Đang bật</span>`, `<dd id="log-origin">` + logOrigin + `</dd>`, `<dd id="log-made">07/12/2026 11:05</dd>`,
		"Chính trục này đã ký bản chốt.", `<code>` + rootHex[:12] + `…</code>`, `<code id="log-root">` + rootHex + `</code>`,
		`<a href="/v1/log/checkpoint">`, `<a href="/docs/api#/log">`, "chứng minh lịch sử trao đổi của trục không bị sửa lại"}
	tests := []struct {
		name    string
		give    console.Evidence
		want    []string
		notWant []string
	}{
		{name: "off", give: nil, want: []string{"Trục này chưa bật sổ ghi kiểm chứng."}, notWant: []string{"log-origin", "/v1/log/checkpoint"}},
		{name: "pending", give: pending, want: []string{"bản chốt sổ đầu tiên sẽ có sau vài giây"}, notWant: []string{"log-origin"}},
		{name: "own signature only", give: plain, want: append([]string{`<dd id="log-size">5</dd>`, "Chưa có trục liên thông nào khác ký xác nhận bản chốt này.",
			"Chưa có dấu thời gian tin cậy"}, on...), notWant: []string{witness, "Có dấu thời gian tin cậy"}},
		{name: "cosigned", give: withWitness, want: append([]string{`<dd id="log-size">5</dd>`,
			"Đã được " + witness + " ký xác nhận lúc " + cosignedAt + "."}, on...), notWant: []string{"Chưa có trục liên thông nào khác"}},
		{name: "time-stamped", give: stamped, want: []string{`<dd id="log-size">3</dd>`, "Có dấu thời gian tin cậy"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := console.Options{Hub: h.Hub, Now: func() time.Time { return now },
				Accounts: []console.Account{{Username: "vanhanh", PasswordHash: hash, Role: console.RoleOperator}}}
			if tt.give != nil {
				o.Evidence = tt.give
			}
			op := newBrowser(t, serveConsole(t, o))
			if code, _ := op.login("vanhanh", "mật khẩu đúng"); code != http.StatusSeeOther {
				t.Fatalf("sign in: %d", code)
			}
			body := op.page("/ops/log")
			if !strings.Contains(body, `<a href="/ops/log" aria-current="page">Sổ ghi kiểm chứng</a>`) {
				t.Errorf("the navigation does not mark the page: %s", body)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("/ops/log lacks %q: %s", w, body)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(body, w) {
					t.Errorf("/ops/log shows %q: %s", w, body)
				}
			}
		})
	}
}
