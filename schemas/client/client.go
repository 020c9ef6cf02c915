// Package client is a Go client of the hub's REST API v1 (docs/contracts.md)
// for the document-management systems (DMS) of agencies: send packets,
// list the inbox, fetch the exact bytes, acknowledge, follow timelines,
// answer documents with status packets and verify the hub's signed
// receipts.
//
// Packets are streamed both ways: Send never holds a packet in memory and
// Fetch checks the hub's Digest header against the bytes it wrote. Every
// refusal by the hub is an *Error carrying a stable code
// (docs/contracts.md, Error codes); anything else (an unreachable hub, a
// broken connection) is a plain error.
package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// maxJSONBytes bounds a JSON answer read from the hub.
const maxJSONBytes = 16 << 20

// maxProblemBytes bounds an error body read from the hub.
const maxProblemBytes = 1 << 20

// Client talks to one hub as one agency. It is safe for concurrent use.
type Client struct {
	base     string // without a trailing slash
	token    string
	hc       *http.Client
	ua       string
	progress func(sent, total int64)
}

// Option changes a Client.
type Option func(*Client)

// WithHTTPClient uses hc for every request (TLS client certificates,
// proxies, timeouts). The default has no overall timeout: use contexts, as
// large packets take time.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(c *Client) { c.ua = ua } }

// WithProgress has Send report the packet bytes written so far and the
// packet's size (-1 when unknown), as they are sent. f runs on the
// goroutine that writes the request body.
func WithProgress(f func(sent, total int64)) Option { return func(c *Client) { c.progress = f } }

// New returns a client of the hub at baseURL (e.g. http://127.0.0.1:8080)
// that authenticates with the agency's bearer token; an empty token sends
// no Authorization header (a TLS client certificate then authenticates).
func New(baseURL, token string, opts ...Option) *Client {
	c := &Client{base: strings.TrimRight(baseURL, "/"), token: token, hc: &http.Client{}, ua: "lienthong-client/1"}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Problem is one problem the hub found in a packet (the problem+json
// "errors" member).
type Problem struct {
	Code    string `json:"code"`
	Path    string `json:"path,omitempty"`
	Message string `json:"message"`
}

// Error is a refusal by the hub: an RFC 9457 problem+json answer. Code is
// the stable code (docs/contracts.md) ("auth.forbidden", "sig.missing", …);
// it is empty when the answer was not problem+json (a proxy's error page),
// and Detail then holds the start of the body.
type Error struct {
	Status   int
	Code     string
	Detail   string
	Problems []Problem
	// Verification is the signature report of a packet refused for its
	// signatures, nil otherwise.
	Verification *Verification
}

func (e *Error) Error() string {
	code := e.Code
	if code == "" {
		code = "HTTP " + fmt.Sprint(e.Status)
	}
	if e.Detail == "" {
		return "hub: " + code
	}
	return "hub: " + code + ": " + e.Detail
}

// Is matches a target *Error by its non-zero fields, so that
// errors.Is(err, &client.Error{Code: "packet.conflict"}) and
// errors.Is(err, &client.Error{Status: 403}) work.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok || t == nil {
		return false
	}
	return (t.Code == "" || t.Code == e.Code) && (t.Status == 0 || t.Status == e.Status) && (t.Code != "" || t.Status != 0)
}

// IsCode reports whether err is, or wraps, a refusal by the hub with the
// given stable code.
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// Code returns the stable code of the hub's refusal in err, or "".
func Code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// newRequest makes a request to path under the base URL.
func (c *Client) newRequest(ctx context.Context, method, path string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.ua != "" {
		req.Header.Set("User-Agent", c.ua)
	}
	return req, nil
}

// do sends req and returns the response when its status is one of ok;
// any other status becomes an *Error (and the body is closed).
func (c *Client) do(req *http.Request, ok ...int) (*http.Response, error) {
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	for _, s := range ok {
		if resp.StatusCode == s {
			return resp, nil
		}
	}
	defer resp.Body.Close() //nolint:errcheck // read-only
	return nil, readError(resp)
}

// readError turns a refusal into an *Error.
func readError(resp *http.Response) error {
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxProblemBytes))
	e := &Error{Status: resp.StatusCode}
	if err != nil {
		e.Detail = "reading the error: " + err.Error()
		return e
	}
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	var body struct {
		Code         string        `json:"code"`
		Detail       string        `json:"detail"`
		Title        string        `json:"title"`
		Errors       []Problem     `json:"errors"`
		Verification *Verification `json:"verification"`
	}
	if (ct == "application/problem+json" || ct == "application/json") && json.Unmarshal(raw, &body) == nil {
		e.Code, e.Detail, e.Problems, e.Verification = body.Code, body.Detail, body.Errors, body.Verification
		if e.Detail == "" {
			e.Detail = body.Title
		}
		return e
	}
	e.Detail = strings.TrimSpace(string(raw))
	if len(e.Detail) > 512 {
		e.Detail = e.Detail[:512] + "…"
	}
	if e.Detail == "" {
		e.Detail = http.StatusText(resp.StatusCode)
	}
	return e
}

// getJSON decodes a 200 answer to GET path into v.
func (c *Client) getJSON(ctx context.Context, path string, v any) error {
	req, err := c.newRequest(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.do(req, http.StatusOK)
	if err != nil {
		return err
	}
	defer resp.Body.Close() //nolint:errcheck // read-only
	return decodeJSON(resp.Body, v)
}

func decodeJSON(r io.Reader, v any) error {
	if err := json.NewDecoder(io.LimitReader(r, maxJSONBytes)).Decode(v); err != nil {
		return fmt.Errorf("decode the hub's answer: %w", err)
	}
	return nil
}

func escape(id string) string { return url.PathEscape(id) }
