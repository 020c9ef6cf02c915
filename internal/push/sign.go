package push

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// HTTP headers of a webhook delivery (docs/push.md).
const (
	HeaderEvent     = "X-Lienthong-Event"     // always EventDelivery today
	HeaderID        = "X-Lienthong-Id"        // the packet id: deduplicate on it
	HeaderTimestamp = "X-Lienthong-Timestamp" // Unix seconds when this attempt was signed
	HeaderSignature = "X-Lienthong-Signature" // SignaturePrefix + hex HMAC-SHA256
	HeaderAttempt   = "X-Lienthong-Attempt"   // 1 for the first try; informative, not signed
)

// EventDelivery is the X-Lienthong-Event of a packet routed to the agency.
const EventDelivery = "delivery"

// SignaturePrefix starts every signature in the X-Lienthong-Signature header.
const SignaturePrefix = "sha256="

// Errors returned by Verify.
var (
	// ErrNoSignature: the header holds no sha256= signature.
	ErrNoSignature = errors.New("push: no sha256 signature")
	// ErrBadSignature: no signature matches the secret, timestamp and body.
	ErrBadSignature = errors.New("push: signature does not match")
	// ErrBadTimestamp: the timestamp is not a decimal number of seconds.
	ErrBadTimestamp = errors.New("push: malformed timestamp")
	// ErrStale: the timestamp is further from now than maxAge, in either
	// direction (a replay, or a clock far off).
	ErrStale = errors.New("push: timestamp outside the allowed window")
)

// Sign returns the X-Lienthong-Signature value of a delivery:
// "sha256=" followed by the lowercase hex HMAC-SHA256, keyed with secret,
// of the decimal timestamp, a dot, and the exact body bytes.
func Sign(secret []byte, timestamp int64, body []byte) string {
	return SignaturePrefix + hex.EncodeToString(mac(secret, strconv.FormatInt(timestamp, 10), body))
}

func mac(secret []byte, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks a delivery the way a receiver should, before it trusts
// anything in the body: header is the X-Lienthong-Signature value,
// timestamp the X-Lienthong-Timestamp value and body the exact request
// body. The signature must be an HMAC-SHA256 under secret of timestamp + "."
// + body, and the timestamp within maxAge of now (either side), so that a
// captured request cannot be replayed later. header may list several
// comma-separated signatures (for a change of secret); one match is enough.
// The comparison takes constant time.
func Verify(secret []byte, header, timestamp string, body []byte, now time.Time, maxAge time.Duration) error {
	ts, err := strconv.ParseInt(strings.TrimSpace(timestamp), 10, 64)
	if err != nil || ts < 0 {
		return fmt.Errorf("%w: %q", ErrBadTimestamp, clip(timestamp))
	}
	if age := now.Sub(time.Unix(ts, 0)); age > maxAge || -age > maxAge {
		return fmt.Errorf("%w: signed at %s, %s from now (allowed %s)", ErrStale,
			time.Unix(ts, 0).UTC().Format(time.RFC3339), age.Round(time.Second), maxAge)
	}
	want := mac(secret, strings.TrimSpace(timestamp), body)
	found := false
	for part := range strings.SplitSeq(header, ",") {
		part = strings.TrimSpace(part)
		if !strings.HasPrefix(part, SignaturePrefix) {
			continue
		}
		found = true
		got, err := hex.DecodeString(part[len(SignaturePrefix):])
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	if !found {
		return ErrNoSignature
	}
	return ErrBadSignature
}

// clip shortens untrusted text quoted in an error.
func clip(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}
