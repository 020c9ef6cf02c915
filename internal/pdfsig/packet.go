package pdfsig

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/lienthong/lienthong/internal/edxml"
	"github.com/lienthong/lienthong/internal/trust"
)

// Spool keeps a packet's PDF attachments while edxml parses it (Writer is
// an edxml.Options.Attachment): each attachment whose decoded bytes start
// with "%PDF-", the rule edxml's Format "pdf" follows, goes to an unlinked
// file in dir; the others are not kept. Close releases the files.
type Spool struct {
	dir   string
	files map[int]*os.File
}

// NewSpool returns an empty spool writing into dir ("" is the system's).
func NewSpool(dir string) *Spool { return &Spool{dir: dir, files: map[int]*os.File{}} }

// Writer receives the decoded bytes of the index-th attachment.
func (s *Spool) Writer(index int) (io.Writer, error) { return &sniffer{s: s, i: index}, nil }

// Close closes the kept files; their names were removed when made.
func (s *Spool) Close() {
	for i, f := range s.files {
		f.Close() //nolint:errcheck,gosec // unlinked temp file
		delete(s.files, i)
	}
}

var magicPDF = []byte("%PDF-")

// sniffer holds an attachment's first bytes until they tell a PDF.
type sniffer struct {
	s    *Spool
	i    int
	head []byte
	f    *os.File
	skip bool
}

func (w *sniffer) Write(p []byte) (int, error) {
	if w.skip {
		return len(p), nil
	}
	if w.f != nil {
		return w.f.Write(p)
	}
	take := min(len(magicPDF)-len(w.head), len(p))
	w.head = append(w.head, p[:take]...)
	if len(w.head) < len(magicPDF) {
		return len(p), nil
	}
	if !bytes.Equal(w.head, magicPDF) {
		w.skip = true
		return len(p), nil
	}
	f, err := os.CreateTemp(w.s.dir, "pdf-*")
	if err != nil {
		return 0, err
	}
	// Unlinked at once: nothing is left behind by a crash, and the file is
	// read through the handle.
	if err := os.Remove(f.Name()); err != nil {
		f.Close() //nolint:errcheck,gosec // failing already
		return 0, err
	}
	w.f = f
	w.s.files[w.i] = f
	if _, err := f.Write(w.head); err != nil {
		return 0, err
	}
	if _, err := f.Write(p[take:]); err != nil {
		return 0, err
	}
	return len(p), nil
}

// DefaultCacheDir is where pdfium compiled for this machine is kept unless
// told otherwise: in the user's cache directory, shared by the user's
// processes as Go's build cache is (wazero names each entry by the
// module's hash and writes it whole, then renames, so concurrent starts
// are safe). "" when the system has no such directory.
func DefaultCacheDir() string {
	base, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(base, "lienthong", "pdfium")
}

// ErrNotReady is VerifyPacket's error when the engine is not built in
// time for the caller.
var ErrNotReady = errors.New("pdfsig: the PDF engine is not ready")

// Checker verifies the PDF attachments of packets with an engine it builds
// in the background (Run), so that a hub starts at once: compiling pdfium
// takes seconds without a cache. It is safe for concurrent use.
type Checker struct {
	opts  Options
	ready chan struct{}
	eng   *Engine
	err   error
}

// NewChecker returns a checker whose engine Run builds with opts.
func NewChecker(opts Options) *Checker {
	return &Checker{opts: opts, ready: make(chan struct{})}
}

// Run builds the engine, then holds it until ctx ends and closes it: a
// lifecycle runner. A failed build fails the runner.
func (c *Checker) Run(ctx context.Context) error {
	c.eng, c.err = New(ctx, c.opts)
	close(c.ready)
	if c.err != nil {
		if ctx.Err() != nil { // stopped while building: no failure
			return nil
		}
		return c.err
	}
	<-ctx.Done()
	return c.eng.Close()
}

// Engine waits for the engine, as long as ctx lets it.
func (c *Checker) Engine(ctx context.Context) (*Engine, error) {
	select {
	case <-c.ready:
		if c.err != nil {
			return nil, fmt.Errorf("%w: %w", ErrNotReady, c.err)
		}
		return c.eng, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", ErrNotReady, ctx.Err())
	}
}

// VerifyPacket verifies every PDF attachment s kept of p (see
// Engine.VerifyPacket), once the engine is ready.
func (c *Checker) VerifyPacket(ctx context.Context, v *trust.Verifier, p *edxml.Packet, s *Spool, opts VerifyOptions) ([]trust.Attachment, error) {
	e, err := c.Engine(ctx)
	if err != nil {
		return nil, err
	}
	return e.VerifyPacket(ctx, v, p, s, opts), nil
}

// VerifyPacket verifies every PDF attachment s kept of p, in packet order;
// the first is the main one (the letter). The packet's PDFs share one
// deadline, so many of them cannot hold a submission longer than one.
func (e *Engine) VerifyPacket(ctx context.Context, v *trust.Verifier, p *edxml.Packet, s *Spool, opts VerifyOptions) []trust.Attachment {
	out := []trust.Attachment{}
	ctx, cancel := context.WithTimeout(ctx, e.deadline)
	defer cancel()
	for i, a := range p.Attachments {
		f := s.files[i]
		if a.Format != "pdf" || f == nil {
			continue
		}
		var r *trust.Attachment
		if err := ctx.Err(); err != nil {
			r = &trust.Attachment{Signatures: []trust.PDFSignature{}, Warnings: []trust.Problem{},
				Errors: []trust.Problem{{Code: CodeTimeout, Message: "not checked: the packet's PDFs took longer than " + e.deadline.String()}}}
		} else {
			r = e.Verify(ctx, v, f, a.Size, opts)
		}
		r.Index, r.ContentID, r.Name, r.SHA256, r.Size = i, a.ContentID, a.AttachmentName, a.SHA256, a.Size
		r.Main = len(out) == 0
		out = append(out, *r)
	}
	return out
}

// MainOrganSigned applies the organ policy to an edoc's verdicts: true when
// the main PDF carries a valid signature of the sending organ. An edoc
// with attachments but no PDF among them fails too: its letter is not a
// signed PDF.
func MainOrganSigned(atts []trust.Attachment) (bool, string) {
	for _, a := range atts {
		if !a.Main {
			continue
		}
		if a.OrganSigned {
			return true, ""
		}
		if len(a.Errors) > 0 {
			return false, fmt.Sprintf("the main PDF %q could not be read (%s), so its organ signature could not be checked", a.Name, a.Errors[0].Code)
		}
		return false, fmt.Sprintf("the main PDF %q carries no valid signature of the sending organ", a.Name)
	}
	return false, "the document carries no PDF: its letter is not a signed PDF"
}
