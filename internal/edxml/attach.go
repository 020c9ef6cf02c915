package edxml

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strconv"
	"sync"
	"unicode/utf8"
)

// attachmentState follows one Attachment while its content streams past.
type attachmentState struct {
	index   int
	path    string
	started bool

	sink  io.Writer
	sum   hash.Hash
	size  int64
	chars int64 // base64 characters seen, padding included
	pad   int   // '=' seen
	head  []byte
	fmt   string
	spool *os.File

	problem *Problem // the first problem with the content
	entries []ZipEntry
}

func (a *attachmentState) fail(code, format string, args ...any) {
	if a.problem == nil {
		a.problem = &Problem{Code: code, Path: a.path, Message: fmt.Sprintf(format, args...)}
	}
}

func (a *attachmentState) failed() bool { return a.problem != nil }

// abort releases what a half-read attachment holds.
func (a *attachmentState) abort() {
	if a.spool != nil {
		a.spool.Close()           //nolint:errcheck // temp file
		os.Remove(a.spool.Name()) //nolint:errcheck // temp file
		a.spool = nil
	}
	if c, ok := a.sink.(io.Closer); ok {
		c.Close() //nolint:errcheck // the packet failed; the sink's owner discards it
		a.sink = nil
	}
}

// b64 classifies bytes of attachment content.
const (
	clsOther = iota
	clsAlpha
	clsSpace
	clsPad
)

var b64class = func() (t [256]byte) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") {
		t[c] = clsAlpha
	}
	for _, c := range []byte(" \t\r\n") {
		t[c] = clsSpace
	}
	t['='] = clsPad
	return t
}()

// b64alpha is 1 for the base64 alphabet, 0 for any other byte.
var b64alpha = func() (t [256]byte) {
	for c, cls := range b64class {
		if cls == clsAlpha {
			t[c] = 1
		}
	}
	return t
}()

// strictBase64 refuses non-zero padding bits too: FORMAT.md §5 asks for
// strict decoding, and no real encoder writes them.
var strictBase64 = base64.StdEncoding.Strict()

const quadSize = 64 << 10 // base64 characters decoded at a time; a multiple of 4

// buffers are reused across parses: allocating and zeroing them for every
// small packet cost more than parsing it.
type buffers struct {
	br   *bufio.Reader
	quad []byte // base64 characters not yet decoded; never grows past quadSize+2
	out  []byte
}

var bufferPool = sync.Pool{New: func() any {
	return &buffers{
		br:   bufio.NewReaderSize(nil, 64<<10),
		quad: make([]byte, 0, quadSize+4),
		out:  make([]byte, (quadSize+4)/4*3),
	}
}}

// streamContent reads the content of ContentTransferEncoded from the buffer
// up to its end tag, decoding base64 as it goes. It stops in front of "</",
// leaving the end tag to the XML decoder. Comments, processing instructions
// and CDATA sections inside are handled here; a child element is an error,
// and the decoder takes over from there.
func (ps *parser) streamContent(a *attachmentState) error {
	if ps.opts.Attachment != nil {
		w, err := ps.opts.Attachment(a.index)
		if err != nil {
			return fmt.Errorf("attachment %d: %w", a.index, err)
		}
		a.sink = w
	}
	a.sum = sha256.New()
	ps.quad = ps.quad[:0]
	in := ps.in
	for {
		buf, err := in.Fill()
		if err != nil {
			return ps.contentEOF(err)
		}
		i, err := ps.scan(a, buf, false)
		if err != nil {
			return err
		}
		in.Discard(i)
		if i == len(buf) {
			continue
		}
		switch buf[i] {
		case '<':
			more, err := ps.contentMarkup(a)
			if err != nil || !more {
				return err
			}
		case '&':
			if err := ps.contentEntity(a); err != nil {
				return err
			}
		default:
			if err := ps.contentOther(a); err != nil {
				return err
			}
		}
	}
}

func (ps *parser) contentEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return fatal(CodeMalformed, ps.path(), "unexpected end of packet inside attachment content")
	}
	ps.in.Err = err
	return fmt.Errorf("read packet: %w", err)
}

// scan takes base64 characters and white space from buf and returns the
// index of the first byte it cannot take. In CDATA, '<' and '&' are text.
func (ps *parser) scan(a *attachmentState, buf []byte, cdata bool) (int, error) {
	i := 0
	for i < len(buf) {
		if !a.failed() && a.pad == 0 {
			// The hot loop: copy a run of base64 and skip white space.
			q := ps.quad[len(ps.quad):cap(ps.quad)]
			n, j := 0, i
			for j < len(buf) && n < len(q) {
				k, end := j, min(len(buf), j+len(q)-n)
				// Eight at a time first: one branch for eight lookups.
				for k+8 <= end {
					w := buf[k : k+8 : k+8]
					if b64alpha[w[0]]&b64alpha[w[1]]&b64alpha[w[2]]&b64alpha[w[3]]&
						b64alpha[w[4]]&b64alpha[w[5]]&b64alpha[w[6]]&b64alpha[w[7]] == 0 {
						break
					}
					k += 8
				}
				for k < end && b64class[buf[k]] == clsAlpha {
					k++
				}
				n += copy(q[n:], buf[j:k])
				j = k
				if j == end || b64class[buf[j]] != clsSpace {
					break
				}
				j++
			}
			ps.quad = ps.quad[:len(ps.quad)+n]
			a.chars += int64(n)
			i = j
			if len(ps.quad) == cap(ps.quad) {
				if err := ps.flush(a, false); err != nil {
					return i, err
				}
			}
			if i == len(buf) || n == len(q) {
				continue
			}
		}
		c := buf[i]
		switch b64class[c] {
		case clsAlpha:
			if !a.failed() {
				a.fail(CodeAttachmentEncoding, "base64 data after padding")
			}
		case clsSpace:
		case clsPad:
			if !a.failed() {
				a.chars++
				a.pad++
				ps.quad = append(ps.quad, c)
				if a.pad > 2 {
					a.fail(CodeAttachmentEncoding, "too much base64 padding")
				}
			}
		default:
			if !cdata || c != '<' && c != '&' {
				return i, nil
			}
			a.fail(CodeAttachmentEncoding, "character %q in base64", c)
		}
		i++
	}
	return len(buf), nil
}

// flush decodes the whole quads gathered so far.
func (ps *parser) flush(a *attachmentState, final bool) error {
	n := len(ps.quad) &^ 3
	if final {
		if len(ps.quad)%4 != 0 {
			a.fail(CodeAttachmentEncoding, "base64 length is not a multiple of 4 (missing padding or truncated)")
			return nil
		}
		n = len(ps.quad)
	}
	if n == 0 {
		return nil
	}
	m, err := strictBase64.Decode(ps.out, ps.quad[:n])
	if err != nil {
		var ce base64.CorruptInputError
		if errors.As(err, &ce) {
			a.fail(CodeAttachmentEncoding, "bad base64 near character %d", a.chars-int64(len(ps.quad))+int64(ce))
		} else {
			a.fail(CodeAttachmentEncoding, "bad base64: %v", err)
		}
		return nil
	}
	rest := copy(ps.quad, ps.quad[n:])
	ps.quad = ps.quad[:rest]
	return ps.emit(a, ps.out[:m])
}

// emit passes decoded bytes to the hash, the format check, the zip spool and
// the sink, within the size limits.
func (ps *parser) emit(a *attachmentState, p []byte) error {
	if len(p) == 0 {
		return nil
	}
	if a.size+int64(len(p)) > ps.lim.MaxAttachmentBytes {
		a.fail(CodeAttachmentTooLarge, "attachment larger than %d bytes", ps.lim.MaxAttachmentBytes)
		return nil
	}
	if ps.total+int64(len(p)) > ps.lim.MaxTotalBytes {
		a.fail(CodeAttachmentTooLarge, "attachments larger than %d bytes in all", ps.lim.MaxTotalBytes)
		return nil
	}
	a.size += int64(len(p))
	ps.total += int64(len(p))
	a.sum.Write(p)
	rest := p
	if a.fmt == "" && len(a.head) < 5 {
		k := min(5-len(a.head), len(rest))
		a.head = append(a.head, rest[:k]...)
		rest = rest[k:]
		if len(a.head) == 5 {
			if err := ps.detect(a); err != nil {
				return err
			}
		}
	}
	if a.spool != nil && len(rest) > 0 {
		if _, err := a.spool.Write(rest); err != nil {
			return fmt.Errorf("spool zip attachment: %w", err)
		}
	}
	if a.sink != nil {
		if _, err := a.sink.Write(p); err != nil {
			return fmt.Errorf("attachment %d: %w", a.index, err)
		}
	}
	return nil
}

var (
	magicPDF      = []byte("%PDF-")
	magicZip      = []byte("PK\x03\x04")
	magicZipEmpty = []byte("PK\x05\x06")
)

// detect judges the format by the first decoded bytes, never by ContentType.
func (ps *parser) detect(a *attachmentState) error {
	switch {
	case bytes.HasPrefix(a.head, magicPDF):
		a.fmt = "pdf"
	case bytes.HasPrefix(a.head, magicZip), bytes.HasPrefix(a.head, magicZipEmpty):
		a.fmt = "zip"
		if ps.opts.NoZipCheck {
			return nil
		}
		f, err := os.CreateTemp(ps.opts.TempDir, "edxml-zip-*")
		if err != nil {
			return fmt.Errorf("spool zip attachment: %w", err)
		}
		a.spool = f
		if _, err := f.Write(a.head); err != nil {
			return fmt.Errorf("spool zip attachment: %w", err)
		}
	default:
		a.fmt = "-"
	}
	return nil
}

// contentMarkup handles '<' inside attachment content. It reports whether
// the content goes on.
func (ps *parser) contentMarkup(a *attachmentState) (bool, error) {
	in := ps.in
	peek, _ := in.Br.Peek(9)
	switch {
	case bytes.HasPrefix(peek, []byte("</")):
		return false, nil
	case bytes.HasPrefix(peek, []byte("<!--")):
		in.Discard(4)
		return true, ps.skipUntil("-->", nil)
	case bytes.HasPrefix(peek, []byte("<![CDATA[")):
		in.Discard(9)
		return true, ps.skipUntil("]]>", a)
	case bytes.HasPrefix(peek, []byte("<?")):
		in.Discard(2)
		return true, ps.skipUntil("?>", nil)
	case len(peek) < 2:
		return false, ps.contentEOF(io.EOF)
	}
	a.fail(CodeAttachmentEncoding, "element inside ContentTransferEncoded")
	return false, nil
}

// skipUntil consumes input up to and including end; with a set, the text
// in between is base64 content (a CDATA section).
func (ps *parser) skipUntil(end string, a *attachmentState) error {
	in := ps.in
	for {
		buf, err := in.Br.Peek(len(end))
		if err != nil {
			return ps.contentEOF(err)
		}
		if string(buf) == end {
			in.Discard(len(end))
			return nil
		}
		if end == "-->" && buf[0] == '-' && buf[1] == '-' {
			return fatal(CodeMalformed, ps.path(), "'--' inside a comment")
		}
		buf, _ = in.Br.Peek(in.Br.Buffered())
		i := bytes.IndexByte(buf, end[0])
		if i < 0 {
			i = len(buf)
		}
		if i == 0 {
			i = 1
		}
		k := i
		if a != nil {
			// CDATA: every character is base64 text or a stray one.
			for k = 0; k < i; {
				j, err := ps.scan(a, buf[k:i], true)
				if err != nil {
					return err
				}
				if k += j; k == i {
					break
				}
				size, err := ps.stray(a, buf[k:i])
				if err != nil {
					return err
				}
				if size == 0 {
					break // a character cut by the buffer's end: read on
				}
				k += size
			}
		}
		if k == 0 {
			k = 1
		}
		in.Discard(k)
	}
}

// stray takes one character that is not base64 from buf: one XML cannot
// carry is malformed, any other spoils the base64. It returns the
// character's size, or 0 when buf ends inside it.
func (ps *parser) stray(a *attachmentState, buf []byte) (int, error) {
	c := buf[0]
	if c < utf8.RuneSelf {
		if !isXMLChar(rune(c)) {
			return 0, fatal(CodeMalformed, ps.path(), "illegal character 0x%02x", c)
		}
		a.fail(CodeAttachmentEncoding, "character %q in base64", c)
		return 1, nil
	}
	r, size := utf8.DecodeRune(buf)
	switch {
	case r == utf8.RuneError && size == 1 && !utf8.FullRune(buf):
		return 0, nil
	case r == utf8.RuneError && size == 1, !isXMLChar(r):
		return 0, fatal(CodeMalformed, ps.path(), "invalid UTF-8 or a character XML cannot carry")
	}
	a.fail(CodeAttachmentEncoding, "character %q in base64", r)
	return size, nil
}

// contentOther takes one character that is neither base64 nor markup.
func (ps *parser) contentOther(a *attachmentState) error {
	peek, _ := ps.in.Br.Peek(utf8.UTFMax)
	if bytes.HasPrefix(peek, []byte("]]>")) {
		return fatal(CodeMalformed, ps.path(), "']]>' outside a CDATA section")
	}
	size, err := ps.stray(a, peek)
	if err != nil {
		return err
	}
	if size == 0 {
		return fatal(CodeMalformed, ps.path(), "invalid UTF-8 at the end of the packet")
	}
	ps.in.Discard(size)
	return nil
}

// contentEntity takes a character reference; producers write CR as &#13;.
// Named entities are never base64; an undeclared one is malformed XML.
func (ps *parser) contentEntity(a *attachmentState) error {
	peek, _ := ps.in.Br.Peek(16)
	end := bytes.IndexByte(peek, ';')
	if end < 2 {
		return fatal(CodeMalformed, ps.path(), "bad character reference")
	}
	ref := string(peek[1:end])
	ps.in.Discard(end + 1)
	var r rune = -1
	switch ref {
	case "lt", "gt", "amp", "apos", "quot":
		a.fail(CodeAttachmentEncoding, "entity &%s; in base64", ref)
		return nil
	}
	if len(ref) > 1 && ref[0] == '#' {
		var v uint64
		var err error
		if ref[1] == 'x' {
			v, err = strconv.ParseUint(ref[2:], 16, 32)
		} else {
			v, err = strconv.ParseUint(ref[1:], 10, 32)
		}
		if err == nil {
			r = rune(v)
		}
	}
	switch {
	case r < 0:
		return fatal(CodeMalformed, ps.path(), "undeclared entity &%s;", ref)
	case !isXMLChar(r):
		return fatal(CodeMalformed, ps.path(), "&%s; is not a character XML can carry", ref)
	case r < utf8.RuneSelf:
		_, err := ps.scan(a, []byte{byte(r)}, true)
		if b64class[r] == clsOther {
			a.fail(CodeAttachmentEncoding, "character %q in base64", r)
		}
		return err
	}
	a.fail(CodeAttachmentEncoding, "character %q in base64", r)
	return nil
}

// finishContent completes an attachment at its end tag.
func (ps *parser) finishContent(a *attachmentState) error {
	if !a.failed() {
		if err := ps.flush(a, true); err != nil {
			return err
		}
	}
	if a.fmt == "" && len(a.head) > 0 {
		if err := ps.detect(a); err != nil {
			return err
		}
	}
	if a.spool != nil && !a.failed() {
		if err := ps.checkZip(a); err != nil {
			return err
		}
	}
	if a.spool != nil {
		a.spool.Close()           //nolint:errcheck // temp file
		os.Remove(a.spool.Name()) //nolint:errcheck // temp file
		a.spool = nil
	}
	if c, ok := a.sink.(io.Closer); ok {
		a.sink = nil
		if err := c.Close(); err != nil {
			return fmt.Errorf("attachment %d: %w", a.index, err)
		}
	}
	return nil
}

func (a *attachmentState) result() (size int64, sum, format string) {
	if a.sum == nil {
		return 0, "", ""
	}
	f := a.fmt
	if f == "-" {
		f = ""
	}
	return a.size, hex.EncodeToString(a.sum.Sum(nil)), f
}
