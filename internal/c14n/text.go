package c14n

import (
	"bytes"
	"errors"
	"io"
	"unicode/utf8"
)

// plain marks the bytes that character data copies to the output as they
// are: printable ASCII but for the markup characters, ']' (watched for
// "]]>"), tab and LF. CR, other control bytes and non-ASCII bytes take the
// slow path.
var plain = func() (t [256]bool) {
	for b := 0x20; b < 0x80; b++ {
		t[b] = true
	}
	for _, b := range []byte("<&>]") {
		t[b] = false
	}
	t['\t'], t['\n'] = true, true
	return t
}()

var bom = []byte("\uFEFF")

// bom takes a UTF-8 byte-order mark at the start of the document.
func (c *canon) bom() error {
	p, err := c.in.Br.Peek(len(bom))
	if bytes.Equal(p, bom) {
		c.in.Discard(len(bom))
		c.bomLen = int64(len(bom))
		return nil
	}
	if err != nil && !errors.Is(err, io.EOF) {
		c.in.Err = err
		return c.ioErr()
	}
	return nil
}

// topText reads what lies between markup outside the root element: white
// space only, which is not part of the canonical form.
func (c *canon) topText() error {
	for {
		buf, err := c.in.Fill()
		if err != nil {
			return c.ioErr() // nil at the end of the input
		}
		for i, b := range buf {
			if b == '<' {
				c.in.Discard(i)
				return nil
			}
			if !isSpace(b) {
				c.in.Discard(i)
				return c.malformed("text outside the root element")
			}
		}
		c.in.Discard(len(buf))
	}
}

// content streams the character data in front of the next markup, CDATA
// sections included, to the output, escaped; inside the Signature being
// left out it only checks it. It stops in front of '<' (not CDATA) or at
// the end of the input, leaving both to the decoder.
func (c *canon) content() error {
	emit := c.skip == 0
	c.brackets = 0
	c.crPending = false
	for {
		buf, err := c.in.Fill()
		if err != nil {
			return c.ioErr()
		}
		i, err := c.chars(buf, emit, false)
		if err != nil {
			return err
		}
		c.in.Discard(i)
		if c.st.sink.err != nil {
			return c.ioErr()
		}
		if i == len(buf) {
			continue
		}
		switch buf[i] {
		case '<':
			p, _ := c.in.Br.Peek(len(cdataOpen))
			if !bytes.Equal(p, cdataOpen) {
				return nil
			}
			c.in.Discard(len(cdataOpen))
			if err := c.cdata(emit); err != nil {
				return err
			}
		case '&':
			if err := c.ref(emit); err != nil {
				return err
			}
		default: // a character split by the end of the buffer
			if err := c.moreRune(); err != nil {
				return err
			}
		}
		c.brackets = 0
		c.crPending = false
	}
}

var cdataOpen = []byte("<![CDATA[")

// moreRune makes the rest of a character split by the end of the buffer
// available.
func (c *canon) moreRune() error {
	p, err := c.in.Br.Peek(utf8.UTFMax)
	if utf8.FullRune(p) {
		return nil
	}
	if err != nil && !errors.Is(err, io.EOF) {
		c.in.Err = err
		return c.ioErr()
	}
	return c.malformed("invalid UTF-8")
}

// chars takes character data from buf up to the first byte it cannot take
// itself, and returns that byte's index: '<' or '&' outside CDATA, the
// start of a character that continues past buf, or len(buf). In CDATA
// (cdata set) it stops at ']' too, which the caller handles.
func (c *canon) chars(buf []byte, emit, cdata bool) (int, error) {
	i := 0
	if c.crPending && len(buf) > 0 {
		c.crPending = false
		if buf[0] == '\n' {
			i = 1
		}
	}
	for i < len(buf) {
		// The hot loop: a run of plain ASCII and well-formed UTF-8.
		j := i
		for j < len(buf) {
			b := buf[j]
			if plain[b] {
				j++
				continue
			}
			if b < utf8.RuneSelf {
				break
			}
			r, size := utf8.DecodeRune(buf[j:])
			if size == 1 || r == 0xFFFE || r == 0xFFFF {
				break
			}
			j += size
		}
		if j > i {
			if emit {
				c.out.write(buf[i:j])
			}
			c.brackets = 0
			i = j
			if i == len(buf) {
				break
			}
		}
		b := buf[i]
		switch {
		case b == '<' || b == '&':
			if !cdata {
				return i, nil
			}
			if emit {
				c.out.put(escText(b))
			}
			c.brackets = 0
		case b == ']':
			if cdata {
				return i, nil
			}
			c.brackets++
			if emit {
				c.out.putByte(']')
			}
		case b == '>':
			if c.brackets >= 2 && !cdata {
				return i, c.malformed("]]> in character data")
			}
			c.brackets = 0
			if emit {
				c.out.put("&gt;")
			}
		case b == '\r':
			c.brackets = 0
			if emit {
				c.out.putByte('\n')
			}
			if i+1 == len(buf) {
				c.crPending = true
			} else if buf[i+1] == '\n' {
				i++
			}
		case b < 0x20:
			return i, c.malformed("illegal character 0x%02x", b)
		default: // not UTF-8, not an XML character, or cut off by the end of buf
			if !utf8.FullRune(buf[i:]) {
				return i, nil
			}
			r, _ := utf8.DecodeRune(buf[i:])
			if r == utf8.RuneError {
				return i, c.malformed("invalid UTF-8")
			}
			return i, c.malformed("illegal character %U", r)
		}
		i++
	}
	return len(buf), nil
}

// escText is the canonical form of a character that text escapes.
func escText(b byte) string {
	switch b {
	case '&':
		return "&amp;"
	case '<':
		return "&lt;"
	case '>':
		return "&gt;"
	}
	return "&#xD;"
}

// cdata streams a CDATA section, after "<![CDATA[", as escaped text.
func (c *canon) cdata(emit bool) error {
	if len(c.stack) == 0 {
		return c.malformed("CDATA section outside the root element")
	}
	c.crPending = false
	pending := 0 // ']' not yet written: they may begin "]]>"
	for {
		buf, err := c.in.Fill()
		if err != nil {
			if e := c.ioErr(); e != nil {
				return e
			}
			return c.malformed("unexpected end of document in a CDATA section")
		}
		if pending > 0 && buf[0] != ']' {
			if buf[0] == '>' && pending >= 2 {
				c.in.Discard(1)
				c.writeBrackets(emit, pending-2)
				return nil
			}
			c.writeBrackets(emit, pending)
			pending = 0
		}
		i, err := c.chars(buf, emit, true)
		if err != nil {
			return err
		}
		c.in.Discard(i)
		if c.st.sink.err != nil {
			return c.ioErr()
		}
		if i == len(buf) {
			continue
		}
		if buf[i] == ']' {
			c.in.Discard(1)
			pending++
			continue
		}
		if err := c.moreRune(); err != nil {
			return err
		}
	}
}

func (c *canon) writeBrackets(emit bool, n int) {
	if !emit {
		return
	}
	for range n {
		c.out.putByte(']')
	}
}

// ref reads a reference in character data and writes the character it
// stands for. Leading zeros make a character reference as long as the
// sender likes, so its digits are read one at a time.
func (c *canon) ref(emit bool) error {
	next := func() (byte, error) {
		b, err := c.in.TextByte()
		if err != nil {
			if e := c.ioErr(); e != nil {
				return 0, e
			}
			return 0, c.malformed("unexpected end of document in a reference")
		}
		return b, nil
	}
	if _, err := next(); err != nil { // '&'
		return err
	}
	b, err := next()
	if err != nil {
		return err
	}
	var r rune
	if b == '#' {
		if b, err = next(); err != nil {
			return err
		}
		base := rune(10)
		if b == 'x' {
			base = 16
			if b, err = next(); err != nil {
				return err
			}
		}
		digits := 0
		for ; digitVal(b) >= 0 && digitVal(b) < base; digits++ {
			r = min(r*base+digitVal(b), utf8.MaxRune+1)
			if b, err = next(); err != nil {
				return err
			}
		}
		if digits == 0 || b != ';' {
			return c.malformed("bad character reference")
		}
		if !isChar(r) {
			return c.malformed("character reference to %#x, not an XML character", r)
		}
	} else {
		var name [8]byte
		n := 0
		for b != ';' {
			if n == len(name) {
				return c.malformed("undeclared entity &%s...", name[:n])
			}
			name[n] = b
			n++
			if b, err = next(); err != nil {
				return err
			}
		}
		var ok bool
		if r, ok = parseRef(name[:n]); !ok {
			return c.malformed("undeclared entity &%s;", name[:n])
		}
	}
	if !emit {
		return nil
	}
	switch r {
	case '&', '<', '>', '\r':
		c.out.put(escText(byte(r)))
	default:
		c.out.putRune(r)
	}
	return nil
}
