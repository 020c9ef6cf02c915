// Package pdfsig verifies the digital signatures inside a PDF attachment
// (issue 17). pdfium, compiled to WebAssembly (go-pdfium on wazero, no
// cgo), parses the file in a sandbox with no file system, a memory cap and
// a deadline that kills the instance; each signature's CMS is verified over
// its byte ranges, streamed from the file, by internal/trust with the same
// roots and revocation policy as the envelope. docs/pdf-signatures.md says
// why pdfium and what it costs.
package pdfsig

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/digitorus/timestamp"
	"github.com/klippa-app/go-pdfium"
	"github.com/klippa-app/go-pdfium/enums"
	"github.com/klippa-app/go-pdfium/references"
	"github.com/klippa-app/go-pdfium/requests"
	"github.com/klippa-app/go-pdfium/structs"
	"github.com/klippa-app/go-pdfium/webassembly"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"

	"github.com/lienthong/lienthong/internal/trust"
	"github.com/lienthong/lienthong/internal/tsa"
)

// Stable codes, as issue 17 names them.
const (
	CodeMalformed = "pdf.malformed" // pdfium cannot open the file
	CodeTimeout   = "pdf.timeout"   // the deadline killed the parse
	CodeBusy      = "pdf.busy"      // no instance free in time: 503, try again; the file is not judged
	// CodeTimestampInvalid warns that a signature's time-stamp could not
	// be trusted (unreadable, wrong imprint, TSA not under pdf.tsaRoots);
	// the signature is judged at receipt time.
	CodeTimestampInvalid = "pdf.timestamp_invalid"
	// CodeValidAtTimestamp warns that a signature is valid at its
	// time-stamped signing time though its certificate has expired since.
	CodeValidAtTimestamp = "pdf.valid_at_timestamp"
	CodeTooLarge         = "pdf.too_large"     // the parse hit the memory cap
	CodeSigInvalid       = "pdf.sig_invalid"   // byte ranges, CMS or digest wrong
	CodeSigUntrusted     = "pdf.sig_untrusted" // the signature holds, the certificate does not
	// CodeModified warns that an update after the signature changed what
	// the pages show (not only annotations or further signatures).
	CodeModified = "pdf.modified_after_signing"
	// CodeOrganMissing is for the policy that refuses a document whose
	// main PDF lacks the sending organ's valid signature.
	CodeOrganMissing = "pdf.organ_signature_missing"
)

// What an update after a signature changed (Signature.Changes).
const (
	ChangesNone = "none" // the signature covers the whole file
	// ChangesSignatures: later updates only added signatures. Every page
	// draws the same (with its comments, stamps and other annotations),
	// the annotations it had are where they were, and the ones added are
	// widgets, no more than the signatures that came after.
	ChangesSignatures = "signatures"
	// ChangesContent: anything else, or what could not be compared.
	ChangesContent = "content"
	// ChangesUnknown: the byte ranges are wrong; nothing was compared.
	ChangesUnknown = "unknown"
)

// Options bound the engine.
type Options struct {
	// MemoryLimit caps each pdfium instance's linear memory, in bytes
	// (rounded down to 64 KiB pages); 0 means 256 MiB.
	MemoryLimit int64
	// Deadline bounds one Verify; 0 means 10 s.
	Deadline time.Duration
	// MaxConcurrent is how many files are parsed at once (one instance
	// each); 0 means 2.
	MaxConcurrent int
	// CacheDir keeps wazero's compiled pdfium between runs: compiling takes
	// seconds and a few hundred MB of heap, loading the cache ~150 ms.
	CacheDir string
	// TSARoots are the roots a signature time-stamp's TSA must chain to
	// (PAdES B-T); without them a time-stamp is reported, not trusted.
	TSARoots []*x509.Certificate
}

// Engine is a pool of sandboxed pdfium instances. It is safe for
// concurrent use.
type Engine struct {
	pool     pdfium.Pool
	deadline time.Duration
	tsaRoots *x509.CertPool // nil: none configured

	// uses counts the documents each reused instance has parsed.
	mu   sync.Mutex
	uses map[any]int
}

// maxUses bounds how many documents one pdfium instance parses before it
// is thrown away. Making an instance costs ~5 ms (its linear memory is
// allocated and pdfium initialised), ten times parsing a letter, so
// instances are reused; a hostile file that damaged pdfium's heap inside
// the sandbox could then skew the next files' reading, so an instance is
// also discarded after a trap (the memory cap), a kill (the deadline) or
// a panic, and after maxUses files in any case.
const maxUses = 64

const wasmPage = 64 << 10

// New compiles the embedded pdfium module (or loads it from CacheDir).
func New(ctx context.Context, opts Options) (*Engine, error) {
	if opts.MemoryLimit <= 0 {
		opts.MemoryLimit = 256 << 20
	}
	if opts.Deadline <= 0 {
		opts.Deadline = 10 * time.Second
	}
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = 2
	}
	pages := max(opts.MemoryLimit/wasmPage, 1)
	rc := wazero.NewRuntimeConfig().
		WithCoreFeatures(api.CoreFeaturesV2 | experimental.CoreFeaturesExceptionHandling).
		WithCloseOnContextDone(true).
		WithMemoryLimitPages(uint32(min(pages, 65536)))
	if opts.CacheDir != "" {
		cache, err := wazero.NewCompilationCacheWithDir(opts.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("pdfium compilation cache: %w", err)
		}
		rc = rc.WithCompilationCache(cache)
	}
	pool, err := webassembly.Init(webassembly.Config{
		Context:      ctx,
		MinIdle:      0,
		MaxIdle:      opts.MaxConcurrent,
		MaxTotal:     opts.MaxConcurrent,
		ReuseWorkers: true,
		// go-pdfium mounts the host's / unless told otherwise: pdfium reads
		// only through the reader it is given, so it gets no file system.
		FSConfig:      wazero.NewFSConfig(),
		RuntimeConfig: rc,
		Stdout:        io.Discard,
		Stderr:        io.Discard,
	})
	if err != nil {
		return nil, fmt.Errorf("pdfium: %w", err)
	}
	e := &Engine{pool: pool, deadline: opts.Deadline, uses: map[any]int{}}
	if len(opts.TSARoots) > 0 {
		e.tsaRoots = x509.NewCertPool()
		for _, c := range opts.TSARoots {
			e.tsaRoots.AddCert(c)
		}
	}
	return e, nil
}

// Close releases the instances.
func (e *Engine) Close() error { return e.pool.Close() }

// IsPDF tells a PDF by its content: the "%PDF-" header within the first
// 1024 bytes, where readers accept it. Names and declared types lie.
func IsPDF(r io.ReaderAt) bool {
	b := make([]byte, 1024)
	n, _ := r.ReadAt(b, 0)
	return bytes.Contains(b[:n], []byte("%PDF-"))
}

// VerifyOptions are the packet's: who sent it and when it was received.
type VerifyOptions struct {
	From string    // the sending organ: OrganSigned binds signers to it as trust binds the envelope's
	At   time.Time // validity and revocation are judged at this time; zero means now
}

// Attachment is the verdict on one PDF: the report's type (internal/trust),
// since the verification report carries it.
type Attachment = trust.Attachment

// Signature is the verdict on one signature inside a PDF (the report's).
type Signature = trust.PDFSignature

// Verify reads r (size bytes) with pdfium and verifies every signature in
// it. It never fails: a file pdfium cannot read gets an Attachment with a
// coded error, an unsigned one no signatures. The whole call is bounded by
// the engine's deadline (and ctx).
func (e *Engine) Verify(ctx context.Context, v *trust.Verifier, r io.ReaderAt, size int64, opts VerifyOptions) *Attachment {
	at := opts.At
	if at.IsZero() {
		at = time.Now()
	}
	a := &Attachment{Signatures: []Signature{}, Errors: []trust.Problem{}, Warnings: []trust.Problem{}}
	if size < 0 {
		a.Errors = append(a.Errors, trust.Problem{Code: CodeMalformed, Message: fmt.Sprintf("size %d", size)})
		return a
	}
	ctx, cancel := context.WithTimeout(ctx, e.deadline)
	defer cancel()
	// The digests read the file again, once per signature: a file with
	// many signatures over all of it must not outlive the deadline either.
	r = ctxReaderAt{ctx, r}
	var sigs []rawSig
	var whole []page
	revisions := map[int64][]page{}
	err := e.with(ctx, func(inst pdfium.Pdfium) error {
		var err error
		if sigs, whole, err = readDoc(inst, r, size, true); err != nil {
			return err
		}
		// Each signed revision is the file up to the end of its byte
		// range; pdfium opens it as a document of its own.
		for _, s := range sigs {
			end, ok, err := ranges(s.byteRange, len(s.contents), size)
			if err != nil || ok || revisions[end] != nil {
				continue
			}
			_, pages, err := readDoc(inst, io.NewSectionReader(r, 0, end), end, false)
			if err != nil {
				// A revision pdfium cannot open is no evidence of
				// "annotations only": nil counts as content changed.
				pages = nil
			}
			revisions[end] = pages
		}
		return nil
	})
	if err != nil {
		a.Errors = append(a.Errors, problem(err))
		return a
	}
	checked := make([]Signature, 0, len(sigs))
	valid := make([]bool, 0, len(sigs))
	for _, s := range sigs {
		sig := e.verifySig(ctx, v, r, size, s, at)
		if ctx.Err() != nil {
			a.Errors = append(a.Errors, trust.Problem{Code: CodeTimeout,
				Message: fmt.Sprintf("the signatures were not verified in time (%d of %d)", len(checked), len(sigs))})
			return a
		}
		checked, valid = append(checked, sig), append(valid, sig.Valid)
	}
	for i, s := range sigs {
		sig := checked[i]
		if end, all, err := ranges(s.byteRange, len(s.contents), size); err == nil && !all {
			sig.Changes = changes(revisions[end], whole, laterThan(sigs, valid, end, size))
			sig.ModifiedAfterSigning = sig.Changes == ChangesContent
			if sig.ModifiedAfterSigning {
				sig.Warnings = append(sig.Warnings, trust.Problem{Code: CodeModified,
					Message: fmt.Sprintf("an update after this signature (bytes %d to %d) does more than add signatures: what the pages show, or their annotations, may differ from what was signed", end, size)})
			}
		}
		// The sender's seal counts only over what the pages show now.
		sig.FromSender = sig.Valid && v.SpeaksFor(sig.Signer, opts.From)
		if sig.FromSender && !sig.ModifiedAfterSigning {
			a.OrganSigned = true
		}
		a.Signatures = append(a.Signatures, sig)
	}
	return a
}

func (e *Engine) verifySig(ctx context.Context, v *trust.Verifier, r io.ReaderAt, size int64, s rawSig, at time.Time) Signature {
	sig := Signature{SubFilter: s.subFilter, Reason: s.reason, ByteRange: s.byteRange,
		Errors: []trust.Problem{}, Warnings: []trust.Problem{}}
	if sig.ByteRange == nil {
		sig.ByteRange = []int64{}
	}
	if t, ok := parseDate(s.time); ok {
		sig.SignedAt = &t
	}
	sig.Changes = ChangesUnknown
	_, whole, err := ranges(s.byteRange, len(s.contents), size)
	if err == nil {
		err = gapIsContents(r, s.byteRange, s.contents)
	}
	if err != nil {
		sig.Errors = append(sig.Errors, trust.Problem{Code: CodeSigInvalid, Message: err.Error()})
		return sig
	}
	sig.CoversWholeFile = whole
	sig.Changes = ChangesNone
	br := s.byteRange
	content := trust.ReaderContent(func() (io.ReadCloser, error) {
		return io.NopCloser(io.MultiReader(
			io.NewSectionReader(r, br[0], br[1]),
			io.NewSectionReader(r, br[2], br[3]))), nil
	})
	der := trimDER(s.contents)
	ts := v.VerifyCMSUnbound(ctx, der, content, at)
	// A signature time-stamp (PAdES B-T) fixes when the signature existed:
	// a certificate that expired since still made a valid signature then.
	if stamped, present, err := e.stampTime(ts); err != nil {
		sig.Warnings = append(sig.Warnings, trust.Problem{Code: CodeTimestampInvalid, Message: err.Error()})
	} else if present {
		sig.TimeStamped = &stamped
		if !ts.Valid && onlyExpired(ts) {
			if then := v.VerifyCMSUnbound(ctx, der, content, stamped); then.Valid {
				ts = then
				sig.Warnings = append(sig.Warnings, trust.Problem{Code: CodeValidAtTimestamp, Message: fmt.Sprintf(
					"valid at the time-stamped signing time %s; the certificate is no longer valid at %s", stamped.Format(time.RFC3339), at.UTC().Format(time.RFC3339))})
			}
		}
	}
	sig.Valid = ts.Valid
	sig.Signer = ts.Signer
	sig.Chain = ts.Chain
	if sig.TimeStamped != nil {
		sig.SignedAt = sig.TimeStamped
	} else if ts.SignedAt != nil {
		sig.SignedAt = ts.SignedAt
	} else if sig.SignedAt != nil && ts.Signer != nil && (sig.SignedAt.Before(ts.Signer.NotBefore) || sig.SignedAt.After(ts.Signer.NotAfter)) {
		// The /M claim, held to the certificate as trust holds a CMS
		// signingTime: a warning, since nothing vouches for either time.
		sig.Warnings = append(sig.Warnings, trust.Problem{Code: trust.CodeSigningTimeOutside,
			Message: fmt.Sprintf("the claimed signing time %s (/M) is outside the certificate's validity", sig.SignedAt.Format(time.RFC3339))})
	}
	if ts.Signer != nil {
		// Only a certificate with exactly one UID speaks for an organ.
		sig.OrganID = ts.Signer.OrganID
	}
	if !ts.Valid {
		sig.Errors = append(sig.Errors, trust.Problem{Code: sigCode(ts), Message: "the signature does not hold: " + ts.Errors[0].Message})
	}
	// trust's own codes follow (sig.expired, sig.digest_mismatch, …) for
	// the detail.
	sig.Errors = append(sig.Errors, ts.Errors...)
	sig.Warnings = append(sig.Warnings, ts.Warnings...)
	return sig
}

// oidSignatureTimeStamp is id-aa-signatureTimeStampToken (RFC 3161 App. A).
var oidSignatureTimeStamp = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 14}

// stampTime reads the signature time-stamp of the CMS trust verified in
// ts, if any (from ts: the CMS is not parsed twice), and verifies it
// (internal/tsa: the TSA's chain to the engine's TSA roots at the stamped
// time, the imprint over the signature value). present without an error
// means a stamp the roots vouch for. A CMS trust could not parse has none:
// its verdict says why.
func (e *Engine) stampTime(ts *trust.Signature) (at time.Time, present bool, err error) {
	defer func() {
		if r := recover(); r != nil { // hostile BER in the token
			at, present, err = time.Time{}, false, nil
		}
	}()
	token, signatureValue, ok := ts.UnsignedAttribute(oidSignatureTimeStamp)
	if !ok {
		return time.Time{}, false, nil
	}
	if len(token) > tsa.MaxToken {
		return time.Time{}, true, fmt.Errorf("the signature time-stamp has %d bytes, more than %d", len(token), tsa.MaxToken)
	}
	info, err := timestamp.Parse(token)
	if err != nil {
		return time.Time{}, true, fmt.Errorf("the signature time-stamp cannot be read: %w", err)
	}
	if e.tsaRoots == nil {
		return time.Time{}, true, fmt.Errorf("the signature carries a time-stamp of %s, but no TSA roots are configured (pdf.tsaRoots)", info.Time.UTC().Format(time.RFC3339))
	}
	if !info.HashAlgorithm.Available() {
		return time.Time{}, true, fmt.Errorf("the signature time-stamp's hash %v is not supported", info.HashAlgorithm)
	}
	h := info.HashAlgorithm.New()
	h.Write(signatureValue)
	t, err := tsa.Verify(token, h.Sum(nil), info.HashAlgorithm, e.tsaRoots, nil)
	if err != nil {
		return time.Time{}, true, err
	}
	return t.UTC(), true, nil
}

// onlyExpired: the CMS holds and the one thing wrong is that a
// certificate is no longer valid at the time judged.
func onlyExpired(s *trust.Signature) bool {
	if len(s.Errors) == 0 {
		return false
	}
	for _, p := range s.Errors {
		if p.Code != trust.CodeExpired {
			return false
		}
	}
	return true
}

// sigCode maps trust's verdict to the two codes: the signature
// itself is wrong, or it holds and the certificate is not trusted at At.
func sigCode(s *trust.Signature) string {
	for _, p := range s.Errors {
		switch p.Code {
		case trust.CodeUntrusted, trust.CodeExpired, trust.CodeNotYetValid, trust.CodeRevoked:
			return CodeSigUntrusted
		}
	}
	return CodeSigInvalid
}

// ctxReaderAt stops reading when ctx ends.
type ctxReaderAt struct {
	ctx context.Context //nolint:containedctx // bounds one Verify
	r   io.ReaderAt
}

func (c ctxReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.ReadAt(p, off)
}

// Error is a failure to read the file, with its stable code.
type Error struct {
	Code string
	Err  error
}

func (e *Error) Error() string { return e.Code + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func problem(err error) trust.Problem {
	var pe *Error
	if errors.As(err, &pe) {
		return trust.Problem{Code: pe.Code, Message: pe.Err.Error()}
	}
	return trust.Problem{Code: CodeMalformed, Message: err.Error()}
}

// with runs fn on an instance of its own, killed when ctx ends: go-pdfium
// calls into wasm with its worker's context, so only Kill stops a parse
// that runs away. Only one goroutine touches the instance at a time: the
// watchdog is stopped and waited for before the instance is returned or
// discarded, and an instance it killed is never returned.
func (e *Engine) with(ctx context.Context, fn func(pdfium.Pdfium) error) (err error) {
	inst, err := e.pool.GetInstanceWithContext(ctx)
	if err != nil {
		return &Error{CodeBusy, fmt.Errorf("no pdfium instance was free in time: %w", err)}
	}
	stop := make(chan struct{})
	var (
		killed  atomic.Bool
		watched sync.WaitGroup
	)
	watched.Go(func() {
		select {
		case <-ctx.Done():
			killed.Store(true)
			_ = inst.Kill()
		case <-stop:
		}
	})
	defer func() {
		panicked := false
		if p := recover(); p != nil {
			err, panicked = fmt.Errorf("pdfium: %v", p), true
		}
		close(stop)
		watched.Wait()
		err = classify(ctx, err)
		// pdfium refusing a file (FPDF_ERR_FORMAT, …) is its normal
		// answer; a trap, a kill or a panic may have left it broken.
		var coded *Error
		broken := panicked || killed.Load() || errors.As(err, &coded) && (coded.Code == CodeTimeout || coded.Code == CodeTooLarge)
		switch {
		case e.retire(inst, broken) && !killed.Load():
			_ = inst.Kill() // invalidates the worker: the pool makes a new one
		case !killed.Load():
			_ = inst.Close() // returns the worker to the pool
		}
	}()
	return fn(inst)
}

// retire counts a use of inst's worker and tells whether to discard it:
// when broken, or once it has parsed maxUses documents.
func (e *Engine) retire(inst pdfium.Pdfium, failed bool) bool {
	w := inst.GetImplementation()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.uses[w]++
	if failed || e.uses[w] >= maxUses {
		delete(e.uses, w)
		return true
	}
	return false
}

// classify tells the deadline and the memory cap (pdfium aborts, an
// unreachable instruction, when its allocator fails) from anything else
// pdfium refused, which problem codes pdf.malformed.
func classify(ctx context.Context, err error) error {
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return &Error{CodeTimeout, fmt.Errorf("the parse did not end in time: %w", ctx.Err())}
	case strings.Contains(err.Error(), "unreachable"):
		return &Error{CodeTooLarge, fmt.Errorf("the parse needed more than the memory cap: %w", err)}
	default:
		return err
	}
}

// rawSig is what pdfium tells of one signature.
type rawSig struct {
	contents  []byte
	byteRange []int64
	subFilter string
	reason    string
	time      string
}

// page is what tells a revision that only added signatures from one that
// changed what a page shows.
type page struct {
	// drawn is the SHA-256 of the page drawn at 72 dpi in grey with its
	// annotations, all but widgets and popups (comments, stamps, free
	// text: what could cover a figure); a scan's new image shows here as
	// text comparison never would.
	drawn  [32]byte
	annots []annot
}

// annot is what changes tells of one annotation of a page.
type annot struct {
	subtype enums.FPDF_ANNOTATION_SUBTYPE
	rect    structs.FPDF_FS_RECTF
	sig     bool // a widget whose /FT is /Sig: a signature field's
}

// maxComparedPages bounds the pages drawn to compare revisions; a longer
// document counts as changed (its verdict is "content").
const maxComparedPages = 200

// readDoc opens r in inst, reading through it as pdfium asks
// (FPDF_LoadCustomDocument; a 200 MB file costs kilobytes of reads), and
// returns its signatures (when sigs) and pages. With sigs, pages are read
// only when a signature leaves part of the file uncovered: comparing
// revisions needs them, and reading every page's text is most of the cost
// of a letter.
func readDoc(inst pdfium.Pdfium, r io.ReaderAt, size int64, sigs bool) ([]rawSig, []page, error) {
	opened, err := inst.OpenDocument(&requests.OpenDocument{FileReader: io.NewSectionReader(r, 0, size), FileReaderSize: size})
	if err != nil {
		return nil, nil, err
	}
	d := opened.Document
	defer inst.FPDF_CloseDocument(&requests.FPDF_CloseDocument{Document: d}) //nolint:errcheck // read-only
	var out []rawSig
	if sigs {
		n, err := inst.FPDF_GetSignatureCount(&requests.FPDF_GetSignatureCount{Document: d})
		if err != nil {
			return nil, nil, err
		}
		for i := range n.Count {
			s, err := readSig(inst, d, i)
			if err != nil {
				return nil, nil, err
			}
			out = append(out, s)
		}
		partial := false
		for _, s := range out {
			if _, whole, err := ranges(s.byteRange, len(s.contents), size); err == nil && !whole {
				partial = true
			}
		}
		if !partial {
			return out, nil, nil
		}
	}
	pc, err := inst.FPDF_GetPageCount(&requests.FPDF_GetPageCount{Document: d})
	if err != nil {
		return nil, nil, err
	}
	if pc.PageCount > maxComparedPages {
		return out, nil, nil
	}
	pages := make([]page, 0, pc.PageCount)
	for i := range pc.PageCount {
		pg, err := inst.FPDF_LoadPage(&requests.FPDF_LoadPage{Document: d, Index: i})
		if err != nil {
			return nil, nil, err
		}
		p, err := describePage(inst, requests.Page{ByReference: &pg.Page})
		inst.FPDF_ClosePage(&requests.FPDF_ClosePage{Page: pg.Page}) //nolint:errcheck,gosec // read-only
		if err != nil {
			return nil, nil, err
		}
		pages = append(pages, p)
	}
	return out, pages, nil
}

func describePage(inst pdfium.Pdfium, pg requests.Page) (page, error) {
	var p page
	img, err := inst.RenderPageInDPI(&requests.RenderPageInDPI{Page: pg, DPI: 72,
		RenderFlags: enums.FPDF_RENDER_FLAG_ANNOT, ImageFormat: requests.RenderImageFormatGrayscale})
	if err != nil {
		return p, err
	}
	g, ok := img.Result.RenderedImage.(*image.Gray)
	if !ok {
		img.Cleanup()
		return p, errors.New("pdfium drew no grey image")
	}
	h := sha256.New()
	fmt.Fprintf(h, "%dx%d:", img.Result.Width, img.Result.Height)
	h.Write(g.Pix)
	copy(p.drawn[:], h.Sum(nil))
	img.Cleanup()
	n, err := inst.FPDFPage_GetAnnotCount(&requests.FPDFPage_GetAnnotCount{Page: pg})
	if err != nil {
		return p, err
	}
	for i := range n.Count {
		an, err := inst.FPDFPage_GetAnnot(&requests.FPDFPage_GetAnnot{Page: pg, Index: i})
		if err != nil {
			return p, err
		}
		st, err := inst.FPDFAnnot_GetSubtype(&requests.FPDFAnnot_GetSubtype{Annotation: an.Annotation})
		var a annot
		if err == nil {
			a.subtype = st.Subtype
			if r, rerr := inst.FPDFAnnot_GetRect(&requests.FPDFAnnot_GetRect{Annotation: an.Annotation}); rerr == nil {
				a.rect = r.Rect
			}
			// A field merged with its widget, as signers write them; a
			// widget under a parent field reads as not a signature.
			if ft, ferr := inst.FPDFAnnot_GetStringValue(&requests.FPDFAnnot_GetStringValue{Annotation: an.Annotation, Key: "FT"}); ferr == nil {
				a.sig = ft.Value == "Sig"
			}
		}
		inst.FPDFPage_CloseAnnot(&requests.FPDFPage_CloseAnnot{Annotation: an.Annotation}) //nolint:errcheck,gosec // read-only
		if err != nil {
			return p, err
		}
		p.annots = append(p.annots, a)
	}
	return p, nil
}

// changes compares the signed revision's pages with the whole file's:
// "signatures" when every page draws the same, keeps the annotations it had
// where they were, and gained only signature widgets, no more than the
// later valid signatures (each adds at most one); "content" otherwise.
// Widgets are not drawn (pdfium draws them only with a form environment):
// a later signature's visible box is its signer's, who is named and
// trusted; a form field's value changed later is not seen. DocMDP is not
// read.
func changes(signed, whole []page, later int) string {
	if signed == nil || len(signed) != len(whole) {
		return ChangesContent
	}
	added := 0
	for i := range signed {
		a, b := signed[i], whole[i]
		if a.drawn != b.drawn || len(b.annots) < len(a.annots) {
			return ChangesContent
		}
		for j, an := range a.annots {
			if b.annots[j] != an {
				return ChangesContent
			}
		}
		for _, an := range b.annots[len(a.annots):] {
			if an.subtype != enums.FPDF_ANNOT_SUBTYPE_WIDGET || !an.sig {
				return ChangesContent
			}
			added++
		}
	}
	if added > later {
		return ChangesContent
	}
	return ChangesSignatures
}

func readSig(inst pdfium.Pdfium, d references.FPDF_DOCUMENT, i int) (rawSig, error) {
	var s rawSig
	so, err := inst.FPDF_GetSignatureObject(&requests.FPDF_GetSignatureObject{Document: d, Index: i})
	if err != nil {
		return s, err
	}
	h := so.Signature
	c, err := inst.FPDFSignatureObj_GetContents(&requests.FPDFSignatureObj_GetContents{Signature: h})
	if err != nil {
		return s, err
	}
	s.contents = c.Contents
	br, err := inst.FPDFSignatureObj_GetByteRange(&requests.FPDFSignatureObj_GetByteRange{Signature: h})
	if err != nil {
		return s, err
	}
	for _, v := range br.ByteRange {
		s.byteRange = append(s.byteRange, int64(v))
	}
	if sf, err := inst.FPDFSignatureObj_GetSubFilter(&requests.FPDFSignatureObj_GetSubFilter{Signature: h}); err == nil && sf.SubFilter != nil {
		s.subFilter = *sf.SubFilter
	}
	if rs, err := inst.FPDFSignatureObj_GetReason(&requests.FPDFSignatureObj_GetReason{Signature: h}); err == nil && rs.Reason != nil {
		s.reason = *rs.Reason
	}
	if tm, err := inst.FPDFSignatureObj_GetTime(&requests.FPDFSignatureObj_GetTime{Signature: h}); err == nil && tm.Time != nil {
		s.time = *tm.Time
	}
	return s, nil
}

// ranges checks a ByteRange against the file: two pairs, in order, the
// first at 0, within size, and the gap exactly the /Contents hex string
// ("<" 2n hex digits ">", pdfium returning the n bytes with their zero
// padding). Anything else leaves bytes outside the signature, up to a
// signature over nothing; pdfium also turns a number it cannot hold into
// garbage, which this catches. It returns the end of the signed revision
// and whether that is the whole file.
func ranges(br []int64, contentsLen int, size int64) (end int64, whole bool, err error) {
	if len(br) != 4 {
		return 0, false, fmt.Errorf("byte range has %d numbers, want 4", len(br))
	}
	a, al, b, bl := br[0], br[1], br[2], br[3]
	if a != 0 || al <= 0 || bl < 0 || b <= al || b > size || bl > size-b {
		return 0, false, fmt.Errorf("byte range %v does not fit a %d-byte file", br, size)
	}
	if contentsLen == 0 {
		return 0, false, errors.New("the signature's /Contents is empty")
	}
	if b-al != 2*int64(contentsLen)+2 {
		return 0, false, fmt.Errorf("byte range %v leaves %d bytes unsigned, the /Contents string is %d", br, b-al, 2*contentsLen+2)
	}
	end = b + bl
	return end, end == size, nil
}

// gapIsContents checks that the unsigned gap between the two ranges is
// the signature's /Contents as a hex string, "<…>", and nothing else:
// ranges only measured it, and a gap of the right length holding other
// bytes (objects a reader would take up) would be signer-chosen content
// no signature covers.
func gapIsContents(r io.ReaderAt, br []int64, contents []byte) error {
	gap := make([]byte, br[2]-br[1])
	if _, err := r.ReadAt(gap, br[1]); err != nil {
		return fmt.Errorf("read the gap between the signed ranges: %w", err)
	}
	if gap[0] != '<' || gap[len(gap)-1] != '>' {
		return errors.New("the gap between the signed ranges is not a hex string")
	}
	dec := make([]byte, len(contents))
	if n, err := hex.Decode(dec, gap[1:len(gap)-1]); err != nil || n != len(contents) || !bytes.Equal(dec, contents) {
		return errors.New("the gap between the signed ranges is not the signature's /Contents")
	}
	return nil
}

// laterThan counts the valid signatures whose signed ranges end after end:
// the widgets an update after end may add. An invalid one (any key can
// make one) allows none.
func laterThan(sigs []rawSig, valid []bool, end, size int64) int {
	n := 0
	for i, s := range sigs {
		if e, _, err := ranges(s.byteRange, len(s.contents), size); err == nil && e > end && valid[i] {
			n++
		}
	}
	return n
}

// trimDER cuts the zero padding after a DER SEQUENCE of definite length.
func trimDER(b []byte) []byte {
	if len(b) < 2 || b[0] != 0x30 {
		return b
	}
	l := int(b[1])
	hdr := 2
	if l&0x80 != 0 {
		n := l & 0x7f
		if n == 0 || n > 4 || len(b) < 2+n {
			return b
		}
		l = 0
		for _, c := range b[2 : 2+n] {
			l = l<<8 | int(c)
		}
		hdr += n
	}
	if l >= 0 && hdr+l <= len(b) {
		return b[:hdr+l]
	}
	return b
}

// parseDate reads a PDF date, D:YYYYMMDDHHmmSS with an optional offset
// (Z, +07'00'), as pdfium returns /M.
func parseDate(s string) (time.Time, bool) {
	s = strings.TrimPrefix(s, "D:")
	s = strings.ReplaceAll(s, "'", "")
	for _, layout := range []string{"20060102150405-0700", "20060102150405Z", "20060102150405"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}
