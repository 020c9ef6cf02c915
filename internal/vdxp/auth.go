package vdxp

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

// HeaderPrefix starts the name of every parameter header.
const HeaderPrefix = "XroadVnpt-"

// The headers of the axis's HMAC scheme (FORMAT.md §8.1), spelled as the
// Java SDK sends them. Header names are compared case-insensitively.
const (
	HeaderSystemID      = "XroadVnpt-systemid"
	HeaderTimestamp     = "XroadVnpt-timestamp"
	HeaderSignHeaderKey = "XroadVnpt-sign-header-key"
	HeaderSignHeader    = "XroadVnpt-sign-header"
	HeaderHashHeader    = "XroadVnpt-hash-header"
	HeaderVersion       = "XroadVnpt-version"
)

// TimestampLayout is the Go layout of the first 15 characters of
// XroadVnpt-timestamp (ddMMyyyy'T'HHmmss); "+SSSS" (milliseconds, not a
// zone) follows.
const TimestampLayout = "02012006T150405"

// Limits on the signed header, far above what the SDK sends.
const (
	maxSignHeader  = 64 << 10
	maxSignEntries = 256
)

// Stable codes of authentication failures (docs/contracts.md).
const (
	codeAuthRequired  = "auth.required"
	codeAuthForbidden = "auth.forbidden"
)

// opError is a refusal with the code that goes into ErrorCode.
type opError struct {
	Status   int
	Code     string
	Message  string
	Problems []Problem
	Err      error
}

func (e *opError) Error() string { return e.Code + ": " + e.Message }
func (e *opError) Unwrap() error { return e.Err }

func fail(status int, code, format string, args ...any) *opError {
	return &opError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

func required(format string, args ...any) *opError {
	return fail(http.StatusUnauthorized, codeAuthRequired, format, args...)
}

func forbidden(format string, args ...any) *opError {
	return fail(http.StatusForbidden, codeAuthForbidden, format, args...)
}

// entry is one signed header: its name as signed and its value.
type entry struct{ name, value string }

// signedRequest is a request whose HMAC checked out: the system and the
// parameters its signed header holds.
type signedRequest struct {
	sys    System
	header http.Header
	// params holds the signed XroadVnpt-* entries by lowercased name
	// without the prefix, in the order signed. The SDK keeps its headers in
	// a map across calls, so "docId" and "docid" may both be there.
	params map[string][]entry
}

// dummyKey keeps the time of a request from an unknown system close to
// that of a known one.
var dummyKey = func() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return k
}()

// single returns the one value of a header, failing when it is absent,
// empty or sent twice with different values.
func single(h http.Header, name string) (string, *opError) {
	vs := h.Values(name)
	if len(vs) == 0 || vs[0] == "" {
		return "", required("missing header %s", name)
	}
	for _, v := range vs[1:] {
		if v != vs[0] {
			return "", required("header %s sent twice with different values", name)
		}
	}
	return vs[0], nil
}

// authenticate checks a request's HMAC and that its signed header tells
// the truth about the headers sent (FORMAT.md §8.1).
func (h *handler) authenticate(r *http.Request) (*signedRequest, *opError) {
	systemID, err := single(r.Header, HeaderSystemID)
	if err != nil {
		return nil, err
	}
	sign, err := single(r.Header, HeaderSignHeader)
	if err != nil {
		return nil, err
	}
	if len(sign) > maxSignHeader {
		return nil, required("%s is longer than %d bytes", HeaderSignHeader, maxSignHeader)
	}
	sent, err := single(r.Header, HeaderHashHeader)
	if err != nil {
		return nil, err
	}
	sys, known := h.systems.System(systemID)
	key := []byte(sys.Secret.Reveal())
	if !known || len(key) == 0 {
		key = dummyKey
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(sign))
	good := hexMatches(sent, mac.Sum(nil), !h.o.RejectUnpaddedHash)
	if !known || len(sys.Secret) == 0 {
		return nil, required("unknown system %q", systemID)
	}
	if !good {
		return nil, required("%s does not match the HMAC-SHA256 of %s under the secret of system %s", HeaderHashHeader, HeaderSignHeader, systemID)
	}
	// The HMAC covers headers that can be captured and replayed; a pinned
	// client certificate proves the caller holds the system's TLS key, on
	// every request.
	if len(sys.ClientCertSHA256) > 0 {
		c := h.o.ClientCert(r)
		if c == nil {
			return nil, required("system %s must present its TLS client certificate", systemID)
		}
		if !sys.pinned(c) {
			return nil, forbidden("the TLS client certificate is not one pinned for system %s", systemID)
		}
	}

	// The HMAC holds: the system signed this JSON. Now the JSON must say
	// what was actually sent.
	entries, perr := parseSignHeader(sign)
	if perr != nil {
		return nil, forbidden("%s: %v", HeaderSignHeader, perr)
	}
	s := &signedRequest{sys: sys, header: r.Header, params: map[string][]entry{}}
	signedNames := map[string]bool{}
	for _, e := range entries {
		if !containsValue(r.Header.Values(e.name), e.value) {
			return nil, forbidden("the signed header %s differs from the header sent", e.name)
		}
		base := e.name
		if p, ok := cutPrefixFold(e.name, HeaderPrefix); ok {
			base = p
			s.params[strings.ToLower(p)] = append(s.params[strings.ToLower(p)], entry{name: p, value: e.value})
		}
		signedNames[strings.ToLower(base)] = true
	}
	if _, _, perr := s.param("systemid"); perr != nil || len(s.params["systemid"]) == 0 {
		return nil, forbidden("%s is not signed", HeaderSystemID)
	}
	if keys := r.Header.Values(HeaderSignHeaderKey); len(keys) > 0 {
		if err := checkSignHeaderKey(strings.Join(keys, ";"), signedNames); err != nil {
			return nil, err
		}
	}
	if h.o.RequireTimestamp {
		if err := h.checkTimestamp(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// parseSignHeader reads a flat JSON object of strings, keeping its order
// and refusing a key written twice (two readers could take different ones).
func parseSignHeader(s string) ([]entry, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	var out []entry
	seen := map[string]bool{}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, errors.New("not valid JSON")
		}
		v, err := dec.Token()
		if err != nil {
			return nil, errors.New("not valid JSON")
		}
		name, value := k.(string), ""
		switch x := v.(type) {
		case string:
			value = x
		default:
			return nil, fmt.Errorf("the value of %q is not a string", name)
		}
		if seen[name] {
			return nil, fmt.Errorf("%q appears twice", name)
		}
		seen[name] = true
		if len(out) == maxSignEntries {
			return nil, fmt.Errorf("more than %d entries", maxSignEntries)
		}
		out = append(out, entry{name: name, value: value})
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, errors.New("not valid JSON")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("data after the JSON object")
	}
	return out, nil
}

// checkSignHeaderKey: XroadVnpt-sign-header-key is not covered by the HMAC,
// so it only has to agree with the signed header. The SDK lists the names
// without the prefix; names with it are accepted too.
func checkSignHeaderKey(list string, signed map[string]bool) *opError {
	listed := map[string]bool{}
	for n := range strings.SplitSeq(list, ";") {
		n = strings.TrimSpace(n)
		if p, ok := cutPrefixFold(n, HeaderPrefix); ok {
			n = p
		}
		if n != "" {
			listed[strings.ToLower(n)] = true
		}
	}
	for n := range listed {
		if !signed[n] {
			return forbidden("%s lists %q, which the signed header does not hold", HeaderSignHeaderKey, n)
		}
	}
	for n := range signed {
		if !listed[n] {
			return forbidden("%s does not list the signed header %q", HeaderSignHeaderKey, n)
		}
	}
	return nil
}

func (h *handler) checkTimestamp(s *signedRequest) *opError {
	v, ok, err := s.param("timestamp")
	if err != nil {
		return err
	}
	if !ok {
		return required("a signed %s is required", HeaderTimestamp)
	}
	at, perr := ParseTimestamp(v, h.o.Location)
	if perr != nil {
		return required("%s: %v", HeaderTimestamp, perr)
	}
	if d := h.o.Now().Sub(at); d > h.o.MaxClockSkew || d < -h.o.MaxClockSkew {
		return required("%s %s is more than %s away from the hub's clock", HeaderTimestamp, v, h.o.MaxClockSkew)
	}
	return nil
}

// ParseTimestamp reads XroadVnpt-timestamp (ddMMyyyy'T'HHmmss+SSSS, where
// SSSS is milliseconds) in loc.
func ParseTimestamp(v string, loc *time.Location) (time.Time, error) {
	if len(v) < len(TimestampLayout) {
		return time.Time{}, fmt.Errorf("%q is not ddMMyyyy'T'HHmmss+SSSS", v)
	}
	t, err := time.ParseInLocation(TimestampLayout, v[:len(TimestampLayout)], loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not ddMMyyyy'T'HHmmss+SSSS", v)
	}
	rest := v[len(TimestampLayout):]
	if rest == "" {
		return t, nil
	}
	ms, ok := strings.CutPrefix(rest, "+")
	if !ok || ms == "" || len(ms) > 4 || strings.Trim(ms, "0123456789") != "" {
		return time.Time{}, fmt.Errorf("%q is not ddMMyyyy'T'HHmmss+SSSS", v)
	}
	var n int
	for _, c := range ms {
		n = n*10 + int(c-'0')
	}
	return t.Add(time.Duration(n) * time.Millisecond), nil
}

// FormatTimestamp writes t as the SDK does: ddMMyyyy'T'HHmmss+SSSS in loc.
func FormatTimestamp(t time.Time, loc *time.Location) string {
	t = t.In(loc)
	return t.Format(TimestampLayout) + fmt.Sprintf("+%04d", t.Nanosecond()/int(time.Millisecond))
}

// param returns the signed value of a parameter, trying names in order
// (exact spelling first, then any case). Every value received under that
// name, in any case, must be signed: a parameter the operation uses cannot
// be slipped in beside the signed ones.
func (s *signedRequest) param(names ...string) (string, bool, *opError) {
	for _, n := range names {
		signed := s.params[strings.ToLower(n)]
		for _, v := range s.header.Values(HeaderPrefix + n) {
			if !containsEntry(signed, v) {
				return "", false, forbidden("the parameter %s%s is not signed", HeaderPrefix, n)
			}
		}
	}
	for _, n := range names {
		for _, e := range s.params[strings.ToLower(n)] {
			if e.name == n {
				return e.value, true, nil
			}
		}
	}
	for _, n := range names {
		if es := s.params[strings.ToLower(n)]; len(es) > 0 {
			return es[0].value, true, nil
		}
	}
	return "", false, nil
}

// need is param for a required parameter.
func (s *signedRequest) need(names ...string) (string, *opError) {
	v, ok, err := s.param(names...)
	if err != nil {
		return "", err
	}
	if !ok || strings.TrimSpace(v) == "" {
		return "", fail(http.StatusBadRequest, CodeMissingParameter, "the parameter %s%s is required", HeaderPrefix, names[0])
	}
	return strings.TrimSpace(v), nil
}

// sameValue compares a signed value with a received one: HTTP drops the
// spaces and tabs around a header value, so they are not compared.
func sameValue(a, b string) bool { return strings.Trim(a, " \t") == strings.Trim(b, " \t") }

func containsValue(vs []string, v string) bool {
	return slices.ContainsFunc(vs, func(x string) bool { return sameValue(x, v) })
}

func containsEntry(es []entry, v string) bool {
	return slices.ContainsFunc(es, func(e entry) bool { return sameValue(e.value, v) })
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}
