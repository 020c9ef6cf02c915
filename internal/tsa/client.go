package tsa

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"time"

	"github.com/digitorus/timestamp"
)

// Media types of RFC 3161 §3.4, time-stamp protocol via HTTP.
const (
	QueryType = "application/timestamp-query"
	ReplyType = "application/timestamp-reply"
)

// Defaults of ClientOptions.
const (
	DefaultTimeout     = 10 * time.Second
	DefaultMaxResponse = MaxToken + 4<<10 // a token with a long chain is a few KiB
)

// ClientOptions configures NewClient. The zero value is usable.
type ClientOptions struct {
	// HTTPClient sends the requests; nil means a client with no settings
	// but the timeout. Set it for a proxy, client certificates or
	// authentication (a RoundTripper).
	HTTPClient *http.Client
	// Timeout bounds one Stamp, on top of the caller's context; zero
	// means DefaultTimeout.
	Timeout time.Duration
	// MaxResponse bounds the reply's size in bytes; zero means
	// DefaultMaxResponse.
	MaxResponse int64
}

// Client asks one RFC 3161 time-stamping authority for tokens. It is safe
// for concurrent use.
type Client struct {
	url     string
	http    *http.Client
	timeout time.Duration
	max     int64
}

// NewClient returns a client of the TSA at rawURL (http or https).
func NewClient(rawURL string, opts ClientOptions) (*Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("TSA URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("TSA URL %q: want an absolute http or https URL", rawURL)
	}
	c := &Client{url: u.String(), http: opts.HTTPClient, timeout: opts.Timeout, max: opts.MaxResponse}
	if c.http == nil {
		c.http = &http.Client{}
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.max <= 0 {
		c.max = DefaultMaxResponse
	}
	return c, nil
}

// URL is the TSA's address.
func (c *Client) URL() string { return c.url }

// Stamp asks the TSA to time-stamp digest, the hash of the data made with
// hash (SHA-256, SHA-384 or SHA-512), and returns the TimeStampToken: the
// DER CMS SignedData, without the TimeStampResp around it, carrying the
// TSA's certificate so that it verifies offline. Stamp checks that the
// token is for this digest and this request (the nonce) and that its
// signature verifies with the certificate it carries; trust in that
// certificate is Verify's to decide. A refusal's error holds the TSA's
// status, text and failure info.
func (c *Client) Stamp(ctx context.Context, digest []byte, hash crypto.Hash) ([]byte, error) {
	if !supportedHash(hash) {
		return nil, fmt.Errorf("time-stamp: unsupported hash %v (want SHA-256, SHA-384 or SHA-512)", hash)
	}
	if len(digest) != hash.Size() {
		return nil, fmt.Errorf("time-stamp: digest of %d bytes, %v makes %d", len(digest), hash, hash.Size())
	}
	// 64 random bits, as openssl sends: enough that a replayed reply to an
	// earlier request does not match.
	nonce, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, fmt.Errorf("time-stamp: nonce: %w", err)
	}
	req, err := (&timestamp.Request{HashAlgorithm: hash, HashedMessage: digest, Certificates: true, Nonce: nonce}).Marshal()
	if err != nil {
		return nil, fmt.Errorf("time-stamp: request: %w", err)
	}

	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(req))
	if err != nil {
		return nil, fmt.Errorf("time-stamp: %w", err)
	}
	hreq.Header.Set("Content-Type", QueryType)
	hreq.Header.Set("Accept", ReplyType)
	resp, err := c.http.Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("time-stamp from %s: %w", c.url, err)
	}
	defer func() { _ = resp.Body.Close() }() // the body was read or its error reported
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.max+1))
	if err != nil {
		return nil, fmt.Errorf("time-stamp from %s: reading the reply: %w", c.url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("time-stamp from %s: HTTP %s: %q", c.url, resp.Status, snippet(body))
	}
	if int64(len(body)) > c.max {
		return nil, fmt.Errorf("time-stamp from %s: reply larger than %d bytes", c.url, c.max)
	}
	// ParseResponse refuses a status other than granted with the TSA's
	// text and failure info, and checks the token's signature against the
	// certificate it carries.
	ts, err := timestamp.ParseResponse(body)
	if err != nil {
		return nil, fmt.Errorf("time-stamp from %s: %w", c.url, err)
	}
	switch {
	case ts.HashAlgorithm != hash || !bytes.Equal(ts.HashedMessage, digest):
		return nil, fmt.Errorf("time-stamp from %s: %w: the token stamps %v %x", c.url, ErrImprint, ts.HashAlgorithm, ts.HashedMessage)
	case ts.Nonce == nil || ts.Nonce.Cmp(nonce) != 0:
		return nil, fmt.Errorf("time-stamp from %s: the token's nonce %v is not the request's %v", c.url, ts.Nonce, nonce)
	case len(ts.Certificates) == 0:
		return nil, fmt.Errorf("time-stamp from %s: the token carries no certificate although the request asked for it", c.url)
	}
	return ts.RawToken, nil
}

func supportedHash(h crypto.Hash) bool {
	return h == crypto.SHA256 || h == crypto.SHA384 || h == crypto.SHA512
}

// snippet keeps an error page's first bytes for the error message.
func snippet(b []byte) []byte {
	const n = 200
	if len(b) > n {
		return b[:n]
	}
	return b
}
