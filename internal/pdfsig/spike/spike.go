// Package spike is a throw-away prototype for issue 17: it reads the
// signatures of a PDF with pdfium compiled to WebAssembly (go-pdfium on
// wazero, no cgo) and verifies each CMS over its byte ranges with
// internal/trust, streaming the ranges from the file.
package spike

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/klippa-app/go-pdfium"
	"github.com/klippa-app/go-pdfium/references"
	"github.com/klippa-app/go-pdfium/requests"
	"github.com/klippa-app/go-pdfium/webassembly"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"

	"github.com/lienthong/lienthong/internal/trust"
)

// Stable codes, as the issue names them.
const (
	CodeMalformed    = "pdf.malformed"
	CodeSigInvalid   = "pdf.sig_invalid"
	CodeSigUntrusted = "pdf.sig_untrusted"
	CodeModified     = "pdf.modified_after_signing"
	CodeTimeout      = "pdf.timeout"
)

// Engine is a pool of sandboxed pdfium instances.
type Engine struct {
	pool pdfium.Pool
}

// EngineOptions bound each instance.
type EngineOptions struct {
	// MemoryLimitPages caps each wasm instance's linear memory (64 KiB
	// pages); 0 means wazero's default (4 GiB).
	MemoryLimitPages uint32
	MaxInstances     int
	// CacheDir keeps wazero's compiled code between runs: compiling
	// pdfium.wasm takes seconds and a few hundred MB of heap.
	CacheDir string
	// Interpreter runs pdfium in wazero's interpreter: no compile step,
	// slower parsing.
	Interpreter bool
}

// NewEngine compiles the embedded pdfium module once.
func NewEngine(ctx context.Context, opts EngineOptions) (*Engine, error) {
	rc := wazero.NewRuntimeConfig()
	if opts.Interpreter {
		rc = wazero.NewRuntimeConfigInterpreter()
	}
	rc = rc.
		WithCoreFeatures(api.CoreFeaturesV2 | experimental.CoreFeaturesExceptionHandling).
		// A deadline on the call's context stops a runaway parse.
		WithCloseOnContextDone(true)
	if opts.MemoryLimitPages > 0 {
		rc = rc.WithMemoryLimitPages(opts.MemoryLimitPages)
	}
	if opts.CacheDir != "" {
		cache, err := wazero.NewCompilationCacheWithDir(opts.CacheDir)
		if err != nil {
			return nil, err
		}
		rc = rc.WithCompilationCache(cache)
	}
	if opts.MaxInstances <= 0 {
		opts.MaxInstances = 2
	}
	pool, err := webassembly.Init(webassembly.Config{
		Context:  ctx,
		MinIdle:  0,
		MaxIdle:  1,
		MaxTotal: opts.MaxInstances,
		// go-pdfium mounts the host's / by default: pdfium never needs a
		// file system here, so it gets none.
		FSConfig:      wazero.NewFSConfig(),
		RuntimeConfig: rc,
		Stdout:        io.Discard,
		Stderr:        io.Discard,
	})
	if err != nil {
		return nil, err
	}
	return &Engine{pool: pool}, nil
}

// Close releases the pool.
func (e *Engine) Close() error { return e.pool.Close() }

// Sig is what pdfium tells of one signature.
type Sig struct {
	Contents   []byte
	ByteRange  []int64
	SubFilter  string
	Reason     string
	Time       string
	DocMDPPerm int
}

// Doc is what Inspect reads of a document.
type Doc struct {
	Pages int
	Sigs  []Sig
}

// Error carries a stable code.
type Error struct {
	Code string
	Err  error
}

func (e *Error) Error() string { return e.Code + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Inspect opens r (size bytes) in a fresh instance, reading through r as
// pdfium asks (FPDF_LoadCustomDocument), and lists its signatures. The
// instance is killed when ctx ends, so a hostile file costs at most the
// deadline.
func (e *Engine) Inspect(ctx context.Context, r io.ReadSeeker, size int64) (doc *Doc, err error) {
	err = e.with(ctx, r, size, func(inst pdfium.Pdfium, d references.FPDF_DOCUMENT) error {
		pc, err := inst.FPDF_GetPageCount(&requests.FPDF_GetPageCount{Document: d})
		if err != nil {
			return err
		}
		doc = &Doc{Pages: pc.PageCount}
		n, err := inst.FPDF_GetSignatureCount(&requests.FPDF_GetSignatureCount{Document: d})
		if err != nil {
			return err
		}
		for i := 0; i < n.Count; i++ {
			s, err := readSig(inst, d, i)
			if err != nil {
				return err
			}
			doc.Sigs = append(doc.Sigs, s)
		}
		return nil
	})
	return doc, err
}

// Page is what pdfium says of one page: enough to tell a revision that
// only added annotations (signature widgets, comments) from one that
// changed what the page shows.
type Page struct {
	Text    string
	Objects int // page objects of the content stream
	Annots  int
}

// Pages describes every page.
func (e *Engine) Pages(ctx context.Context, r io.ReadSeeker, size int64) (pages []Page, err error) {
	err = e.with(ctx, r, size, func(inst pdfium.Pdfium, d references.FPDF_DOCUMENT) error {
		pc, err := inst.FPDF_GetPageCount(&requests.FPDF_GetPageCount{Document: d})
		if err != nil {
			return err
		}
		for i := range pc.PageCount {
			pg, err := inst.FPDF_LoadPage(&requests.FPDF_LoadPage{Document: d, Index: i})
			if err != nil {
				return err
			}
			p, err := describePage(inst, requests.Page{ByReference: &pg.Page})
			inst.FPDF_ClosePage(&requests.FPDF_ClosePage{Page: pg.Page}) //nolint:errcheck // read-only
			if err != nil {
				return err
			}
			pages = append(pages, p)
		}
		return nil
	})
	return pages, err
}

func describePage(inst pdfium.Pdfium, page requests.Page) (Page, error) {
	var p Page
	tp, err := inst.FPDFText_LoadPage(&requests.FPDFText_LoadPage{Page: page})
	if err != nil {
		return p, err
	}
	defer inst.FPDFText_ClosePage(&requests.FPDFText_ClosePage{TextPage: tp.TextPage}) //nolint:errcheck // read-only
	n, err := inst.FPDFText_CountChars(&requests.FPDFText_CountChars{TextPage: tp.TextPage})
	if err != nil {
		return p, err
	}
	t, err := inst.FPDFText_GetText(&requests.FPDFText_GetText{TextPage: tp.TextPage, Count: n.Count})
	if err != nil {
		return p, err
	}
	p.Text = t.Text
	o, err := inst.FPDFPage_CountObjects(&requests.FPDFPage_CountObjects{Page: page})
	if err != nil {
		return p, err
	}
	p.Objects = o.Count
	a, err := inst.FPDFPage_GetAnnotCount(&requests.FPDFPage_GetAnnotCount{Page: page})
	if err != nil {
		return p, err
	}
	p.Annots = a.Count
	return p, nil
}

// Changes compares the signed revision's pages with the whole file's:
// "none", "annotations" (only annotations added) or "content". A real
// check would also compare rendered pages; text and object counts are
// what this spike shows pdfium can give.
func Changes(signed, whole []Page) string {
	if len(signed) != len(whole) {
		return "content"
	}
	annots := false
	for i := range signed {
		a, b := signed[i], whole[i]
		if a.Text != b.Text || a.Objects != b.Objects {
			return "content"
		}
		if b.Annots != a.Annots {
			annots = true
		}
	}
	if annots {
		return "annotations"
	}
	return "none"
}

func (e *Engine) with(ctx context.Context, r io.ReadSeeker, size int64, fn func(pdfium.Pdfium, references.FPDF_DOCUMENT) error) (err error) {
	inst, err := e.pool.GetInstanceWithContext(ctx)
	if err != nil {
		return &Error{CodeTimeout, err}
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			// Kill closes the wasm module; the blocked call then returns.
			_ = inst.Kill()
		case <-done:
		}
	}()
	defer func() {
		_ = inst.Close()
		if p := recover(); p != nil {
			err = &Error{CodeMalformed, fmt.Errorf("pdfium: %v", p)}
		}
		if err != nil && ctx.Err() != nil {
			err = &Error{CodeTimeout, ctx.Err()}
		}
	}()
	opened, err := inst.OpenDocument(&requests.OpenDocument{FileReader: r, FileReaderSize: size})
	if err != nil {
		return &Error{CodeMalformed, err}
	}
	defer inst.FPDF_CloseDocument(&requests.FPDF_CloseDocument{Document: opened.Document}) //nolint:errcheck // read-only
	if err := fn(inst, opened.Document); err != nil {
		return &Error{CodeMalformed, err}
	}
	return nil
}

// CountingReader counts what pdfium reads, to show it does not read the
// whole file.
type CountingReader struct {
	R     io.ReadSeeker
	Bytes int64
	Reads int
}

// Read counts.
func (c *CountingReader) Read(p []byte) (int, error) {
	n, err := c.R.Read(p)
	c.Bytes += int64(n)
	c.Reads++
	return n, err
}

// Seek passes through.
func (c *CountingReader) Seek(off int64, whence int) (int64, error) { return c.R.Seek(off, whence) }

func readSig(inst pdfium.Pdfium, d references.FPDF_DOCUMENT, i int) (Sig, error) {
	var s Sig
	so, err := inst.FPDF_GetSignatureObject(&requests.FPDF_GetSignatureObject{Document: d, Index: i})
	if err != nil {
		return s, err
	}
	h := so.Signature
	c, err := inst.FPDFSignatureObj_GetContents(&requests.FPDFSignatureObj_GetContents{Signature: h})
	if err != nil {
		return s, err
	}
	s.Contents = c.Contents
	br, err := inst.FPDFSignatureObj_GetByteRange(&requests.FPDFSignatureObj_GetByteRange{Signature: h})
	if err != nil {
		return s, err
	}
	for _, v := range br.ByteRange {
		s.ByteRange = append(s.ByteRange, int64(v))
	}
	if sf, err := inst.FPDFSignatureObj_GetSubFilter(&requests.FPDFSignatureObj_GetSubFilter{Signature: h}); err == nil && sf.SubFilter != nil {
		s.SubFilter = *sf.SubFilter
	}
	if rs, err := inst.FPDFSignatureObj_GetReason(&requests.FPDFSignatureObj_GetReason{Signature: h}); err == nil && rs.Reason != nil {
		s.Reason = *rs.Reason
	}
	if tm, err := inst.FPDFSignatureObj_GetTime(&requests.FPDFSignatureObj_GetTime{Signature: h}); err == nil && tm.Time != nil {
		s.Time = *tm.Time
	}
	if p, err := inst.FPDFSignatureObj_GetDocMDPPermission(&requests.FPDFSignatureObj_GetDocMDPPermission{Signature: h}); err == nil {
		s.DocMDPPerm = p.DocMDPPermission
	}
	return s, nil
}

// Ranges checks a ByteRange against the file: two pairs, in order, the
// first at 0, the gap exactly the /Contents hex string (contentsLen bytes
// decoded, as pdfium returns them with their padding: "<" 2n hex ">"),
// within size. It returns the end of the signed revision and whether it is
// the whole file.
func Ranges(br []int64, contentsLen int, size int64) (end int64, whole bool, err error) {
	if len(br) != 4 {
		return 0, false, fmt.Errorf("byte range has %d numbers, want 4", len(br))
	}
	a, al, b, bl := br[0], br[1], br[2], br[3]
	if a != 0 || al <= 0 || bl < 0 || b <= al || b > size || bl > size-b {
		return 0, false, fmt.Errorf("byte range %v does not fit a %d-byte file", br, size)
	}
	if b-al != 2*int64(contentsLen)+2 {
		// Anything else leaves bytes outside the signature: a signature
		// over (almost) nothing.
		return 0, false, fmt.Errorf("byte range %v leaves %d bytes unsigned, the /Contents string is %d", br, b-al, 2*contentsLen+2)
	}
	end = b + bl
	return end, end == size, nil
}

// Verify checks one signature's CMS over its byte ranges, read again from
// r for each digest algorithm (never held in memory), with v's roots. from
// is the organ the signer must be (trust binds it); a person's signature
// would need trust to verify without binding.
func Verify(ctx context.Context, v *trust.Verifier, r io.ReaderAt, size int64, s Sig, from string, at time.Time) (*trust.Signature, bool, error) {
	_, whole, err := Ranges(s.ByteRange, len(s.Contents), size)
	if err != nil {
		return nil, false, &Error{CodeSigInvalid, err}
	}
	if len(s.Contents) == 0 {
		return nil, false, &Error{CodeSigInvalid, errors.New("empty /Contents")}
	}
	br := s.ByteRange
	content := trust.ReaderContent(func() (io.ReadCloser, error) {
		return io.NopCloser(io.MultiReader(
			io.NewSectionReader(r, br[0], br[1]),
			io.NewSectionReader(r, br[2], br[3]))), nil
	})
	// pdfium returns /Contents with its zero padding; the DER parser
	// ignores trailing bytes only after the outer length, which holds.
	return v.VerifyCMS(ctx, trimDER(s.Contents), content, from, at), whole, nil
}

// trimDER cuts the zero padding after a DER SEQUENCE with a definite length.
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
	if hdr+l <= len(b) {
		return b[:hdr+l]
	}
	return b
}

// Code maps a trust code to the PDF codes of the issue.
func Code(s *trust.Signature) string {
	if s.Valid {
		return ""
	}
	for _, p := range s.Errors {
		switch p.Code {
		case trust.CodeUntrusted, trust.CodeExpired, trust.CodeNotYetValid, trust.CodeRevoked:
			return CodeSigUntrusted
		}
	}
	return CodeSigInvalid
}
