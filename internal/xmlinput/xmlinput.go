// Package xmlinput is the byte source the streaming XML readers
// (internal/edxml, internal/c14n) give encoding/xml.
//
// The decoder is fed one byte at a time: because the source is an
// io.ByteReader the decoder does no read-ahead of its own, so after each
// markup token the stream stands right behind it, and text (an attachment's
// base64, a long character run) can be taken straight from the buffer
// without the decoder ever holding it. Bytes the decoder reads count as
// markup, bounded by MaxMarkup; text taken by the caller does not.
package xmlinput

import (
	"bufio"
	"errors"
	"io"
)

// ErrMarkupLimit is what ReadByte returns once MaxMarkup bytes of markup
// were read. The decoder may not pass it on: it checks the text it read
// before the limit stopped it, so a character cut in two comes back as
// "invalid UTF-8". Owners check Reader.Limited before the decoder's error.
var ErrMarkupLimit = errors.New("markup limit reached")

// Reader feeds encoding/xml. Its fields are for the reader that owns it.
type Reader struct {
	Br        *bufio.Reader
	N         int64 // bytes consumed
	Markup    int64 // bytes consumed by the decoder
	MaxMarkup int64
	Limited   bool   // the markup limit was reached
	Record    bool   // keep the decoder's bytes in Raw
	Raw       []byte // the current token as written, when recording
	Prev      byte   // the two last bytes the decoder consumed
	Last      byte
	Err       error // a read error other than EOF
}

// ReadByte is the decoder's byte.
func (in *Reader) ReadByte() (byte, error) {
	if in.Markup >= in.MaxMarkup {
		in.Limited = true
		return 0, ErrMarkupLimit
	}
	b, err := in.TextByte()
	if err != nil {
		return 0, err
	}
	in.Markup++
	in.Prev, in.Last = in.Last, b
	if in.Record {
		in.Raw = append(in.Raw, b)
	}
	return b, nil
}

// Read is there to satisfy io.Reader; the decoder uses ReadByte.
func (in *Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	b, err := in.ReadByte()
	if err != nil {
		return 0, err
	}
	p[0] = b
	return 1, nil
}

// TextByte reads one byte of character data, which does not count as
// markup.
func (in *Reader) TextByte() (byte, error) {
	b, err := in.Br.ReadByte()
	if err != nil {
		if err != io.EOF {
			in.Err = err
		}
		return 0, err
	}
	in.N++
	return b, nil
}

// Discard consumes n buffered bytes of character data.
func (in *Reader) Discard(n int) {
	in.Br.Discard(n) //nolint:errcheck // n bytes are buffered
	in.N += int64(n)
}

// Fill makes at least one byte available and returns all buffered bytes.
// It returns io.EOF at the end of the input.
func (in *Reader) Fill() ([]byte, error) {
	if in.Br.Buffered() == 0 {
		if _, err := in.Br.Peek(1); err != nil {
			if err != io.EOF {
				in.Err = err
			}
			return nil, err
		}
	}
	buf, _ := in.Br.Peek(in.Br.Buffered())
	return buf, nil
}

// TakeMarkup consumes n buffered bytes of markup that the caller tokenised
// itself, counted as if the decoder had read them. The caller checks
// MaxMarkup first.
func (in *Reader) TakeMarkup(n int) {
	b, _ := in.Br.Peek(n)
	if n >= 2 {
		in.Prev = b[n-2]
	} else {
		in.Prev = in.Last
	}
	in.Last = b[n-1]
	if in.Record {
		in.Raw = append(in.Raw, b...)
	}
	in.Discard(n)
	in.Markup += int64(n)
}
