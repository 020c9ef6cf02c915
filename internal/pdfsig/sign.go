package pdfsig

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/digitorus/pdf"
	"github.com/digitorus/pdfsign/sign"
	"github.com/klippa-app/go-pdfium"
	"github.com/klippa-app/go-pdfium/requests"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"github.com/lienthong/lienthong/internal/pki"
)

// CodeUnsupported refuses a well-formed PDF that Sign would spoil:
// encrypted, or with form fields other than signatures.
const CodeUnsupported = "pdf.unsupported"

// DefaultMaxSignBytes caps the file Sign accepts: digitorus/pdfsign holds
// the file, and the signed copy, in memory.
const DefaultMaxSignBytes = 64 << 20

// SignOptions say who signs and how the signature looks.
type SignOptions struct {
	Cert  *x509.Certificate
	Chain []*x509.Certificate // intermediates, put into the CMS after Cert
	// Key signs; ECDSA and RSA keys both work (hosted keys are either).
	Key crypto.Signer
	// Name is the signature dictionary's /Name; empty means Cert's CN.
	Name, Reason, Location, Contact string
	// Time is the signature dictionary's /M and the time the visible box
	// shows; zero means now. The CMS signingTime is always the clock's
	// (digitorus/pkcs7 sets it).
	Time time.Time
	// Visible puts a box at the bottom right of the last page showing the
	// signer and the time; otherwise the signature's widget has no area.
	Visible bool
	// TSA, when set, is the URL of an RFC 3161 time-stamp authority whose
	// token is added to the signature (PAdES B-T).
	TSA string
	// MaxBytes caps the input; 0 means DefaultMaxSignBytes.
	MaxBytes int64
}

// Sign writes to w the PDF in r (size bytes) with a new approval
// signature by o.Key appended as an incremental update, so signatures
// already in the file stay valid. pdfium opens the file first, in its
// sandbox and under the engine's deadline, and only a file it reads
// without repairing reaches digitorus/pdfsign's parser; the result is read
// back by pdfium before anything is written. The file's problems come as
// an *Error: pdf.malformed, pdf.unsupported, pdf.too_large (over MaxBytes
// or the memory cap), pdf.timeout; a key that is not the certificate's as
// pki.ErrKeyMismatch. Nothing is written to w on error.
func (e *Engine) Sign(ctx context.Context, w io.Writer, r io.ReaderAt, size int64, o SignOptions) error {
	if err := o.check(); err != nil {
		return err
	}
	limit := o.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxSignBytes
	}
	switch {
	case size < 0:
		return &Error{CodeMalformed, fmt.Errorf("size %d", size)}
	case size > limit:
		return &Error{CodeTooLarge, fmt.Errorf("the file has %d bytes, signing takes at most %d", size, limit)}
	}
	ctx, cancel := context.WithTimeout(ctx, e.deadline)
	defer cancel()
	in := make([]byte, size)
	if _, err := io.ReadFull(io.NewSectionReader(ctxReaderAt{ctx, r}, 0, size), in); err != nil {
		if ctx.Err() != nil {
			return &Error{CodeTimeout, fmt.Errorf("the file was not read in time: %w", err)}
		}
		return fmt.Errorf("read the PDF: %w", err)
	}
	if !IsPDF(bytes.NewReader(in)) {
		return &Error{CodeMalformed, errors.New("not a PDF: no %PDF- header in the first 1024 bytes")}
	}
	before, err := e.inspect(ctx, in)
	if err != nil {
		return err
	}
	if !before.xrefOK {
		// An incremental update points back at the old cross-reference
		// table: on a file readers must repair it would be fragile, and
		// digitorus/pdfsign's parser does not repair.
		return &Error{CodeMalformed, errors.New("the file's cross-reference table is broken (pdfium had to repair it)")}
	}
	if before.encrypted {
		// pdfsign writes its objects in the clear; readers would decrypt
		// them, garbling the signature's name, reason and appearance.
		return &Error{CodeUnsupported, errors.New("the file is encrypted (a password or permissions); signing needs it decrypted")}
	}
	if before.pages == 0 {
		return &Error{CodeMalformed, errors.New("the file has no pages")}
	}
	out, err := e.signBytes(ctx, in, before, o)
	if err != nil {
		return err
	}
	after, err := e.inspect(ctx, out)
	var pe *Error
	switch {
	case errors.As(err, &pe) && pe.Code != CodeMalformed:
		return err // the deadline or the memory cap
	case err != nil:
		return &Error{CodeMalformed, fmt.Errorf("pdfium cannot read the signed file: %w", err)}
	case len(after.sigs) != len(before.sigs)+1:
		return &Error{CodeMalformed, fmt.Errorf("the signed file has %d signatures, want %d", len(after.sigs), len(before.sigs)+1)}
	}
	if !slices.ContainsFunc(after.sigs, func(s rawSig) bool {
		_, whole, err := ranges(s.byteRange, len(s.contents), int64(len(out)))
		return err == nil && whole
	}) {
		return &Error{CodeMalformed, fmt.Errorf("no signature covers the %d-byte signed file", len(out))}
	}
	_, err = w.Write(out)
	return err
}

func (o *SignOptions) check() error {
	if o.Cert == nil || o.Key == nil {
		return errors.New("sign: a certificate and its key are needed")
	}
	pub, ok := o.Key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(o.Cert.PublicKey) {
		return fmt.Errorf("sign: %w", pki.ErrKeyMismatch)
	}
	return nil
}

// signed is what pdfium sees of a file before and after signing.
type signed struct {
	sigs          []rawSig
	pages         int
	xrefOK        bool
	encrypted     bool
	llx, lly, urx float64 // the last page's media box (left, bottom, right)
}

func (e *Engine) inspect(ctx context.Context, b []byte) (signed, error) {
	var s signed
	err := e.with(ctx, func(inst pdfium.Pdfium) error {
		opened, err := inst.OpenDocument(&requests.OpenDocument{FileReader: bytes.NewReader(b), FileReaderSize: int64(len(b))})
		if err != nil {
			return err
		}
		d := opened.Document
		defer inst.FPDF_CloseDocument(&requests.FPDF_CloseDocument{Document: d}) //nolint:errcheck // read-only
		x, err := inst.FPDF_DocumentHasValidCrossReferenceTable(&requests.FPDF_DocumentHasValidCrossReferenceTable{Document: d})
		if err != nil {
			return err
		}
		s.xrefOK = x.DocumentHasValidCrossReferenceTable
		sec, err := inst.FPDF_GetSecurityHandlerRevision(&requests.FPDF_GetSecurityHandlerRevision{Document: d})
		if err != nil {
			return err
		}
		s.encrypted = sec.SecurityHandlerRevision != -1
		n, err := inst.FPDF_GetSignatureCount(&requests.FPDF_GetSignatureCount{Document: d})
		if err != nil {
			return err
		}
		for i := range n.Count {
			sig, err := readSig(inst, d, i)
			if err != nil {
				return err
			}
			s.sigs = append(s.sigs, sig)
		}
		pc, err := inst.FPDF_GetPageCount(&requests.FPDF_GetPageCount{Document: d})
		if err != nil {
			return err
		}
		if s.pages = pc.PageCount; s.pages == 0 {
			return nil
		}
		pg, err := inst.FPDF_LoadPage(&requests.FPDF_LoadPage{Document: d, Index: s.pages - 1})
		if err != nil {
			return err
		}
		defer inst.FPDF_ClosePage(&requests.FPDF_ClosePage{Page: pg.Page}) //nolint:errcheck // read-only
		if mb, err := inst.FPDFPage_GetMediaBox(&requests.FPDFPage_GetMediaBox{Page: requests.Page{ByReference: &pg.Page}}); err == nil {
			s.llx, s.lly, s.urx = float64(mb.Left), float64(mb.Bottom), float64(mb.Right)
			return nil
		}
		// No /MediaBox of its own or inherited: pdfium's default size.
		sz, err := inst.FPDF_GetPageSizeByIndex(&requests.FPDF_GetPageSizeByIndex{Document: d, Index: s.pages - 1})
		if err != nil {
			return err
		}
		s.urx = sz.Width
		return nil
	})
	if err != nil {
		var pe *Error
		if !errors.As(err, &pe) {
			err = &Error{CodeMalformed, err}
		}
	}
	return s, err
}

// The visible box: 200×50 pt, 36 pt (half an inch) from the page's right
// and bottom edges.
const (
	boxWidth, boxHeight, boxMargin = 200.0, 50.0, 36.0
)

// signBytes runs digitorus/pdfsign on in, which pdfium has read. pdfsign
// has no context and may panic on what its parser did not expect: it runs
// in a goroutine of its own, a panic becomes pdf.malformed, and at the
// deadline Sign returns pdf.timeout while the goroutine runs on to its end.
func (e *Engine) signBytes(ctx context.Context, in []byte, doc signed, o SignOptions) ([]byte, error) {
	at := o.Time
	if at.IsZero() {
		at = time.Now()
	}
	name := o.Name
	if name == "" {
		name = o.Cert.Subject.CommonName
	}
	key := &signer{Signer: o.Key}
	data := sign.SignData{
		Signature: sign.SignDataSignature{
			// An approval signature: a certification signature (pdfsign's
			// default) must be a document's first and forbids later ones.
			CertType: sign.ApprovalSignature,
			Info: sign.SignDataSignatureInfo{
				Name: name, Reason: o.Reason, Location: o.Location, ContactInfo: o.Contact, Date: at,
			},
		},
		Signer:            key,
		DigestAlgorithm:   crypto.SHA256,
		Certificate:       o.Cert,
		CertificateChains: [][]*x509.Certificate{append([]*x509.Certificate{o.Cert}, o.Chain...)},
		TSA:               sign.TSA{URL: o.TSA},
	}
	if o.Visible {
		// pdfsign's appearance draws /Name in Times-Roman without an
		// encoding: one ASCII line, the signer and the time.
		data.Signature.Info.Name = ascii(name) + ", " + at.Format("2006-01-02 15:04 -07:00")
		w := min(boxWidth, (doc.urx-doc.llx)/2)
		data.Appearance = sign.Appearance{
			Visible: true, Page: uint32(doc.pages), //nolint:gosec // a page count pdfium read
			LowerLeftX: doc.urx - boxMargin - w, LowerLeftY: doc.lly + boxMargin,
			UpperRightX: doc.urx - boxMargin, UpperRightY: doc.lly + boxMargin + min(boxHeight, w/4),
		}
	}
	type result struct {
		out []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		var res result
		defer func() {
			if p := recover(); p != nil {
				res = result{err: &Error{CodeMalformed, fmt.Errorf("pdfsign: %v", p)}}
			}
			done <- res
		}()
		rdr, err := pdf.NewReader(bytes.NewReader(in), int64(len(in)))
		if err != nil {
			res.err = &Error{CodeMalformed, err}
			return
		}
		if name, ok := otherField(rdr); ok {
			// pdfsign rewrites the form with the signature fields only.
			res.err = &Error{CodeUnsupported, fmt.Errorf("the file has a form field %q that is not a signature, which signing would drop from the form", name)}
			return
		}
		var buf bytes.Buffer
		buf.Grow(len(in) + 32<<10)
		if err := sign.Sign(bytes.NewReader(in), &buf, rdr, int64(len(in)), data); err != nil {
			res.err = err
			return
		}
		res.out = buf.Bytes()
	}()
	select {
	case <-ctx.Done():
		return nil, &Error{CodeTimeout, fmt.Errorf("signing did not end in time: %w", ctx.Err())}
	case res := <-done:
		if res.err != nil {
			var pe *Error
			switch {
			case errors.As(res.err, &pe):
			case key.failed() != nil:
				// The key, not the file: say so without a pdf code.
				return nil, fmt.Errorf("sign: %w", key.failed())
			case o.TSA != "" && strings.Contains(res.err.Error(), "timestamp"):
				return nil, fmt.Errorf("sign: the time-stamp authority: %w", res.err)
			default:
				res.err = &Error{CodeMalformed, fmt.Errorf("pdfsign: %w", res.err)}
			}
			return nil, res.err
		}
		return res.out, nil
	}
}

// otherField finds a top-level form field that is not a signature
// field (a parent of signature fields counts: pdfsign keeps only fields
// whose own /FT is /Sig).
func otherField(rdr *pdf.Reader) (string, bool) {
	fields := rdr.Trailer().Key("Root").Key("AcroForm").Key("Fields")
	for i := range fields.Len() {
		if f := fields.Index(i); f.Key("FT").Name() != "Sig" {
			return f.Key("T").Text(), true
		}
	}
	return "", false
}

// signer remembers the key's own failure, to tell it from the file's.
type signer struct {
	crypto.Signer
	mu  sync.Mutex
	err error
}

func (s *signer) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	sig, err := s.Signer.Sign(rand, digest, opts)
	if err != nil {
		s.mu.Lock()
		s.err = err
		s.mu.Unlock()
	}
	return sig, err
}

func (s *signer) failed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// ascii folds Vietnamese (and other Latin) letters to their base letters
// and drops what is left outside printable ASCII.
func ascii(s string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	f, _, err := transform.String(t, s)
	if err != nil {
		f = s
	}
	f = strings.NewReplacer("đ", "d", "Đ", "D").Replace(f)
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return -1
		}
		return r
	}, f)
}
