package hub

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/digitorus/pkcs7"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/lienthong/lienthong/internal/blob"
	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/edxml"
	"github.com/lienthong/lienthong/internal/evidence"
	"github.com/lienthong/lienthong/internal/metrics"
	"github.com/lienthong/lienthong/internal/organ"
	"github.com/lienthong/lienthong/internal/pdfsig"
	"github.com/lienthong/lienthong/internal/route"
	"github.com/lienthong/lienthong/internal/tracing"
	"github.com/lienthong/lienthong/internal/trust"
	"github.com/lienthong/lienthong/schemas/events"
)

// Receipt answers an accepted packet (docs/contracts.md, REST API v1).
type Receipt struct {
	ID           string        `json:"id"`
	Kind         string        `json:"kind"`
	DocumentID   string        `json:"documentId"`
	From         string        `json:"from"`
	To           []string      `json:"to"`
	SHA256       string        `json:"sha256"`
	Size         int64         `json:"size"`
	AcceptedAt   time.Time     `json:"acceptedAt"`
	Verification *trust.Report `json:"verification"`
	// LogLeaf is the base64 RFC 6962 hash of the acceptance's leaf in the
	// verifiable log (internal/evidence), when Options.LogLeaves: the
	// hub's signed promise to log it, as a CT log's SCT is. The leaf's
	// index comes with its proof (GET /v1/packets/{id}/proof), once the
	// log's one order has placed it.
	LogLeaf string `json:"logLeaf,omitempty"`
	// ReceiptTimestamp, when Options.StampReceipt, is an RFC 3161 token
	// (base64 DER) over the SHA-256 of the CMS in Receipt (decoded): a
	// third party's time for the receipt. Outside the signed content.
	ReceiptTimestamp string `json:"receiptTimestamp,omitempty"`
	// Receipt is a CMS SignedData by the hub, carrying as content this
	// receipt's JSON without the receipt field.
	Receipt string `json:"receipt"`

	raw []byte // this receipt as JSON, made once when it was new (JSON)
}

// JSON is the receipt as JSON when the hub made it in this call, nil
// otherwise: the API answers these bytes rather than encoding it again.
func (r *Receipt) JSON() []byte { return r.raw }

// Submission is one packet to submit.
type Submission struct {
	Caller string    // the authenticated agency
	Packet io.Reader // the exact bytes
	// Spooled, when set, stands for Packet: the bytes already in a file the
	// caller owns and removes, with their SHA-256, so the hub neither
	// copies nor hashes them again (the API spools multipart parts).
	Spooled   *Spooled
	Signature []byte // a detached CMS over them, if any
	Channel   string // "v1" or "vdxp"
	Kind      edxml.Kind
	// Policy overrides the hub's signature policy for this channel (the
	// VDXP channel accepts what national-axis software sends).
	Policy string
	// Relay is set when a peer hub relays the packet; Caller is then
	// "hub:<peer>" and the packet may come from the peer's subtrees.
	Relay *Relay
}

// Submit runs a packet through the data path. It answers only once the
// bytes and the accepted event are durable. An identical resubmission gets
// the original receipt; created is false unless this call produced the
// (recorded) accepted event, completing an acceptance a failure cut short.
func (h *Hub) Submit(ctx context.Context, s Submission) (rc *Receipt, created bool, err error) {
	start := time.Now()
	defer func() { h.observeSubmit(start, rc, created, err) }()
	ctx, span := h.o.Tracer.Start(ctx, "submit", trace.WithAttributes(attribute.String("lienthong.channel", s.Channel)))
	defer tracing.End(span, &err)
	var (
		data    io.ReaderAt // the packet's bytes, read once per pass
		size    int64
		digests spoolDigests
		// ownHash: the digest was taken by a Spool of the very bytes it
		// holds, so the store need not hash them again (blob.Meta.Hashed).
		ownHash = true
	)
	switch sp := s.Spooled; {
	case sp != nil:
		digests = spoolDigests{sp.Digests}
		if _, err := digests.Digest(crypto.SHA256); err != nil {
			return nil, false, errors.New("hub: a spooled packet without its SHA-256")
		}
		if sp.Spool != nil {
			data, size = sp.Spool.ReaderAt(), sp.Spool.Size()
		} else {
			fi, err := sp.File.Stat()
			if err != nil {
				return nil, false, unavailable("the spool", err)
			}
			data, size, ownHash = sp.File, fi.Size(), false
		}
	default:
		var spool *Spool
		if spool, digests, err = h.spool(s.Packet); err != nil {
			return nil, false, err
		}
		defer spool.Release()
		data, size = spool.ReaderAt(), spool.Size()
	}
	packet := func() io.Reader { return io.NewSectionReader(data, 0, size) }
	st := stages{at: time.Now(), tr: h.o.Tracer, ctx: ctx}
	popts := edxml.Options{Limits: h.o.Limits, TempDir: h.o.SpoolDir, Kind: s.Kind}
	var pdfs *pdfsig.Spool
	if h.o.PDF != nil {
		// The PDFs' decoded bytes are kept as they stream past, for the
		// check of their signatures after the envelope's.
		pdfs = pdfsig.NewSpool(h.o.SpoolDir)
		defer pdfs.Close()
		popts.Attachment = pdfs.Writer
	}
	p, err := edxml.Parse(packet(), popts)
	if err != nil {
		if code := edxml.CodeOf(err); code != "" {
			var e *edxml.Error
			errors.As(err, &e)
			return nil, false, &Error{Status: http.StatusBadRequest, Code: code, Message: e.Message, Problems: []edxml.Problem{e.Problem}}
		}
		return nil, false, fmt.Errorf("read spooled packet: %w", err)
	}
	if !p.Valid() {
		return nil, false, &Error{Status: http.StatusUnprocessableEntity, Code: p.Errors[0].Code, Message: p.Errors[0].Message, Problems: p.Errors}
	}
	st.done("parse")
	span.SetAttributes(tracing.AttrPacketID.String(p.ID()))
	if !h.mayRelay(s, p.From()) && !h.sameOrgan(s.Caller, p.From()) {
		return nil, false, refuse(http.StatusForbidden, "auth.forbidden", "%s may not send as %s", s.Caller, p.From())
	}
	a, rerr := h.plan(p)
	if rerr != nil {
		return h.recorded(ctx, p.ID(), digests.sha256(), s.Signature, rerr)
	}
	if s.Relay != nil {
		a.Hops = s.Relay.Hops
	}
	now := h.o.Now()
	policy := s.Policy
	if policy == "" {
		policy = h.o.AgencyPolicy[p.From()]
	}
	if policy == "" {
		policy = h.o.Policy
	}
	report, rerr := h.verify(ctx, p, data, size, digests, s.Signature, now, policy)
	if rerr == nil && pdfs != nil && p.Kind == edxml.KindEdoc {
		rerr = h.verifyPDFs(ctx, p, pdfs, report, now, s.Channel)
	}
	st.done("verify")
	if rerr != nil {
		return h.recorded(ctx, p.ID(), digests.sha256(), s.Signature, rerr)
	}
	a.ID, a.SHA256, a.Size, a.Channel = p.ID(), digests.sha256(), p.Size(), s.Channel
	a.Attachments = briefPDFs(report.Attachments)
	a.BlobKey = blob.PacketKey(a.ID)
	a.AcceptedAt = now.UTC()

	// A retry of a packet this view knows as accepted with these bytes:
	// answer its recorded receipt at once, not after signing (and asking
	// the TSA to stamp) a new one only to drop it when the store finds the
	// bytes there. Other bytes under its id, or a view that lags, go on
	// to the conditional create below, which decides as before.
	if known, err := h.o.View.Packet(a.ID); err == nil && known.SHA256 == a.SHA256 {
		if rc, created, ok, err := h.resume(ctx, a.ID); err != nil || ok {
			return rc, created, err
		}
	}

	// The receipt is made before anything is stored: the bytes and the
	// record of acceptance go in one create where the store can (CreatePair).
	rc = &Receipt{ID: a.ID, Kind: a.Kind, DocumentID: a.DocumentID, From: a.From, To: a.To, SHA256: a.SHA256,
		Size: a.Size, AcceptedAt: a.AcceptedAt, Verification: report}
	if rc.To == nil {
		rc.To = []string{}
	}
	event, err := json.Marshal(a)
	if err != nil {
		return nil, false, err
	}
	if h.o.LogLeaves {
		// The leaf the feeder will make from these very bytes, from
		// the fields they were made of.
		lf, err := a.leaf()
		if err != nil {
			return nil, false, err
		}
		rc.LogLeaf = base64.StdEncoding.EncodeToString(evidence.LeafHash(lf.Marshal()))
	}
	content, err := h.sign(rc)
	if err != nil {
		return nil, false, err
	}
	h.stampReceipt(ctx, rc)
	// Marshalled once, for the signature, the record and the answer: the
	// record is the receipt's fields, the signature and the event
	// (acceptance), spelled out. The verification report and the detached
	// signature are kept in it, not objects of their own
	// (docs/PERFORMANCE.md).
	raw := answerJSON(content, rc)
	if raw == nil {
		if raw, err = marshalPlain(rc); err != nil {
			return nil, false, err
		}
	}
	rec := record(raw, s.Signature, event)
	st.done("receipt")

	// Store the exact bytes, conditionally (the key is the packet id), and
	// with them the record of acceptance: the first acceptance is fixed
	// here, before it is produced, and a retry after a crash or an outage
	// finds it and produces the same bytes. The record is created only
	// with the bytes; on the log store both in one write.
	//
	// On a shared store (S3) the signature also gets its own object, as
	// before issue 18: hub processes of that version, running beside this
	// one in a rolling upgrade or after a rollback, read it only there
	// (forwarding, the signature's fetch, a retry's comparison).
	if len(s.Signature) > 0 && blob.Shared(h.o.Store) {
		_, err := h.o.Store.Create(ctx, blob.SignatureKey(a.ID), bytes.NewReader(s.Signature), int64(len(s.Signature)), blob.Meta{ContentType: "application/pkcs7-signature"})
		if err != nil && !errors.Is(err, blob.ErrExists) {
			return nil, false, unavailable("storage", err)
		}
	}
	errP, errR := blob.CreatePair(ctx, h.o.Store,
		blob.Object{Key: a.BlobKey, R: packet(), Size: a.Size, Meta: blob.Meta{ContentType: "application/xml", SHA256: a.SHA256, Hashed: ownHash}},
		blob.Object{Key: blob.ReceiptKey(a.ID), R: bytes.NewReader(rec), Size: int64(len(rec)), Meta: blob.Meta{ContentType: "application/json"}})
	switch {
	case errors.Is(errP, blob.ErrExists):
		info, serr := h.o.Store.Stat(ctx, a.BlobKey)
		if serr != nil {
			return nil, false, unavailable("storage", serr)
		}
		if info.SHA256 != a.SHA256 {
			return nil, false, refuse(http.StatusConflict, "packet.conflict", "packet %s was accepted with other bytes (sha256 %s)", a.ID, info.SHA256)
		}
		if rc, created, ok, err := h.resume(ctx, a.ID); err != nil || ok {
			return rc, created, err
		}
		// The bytes were stored but no acceptance was recorded: accept now.
		errR = h.putRaw(ctx, blob.ReceiptKey(a.ID), rec)
	case errP != nil:
		return nil, false, unavailable("storage", errP)
	}
	if errR != nil {
		if errors.Is(errR, blob.ErrExists) { // a concurrent twin recorded first
			if acc, ok, lerr := h.acceptance(ctx, a.ID); lerr == nil && ok {
				return h.complete(ctx, acc)
			}
		}
		return nil, false, unavailable("storage", errR)
	}
	rc.raw = raw
	st.done("store")
	// The commit point: once the accepted event is acknowledged by all
	// in-sync replicas, the packet will be delivered.
	if err := h.publish(ctx, bus.Message{Topic: h.o.Topics.accepted(), Key: []byte(a.ID), Value: event}); err != nil {
		return nil, false, unavailable("the broker", err)
	}
	st.done("broker")
	// Read your own write: this process's view knows the packet at once
	// (the view consumer applies the same event again, idempotently), so a
	// timeline or an access check right after the 2xx does not race it.
	// Routed too, as the consumer records it (at AcceptedAt): its replay
	// then finds every row there and writes nothing.
	if err := h.o.View.AcceptedRouted(a.packet(), a.deliveries(), a.AcceptedAt); err != nil {
		h.o.Log.Warn("view: record accepted packet", "id", a.ID, "err", err)
	}
	st.done("view")
	st.observe(h.o.Metrics)
	return rc, true, nil
}

// leaf is the verifiable log's leaf of a, the one evidence.FromAccepted
// makes of a's JSON, without that JSON parsed again.
func (a *accepted) leaf() (evidence.Leaf, error) {
	e := evidence.Accepted{ID: a.ID, Kind: a.Kind, From: a.From, DocumentID: a.DocumentID, StatusCode: string(a.StatusCode),
		SHA256: a.SHA256, Size: a.Size, AcceptedAt: a.AcceptedAt, Endpoints: make([]string, 0, len(a.Deliveries))}
	for _, d := range a.Deliveries {
		e.Endpoints = append(e.Endpoints, d.Endpoint)
	}
	return evidence.AcceptedLeaf(e)
}

// checkReceiptSigner checks once what sign relies on: with a key there is
// its certificate, and each certificate of the chain issued the one before
// it, starting with the receipt certificate.
func checkReceiptSigner(cert *x509.Certificate, key crypto.Signer, chain []*x509.Certificate) error {
	if key == nil {
		return nil
	}
	if cert == nil {
		return errors.New("hub: a receipt key without its certificate")
	}
	if pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(cert.PublicKey) {
		return fmt.Errorf("hub: the receipt key does not match certificate %q", cert.Subject.CommonName)
	}
	for _, parent := range chain {
		if err := cert.CheckSignatureFrom(parent); err != nil {
			return fmt.Errorf("hub: receipt certificate %q is not issued by %q: %w", cert.Subject.CommonName, parent.Subject.CommonName, err)
		}
		cert = parent
	}
	return nil
}

// stages times the stages of one submission (metrics.Stages): done
// records the time since the previous stage ended.
type stages struct {
	at    time.Time
	names [8]string
	took  [8]time.Duration
	n     int
	// With tracing on, each stage is also a span of the submission,
	// dated after the fact.
	tr  *tracing.Tracer
	ctx context.Context
}

func (s *stages) done(stage string) {
	now := time.Now()
	if s.tr != nil {
		_, span := s.tr.Start(s.ctx, stage, trace.WithTimestamp(s.at))
		span.End(trace.WithTimestamp(now))
	}
	s.names[s.n], s.took[s.n] = stage, now.Sub(s.at)
	s.n++
	s.at = now
}

// observe records the stages; only a new accept is observed, so that every
// stage is averaged over the same submissions.
func (s *stages) observe(m *metrics.Hub) {
	for i := range s.n {
		m.Stage(s.names[i], s.took[i])
	}
}

// observeSubmit counts a submission: accepted by kind and bytes, or
// refused by its stable code.
func (h *Hub) observeSubmit(start time.Time, rc *Receipt, created bool, err error) {
	took := time.Since(start)
	if err != nil {
		code := metrics.CodeInternal
		if e, ok := errors.AsType[*Error](err); ok {
			code = e.Code
		}
		h.o.Metrics.Rejected(code, took)
		return
	}
	h.o.Metrics.Accepted(rc.Kind, rc.Size, created, took)
}

func (h *Hub) putJSON(ctx context.Context, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return h.putRaw(ctx, key, raw)
}

// marshalPlain is json.Marshal without escaping <, > and &, as the API
// writes its answers: the receipt answered new and answered again from
// the record are the same bytes.
func marshalPlain(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func (h *Hub) putRaw(ctx context.Context, key string, raw []byte) error {
	_, err := h.o.Store.Create(ctx, key, bytes.NewReader(raw), int64(len(raw)), blob.Meta{ContentType: "application/json"})
	return err
}

// Spooled is a packet already spooled, with its digests (at least SHA-256,
// as trust.NewDigestReader gives them): in a Spool (Hub.NewSpool), or a
// file from its start to its end, which may have no name (unlinked): the
// hub reads it through the handle.
type Spooled struct {
	Spool   *Spool
	File    *os.File
	Digests trust.Digests
}

type spoolDigests struct{ trust.Digests }

func (d spoolDigests) sha256() string {
	sum, _ := d.Digest(crypto.SHA256)
	return fmt.Sprintf("%x", sum)
}

// spool copies the body to a temporary file while hashing it: parsing,
// verification and storage then read the file, and memory stays flat.
func (h *Hub) spool(r io.Reader) (*Spool, spoolDigests, error) {
	f := h.NewSpool()
	dr := trust.NewDigestReader(r, crypto.SHA256)
	if _, err := CopyToSpool(f, dr); err != nil {
		f.Release()
		if he, ok := errors.AsType[*Error](err); ok {
			return nil, spoolDigests{}, he
		}
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return nil, spoolDigests{}, refuse(http.StatusRequestEntityTooLarge, edxml.CodeTooLarge, "the packet is larger than %d bytes", mb.Limit)
		}
		return nil, spoolDigests{}, refuse(http.StatusBadRequest, edxml.CodeMalformed, "reading the packet failed: %v", err)
	}
	return f, spoolDigests{dr.Digests()}, nil
}

// mayRelay: a peer hub may submit packets from its own subtrees.
func (h *Hub) mayRelay(s Submission, from string) bool {
	if s.Relay == nil {
		return false
	}
	peer, ok := h.o.Peers[s.Relay.Peer]
	return ok && peer.permitsRelay(h.o.Directory, from)
}

func (h *Hub) sameOrgan(a, b string) bool {
	if a == b {
		return true
	}
	ca, ok1 := h.o.Directory.Canonical(organ.ID(a))
	cb, ok2 := h.o.Directory.Canonical(organ.ID(b))
	return ok1 && ok2 && ca == cb
}

// plan decides where the packet goes and whether its sender may send it.
func (h *Hub) plan(p *edxml.Packet) (accepted, *Error) {
	a := accepted{V: 1, Kind: string(p.Kind), From: p.From(), To: p.To(), DocumentID: p.DocumentID()}
	rp := route.Packet{Kind: a.Kind, From: a.From, To: a.To}
	var doc *route.Document
	if p.Header != nil {
		a.Subject = p.Header.Subject
		a.Priority, _ = strconv.Atoi(p.Header.OtherInfo.Priority)
		a.Business = p.BusinessType()
		a.DueDate = p.Header.DueDate
		h := p.Header
		a.Code, a.PromulgationDate, a.TypeName = h.Code.String(), h.Promulgation.Date, h.DocumentType.TypeName
		a.Signer, a.FromName = strings.TrimSpace(h.Signer.Position+" "+h.Signer.FullName), h.From.OrganName
		if p.Trace != nil && p.Trace.Business != nil {
			for _, r := range p.Trace.Business.Replacements {
				a.Replaces = append(a.Replaces, r.DocumentID)
			}
		}
	}
	if p.Status != nil {
		a.StatusCode, a.RFOrgan, a.RFDocument = p.Status.Code(), p.Status.ResponseFor.OrganID, p.Status.ResponseFor.DocumentID
		rp.StatusCode, rp.ResponseForOrgan = a.StatusCode, a.RFOrgan
		sender := a.RFOrgan
		if a.StatusCode.FromSender() {
			sender = a.From
		}
		var err error
		if doc, err = h.o.View.Document(sender, a.RFDocument); err != nil {
			return a, unavailable("the view", err)
		}
		// The role (a recipient, or the sender for 13), and the right to
		// read the document, by the rule a fetch of its packets obeys.
		if !route.Permitted(rp, doc) || doc != nil && !h.mayRead(a.From, doc.From, doc.Endpoints) {
			return a, refuse(http.StatusForbidden, "auth.forbidden", "%s is not a party to document %q", a.From, a.RFDocument)
		}
	}
	d := route.Decide(rp, h.o.Directory, doc)
	if len(d.Unroutable) > 0 {
		return a, refuse(http.StatusUnprocessableEntity, "packet.unknown_recipient", "no registered agency receives for %v", d.Unroutable)
	}
	for _, dl := range d.Deliveries {
		a.Deliveries = append(a.Deliveries, delivery{Endpoint: dl.Endpoint, Organs: dl.Organs})
	}
	a.Flags = d.Flags
	return a, nil
}

// verify checks the signatures under the channel's policy.
func (h *Hub) verify(ctx context.Context, p *edxml.Packet, data io.ReaderAt, size int64, d spoolDigests, sig []byte, at time.Time, policy string) (*trust.Report, *Error) {
	report := &trust.Report{Signatures: []trust.Signature{}, Errors: []trust.Problem{}, Warnings: []trust.Problem{}}
	// Read through the spool, never a name: spool files are unlinked as
	// soon as they are made (hub.spools).
	open := func() (io.ReadCloser, error) { return io.NopCloser(io.NewSectionReader(data, 0, size)), nil }
	if sig != nil {
		content := fallbackContent{d.Digests, trust.ReaderContent(open)}
		report.Signatures = append(report.Signatures, *h.o.Verifier.VerifyCMS(ctx, sig, content, p.From(), at))
	}
	if p.Signature != nil && policy != PolicyCMS {
		report.Signatures = append(report.Signatures, *h.o.Verifier.VerifyXMLDSig(ctx, trust.XMLDoc{Open: open}, p.From(), at))
	}
	valid := 0
	for _, s := range report.Signatures {
		if !s.Valid {
			report.Valid = false
			return report, &Error{Status: http.StatusUnprocessableEntity, Code: s.Errors[0].Code, Message: s.Errors[0].Message, Report: report}
		}
		if s.Type == trust.TypeCMS || policy != PolicyCMS {
			valid++
		}
	}
	if valid == 0 {
		if policy != PolicyUnsignedOK {
			report.Errors = append(report.Errors, trust.Problem{Code: trust.CodeMissing, Message: "the packet carries no signature the " + policy + " policy accepts"})
			return report, &Error{Status: http.StatusUnprocessableEntity, Code: trust.CodeMissing, Message: report.Errors[0].Message, Report: report}
		}
		report.Warnings = append(report.Warnings, trust.Problem{Code: trust.CodeUnsigned, Message: "accepted unsigned by policy"})
	}
	report.Valid = true
	return report, nil
}

// verifyPDFs puts the verdicts on the edoc's PDF attachments into report
// and applies the PDF policy of the channel and the sender, the stricter.
func (h *Hub) verifyPDFs(ctx context.Context, p *edxml.Packet, pdfs *pdfsig.Spool, report *trust.Report, at time.Time, channel string) *Error {
	atts, err := h.o.PDF.VerifyPacket(ctx, h.o.Verifier, p, pdfs, pdfsig.VerifyOptions{From: p.From(), At: at})
	if err != nil {
		return unavailable("the PDF engine", err)
	}
	report.Attachments = atts
	organ := h.o.PDFPolicy[channel] == PDFOrgan || h.o.AgencyPDFPolicy[p.From()] == PDFOrgan
	// A revocation, or an update that carries no file, has no letter to
	// seal; new documents and replacements always carry one (edxml).
	if !organ || p.BusinessType() == edxml.BusinessRevoke || len(p.Attachments) == 0 {
		return nil
	}
	for _, a := range atts {
		if a.Main && len(a.Errors) > 0 && a.Errors[0].Code == pdfsig.CodeTimeout {
			// Not judged in time: the sender may try again, unlike a
			// letter without the seal.
			return unavailable("the PDF engine", errors.New(a.Errors[0].Message))
		}
	}
	if ok, why := pdfsig.MainOrganSigned(atts); !ok {
		report.Valid = false
		report.Errors = append(report.Errors, trust.Problem{Code: pdfsig.CodeOrganMissing, Message: why})
		return &Error{Status: http.StatusUnprocessableEntity, Code: pdfsig.CodeOrganMissing, Message: why, Report: report}
	}
	return nil
}

// briefPDFs is the verdict on the PDFs in brief, for the events: who
// signed, and whether it holds, without the certificates and messages.
func briefPDFs(atts []trust.Attachment) []events.AttachmentVerdict {
	if len(atts) == 0 {
		return nil
	}
	out := make([]events.AttachmentVerdict, 0, len(atts))
	for _, a := range atts {
		v := events.AttachmentVerdict{Index: a.Index, Name: a.Name, Entry: a.Entry, Main: a.Main, OrganSigned: a.OrganSigned,
			Signatures: make([]events.PDFSignature, 0, len(a.Signatures)), Errors: problemCodes(a.Errors)}
		for _, s := range a.Signatures {
			b := events.PDFSignature{OrganID: s.OrganID, SignedAt: s.SignedAt, Valid: s.Valid,
				CoversWholeFile: s.CoversWholeFile, ModifiedAfterSigning: s.ModifiedAfterSigning, Errors: problemCodes(s.Errors)}
			if s.Signer != nil {
				b.Signer = s.Signer.Subject
			}
			v.Signatures = append(v.Signatures, b)
		}
		out = append(out, v)
	}
	return out
}

func problemCodes(ps []trust.Problem) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Code)
	}
	return out
}

// fallbackContent answers SHA-256 from the spool pass and re-reads the
// packet for any other algorithm.
type fallbackContent struct {
	known trust.Digests
	read  trust.ReaderContent
}

func (c fallbackContent) Digest(h crypto.Hash) ([]byte, error) {
	if sum, err := c.known.Digest(h); err == nil {
		return sum, nil
	}
	return c.read.Digest(h)
}

// sign puts the hub's CMS over the receipt's JSON into rc.Receipt and
// returns that JSON (nil without a receipt key).
func (h *Hub) sign(rc *Receipt) ([]byte, error) {
	if h.o.ReceiptKey == nil {
		return nil, nil
	}
	return signReceipt(rc, h.o.ReceiptCert, h.o.ReceiptKey, h.o.ReceiptChain)
}

// SignReceipt puts a CMS SignedData by key over rc's JSON (without its
// receipt fields) into rc.Receipt: SHA-256, the signer's certificate and
// chain. The chain is not checked here (the hub checks it once at start).
func SignReceipt(rc *Receipt, cert *x509.Certificate, key crypto.Signer, chain []*x509.Certificate) error {
	_, err := signReceipt(rc, cert, key, chain)
	return err
}

// signedTail ends the content of a signed receipt: its receipt field,
// empty, last (Receipt's field order).
const signedTail = `"receipt":""}`

// answerJSON is rc as marshalPlain writes it, spliced from content, the
// JSON signReceipt signed, when that is the same bytes but for the
// receipt fields: when json.Marshal escaped no <, > or & in it (nor held
// any \u00 escape, to be sure). nil otherwise: marshal it.
func answerJSON(content []byte, rc *Receipt) []byte {
	if !bytes.HasSuffix(content, []byte(signedTail)) || bytes.Contains(content, []byte(`\u00`)) {
		return nil
	}
	head := content[:len(content)-len(signedTail)]
	b := make([]byte, 0, len(head)+len(rc.ReceiptTimestamp)+len(rc.Receipt)+40)
	b = append(b, head...)
	if rc.ReceiptTimestamp != "" {
		b = append(append(append(b, `"receiptTimestamp":"`...), rc.ReceiptTimestamp...), `",`...)
	}
	return append(append(append(b, `"receipt":"`...), rc.Receipt...), `"}`...)
}

func signReceipt(rc *Receipt, cert *x509.Certificate, key crypto.Signer, chain []*x509.Certificate) ([]byte, error) {
	rc.Receipt, rc.ReceiptTimestamp = "", ""
	content, err := json.Marshal(rc)
	if err != nil {
		return nil, err
	}
	// ECDSA and RSA keys: the same bytes, built directly (receiptsig.go).
	if der, ok, err := signAttached(content, cert, key, chain, time.Now()); ok {
		if err != nil {
			return nil, fmt.Errorf("sign receipt: %w", err)
		}
		rc.Receipt = base64.StdEncoding.EncodeToString(der)
		return content, nil
	}
	sd, err := pkcs7.NewSignedData(content)
	if err != nil {
		return nil, err
	}
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	// Not AddSignerChain: it checks the chain's signatures on every call,
	// half the cost of a receipt.
	if err := sd.AddSigner(cert, key, pkcs7.SignerInfoConfig{}); err != nil {
		return nil, fmt.Errorf("sign receipt: %w", err)
	}
	for _, c := range chain {
		sd.AddCertificate(c)
	}
	der, err := sd.Finish()
	if err != nil {
		return nil, fmt.Errorf("sign receipt: %w", err)
	}
	rc.Receipt = base64.StdEncoding.EncodeToString(der)
	return content, nil
}

// stampReceipt adds a TSA's time-stamp to a signed receipt, when
// configured. A TSA that fails costs the receipt its stamp, not the
// packet its acceptance: the checkpoints' stamps still bound its time.
func (h *Hub) stampReceipt(ctx context.Context, rc *Receipt) {
	if h.o.StampReceipt == nil || rc.Receipt == "" {
		return
	}
	der, err := base64.StdEncoding.DecodeString(rc.Receipt)
	if err != nil {
		return
	}
	sum := sha256.Sum256(der)
	tok, err := h.o.StampReceipt(ctx, sum[:])
	if err != nil {
		h.o.Log.WarnContext(ctx, "receipt not time-stamped", "id", rc.ID, "err", err)
		return
	}
	rc.ReceiptTimestamp = base64.StdEncoding.EncodeToString(tok)
}
