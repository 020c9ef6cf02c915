package vdxp

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"time"

	"github.com/lienthong/lienthong/internal/edxml"
)

// Upload is how Client.SendEdoc puts the file in the request.
type Upload int

const (
	// UploadSDK sends what the Java SDK 2.x sends: the raw file followed
	// by a CRLF, with Content-Type application/octet-stream (its multipart
	// helper writes no part framing). The real axis accepts this.
	UploadSDK Upload = iota
	// UploadMultipart sends multipart/form-data with the file in the part
	// file_doc, as FORMAT.md §8.2 describes the operation.
	UploadMultipart
	// UploadRaw sends the raw file alone (application/octet-stream).
	UploadRaw
)

// DefaultUserAgent is the User-Agent Client sends.
const DefaultUserAgent = "lienthong-vdxp/1 (XRoad/VPCP compatible)"

// Client speaks the national axis protocol (FORMAT.md §8) to the real axis
// or to a hub's /vdxp/ endpoints, as the system SystemID.
type Client struct {
	// BaseURL is where the operations hang, e.g. https://hub.example/vdxp;
	// "/sendEdoc" and the others are appended.
	BaseURL  string
	SystemID string
	Secret   Secret
	HTTP     *http.Client // default http.DefaultClient
	// Timestamp is sent as XroadVnpt-timestamp (the SDK sets it once, when
	// its service object is created); zero: the time of each call.
	Timestamp time.Time
	// Location writes the timestamp and dates; default Asia/Ho_Chi_Minh.
	Location *time.Location
	// PaddedHashFile writes hash-file as ordinary zero-padded hex. By
	// default it is written the SDK's way, unpadded, which the axis expects.
	PaddedHashFile bool
	// Upload chooses the sendEdoc body; default UploadSDK.
	Upload Upload
}

// Param is one parameter, sent as header XroadVnpt-Name and signed.
type Param struct{ Name, Value string }

// ReplyError is a reply with status FAIL, or one that is not the axis's
// JSON at all (Code "" then).
type ReplyError struct {
	Op     string
	Code   string
	Desc   string
	Errors []Problem
	HTTP   int // the HTTP status
}

func (e *ReplyError) Error() string {
	return fmt.Sprintf("vdxp %s: %s: %s", e.Op, e.Code, e.Desc)
}

func (c *Client) loc() *time.Location {
	if c.Location != nil {
		return c.Location
	}
	return vietnam
}

// NewRequest builds a signed request for an operation, as the SDK does:
// each parameter p is sent as header XroadVnpt-p; systemid, timestamp and
// (when contentType is set) Content-Type join them; the signed header is
// the JSON object {"XroadVnpt-<name>": value, …} of all of them, in order,
// sign-header-key lists their names without the prefix, and hash-header is
// the lowercase hex HMAC-SHA256 of the JSON under the secret.
func (c *Client) NewRequest(ctx context.Context, method, op string, params []Param, contentType string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.BaseURL, "/")+"/"+op, body)
	if err != nil {
		return nil, err
	}
	ts := c.Timestamp
	if ts.IsZero() {
		ts = time.Now()
	}
	all := []Param{{"systemid", c.SystemID}, {"timestamp", FormatTimestamp(ts, c.loc())}}
	if contentType != "" {
		all = append(all, Param{"Content-Type", contentType})
		req.Header.Set("Content-Type", contentType)
	}
	all = append(all, params...)
	sign, names := signedJSON(all)
	for _, p := range all {
		req.Header.Add(HeaderPrefix+p.Name, p.Value)
	}
	mac := hmac.New(sha256.New, []byte(c.Secret.Reveal()))
	mac.Write([]byte(sign))
	req.Header.Set(HeaderSignHeaderKey, strings.Join(names, ";"))
	req.Header.Set(HeaderSignHeader, sign)
	req.Header.Set(HeaderHashHeader, hex.EncodeToString(mac.Sum(nil)))
	req.Header.Set(HeaderVersion, "3.0.201608")
	req.Header.Set("User-Agent", DefaultUserAgent)
	return req, nil
}

// signedJSON writes the signed header of params, keeping their order.
func signedJSON(params []Param) (string, []string) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	var names []string
	out := []byte{'{'}
	for i, p := range params {
		if i > 0 {
			out = append(out, ',')
		}
		b.Reset()
		_ = enc.Encode(HeaderPrefix + p.Name)
		out = append(out, bytes.TrimSpace(b.Bytes())...)
		out = append(out, ':')
		b.Reset()
		_ = enc.Encode(p.Value)
		out = append(out, bytes.TrimSpace(b.Bytes())...)
		names = append(names, p.Name)
	}
	return string(append(out, '}')), names
}

// Do sends req and decodes the JSON reply into v (a *Reply or a type
// embedding Reply). A FAIL reply is a *ReplyError.
func (c *Client) Do(req *http.Request, v any) error {
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	op := req.URL.Path[strings.LastIndex(req.URL.Path, "/")+1:]
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close() //nolint:errcheck // read-only
	return decodeReply(op, resp, v)
}

func decodeReply(op string, resp *http.Response, v any) error {
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("vdxp %s: %w", op, err)
	}
	var env struct {
		Reply
		Errors []Problem `json:"errors"`
	}
	if err := json.Unmarshal(raw, &env); err != nil || env.Status == "" {
		return &ReplyError{Op: op, Desc: fmt.Sprintf("not an axis reply (HTTP %d): %.200s", resp.StatusCode, raw), HTTP: resp.StatusCode}
	}
	if !env.OK() {
		return &ReplyError{Op: op, Code: env.ErrorCode, Desc: env.ErrorDesc, Errors: env.Errors, HTTP: resp.StatusCode}
	}
	if v != nil {
		if err := json.Unmarshal(raw, v); err != nil {
			return fmt.Errorf("vdxp %s: %w", op, err)
		}
	}
	return nil
}

func (c *Client) call(ctx context.Context, method, op string, params []Param, v any) error {
	var body io.Reader
	ct := ""
	if method == http.MethodPost {
		body, ct = strings.NewReader("{}"), "application/json"
	}
	req, err := c.NewRequest(ctx, method, op, params, ct, body)
	if err != nil {
		return err
	}
	return c.Do(req, v)
}

// HashFile is hash-file for content: SHA-256 in hex, unpadded unless
// padded is set.
func HashFile(content []byte, padded bool) string {
	sum := sha256.Sum256(content)
	if padded {
		return hex.EncodeToString(sum[:])
	}
	return UnpaddedHex(sum[:])
}

// SendEdoc sends a packet as agency from. messageType is "edoc" or
// "status" (empty leaves the parameter out).
func (c *Client) SendEdoc(ctx context.Context, from string, messageType edxml.Kind, packet []byte) (*SendReply, error) {
	params := []Param{{"from", from}, {"servicetype", ServiceType}}
	if messageType != "" {
		params = append(params, Param{"messagetype", string(messageType)})
	}
	params = append(params, Param{"hash-file", HashFile(packet, c.PaddedHashFile)})
	req, err := c.NewSendRequest(ctx, params, packet)
	if err != nil {
		return nil, err
	}
	var out SendReply
	if err := c.Do(req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// NewSendRequest is the signed sendEdoc request carrying packet under
// params (as c.Upload says), for callers that set the parameters themselves.
func (c *Client) NewSendRequest(ctx context.Context, params []Param, packet []byte) (*http.Request, error) {
	switch c.Upload {
	case UploadMultipart:
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		w, err := mw.CreateFormFile("file_doc", "packet.edxml")
		if err != nil {
			return nil, err
		}
		_, _ = w.Write(packet)
		if err := mw.Close(); err != nil {
			return nil, err
		}
		return c.NewRequest(ctx, http.MethodPost, "sendEdoc", params, mw.FormDataContentType(), &b)
	case UploadRaw:
		return c.NewRequest(ctx, http.MethodPost, "sendEdoc", params, "application/octet-stream", bytes.NewReader(packet))
	}
	body := io.MultiReader(bytes.NewReader(packet), strings.NewReader("\r\n"))
	return c.NewRequest(ctx, http.MethodPost, "sendEdoc", params, "application/octet-stream", body)
}

func dateParams(loc *time.Location, from, to time.Time) []Param {
	var ps []Param
	if !from.IsZero() {
		ps = append(ps, Param{"fromDate", from.In(loc).Format(TimeLayout)})
	}
	if !to.IsZero() {
		ps = append(ps, Param{"toDate", to.In(loc).Format(TimeLayout)})
	}
	return ps
}

// ReceivedList lists the packets pending for the system's agencies, of
// messageType "edoc" or "status", accepted between from and to (zero
// times leave that end open).
func (c *Client) ReceivedList(ctx context.Context, messageType edxml.Kind, from, to time.Time) ([]ReceivedItem, error) {
	params := append([]Param{{"servicetype", ServiceType}, {"messagetype", string(messageType)}}, dateParams(c.loc(), from, to)...)
	var out ReceivedReply
	if err := c.call(ctx, http.MethodPost, "getReceivedEdocList", params, &out); err != nil {
		return nil, err
	}
	return out.Data, nil
}

// GetEdoc returns a packet's exact bytes (sent base64 in JSON).
func (c *Client) GetEdoc(ctx context.Context, docID string) ([]byte, error) {
	var out EdocReply
	if err := c.call(ctx, http.MethodPost, "getEdoc", []Param{{"docId", docID}}, &out); err != nil {
		return nil, err
	}
	b, err := base64.StdEncoding.DecodeString(out.Data)
	if err != nil {
		return nil, fmt.Errorf("vdxp getEdoc: data: %w", err)
	}
	return b, nil
}

// DownloadEdoc returns a packet's exact bytes, sent raw.
func (c *Client) DownloadEdoc(ctx context.Context, docID string) ([]byte, error) {
	req, err := c.NewRequest(ctx, http.MethodGet, "downloadEdoc", []Param{{"docId", docID}}, "", nil)
	if err != nil {
		return nil, err
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close() //nolint:errcheck // read-only
	if ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); ct == "application/json" {
		err := decodeReply("downloadEdoc", resp, nil)
		if err == nil {
			err = errors.New("vdxp downloadEdoc: a JSON reply instead of the file")
		}
		return nil, err
	}
	return io.ReadAll(resp.Body)
}

// UpdateStatus acknowledges a received packet: "done" (stored), "fail"
// (could not be processed) or "processing". It is a transport
// acknowledgement; business statuses are status packets (SendEdoc).
func (c *Client) UpdateStatus(ctx context.Context, docID, status string) error {
	return c.call(ctx, http.MethodPost, "updateStatus", []Param{{"docid", docID}, {"status", status}}, nil)
}

// SentList lists the delivery state of the system's sent packets, one
// item per recipient.
func (c *Client) SentList(ctx context.Context, messageType edxml.Kind, from, to time.Time) ([]SentItem, error) {
	params := append([]Param{{"servicetype", ServiceType}, {"messagetype", string(messageType)}}, dateParams(c.loc(), from, to)...)
	var out SentReply
	if err := c.call(ctx, http.MethodPost, "getSentEdocList", params, &out); err != nil {
		return nil, err
	}
	return out.Data, nil
}

// CountReceiveEdoc counts the edoc packets pending for the system.
func (c *Client) CountReceiveEdoc(ctx context.Context) (int, error) {
	var out CountReply
	err := c.call(ctx, http.MethodGet, "countReceiveEdoc", nil, &out)
	return out.Count, err
}

// CountReceiveStatus counts the status packets pending for the system.
func (c *Client) CountReceiveStatus(ctx context.Context) (int, error) {
	var out CountReply
	err := c.call(ctx, http.MethodGet, "countReceiveStatus", nil, &out)
	return out.Count, err
}

// Agencies lists the directory (getAgenciesList).
func (c *Client) Agencies(ctx context.Context) ([]Agency, error) {
	var out AgenciesReply
	if err := c.call(ctx, http.MethodPost, "getAgenciesList", nil, &out); err != nil {
		return nil, err
	}
	return out.Data, nil
}
