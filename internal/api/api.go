// Package api serves the hub over HTTP: the REST API v1 of docs/contracts.md,
// with RFC 9457 problem+json errors carrying the stable codes.
package api

import (
	"bufio"
	"crypto"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/lienthong/lienthong/internal/apiref"
	"github.com/lienthong/lienthong/internal/edxml"
	"github.com/lienthong/lienthong/internal/evidence"
	"github.com/lienthong/lienthong/internal/hub"
	"github.com/lienthong/lienthong/internal/organ"
	"github.com/lienthong/lienthong/internal/trust"
	"github.com/lienthong/lienthong/schemas/events"
)

// Tokens maps bearer tokens to the agency they authenticate. Tokens are
// kept as SHA-256 digests and compared in constant time.
type Tokens struct{ digests map[[32]byte]string }

// NewTokens indexes plain tokens by digest.
func NewTokens(byOrgan map[string][]string) *Tokens {
	t := &Tokens{digests: map[[32]byte]string{}}
	for organ, toks := range byOrgan {
		for _, tok := range toks {
			t.digests[sha256.Sum256([]byte(tok))] = organ
		}
	}
	return t
}

// Organ returns the agency a token belongs to.
func (t *Tokens) Organ(token string) (string, bool) {
	sum := sha256.Sum256([]byte(token))
	for d, organ := range t.digests {
		if subtle.ConstantTimeCompare(d[:], sum[:]) == 1 {
			return organ, true
		}
	}
	return "", false
}

// Authenticator maps a bearer token to the agency it belongs to.
type Authenticator interface {
	Organ(token string) (string, bool)
}

// Server is the HTTP face of a hub.
type Server struct {
	Hub    *hub.Hub
	Tokens Authenticator
	// ClientCert, when set, authenticates a request that has no bearer
	// token by its TLS client certificate (already verified against the
	// configured client CAs by the TLS layer).
	ClientCert func(c *x509.Certificate) (string, bool)
	// PeerCert is the request's verified client certificate, from the
	// handshake or from a trusted TLS proxy (edge.Proxies.ClientCert);
	// nil reads the handshake only.
	PeerCert     func(r *http.Request) *x509.Certificate
	MaxBodyBytes int64
	Log          *slog.Logger
	Ready        func(r *http.Request) error
	// Metrics, when set, serves Prometheus metrics at GET /metrics.
	Metrics http.Handler
	// ProblemBase is the absolute URL the problem types start with: the
	// hub's public address (hub.publicUrl) + "/problems/". Empty: relative
	// "/problems/CODE" references.
	ProblemBase string
	// Reference serves the published API reference (apiref.Patterns);
	// nil makes one.
	Reference http.Handler
	// Evidence is the verifiable log (internal/evidence); nil when off.
	Evidence *evidence.Checkpointer
	// Witness cosigns peers' checkpoints (C2SP tlog-witness); nil when
	// this hub witnesses no log.
	Witness *evidence.Witness
}

// Handler returns the routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/packets", s.auth(s.submit))
	mux.HandleFunc("GET /v1/packets/{id}", s.auth(s.fetch))
	mux.HandleFunc("GET /v1/packets/{id}/timeline", s.auth(s.timeline))
	mux.HandleFunc("GET /v1/packets/{id}/signature", s.auth(s.signature))
	mux.HandleFunc("GET /v1/inbox", s.auth(s.inbox))
	mux.HandleFunc("POST /v1/inbox/{id}/ack", s.auth(s.ack))
	s.logRoutes(mux)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if s.Ready != nil {
			if err := s.Ready(r); err != nil {
				w.Header().Set("Retry-After", retryAfter)
				s.problem(w, http.StatusServiceUnavailable, "hub.unavailable", err.Error(), nil)
				return
			}
		}
		_, _ = io.WriteString(w, "ready\n")
	})
	if s.Metrics != nil {
		mux.Handle("GET /metrics", s.Metrics)
	}
	ref := s.Reference
	if ref == nil {
		ref = apiref.Must()
	}
	for _, p := range apiref.Patterns {
		mux.Handle(p, ref)
	}
	return mux
}

type handler func(w http.ResponseWriter, r *http.Request, caller string)

func (s *Server) peerCert(r *http.Request) *x509.Certificate {
	if s.PeerCert != nil {
		return s.PeerCert(r)
	}
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 {
		return nil
	}
	return r.TLS.VerifiedChains[0][0]
}

func (s *Server) auth(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var organ string
		known := false
		if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			organ, known = s.Tokens.Organ(strings.TrimSpace(tok))
		} else if c := s.peerCert(r); s.ClientCert != nil && c != nil {
			organ, known = s.ClientCert(c)
		}
		if !known {
			// Run-time tokens not read yet (creds.Store): no token can
			// be judged, so say "try again", not "wrong token".
			if rd, ok := s.Tokens.(interface{ IsReady() bool }); ok && !rd.IsReady() {
				w.Header().Set("Retry-After", "1")
				s.problem(w, http.StatusServiceUnavailable, "hub.unavailable", "the hub is starting: its credentials are not read yet", nil)
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="lienthong"`)
			s.problem(w, http.StatusUnauthorized, "auth.required", "a valid bearer token is required", nil)
			return
		}
		h(w, r, organ)
	}
}

// problem writes an RFC 9457 problem+json. Its type names the code's page
// on this hub (internal/apiref): under ProblemBase, else the relative
// reference /problems/CODE, which resolves against the request's URL.
func (s *Server) problem(w http.ResponseWriter, status int, code, detail string, extra map[string]any) {
	base := s.ProblemBase
	if base == "" {
		base = "/problems/"
	}
	body := map[string]any{"type": base + code, "title": http.StatusText(status),
		"status": status, "code": code, "detail": detail}
	for k, v := range extra {
		body[k] = v
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// retryAfter is the Retry-After of a 503: the hub's own failures (storage,
// the broker, a full disk) are temporary, and a client that treats 4xx as
// final must see them as what they are.
const retryAfter = "2"

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var he *hub.Error
	if errors.As(err, &he) {
		extra := map[string]any{}
		if len(he.Problems) > 0 {
			extra["errors"] = he.Problems
		}
		if he.Report != nil {
			extra["verification"] = he.Report
		}
		if he.Status >= 500 && s.Log != nil {
			s.Log.Error("request failed", "path", r.URL.Path, "err", he.Err)
		}
		if he.Status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", retryAfter)
		}
		s.problem(w, he.Status, he.Code, he.Message, extra)
		return
	}
	if s.Log != nil {
		s.Log.Error("request failed", "path", r.URL.Path, "err", err)
	}
	w.Header().Set("Retry-After", retryAfter)
	s.problem(w, http.StatusServiceUnavailable, "hub.unavailable", "the hub could not complete the request", nil)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func (s *Server) submit(w http.ResponseWriter, r *http.Request, caller string) {
	if s.MaxBodyBytes > 0 {
		r.Body = http.MaxBytesReader(w, r.Body, s.MaxBodyBytes)
	}
	sub := hub.Submission{Caller: caller, Channel: "v1"}
	// A peer hub authenticates as "hub:<name>" and relays packets of its
	// subtrees; the hubs they passed come in a header, beside the bytes.
	if peer, ok := strings.CutPrefix(caller, organ.HubPrefix); ok {
		sub.Relay = &hub.Relay{Peer: peer}
		for _, h := range strings.Split(r.Header.Get(hub.HeaderHops), ",") {
			if h = strings.TrimSpace(h); h != "" && len(sub.Relay.Hops) < 16 {
				sub.Relay.Hops = append(sub.Relay.Hops, h)
			}
		}
	}
	ct, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "multipart/form-data":
		rc, err := s.multipart(r, params["boundary"], &sub)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		defer rc()
	case "application/xml", "text/xml", "":
		sub.Packet = r.Body
	default:
		s.problem(w, http.StatusUnsupportedMediaType, "request.media_type", "send application/xml or multipart/form-data", nil)
		return
	}
	rc, created, err := s.Hub.Submit(r.Context(), sub)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	w.Header().Set("Location", "/v1/packets/"+rc.ID)
	if raw := rc.JSON(); raw != nil {
		// With its length, not chunked: one write of the connection fewer.
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(raw)+1))
		w.WriteHeader(status)
		_, _ = w.Write(append(raw, '\n'))
		return
	}
	writeJSON(w, status, rc)
}

// multipart takes the parts packet and signature, in either order, each a
// file or a plain field. The packet part is spooled (hub.Spool: a letter in
// memory, a large packet in a file, so it never sits in memory); the hub
// reads it from there.
func (s *Server) multipart(r *http.Request, boundary string, sub *hub.Submission) (func(), error) {
	if boundary == "" {
		return nil, &hub.Error{Status: http.StatusBadRequest, Code: "request.multipart", Message: "multipart without a boundary"}
	}
	var (
		spool  *hub.Spool
		hashed *trust.DigestReader
	)
	cleanup := func() {
		if spool != nil {
			spool.Release()
		}
	}
	// multipart reads through a 4 KiB buffer: a 50 KB letter was a dozen
	// reads of the connection. Under it, one of bodyBufSize.
	br := bodyBufs.Get().(*bufio.Reader)
	br.Reset(r.Body)
	defer func() {
		br.Reset(nil)
		bodyBufs.Put(br)
	}()
	mr := multipart.NewReader(br, boundary)
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			cleanup()
			return nil, tooLargeOr(err, "request.multipart")
		}
		switch part.FormName() {
		case "packet":
			if spool != nil {
				cleanup()
				return nil, &hub.Error{Status: http.StatusBadRequest, Code: "request.multipart", Message: "two parts named packet"}
			}
			spool = s.Hub.NewSpool()
			hashed = trust.NewDigestReader(part, crypto.SHA256)
			if _, err := hub.CopyToSpool(spool, hashed); err != nil {
				cleanup()
				if he, ok := errors.AsType[*hub.Error](err); ok {
					return nil, he // the spool's own failure: 503
				}
				return nil, tooLargeOr(err, "request.multipart")
			}
		case "signature":
			if sub.Signature, err = io.ReadAll(io.LimitReader(part, 1<<20+1)); err != nil {
				cleanup()
				return nil, tooLargeOr(err, "request.multipart")
			}
		}
	}
	if spool == nil {
		return nil, &hub.Error{Status: http.StatusBadRequest, Code: "request.multipart", Message: "no part named packet"}
	}
	sub.Spooled = &hub.Spooled{Spool: spool, Digests: hashed.Digests()}
	return cleanup, nil
}

// bodyBufSize is the read buffer under a multipart body.
const bodyBufSize = 64 << 10

var bodyBufs = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, bodyBufSize) }}

func tooLargeOr(err error, code string) error {
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		return &hub.Error{Status: http.StatusRequestEntityTooLarge, Code: edxml.CodeTooLarge, Message: "the request is larger than " + strconv.FormatInt(mb.Limit, 10) + " bytes"}
	}
	return &hub.Error{Status: http.StatusBadRequest, Code: code, Message: err.Error()}
}

func (s *Server) fetch(w http.ResponseWriter, r *http.Request, caller string) {
	body, info, err := s.Hub.Fetch(r.Context(), caller, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer body.Close() //nolint:errcheck // read-only
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.FormatInt(info.Size, 10))
	setDigests(w.Header(), info.SHA256)
	_, _ = io.Copy(w, body)
}

// setDigests announces the SHA-256 of the bytes served (hex, as stored):
// RFC 9530's Content-Digest, a structured-field byte sequence, and the
// RFC 3230 Digest older clients read, in that RFC's base64 form.
func setDigests(h http.Header, hexSum string) {
	sum, err := hex.DecodeString(hexSum)
	if err != nil || len(sum) != sha256.Size {
		return // no digest rather than a wrong one
	}
	b64 := base64.StdEncoding.EncodeToString(sum)
	h.Set("Content-Digest", "sha-256=:"+b64+":")
	h.Set("Digest", "SHA-256="+b64)
}

func (s *Server) signature(w http.ResponseWriter, r *http.Request, caller string) {
	body, info, err := s.Hub.Signature(r.Context(), caller, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer body.Close() //nolint:errcheck // read-only
	w.Header().Set("Content-Type", "application/pkcs7-signature")
	w.Header().Set("Content-Length", strconv.FormatInt(info.Size, 10))
	_, _ = io.Copy(w, body)
}

func (s *Server) timeline(w http.ResponseWriter, r *http.Request, caller string) {
	tl, err := s.Hub.Timeline(caller, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, tl)
}

// inboxItem is a pending item as the inbox message (schemas/events.Delivery)
// has it, without the endpoint (the caller's own): same names, same values.
type inboxItem struct {
	V          int      `json:"v,omitempty"`
	ID         string   `json:"id"`
	Kind       string   `json:"kind"`
	From       string   `json:"from"`
	Organs     []string `json:"organs"`
	DocumentID string   `json:"documentId"`
	Subject    string   `json:"subject"`
	Priority   int      `json:"priority"`
	AcceptedAt string   `json:"acceptedAt"`
	SHA256     string   `json:"sha256"`
	Size       int64    `json:"size"`
	// Absent where the item's message did not carry them (older hubs).
	BusinessType string `json:"businessType,omitempty"`
	StatusCode   string `json:"statusCode,omitempty"`
	StatusName   string `json:"statusName,omitempty"`
	// Attachments: the PDFs' signatures in brief, as the event has them.
	Attachments []events.AttachmentVerdict `json:"attachments,omitempty"`
}

func (s *Server) inbox(w http.ResponseWriter, r *http.Request, caller string) {
	q := r.URL.Query()
	limit, _ := strconv.Atoi(q.Get("limit"))
	kind := q.Get("kind")
	if kind != "" && kind != "edoc" && kind != "status" {
		s.problem(w, http.StatusBadRequest, "request.bad_kind", "kind must be edoc or status", nil)
		return
	}
	items, next, err := s.Hub.Inbox(caller, kind, limit, q.Get("cursor"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := struct {
		Items []inboxItem `json:"items"`
		Next  *string     `json:"next"`
	}{Items: []inboxItem{}}
	for _, it := range items {
		out.Items = append(out.Items, inboxItem{V: it.V, ID: it.ID, Kind: it.Kind, From: it.From, Organs: it.Organs, DocumentID: it.DocumentID,
			Subject: it.Subject, Priority: it.Priority, AcceptedAt: it.AcceptedAt.UTC().Format("2006-01-02T15:04:05.000000000Z07:00"), SHA256: it.SHA256, Size: it.Size,
			BusinessType: it.BusinessType, StatusCode: it.StatusCode, StatusName: it.StatusName, Attachments: it.Attachments})
	}
	if next != "" {
		out.Next = &next
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) ack(w http.ResponseWriter, r *http.Request, caller string) {
	var body struct {
		Result string `json:"result"`
		Reason string `json:"reason"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&body); err != nil {
		s.problem(w, http.StatusBadRequest, "request.json", "the body must be {\"result\":\"done\"|\"fail\",\"reason\":\"...\"}", nil)
		return
	}
	if err := s.Hub.Ack(r.Context(), caller, r.PathValue("id"), body.Result, body.Reason); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"id": r.PathValue("id"), "result": body.Result})
}
