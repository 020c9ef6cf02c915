package tsa

import (
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"time"

	"github.com/digitorus/timestamp"
)

// DevPolicy is the TSA policy the development TSA stamps under when
// ServerOptions names none: an OID under the "example" arc 2.999 (ITU-T
// X.660), which no real policy uses.
var DevPolicy = asn1.ObjectIdentifier{2, 999, 3161, 1}

// MaxRequest bounds a TimeStampReq: an imprint, a policy, a nonce and
// perhaps small extensions.
const MaxRequest = 16 << 10

// ServerOptions configures NewServer. The zero value is usable.
type ServerOptions struct {
	// Policy is the TSA policy of every token; nil means DevPolicy. A
	// request asking for another policy is refused (unacceptedPolicy).
	Policy asn1.ObjectIdentifier
	// Accuracy the tokens claim; zero means one second.
	Accuracy time.Duration
	// Logger receives the requests that could not be signed; nil discards.
	Logger *slog.Logger
}

// Server is a development RFC 3161 time-stamping authority: an
// http.Handler answering TimeStampReqs (POST, application/timestamp-query)
// with tokens signed by the key and certificate it is given, from the
// host's clock. It is safe for concurrent use. It keeps no record of what it
// stamped and its clock is whatever the host's is: a development TSA, never
// a trusted one.
type Server struct {
	cert     *x509.Certificate
	key      crypto.Signer
	chain    []*x509.Certificate
	policy   asn1.ObjectIdentifier
	accuracy time.Duration
	log      *slog.Logger
}

// NewServer returns a TSA signing with key under cert; chain holds the
// intermediates up to, not including, the root (pki.Issued.Chain), sent in
// tokens whose request asks for certificates. It checks that key is cert's
// and chain[0] issued it, not that cert is fit for time-stamping: Verify
// refuses tokens of an unfit certificate, which tests need to make.
func NewServer(cert *x509.Certificate, key crypto.Signer, chain []*x509.Certificate, opts ServerOptions) (*Server, error) {
	if cert == nil || key == nil {
		return nil, errors.New("TSA: no certificate or key")
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("TSA: the key is not the key of certificate %q", cert.Subject)
	}
	if len(chain) > 0 {
		if err := cert.CheckSignatureFrom(chain[0]); err != nil {
			return nil, fmt.Errorf("TSA: certificate %q is not issued by the chain's first certificate %q: %w", cert.Subject, chain[0].Subject, err)
		}
	}
	s := &Server{cert: cert, key: key, chain: chain, policy: opts.Policy, accuracy: opts.Accuracy, log: opts.Logger}
	if s.policy == nil {
		s.policy = DevPolicy
	}
	if s.accuracy <= 0 {
		s.accuracy = time.Second
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// ServeHTTP answers one TimeStampReq. Refusals are TimeStampResps with
// status rejection and the RFC 3161 failure info, sent with HTTP 200 like
// grants, so that a client reads the reason the same way.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST an RFC 3161 TimeStampReq ("+QueryType+")", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequest))
	var resp []byte
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != QueryType {
		resp = s.refuse(timestamp.BadRequest, "content type %q, want %s", mt, QueryType)
	} else if err != nil {
		resp = s.refuse(timestamp.BadRequest, "reading the request: %v", err)
	} else {
		resp = s.respond(r, body)
	}
	if resp == nil {
		http.Error(w, "TSA failure", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", ReplyType)
	_, _ = w.Write(resp) // the client hung up; nothing to tell it
}

// unknownHash is the error ParseRequest returns for an imprint hash it
// does not know, which RFC 3161 calls badAlg, not badDataFormat.
const unknownHash = timestamp.ParseError("Time-Stamp request uses unknown hash function")

// respond makes the TimeStampResp for a request body.
func (s *Server) respond(r *http.Request, body []byte) []byte {
	req, err := timestamp.ParseRequest(body)
	switch {
	case errors.Is(err, unknownHash):
		return s.refuse(timestamp.BadAlgorithm, "%v", err)
	case err != nil:
		return s.refuse(timestamp.BadDataFormat, "%v", err)
	case !supportedHash(req.HashAlgorithm):
		return s.refuse(timestamp.BadAlgorithm, "hash %v, want SHA-256, SHA-384 or SHA-512", req.HashAlgorithm)
	case len(req.HashedMessage) != req.HashAlgorithm.Size():
		return s.refuse(timestamp.BadDataFormat, "imprint of %d bytes for %v", len(req.HashedMessage), req.HashAlgorithm)
	case req.TSAPolicyOID != nil && !req.TSAPolicyOID.Equal(s.policy):
		return s.refuse(timestamp.UnacceptedPolicy, "policy %v, this TSA stamps under %v", req.TSAPolicyOID, s.policy)
	}
	for _, e := range req.Extensions {
		if e.Critical {
			return s.refuse(timestamp.UnacceptedExtension, "critical extension %v", e.Id)
		}
	}
	ts := timestamp.Timestamp{
		HashAlgorithm: req.HashAlgorithm,
		HashedMessage: req.HashedMessage,
		// TSTInfo carries whole seconds here; truncating says so.
		Time:              time.Now().UTC().Truncate(time.Second),
		Accuracy:          s.accuracy,
		Policy:            s.policy,
		Nonce:             req.Nonce,
		Certificates:      s.chain,
		AddTSACertificate: req.Certificates,
	}
	resp, err := ts.CreateResponseWithOpts(s.cert, s.key, crypto.SHA256)
	if err != nil {
		s.log.ErrorContext(r.Context(), "TSA: signing a time-stamp failed", "err", err)
		return s.refuse(timestamp.SystemFailure, "signing failed")
	}
	return resp
}

// refuse makes a rejection, or nil when even that fails. The library's
// error response has no status text; the failure info bit is what clients
// act on.
func (s *Server) refuse(fi timestamp.FailureInfo, format string, args ...any) []byte {
	s.log.Debug("TSA: request refused", "failureInfo", fi.String(), "reason", fmt.Sprintf(format, args...))
	resp, err := timestamp.CreateErrorResponse(timestamp.Rejection, fi)
	if err != nil {
		s.log.Error("TSA: marshalling a rejection failed", "err", err)
		return nil
	}
	return resp
}
