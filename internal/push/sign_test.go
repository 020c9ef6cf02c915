package push_test

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/push"
)

func TestSignKnownAnswer(t *testing.T) {
	// printf '1700000000.{"id":"x"}' | openssl dgst -sha256 -hmac 0123456789abcdef
	got := push.Sign([]byte("0123456789abcdef"), 1700000000, []byte(`{"id":"x"}`))
	const want = "sha256=f1cf8ba6a2fa64bd8193b9db564f42cd35d0fc2a46f6a2c2903f897838a7f23a"
	if got != want {
		t.Fatalf("Sign = %q, want %q", got, want)
	}
}

func TestVerify(t *testing.T) {
	secret := []byte("0123456789abcdef-secret")
	body := []byte(`{"id":"ab","endpoint":"000.00.00.H29"}`)
	now := time.Unix(1_800_000_000, 0)
	ts := now.Add(-30 * time.Second).Unix()
	tsStr := strconv.FormatInt(ts, 10)
	sig := push.Sign(secret, ts, body)
	const maxAge = 5 * time.Minute

	tests := []struct {
		name    string
		secret  []byte
		header  string
		ts      string
		body    []byte
		now     time.Time
		wantErr error
	}{
		{name: "valid", secret: secret, header: sig, ts: tsStr, body: body, now: now},
		{name: "valid among several (secret rotation)", secret: secret, header: push.Sign([]byte("an-older-secret-value"), ts, body) + ", " + sig, ts: tsStr, body: body, now: now},
		{name: "wrong secret", secret: []byte("0123456789abcdef-other"), header: sig, ts: tsStr, body: body, now: now, wantErr: push.ErrBadSignature},
		{name: "changed body", secret: secret, header: sig, ts: tsStr, body: []byte(`{"id":"ab","endpoint":"000.00.00.H30"}`), now: now, wantErr: push.ErrBadSignature},
		{name: "changed timestamp", secret: secret, header: sig, ts: strconv.FormatInt(ts+1, 10), body: body, now: now, wantErr: push.ErrBadSignature},
		{name: "old timestamp", secret: secret, header: sig, ts: tsStr, body: body, now: now.Add(maxAge), wantErr: push.ErrStale},
		{name: "timestamp in the future", secret: secret, header: sig, ts: tsStr, body: body, now: now.Add(-maxAge - time.Minute), wantErr: push.ErrStale},
		{name: "malformed timestamp", secret: secret, header: sig, ts: "yesterday", body: body, now: now, wantErr: push.ErrBadTimestamp},
		{name: "no signature", secret: secret, header: "", ts: tsStr, body: body, now: now, wantErr: push.ErrNoSignature},
		{name: "other scheme only", secret: secret, header: "sha1=abcd", ts: tsStr, body: body, now: now, wantErr: push.ErrNoSignature},
		{name: "not hex", secret: secret, header: "sha256=zz", ts: tsStr, body: body, now: now, wantErr: push.ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := push.Verify(tt.secret, tt.header, tt.ts, tt.body, tt.now, maxAge)
			if tt.wantErr == nil && err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Verify = %v, want %v", err, tt.wantErr)
			}
		})
	}
}
