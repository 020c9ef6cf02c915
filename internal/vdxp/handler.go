package vdxp

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/lienthong/lienthong/internal/blob"
	"github.com/lienthong/lienthong/internal/hub"
	"github.com/lienthong/lienthong/internal/organ"
	"github.com/lienthong/lienthong/internal/track"
)

// Options configure the handler. The zero value is what the axis's Java
// SDK needs: every strictness switch is off.
type Options struct {
	// Policy is the signature policy of the channel (hub.Policy*); default
	// hub.PolicyUnsignedOK, since HMAC authenticates the system
	// (docs/contracts.md, Identity and trust).
	Policy string
	// Prefix is the path the handler is mounted under; default "/vdxp/".
	Prefix string
	// MaxBodyBytes caps a sendEdoc body, multipart framing included;
	// default 64 MiB. A larger one is xml.too_large.
	MaxBodyBytes int64
	// RequireTimestamp refuses a request whose signed XroadVnpt-timestamp
	// is missing or further than MaxClockSkew from the hub's clock. Off by
	// default: the SDK sets the timestamp once, when its service object is
	// created, and resends it for the life of the process (FORMAT.md §8.1).
	RequireTimestamp bool
	// MaxClockSkew bounds the timestamp when RequireTimestamp; default 15 min.
	MaxClockSkew time.Duration
	// ClientCert returns the request's TLS client certificate, verified
	// (by the TLS handshake, or by a trusted proxy that forwards it), or
	// nil. A system with pinned certificates (System.ClientCertSHA256)
	// must present one of them on every request. Default: the verified
	// certificate of r.TLS.
	ClientCert func(r *http.Request) *x509.Certificate
	// RejectUnpaddedHash accepts hash-file and hash-header only as
	// zero-padded hex. Off by default: the SDK writes hash-file unpadded.
	RejectUnpaddedHash bool
	// RequireHashFile refuses a sendEdoc without a signed hash-file. Off
	// by default (the Java SDK always sends one; other clients may not).
	RequireHashFile bool
	// HTTPStatus answers failures with an HTTP error status (401, 403, 4xx,
	// 503). Off by default: every reply is 200 and status/ErrorCode carry
	// the outcome, since some axis clients stop at a non-2xx status without
	// reading the JSON.
	HTTPStatus bool
	// ListLimit caps the items of getReceivedEdocList and the packets of
	// getSentEdocList per call; default 1000. A client keeps pulling: the
	// items it acknowledges leave the list.
	ListLimit int
	// Outbox lists a system's sent packets for getSentEdocList; default
	// the hub's Sent.
	Outbox Outbox
	// Location reads and writes the axis's zone-less times; default
	// Asia/Ho_Chi_Minh (UTC+07:00, no daylight saving).
	Location *time.Location
	Log      *slog.Logger
	Now      func() time.Time
}

// Hub is what the handler needs of *hub.Hub; tests may pass another.
type Hub interface {
	Submit(ctx context.Context, s hub.Submission) (*hub.Receipt, bool, error)
	Fetch(ctx context.Context, caller, id string) (io.ReadCloser, blob.Info, error)
	Inbox(caller, kind string, limit int, cursor string) ([]track.Item, string, error)
	Ack(ctx context.Context, caller, id, result, reason string) error
	Timeline(caller, id string) (track.Timeline, error)
	Outbox
}

var _ Hub = (*hub.Hub)(nil)

// vietnam is Asia/Ho_Chi_Minh without needing the zone database.
var vietnam = time.FixedZone("ICT", 7*60*60)

type handler struct {
	hub     Hub
	systems Systems
	dir     *organ.Directory
	o       Options
	outbox  Outbox
	ops     map[string]operation
}

type operation struct {
	name string
	run  func(h *handler, w http.ResponseWriter, r *http.Request, s *signedRequest) *opError
}

// NewHandler serves the national-axis operations under opts.Prefix
// (default /vdxp/): sendEdoc, getReceivedEdocList, getEdoc, updateStatus,
// getSentEdocList, countReceiveEdoc, countReceiveStatus, downloadEdoc and
// getAgenciesList (also as getAgenciesListQD20 and getSynchronizeUnit),
// over the hub's pipeline. Mount it with mux.Handle("/vdxp/", handler).
func NewHandler(h *hub.Hub, systems Systems, dir *organ.Directory, opts Options) http.Handler {
	return newHandler(h, systems, dir, opts)
}

// NewHandlerWith is NewHandler over any Hub implementation.
func NewHandlerWith(h Hub, systems Systems, dir *organ.Directory, opts Options) http.Handler {
	return newHandler(h, systems, dir, opts)
}

func newHandler(h Hub, systems Systems, dir *organ.Directory, o Options) *handler {
	if o.Policy == "" {
		o.Policy = hub.PolicyUnsignedOK
	}
	if o.Prefix == "" {
		o.Prefix = "/vdxp/"
	}
	if !strings.HasSuffix(o.Prefix, "/") {
		o.Prefix += "/"
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 64 << 20
	}
	if o.MaxClockSkew <= 0 {
		o.MaxClockSkew = 15 * time.Minute
	}
	if o.ListLimit <= 0 {
		o.ListLimit = 1000
	}
	if o.Location == nil {
		o.Location = vietnam
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ClientCert == nil {
		o.ClientCert = TLSClientCert
	}
	if dir == nil {
		dir, _ = organ.NewDirectory(nil)
	}
	if systems == nil {
		systems = StaticSystems{}
	}
	hd := &handler{hub: h, systems: systems, dir: dir, o: o, outbox: o.Outbox}
	if hd.outbox == nil {
		hd.outbox = h
	}
	hd.ops = map[string]operation{}
	for _, op := range []operation{
		{"sendEdoc", (*handler).sendEdoc},
		{"getReceivedEdocList", (*handler).receivedList},
		{"getEdoc", (*handler).getEdoc},
		{"downloadEdoc", (*handler).downloadEdoc},
		{"updateStatus", (*handler).updateStatus},
		{"getSentEdocList", (*handler).sentList},
		{"countReceiveEdoc", (*handler).countEdoc},
		{"countReceiveStatus", (*handler).countStatus},
		{"getAgenciesList", (*handler).agencies},
		{"getAgenciesListQD20", (*handler).agencies},
		{"getSynchronizeUnit", (*handler).agencies},
	} {
		hd.ops[strings.ToLower(op.name)] = op
	}
	return hd
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutPrefix(r.URL.Path, h.o.Prefix)
	op, known := h.ops[strings.ToLower(strings.Trim(name, "/"))]
	if !ok || !known {
		h.fail(w, r, "", "", fail(http.StatusNotFound, CodeUnknownOperation, "no operation %q under %s", r.URL.Path, h.o.Prefix))
		return
	}
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET, POST")
		h.fail(w, r, op.name, "", fail(http.StatusMethodNotAllowed, CodeUnknownOperation, "%s takes GET or POST, not %s", op.name, r.Method))
		return
	}
	s, err := h.authenticate(r)
	if err != nil {
		h.fail(w, r, op.name, r.Header.Get(HeaderSystemID), err)
		return
	}
	if err := op.run(h, w, r, s); err != nil {
		h.fail(w, r, op.name, s.sys.ID, err)
	}
}

// TLSClientCert is the client certificate the TLS handshake verified, if
// any.
func TLSClientCert(r *http.Request) *x509.Certificate {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.PeerCertificates) == 0 {
		return nil
	}
	return r.TLS.PeerCertificates[0]
}

// ok is the envelope of a success.
func ok() Reply { return Reply{Status: StatusOK, ErrorCode: CodeOK, ErrorDesc: "Success"} }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// fail writes the axis reply shape, never problem+json.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, op, system string, e *opError) {
	status := http.StatusOK
	if h.o.HTTPStatus {
		status = e.Status
	}
	level := slog.LevelInfo
	switch {
	case e.Status >= 500:
		level = slog.LevelError
	case e.Code == codeAuthRequired || e.Code == codeAuthForbidden:
		level = slog.LevelWarn
	}
	h.o.Log.Log(r.Context(), level, "vdxp request refused", "op", op, "system", system, "code", e.Code, "message", e.Message, "err", e.Err)
	if e.Status == http.StatusUnauthorized && h.o.HTTPStatus {
		w.Header().Set("WWW-Authenticate", `HMAC realm="vdxp"`)
	}
	body := SendReply{Reply: Reply{Status: StatusFail, ErrorCode: e.Code, ErrorDesc: e.Message}, Errors: e.Problems}
	writeJSON(w, status, body)
}

// fromHub turns a hub refusal into the reply's code and problems.
func fromHub(err error) *opError {
	var he *hub.Error
	if errors.As(err, &he) {
		e := &opError{Status: he.Status, Code: he.Code, Message: he.Message, Err: he.Err}
		for _, p := range he.Problems {
			e.Problems = append(e.Problems, Problem{Code: p.Code, Path: p.Path, Message: p.Message})
		}
		if he.Report != nil {
			for _, p := range he.Report.Errors {
				e.Problems = append(e.Problems, Problem{Code: p.Code, Message: p.Message})
			}
		}
		return e
	}
	return &opError{Status: http.StatusServiceUnavailable, Code: "hub.unavailable", Message: "the hub could not complete the request", Err: err}
}

// organs are the canonical ids of the agencies a system serves.
func (h *handler) organs(sys System) []string {
	var out []string
	for _, o := range sys.Organs {
		id := organ.ID(strings.TrimSpace(o))
		if c, ok := h.dir.Canonical(id); ok {
			id = c
		}
		if !slices.Contains(out, string(id)) {
			out = append(out, string(id))
		}
	}
	return out
}

// actingAs resolves the from parameter to an agency the system serves.
// Some gateways put the system id in from; that, or no from at all, names
// the system's agency when it serves exactly one.
func (h *handler) actingAs(s *signedRequest) (string, *opError) {
	from, present, err := s.param("from")
	if err != nil {
		return "", err
	}
	from = strings.TrimSpace(from)
	organs := h.organs(s.sys)
	if (!present || from == "" || from == s.sys.ID) && len(organs) == 1 {
		return organs[0], nil
	}
	if !present || from == "" {
		return "", fail(http.StatusBadRequest, CodeMissingParameter, "the parameter %sfrom is required: system %s serves %d agencies", HeaderPrefix, s.sys.ID, len(organs))
	}
	id := organ.ID(from)
	if c, ok := h.dir.Canonical(id); ok {
		id = c
	}
	if !slices.Contains(organs, string(id)) {
		return "", forbidden("system %s does not serve %s", s.sys.ID, from)
	}
	return string(id), nil
}
