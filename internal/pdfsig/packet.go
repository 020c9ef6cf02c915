package pdfsig

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/lienthong/lienthong/internal/edxml"
	"github.com/lienthong/lienthong/internal/trust"
)

// Spool keeps a packet's PDF and zip attachments while edxml parses it
// (Writer is an edxml.Options.Attachment): each attachment whose decoded
// bytes start with "%PDF-" or a zip's "PK\x03\x04", the rules edxml's
// Format follows, is kept; the others are not. Zips are kept because the
// national axis's SDK zips files, the letter included. A letter is kept in
// memory (up to memPerFile, within a process-wide memBudget), a larger
// file in an unlinked file in dir: creating and removing a file cost more
// than parsing the letter. Close releases them.
type Spool struct {
	dir   string
	files map[int]*kept
	extra []*kept // PDFs extracted from zips
}

// Memory for kept files: per file, and for all spools of the process, so
// that many concurrent submissions spill to disk instead of growing the
// heap.
const (
	memPerFile = 2 << 20
	memBudget  = 64 << 20
)

var memHeld atomic.Int64

// NewSpool returns an empty spool writing into dir ("" is the system's).
func NewSpool(dir string) *Spool { return &Spool{dir: dir, files: map[int]*kept{}} }

// Writer receives the decoded bytes of the index-th attachment.
func (s *Spool) Writer(index int) (io.Writer, error) { return &sniffer{s: s, i: index}, nil }

// Close releases the kept files; files on disk were unlinked when made.
func (s *Spool) Close() {
	for i, k := range s.files {
		k.release()
		delete(s.files, i)
	}
	for _, k := range s.extra {
		k.release()
	}
	s.extra = nil
}

// kept is one kept file: its bytes in memory, or spilled to a file.
type kept struct {
	dir  string
	mem  []byte
	held int64 // of memHeld
	f    *os.File
	size int64
}

func (k *kept) Write(p []byte) (int, error) {
	if k.f == nil {
		n := int64(len(p))
		if k.size+n <= memPerFile && memHeld.Add(n) <= memBudget {
			k.held += n
			k.mem = append(k.mem, p...)
			k.size += n
			return len(p), nil
		} else if k.size+n <= memPerFile {
			memHeld.Add(-n) // over the budget: not taken
		}
		if err := k.spill(); err != nil {
			return 0, err
		}
	}
	n, err := k.f.Write(p)
	k.size += int64(n)
	return n, err
}

// spill moves the bytes held in memory to an unlinked file.
func (k *kept) spill() error {
	f, err := os.CreateTemp(k.dir, "pdf-*")
	if err != nil {
		return err
	}
	// Unlinked at once: nothing is left behind by a crash, and the file is
	// read through the handle.
	if err := os.Remove(f.Name()); err != nil {
		f.Close() //nolint:errcheck,gosec // failing already
		return err
	}
	k.f = f
	_, err = f.Write(k.mem)
	memHeld.Add(-k.held)
	k.mem, k.held = nil, 0
	return err
}

// reader reads the kept bytes.
func (k *kept) reader() io.ReaderAt {
	if k.f != nil {
		return k.f
	}
	return bytes.NewReader(k.mem)
}

func (k *kept) release() {
	memHeld.Add(-k.held)
	k.mem, k.held = nil, 0
	if k.f != nil {
		k.f.Close() //nolint:errcheck,gosec // unlinked temp file
	}
}

var (
	magicPDF = []byte("%PDF-")
	magicZip = []byte("PK\x03\x04")
)

// sniffer holds an attachment's first bytes until they tell a PDF.
type sniffer struct {
	s    *Spool
	i    int
	head []byte
	k    *kept
	skip bool
}

func (w *sniffer) Write(p []byte) (int, error) {
	if w.skip {
		return len(p), nil
	}
	if w.k != nil {
		return w.k.Write(p)
	}
	take := min(len(magicPDF)-len(w.head), len(p))
	w.head = append(w.head, p[:take]...)
	if len(w.head) < len(magicPDF) {
		return len(p), nil
	}
	if !bytes.Equal(w.head, magicPDF) && !bytes.HasPrefix(w.head, magicZip) {
		w.skip = true
		return len(p), nil
	}
	w.k = &kept{dir: w.s.dir}
	w.s.files[w.i] = w.k
	if _, err := w.k.Write(w.head); err != nil {
		return 0, err
	}
	if _, err := w.k.Write(p[take:]); err != nil {
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
	return e.VerifyPacket(ctx, v, p, s, opts)
}

// ErrBusy is VerifyPacket's error when no pdfium instance was free in
// time: the files were not judged, and the sender should try again.
var ErrBusy = errors.New("pdfsig: every PDF engine instance is busy")

// VerifyPacket verifies every PDF s kept of p, in packet order, those
// inside zip attachments included (in the zip's order); the first is the
// main one (the letter). Zips are opened only as edxml checked them
// (Format "zip" with its entries listed: the bounded unzip passed). The
// packet's PDFs share one deadline, so many of them cannot hold a
// submission longer than one.
func (e *Engine) VerifyPacket(ctx context.Context, v *trust.Verifier, p *edxml.Packet, s *Spool, opts VerifyOptions) ([]trust.Attachment, error) {
	out := []trust.Attachment{}
	ctx, cancel := context.WithTimeout(ctx, e.deadline)
	defer cancel()
	check := func(r io.ReaderAt, size int64) *trust.Attachment {
		if err := ctx.Err(); err != nil {
			return &trust.Attachment{Signatures: []trust.PDFSignature{}, Warnings: []trust.Problem{},
				Errors: []trust.Problem{{Code: CodeTimeout, Message: "not checked: the packet's PDFs took longer than " + e.deadline.String()}}}
		}
		return e.Verify(ctx, v, r, size, opts)
	}
	busy := false
	add := func(r *trust.Attachment) {
		// The letter is the first attachment, or the first PDF of a zip
		// that is: a sender cannot make an annex the letter by putting a
		// non-PDF first.
		r.Main = r.Index == 0 && (len(out) == 0 || out[len(out)-1].Index != 0)
		busy = busy || len(r.Errors) > 0 && r.Errors[0].Code == CodeBusy
		out = append(out, *r)
	}
	for i, a := range p.Attachments {
		k := s.files[i]
		switch {
		case k == nil:
		case a.Format == "pdf":
			r := check(k.reader(), a.Size)
			r.Index, r.ContentID, r.Name, r.SHA256, r.Size = i, a.ContentID, a.AttachmentName, a.SHA256, a.Size
			add(r)
		case a.Format == "zip" && a.Zip != nil:
			zr, err := zip.NewReader(k.reader(), a.Size)
			if err != nil {
				continue // edxml read it; nothing to add
			}
			for _, z := range zr.File {
				var r *trust.Attachment
				if ctx.Err() != nil { // not even opened: any entry may be a PDF
					r = check(nil, 0)
				} else {
					pdf, err := s.extractPDF(z)
					if err != nil || pdf == nil {
						continue
					}
					r = check(pdf, int64(z.UncompressedSize64))
					r.SHA256 = sha256Hex(pdf, int64(z.UncompressedSize64))
				}
				r.Index, r.ContentID, r.Name, r.Entry = i, a.ContentID, a.AttachmentName, z.Name
				r.Size = int64(z.UncompressedSize64)
				add(r)
			}
		}
	}
	if busy {
		return nil, ErrBusy
	}
	return out, nil
}

// extractPDF keeps a zip entry that is a PDF, as the spool keeps
// attachments; nil for any other entry. The entry's size was bounded by
// edxml's unzip, which also held it to its declared size.
func (s *Spool) extractPDF(z *zip.File) (io.ReaderAt, error) {
	if z.FileInfo().IsDir() || z.UncompressedSize64 < uint64(len(magicPDF)) {
		return nil, nil
	}
	rc, err := z.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close() //nolint:errcheck // read-only
	head := make([]byte, len(magicPDF))
	if _, err := io.ReadFull(rc, head); err != nil || !bytes.Equal(head, magicPDF) {
		return nil, err
	}
	k := &kept{dir: s.dir}
	s.extra = append(s.extra, k)
	if _, err := k.Write(head); err != nil {
		return nil, err
	}
	if _, err := io.Copy(k, io.LimitReader(rc, int64(z.UncompressedSize64))); err != nil {
		return nil, err
	}
	if uint64(k.size) != z.UncompressedSize64 {
		return nil, fmt.Errorf("zip entry %q: %d bytes, declared %d", z.Name, k.size, z.UncompressedSize64)
	}
	return k.reader(), nil
}

func sha256Hex(r io.ReaderAt, size int64) string {
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(r, 0, size)); err != nil {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil))
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
		return false, fmt.Sprintf("the main PDF %q carries no valid signature of the sending organ over what its pages show", a.Name)
	}
	return false, "the letter (the first attachment) is not a PDF, or is a zip without one"
}
