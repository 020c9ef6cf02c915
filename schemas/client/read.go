package client

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// InboxQuery selects a page of the inbox.
type InboxQuery struct {
	Kind   string // "edoc", "status" or "" for both
	Limit  int    // items per page; 0 is the hub's default (100), at most 1000
	Cursor string // InboxPage.Next of the previous page; "" for the first
}

// InboxItem is one pending packet for the caller: one item per packet and
// endpoint, Organs naming the caller's organs it is addressed to. Its
// fields are those of the inbox message (events.Delivery) of the same
// packet, with the same values, so a program can read either.
type InboxItem struct {
	// V is the message's shape version, 1; 0 for items delivered before
	// the hub wrote it (read as 1), whose BusinessType, StatusCode and
	// StatusName are empty too.
	V          int       `json:"v,omitempty"`
	ID         string    `json:"id"`
	Kind       string    `json:"kind"`
	From       string    `json:"from"`
	Organs     []string  `json:"organs"`
	DocumentID string    `json:"documentId"`
	Subject    string    `json:"subject"`
	Priority   int       `json:"priority"`
	AcceptedAt time.Time `json:"acceptedAt"`
	SHA256     string    `json:"sha256"`
	Size       int64     `json:"size"`
	// BusinessType is an edoc's BussinessDocType ("0" new, "1" revocation,
	// "2" update, "3" replacement); "" for statuses.
	BusinessType string `json:"businessType,omitempty"`
	// StatusCode is a status's code, aliases resolved ("01" … "16"), and
	// StatusName the standard's Vietnamese name of it; "" for edocs.
	StatusCode string `json:"statusCode,omitempty"`
	StatusName string `json:"statusName,omitempty"`
}

// InboxPage is one page of the inbox, oldest first.
type InboxPage struct {
	Items []InboxItem
	Next  string // the cursor of the next page; "" on the last
}

// Inbox lists one page of the caller's pending items.
func (c *Client) Inbox(ctx context.Context, q InboxQuery) (*InboxPage, error) {
	v := url.Values{}
	if q.Kind != "" {
		v.Set("kind", q.Kind)
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Cursor != "" {
		v.Set("cursor", q.Cursor)
	}
	path := "/v1/inbox"
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	var out struct {
		Items []InboxItem `json:"items"`
		Next  *string     `json:"next"`
	}
	if err := c.getJSON(ctx, path, &out); err != nil {
		return nil, err
	}
	page := &InboxPage{Items: out.Items}
	if page.Items == nil {
		page.Items = []InboxItem{}
	}
	if out.Next != nil {
		page.Next = *out.Next
	}
	return page, nil
}

// InboxAll iterates over all the caller's pending items of kind ("" for
// both), a page at a time. An error ends the iteration after it is
// yielded. Acknowledging items while iterating is fine: cursors are
// positions, not offsets.
//
//	for it, err := range c.InboxAll(ctx, "edoc") {
//		if err != nil { ... }
//		...
//	}
func (c *Client) InboxAll(ctx context.Context, kind string) iter.Seq2[InboxItem, error] {
	return func(yield func(InboxItem, error) bool) {
		q := InboxQuery{Kind: kind, Limit: 1000}
		for {
			page, err := c.Inbox(ctx, q)
			if err != nil {
				yield(InboxItem{}, err)
				return
			}
			for _, it := range page.Items {
				if !yield(it, nil) {
					return
				}
			}
			if page.Next == "" || page.Next == q.Cursor {
				return
			}
			q.Cursor = page.Next
		}
	}
}

// ErrDigestMismatch reports fetched bytes that are not those the hub
// vouched for in its Content-Digest (or older Digest) header.
var ErrDigestMismatch = errors.New("the fetched bytes do not match the hub's digest")

// Fetch writes the exact bytes of packet id to w as they arrive and returns
// their SHA-256 (lowercase hex) and length. When the stream ends it checks
// them against the hub's Content-Digest (RFC 9530; the older Digest from a
// hub that sends none) and Content-Length headers: a
// difference, or a missing digest, is an error wrapping ErrDigestMismatch,
// and whatever was written to w must then be discarded.
func (c *Client) Fetch(ctx context.Context, id string, w io.Writer) (sum string, n int64, err error) {
	req, err := c.newRequest(ctx, http.MethodGet, "/v1/packets/"+escape(id), nil)
	if err != nil {
		return "", 0, err
	}
	resp, err := c.do(req, http.StatusOK)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close() //nolint:errcheck // read-only
	want, derr := contentDigest(resp.Header.Values("Content-Digest"))
	if errors.Is(derr, errNoContentDigest) { // a hub older than RFC 9530's header
		want, derr = digestSHA256(resp.Header.Values("Digest"))
	}
	h := sha256.New()
	n, err = io.Copy(io.MultiWriter(w, h), resp.Body)
	if err != nil {
		return "", n, fmt.Errorf("fetch %s: %w", id, err)
	}
	sum = hex.EncodeToString(h.Sum(nil))
	switch {
	case derr != nil:
		return sum, n, fmt.Errorf("fetch %s: %w: %w", id, ErrDigestMismatch, derr)
	case sum != want:
		return sum, n, fmt.Errorf("fetch %s: %w: received sha-256 %s, the hub announced %s", id, ErrDigestMismatch, sum, want)
	case resp.ContentLength >= 0 && n != resp.ContentLength:
		return sum, n, fmt.Errorf("fetch %s: %w: received %d bytes of %d", id, ErrDigestMismatch, n, resp.ContentLength)
	}
	return sum, n, nil
}

var errNoContentDigest = errors.New("no sha-256 Content-Digest")

// contentDigest reads RFC 9530's Content-Digest (sha-256=:BASE64:, a
// structured-field dictionary) as lowercase hex.
func contentDigest(headers []string) (string, error) {
	for _, hv := range headers {
		for _, d := range strings.Split(hv, ",") {
			alg, val, ok := strings.Cut(strings.TrimSpace(d), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(alg), "sha-256") {
				continue
			}
			val = strings.TrimSpace(val)
			if len(val) < 2 || val[0] != ':' || val[len(val)-1] != ':' {
				return "", fmt.Errorf("unreadable Content-Digest value %q", val)
			}
			raw, err := base64.StdEncoding.DecodeString(val[1 : len(val)-1])
			if err != nil || len(raw) != sha256.Size {
				return "", fmt.Errorf("unreadable Content-Digest value %q", val)
			}
			return hex.EncodeToString(raw), nil
		}
	}
	return "", errNoContentDigest
}

// digestSHA256 finds sha-256 in Digest headers (RFC 3230: "sha-256=<v>",
// comma-separated), in the lowercase hex of hubs before Content-Digest or
// RFC 3230's base64, and returns it as lowercase hex.
func digestSHA256(headers []string) (string, error) {
	for _, hv := range headers {
		for _, d := range strings.Split(hv, ",") {
			alg, val, ok := strings.Cut(strings.TrimSpace(d), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(alg), "sha-256") {
				continue
			}
			val = strings.TrimSpace(val)
			if raw, err := hex.DecodeString(val); err == nil && len(raw) == sha256.Size {
				return strings.ToLower(val), nil
			}
			if raw, err := base64.StdEncoding.DecodeString(val); err == nil && len(raw) == sha256.Size {
				return hex.EncodeToString(raw), nil
			}
			return "", fmt.Errorf("unreadable Digest value %q", val)
		}
	}
	return "", errors.New("the hub sent no sha-256 Digest header")
}

// Ack acknowledges a pending item: result "done" (the DMS stored it) or
// "fail" (it could not process it, reason says why). It removes the item
// from the inbox; it is a transport acknowledgement, not a business status.
func (c *Client) Ack(ctx context.Context, id, result, reason string) error {
	body, err := json.Marshal(struct {
		Result string `json:"result"`
		Reason string `json:"reason,omitempty"`
	}{result, reason})
	if err != nil {
		return err
	}
	req, err := c.newRequest(ctx, http.MethodPost, "/v1/inbox/"+escape(id)+"/ack", strings.NewReader(string(body)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.do(req, http.StatusOK)
	if err != nil {
		return err
	}
	defer resp.Body.Close() //nolint:errcheck // read-only
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxProblemBytes))
	return nil
}

// Timeline is a packet's per-recipient history. Its sender sees every
// recipient, a recipient only its own part.
type Timeline struct {
	ID         string      `json:"id"`
	DocumentID string      `json:"documentId"`
	From       string      `json:"from"`
	Recipients []Recipient `json:"recipients"`
}

// Recipient is one recipient's part of a timeline. State is the business
// status code once one arrived ("03"), else the last transport event
// ("delivered", "acked:done").
type Recipient struct {
	OrganID string  `json:"organId"`
	State   string  `json:"state"`
	Events  []Event `json:"events"`
}

// Event is one step of a recipient's timeline.
type Event struct {
	Type   string    `json:"type"` // accepted, routed, delivered, fetched, acked, status
	Code   string    `json:"code,omitempty"`
	Result string    `json:"result,omitempty"`
	Packet string    `json:"packet,omitempty"` // the status packet, for status events
	At     time.Time `json:"at"`
	Flags  []string  `json:"flags"`
}

// Timeline returns a packet's timeline.
func (c *Client) Timeline(ctx context.Context, id string) (*Timeline, error) {
	var tl Timeline
	if err := c.getJSON(ctx, "/v1/packets/"+escape(id)+"/timeline", &tl); err != nil {
		return nil, err
	}
	return &tl, nil
}
