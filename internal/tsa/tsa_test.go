package tsa_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/digitorus/pkcs7"
	"github.com/digitorus/timestamp"

	"github.com/lienthong/lienthong/internal/pki"
	"github.com/lienthong/lienthong/internal/tsa"
)

// newCA makes a dev CA in a fresh directory.
func newCA(t testing.TB, alg pki.Algorithm) *pki.CA {
	t.Helper()
	ca, err := pki.Init(t.TempDir(), pki.InitOptions{Algorithm: alg})
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func issueTSA(t testing.TB, ca *pki.CA, opts pki.IssueOptions) *pki.Issued {
	t.Helper()
	iss, err := ca.IssueTSA("lienthong test TSA", opts)
	if err != nil {
		t.Fatal(err)
	}
	return iss
}

// startTSA serves a development TSA signing as iss over real HTTP.
func startTSA(t testing.TB, iss *pki.Issued) *httptest.Server {
	t.Helper()
	s, err := tsa.NewServer(iss.Cert, iss.Key, iss.Chain, tsa.ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv
}

func newClient(t testing.TB, url string, opts tsa.ClientOptions) *tsa.Client {
	t.Helper()
	c, err := tsa.NewClient(url, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func roots(ca *pki.CA) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Root())
	return p
}

func digestOf(h crypto.Hash, data string) []byte {
	hh := h.New()
	hh.Write([]byte(data))
	return hh.Sum(nil)
}

func stamp(t testing.TB, url string, digest []byte, h crypto.Hash) []byte {
	t.Helper()
	tok, err := newClient(t, url, tsa.ClientOptions{}).Stamp(t.Context(), digest, h)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		alg  pki.Algorithm
		hash crypto.Hash
	}{
		{pki.ECDSA, crypto.SHA256},
		{pki.ECDSA, crypto.SHA384},
		{pki.ECDSA, crypto.SHA512},
		{pki.RSA, crypto.SHA256},
	}
	for _, tt := range tests {
		t.Run(string(tt.alg)+"/"+tt.hash.String(), func(t *testing.T) {
			ca := newCA(t, tt.alg)
			srv := startTSA(t, issueTSA(t, ca, pki.IssueOptions{Algorithm: tt.alg}))
			digest := digestOf(tt.hash, "checkpoint 42")
			before := time.Now().Truncate(time.Second)
			tok := stamp(t, srv.URL, digest, tt.hash)
			after := time.Now()
			got, err := tsa.Verify(tok, digest, tt.hash, roots(ca), nil)
			if err != nil {
				t.Fatal(err)
			}
			if got.Before(before) || got.After(after) {
				t.Errorf("genTime %s, want between %s and %s", got, before, after)
			}
			if got.Location() != time.UTC {
				t.Errorf("genTime in %s, want UTC", got.Location())
			}
		})
	}
}

// A token outlives its TSA's certificate: what counts is validity at the
// stamped time.
func TestVerifyAfterCertificateExpired(t *testing.T) {
	ca := newCA(t, pki.ECDSA)
	iss := issueTSA(t, ca, pki.IssueOptions{NotAfter: time.Now().Add(2 * time.Second)})
	digest := digestOf(crypto.SHA256, "x")
	tok := stamp(t, startTSA(t, iss).URL, digest, crypto.SHA256)
	time.Sleep(time.Until(iss.Cert.NotAfter.Add(1100 * time.Millisecond)))
	if _, err := tsa.Verify(tok, digest, crypto.SHA256, roots(ca), nil); err != nil {
		t.Fatalf("a token made while the certificate was valid: %v", err)
	}
}

func TestVerifyRefuses(t *testing.T) {
	ca := newCA(t, pki.ECDSA)
	good := issueTSA(t, ca, pki.IssueOptions{})
	digest := digestOf(crypto.SHA256, "checkpoint 42")
	tok := stamp(t, startTSA(t, good).URL, digest, crypto.SHA256)
	if _, err := tsa.Verify(tok, digest, crypto.SHA256, roots(ca), nil); err != nil {
		t.Fatal(err)
	}
	other := newCA(t, pki.ECDSA)

	// Each bad TSA certificate still signs a well-formed token, which
	// Client.Stamp may already refuse.
	tokenBy := func(iss *pki.Issued) []byte {
		req, err := (&timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: digest, Certificates: true}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		resp := decodeReply(t, post(t, startTSA(t, iss).URL, tsa.QueryType, req))
		if resp.Status.Status != int(timestamp.Granted) {
			t.Fatalf("status %+v", resp.Status)
		}
		return resp.Token.FullBytes
	}
	noEKU, err := ca.Issue("000.00.00.G01", "no EKU", pki.IssueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nonCritical, err := ca.Issue("000.00.00.G02", "non-critical EKU", pki.IssueOptions{ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}})
	if err != nil {
		t.Fatal(err)
	}
	twoEKUs, err := ca.Issue("000.00.00.G03", "two EKUs", pki.IssueOptions{ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping, x509.ExtKeyUsageCodeSigning}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	expired := issueTSA(t, ca, pki.IssueOptions{NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-24 * time.Hour)})
	notYet := issueTSA(t, ca, pki.IssueOptions{NotBefore: now.Add(24 * time.Hour), NotAfter: now.Add(48 * time.Hour)})

	tests := []struct {
		name   string
		token  []byte
		digest []byte
		hash   crypto.Hash
		roots  *x509.CertPool
		want   error
	}{
		{name: "genTime changed", token: tamper(t, tok, genTimeAt(t, tok)), want: tsa.ErrSignature},
		{name: "imprint changed", token: tamper(t, tok, bytes.Index(tok, digest)), want: tsa.ErrSignature},
		{name: "signature changed", token: tamper(t, tok, len(tok)-3), want: tsa.ErrSignature},
		{name: "signer certificate changed", token: tamper(t, tok, bytes.Index(tok, good.Cert.Raw)+len(good.Cert.Raw)-5), want: tsa.ErrUntrusted},
		{name: "truncated", token: tok[:len(tok)-1], want: tsa.ErrMalformed},
		{name: "garbage", token: []byte("not a token"), want: tsa.ErrMalformed},
		{name: "other digest", token: tok, digest: digestOf(crypto.SHA256, "checkpoint 43"), want: tsa.ErrImprint},
		{name: "other hash", token: tok, hash: crypto.SHA512, digest: digestOf(crypto.SHA512, "checkpoint 42"), want: tsa.ErrImprint},
		{name: "other root", token: tok, roots: roots(other), want: tsa.ErrUntrusted},
		{name: "no roots", token: tok, roots: x509.NewCertPool(), want: tsa.ErrUntrusted},
		{name: "certificate without EKU", token: tokenBy(noEKU), want: tsa.ErrUntrusted},
		{name: "non-critical EKU", token: tokenBy(nonCritical), want: tsa.ErrUntrusted},
		{name: "a second EKU", token: tokenBy(twoEKUs), want: tsa.ErrUntrusted},
		{name: "expired at genTime", token: tokenBy(expired), want: tsa.ErrUntrusted},
		{name: "not yet valid at genTime", token: tokenBy(notYet), want: tsa.ErrUntrusted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.digest == nil {
				tt.digest = digest
			}
			if tt.hash == 0 {
				tt.hash = crypto.SHA256
			}
			if tt.roots == nil {
				tt.roots = roots(ca)
			}
			got, err := tsa.Verify(tt.token, tt.digest, tt.hash, tt.roots, nil)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %s, %v; want %v", got, err, tt.want)
			}
		})
	}
	if _, err := tsa.Verify(tok, digest, crypto.SHA256, nil, nil); !errors.Is(err, tsa.ErrUntrusted) {
		t.Errorf("nil roots: %v, want ErrUntrusted (never the system pool)", err)
	}
}

// tamper returns tok with the byte at i changed.
func tamper(t *testing.T, tok []byte, i int) []byte {
	t.Helper()
	if i < 0 || i >= len(tok) {
		t.Fatalf("tamper at %d of %d", i, len(tok))
	}
	b := bytes.Clone(tok)
	b[i] ^= 0x01
	return b
}

// genTimeAt finds the TSTInfo's GeneralizedTime and returns the index of
// its seconds' last digit.
func genTimeAt(t *testing.T, tok []byte) int {
	t.Helper()
	ts, err := timestamp.Parse(tok)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(tok, []byte(ts.Time.UTC().Format("20060102150405Z")))
	if i < 0 {
		t.Fatal("no genTime in the token")
	}
	return i + len("2006010215040")
}

// A token made without certReq carries no certificate; Verify finds the
// signer among the intermediates, and only the certificate the signed
// attributes name.
func TestVerifySignerFromIntermediates(t *testing.T) {
	ca := newCA(t, pki.ECDSA)
	iss := issueTSA(t, ca, pki.IssueOptions{})
	srv := startTSA(t, iss)
	digest := digestOf(crypto.SHA256, "x")
	req, err := (&timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: digest}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	ts, err := timestamp.ParseResponse(post(t, srv.URL, tsa.QueryType, req))
	if err != nil {
		t.Fatal(err)
	}
	if len(ts.Certificates) != 0 {
		t.Fatalf("token carries %d certificates without certReq", len(ts.Certificates))
	}
	tok := ts.RawToken

	// The same key and serial under a certificate valid much longer.
	interKey, err := pki.LoadPrivateKey(filepath.Join(ca.Dir(), pki.IntermediateKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := *iss.Cert
	tmpl.NotAfter = tmpl.NotAfter.Add(100 * 365 * 24 * time.Hour)
	tmpl.ExtraExtensions = iss.Cert.Extensions // keeps the EKU critical
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, ca.Intermediate(), iss.Cert.PublicKey, interKey)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		give []*x509.Certificate
		want error
	}{
		{name: "signer given", give: []*x509.Certificate{iss.Cert, ca.Intermediate()}},
		{name: "signer missing", give: []*x509.Certificate{ca.Intermediate()}, want: tsa.ErrUntrusted},
		{name: "another certificate of the signer's key", give: []*x509.Certificate{forged, ca.Intermediate()}, want: tsa.ErrUntrusted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tsa.Verify(tok, digest, crypto.SHA256, roots(ca), tt.give)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func post(t *testing.T, url, contentType string, body []byte) []byte {
	t.Helper()
	resp, err := http.Post(url, contentType, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != tsa.ReplyType {
		t.Fatalf("HTTP %s, %s: %s", resp.Status, resp.Header.Get("Content-Type"), b)
	}
	return b
}

// pkiStatusInfo is RFC 3161's, decoded here to read the failure info the
// library only puts into an error's text, and tokens it would refuse.
type pkiStatusInfo struct {
	Status       int
	StatusString []string       `asn1:"optional,utf8"`
	FailInfo     asn1.BitString `asn1:"optional"`
}

// timeStampResp is RFC 3161's TimeStampResp.
type timeStampResp struct {
	Status pkiStatusInfo
	Token  asn1.RawValue `asn1:"optional"`
}

func decodeReply(t *testing.T, b []byte) timeStampResp {
	t.Helper()
	var r timeStampResp
	if rest, err := asn1.Unmarshal(b, &r); err != nil || len(rest) != 0 {
		t.Fatalf("reply %x: %v", b, err)
	}
	return r
}

func TestServerRefuses(t *testing.T) {
	ca := newCA(t, pki.ECDSA)
	srv := startTSA(t, issueTSA(t, ca, pki.IssueOptions{}))
	request := func(r timestamp.Request) []byte {
		b, err := r.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	sha256Req := request(timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: digestOf(crypto.SHA256, "x")})
	// SHA3-256 (2.16.840.1.101.3.4.2.8) in place of SHA-256 (…2.1): a hash
	// the library does not know.
	sha3Req := bytes.Replace(sha256Req, []byte{0x65, 0x03, 0x04, 0x02, 0x01}, []byte{0x65, 0x03, 0x04, 0x02, 0x08}, 1)

	tests := []struct {
		name        string
		contentType string
		give        []byte
		want        timestamp.FailureInfo
	}{
		{name: "SHA-1", give: request(timestamp.Request{HashAlgorithm: crypto.SHA1, HashedMessage: digestOf(crypto.SHA1, "x")}), want: timestamp.BadAlgorithm},
		{name: "unknown hash", give: sha3Req, want: timestamp.BadAlgorithm},
		{name: "garbage", give: []byte("GET / HTTP/1.0\r\n\r\n"), want: timestamp.BadDataFormat},
		{name: "empty", give: nil, want: timestamp.BadDataFormat},
		{name: "trailing bytes", give: append(bytes.Clone(sha256Req), 0), want: timestamp.BadDataFormat},
		{name: "short imprint", give: request(timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: []byte("short")}), want: timestamp.BadDataFormat},
		{name: "other policy", give: request(timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: digestOf(crypto.SHA256, "x"), TSAPolicyOID: asn1.ObjectIdentifier{1, 2, 3, 4, 1}}), want: timestamp.UnacceptedPolicy},
		{name: "form post", contentType: "application/x-www-form-urlencoded", give: sha256Req, want: timestamp.BadRequest},
		{name: "too large", give: make([]byte, tsa.MaxRequest+1), want: timestamp.BadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct := tt.contentType
			if ct == "" {
				ct = tsa.QueryType
			}
			outer := decodeReply(t, post(t, srv.URL, ct, tt.give))
			got := outer.Status
			if got.Status != int(timestamp.Rejection) || got.FailInfo.At(int(tt.want)) != 1 || len(outer.Token.FullBytes) != 0 {
				t.Fatalf("status %d failInfo %x token %d bytes; want rejection with %v", got.Status, got.FailInfo.Bytes, len(outer.Token.FullBytes), tt.want)
			}
		})
	}

	t.Run("GET", func(t *testing.T) {
		resp, err := http.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET: %s, want 405", resp.Status)
		}
	})
}

func TestNewServerErrors(t *testing.T) {
	ca := newCA(t, pki.ECDSA)
	a := issueTSA(t, ca, pki.IssueOptions{})
	b := issueTSA(t, newCA(t, pki.ECDSA), pki.IssueOptions{})
	tests := []struct {
		name  string
		cert  *x509.Certificate
		key   crypto.Signer
		chain []*x509.Certificate
	}{
		{name: "no key", cert: a.Cert},
		{name: "another key", cert: a.Cert, key: b.Key, chain: a.Chain},
		{name: "another chain", cert: a.Cert, key: a.Key, chain: b.Chain},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tsa.NewServer(tt.cert, tt.key, tt.chain, tsa.ServerOptions{}); err == nil {
				t.Fatal("NewServer accepted it")
			}
		})
	}
}

// misbehave serves a TSA that changes the request or the reply on its way.
func misbehave(t *testing.T, ca *pki.CA, change func(req []byte, tsa http.Handler) []byte) *httptest.Server {
	t.Helper()
	iss := issueTSA(t, ca, pki.IssueOptions{})
	s, err := tsa.NewServer(iss.Cert, iss.Key, iss.Chain, tsa.ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := io.ReadAll(r.Body)
		if err != nil {
			t.Error(err)
			return
		}
		w.Header().Set("Content-Type", tsa.ReplyType)
		_, _ = w.Write(change(req, s))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// answer has h answer req.
func answer(t *testing.T, h http.Handler, req []byte) []byte {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(req))
	r.Header.Set("Content-Type", tsa.QueryType)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Body.Bytes()
}

// rewrite parses a request, changes it and marshals it again.
func rewrite(t *testing.T, req []byte, change func(*timestamp.Request)) []byte {
	t.Helper()
	r, err := timestamp.ParseRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	change(r)
	r.ExtraExtensions = r.Extensions
	b, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestStampRefuses(t *testing.T) {
	ca := newCA(t, pki.ECDSA)
	tests := []struct {
		name   string
		change func(req []byte, h http.Handler) []byte
		want   string
	}{
		// A reply to an earlier request for the same digest.
		{name: "replayed reply", want: "nonce", change: func(req []byte, h http.Handler) []byte {
			return answer(t, h, rewrite(t, req, func(r *timestamp.Request) { r.Nonce = new(big.Int).Add(r.Nonce, big.NewInt(1)) }))
		}},
		{name: "other digest", want: "another digest", change: func(req []byte, h http.Handler) []byte {
			return answer(t, h, rewrite(t, req, func(r *timestamp.Request) { r.HashedMessage = digestOf(crypto.SHA256, "other") }))
		}},
		{name: "no nonce", want: "nonce", change: func(req []byte, h http.Handler) []byte {
			return answer(t, h, rewrite(t, req, func(r *timestamp.Request) { r.Nonce = nil }))
		}},
		{name: "certReq ignored", want: "no certificate", change: func(req []byte, h http.Handler) []byte {
			return answer(t, h, rewrite(t, req, func(r *timestamp.Request) { r.Certificates = false }))
		}},
		{name: "rejection", want: "rejected", change: func([]byte, http.Handler) []byte {
			b, err := timestamp.CreateErrorResponse(timestamp.Rejection, timestamp.SystemFailure)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}},
		{name: "garbage", want: "asn1", change: func([]byte, http.Handler) []byte { return []byte("<html>") }},
		{name: "huge", want: "larger than", change: func([]byte, http.Handler) []byte { return make([]byte, tsa.DefaultMaxResponse+1) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, misbehave(t, ca, tt.change).URL, tsa.ClientOptions{})
			_, err := c.Stamp(t.Context(), digestOf(crypto.SHA256, "mine"), crypto.SHA256)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Stamp = %v, want an error about %q", err, tt.want)
			}
		})
	}
}

func TestStampHTTPErrors(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			select {
			case <-r.Context().Done():
			case <-block:
			}
			return
		}
		http.Error(w, "TSA down for maintenance", http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(block) })
	digest := digestOf(crypto.SHA256, "x")

	_, err := newClient(t, srv.URL, tsa.ClientOptions{}).Stamp(t.Context(), digest, crypto.SHA256)
	if err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "maintenance") {
		t.Errorf("503: %v", err)
	}
	// The test's own deadline is longer, so that only the client's fires.
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	start := time.Now()
	_, err = newClient(t, srv.URL+"/slow", tsa.ClientOptions{Timeout: 200 * time.Millisecond}).Stamp(ctx, digest, crypto.SHA256)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("slow TSA: %v, want a deadline error", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("slow TSA took %s, want the client's 200ms timeout", d)
	}
}

func TestStampArgumentErrors(t *testing.T) {
	c := newClient(t, "http://127.0.0.1:1/", tsa.ClientOptions{}) // never reached
	tests := []struct {
		name   string
		digest []byte
		hash   crypto.Hash
	}{
		{name: "SHA-1", digest: digestOf(crypto.SHA1, "x"), hash: crypto.SHA1},
		{name: "short digest", digest: []byte("short"), hash: crypto.SHA256},
		{name: "SHA-512 digest as SHA-256", digest: digestOf(crypto.SHA512, "x"), hash: crypto.SHA256},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Stamp(t.Context(), tt.digest, tt.hash)
			if err == nil || strings.Contains(err.Error(), "127.0.0.1") {
				t.Fatalf("Stamp = %v, want an error before any request", err)
			}
		})
	}
	for _, give := range []string{"", "tsa.example", "ftp://tsa.example/", "http:///x", "://"} {
		if _, err := tsa.NewClient(give, tsa.ClientOptions{}); err == nil {
			t.Errorf("NewClient(%q) accepted it", give)
		}
	}
}

// Two stamps carry different nonces and serial numbers.
func TestStampFresh(t *testing.T) {
	ca := newCA(t, pki.ECDSA)
	srv := startTSA(t, issueTSA(t, ca, pki.IssueOptions{}))
	digest := sha256.Sum256([]byte("x"))
	seen := map[string]bool{}
	for range 3 {
		ts, err := timestamp.Parse(stamp(t, srv.URL, digest[:], crypto.SHA256))
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range []*big.Int{ts.Nonce, ts.SerialNumber} {
			if seen[v.String()] {
				t.Errorf("%v repeats", v)
			}
			seen[v.String()] = true
		}
	}
}

// A CMS signature by the TSA's key over bytes that parse as a TSTInfo, but
// signed as plain data, is not a time-stamp.
func TestVerifyRefusesOtherContentType(t *testing.T) {
	ca := newCA(t, pki.ECDSA)
	iss := issueTSA(t, ca, pki.IssueOptions{})
	digest := digestOf(crypto.SHA256, "x")
	p7, err := pkcs7.Parse(stamp(t, startTSA(t, iss).URL, digest, crypto.SHA256))
	if err != nil {
		t.Fatal(err)
	}
	sd, err := pkcs7.NewSignedData(p7.Content) // content type id-data
	if err != nil {
		t.Fatal(err)
	}
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	certHash := sha256.Sum256(iss.Cert.Raw)
	// SigningCertificateV2 { certs { ESSCertIDv2 { certHash } } }, SHA-256 by default.
	ess, err := asn1.Marshal(struct{ Certs []struct{ CertHash []byte } }{Certs: []struct{ CertHash []byte }{{certHash[:]}}})
	if err != nil {
		t.Fatal(err)
	}
	err = sd.AddSignerChain(iss.Cert, iss.Key, iss.Chain, pkcs7.SignerInfoConfig{ExtraSignedAttributes: []pkcs7.Attribute{
		{Type: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}, Value: asn1.RawValue{FullBytes: ess}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := sd.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tsa.Verify(tok, digest, crypto.SHA256, roots(ca), nil); !errors.Is(err, tsa.ErrMalformed) {
		t.Fatalf("Verify = %v, want ErrMalformed", err)
	}
}

func TestDevServer(t *testing.T) {
	ca := newCA(t, pki.ECDSA)
	digest := digestOf(crypto.SHA256, "x")
	signer := func(s *tsa.Server) *x509.Certificate {
		t.Helper()
		srv := httptest.NewServer(s)
		defer srv.Close()
		tok := stamp(t, srv.URL, digest, crypto.SHA256)
		if _, err := tsa.Verify(tok, digest, crypto.SHA256, roots(ca), nil); err != nil {
			t.Fatal(err)
		}
		ts, err := timestamp.Parse(tok)
		if err != nil {
			t.Fatal(err)
		}
		return ts.Certificates[0]
	}
	dev := func() *tsa.Server {
		t.Helper()
		s, err := tsa.DevServer(ca, tsa.ServerOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	first := signer(dev())
	if first.Subject.CommonName != tsa.DevName {
		t.Errorf("signer %s", first.Subject)
	}
	if again := signer(dev()); !again.Equal(first) {
		t.Error("a second DevServer issued another certificate instead of loading the first")
	}
	// One ending within the day is replaced.
	if _, err := ca.IssueTSA(tsa.DevName, pki.IssueOptions{NotAfter: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if renewed := signer(dev()); renewed.Equal(first) || time.Until(renewed.NotAfter) < 24*time.Hour {
		t.Errorf("signer ends %s, want a new certificate", renewed.NotAfter)
	}
}

// A token deeper or larger than any TSA makes is refused before it is
// parsed: indefinite-length BER nested a hundred thousand times would
// take hundreds of MB in pkcs7.Parse.
func TestVerifyRefusesHugeToken(t *testing.T) {
	nested := bytes.Repeat([]byte{0x30, 0x80}, 100_000)
	sum := sha256.Sum256([]byte("x"))
	_, err := tsa.Verify(nested, sum[:], crypto.SHA256, x509.NewCertPool(), nil)
	if !errors.Is(err, tsa.ErrMalformed) || !strings.Contains(err.Error(), "more than") {
		t.Errorf("a 200 KB nested token: %v", err)
	}
}
