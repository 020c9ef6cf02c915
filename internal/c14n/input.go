package c14n

import (
	"bufio"
	"errors"
	"io"
)

var errMarkupLimit = errors.New("markup limit reached")

// input feeds encoding/xml one byte at a time. Because it is an
// io.ByteReader the decoder does no read-ahead of its own, so after each
// markup token the stream is positioned right behind it and text can be
// taken straight from the buffer without the decoder ever holding it.
type input struct {
	br        *bufio.Reader
	n         int64 // bytes consumed
	markup    int64 // bytes consumed by the decoder
	maxMarkup int64
	record    bool   // keep the decoder's bytes in raw
	raw       []byte // the current token as written, when recording
	limit     bool   // the markup limit was reached
	err       error  // a read error other than EOF
}

func (in *input) ReadByte() (byte, error) {
	if in.markup >= in.maxMarkup {
		in.limit = true
		return 0, errMarkupLimit
	}
	b, err := in.br.ReadByte()
	if err != nil {
		if err != io.EOF {
			in.err = err
		}
		return 0, err
	}
	in.n++
	in.markup++
	if in.record {
		in.raw = append(in.raw, b)
	}
	return b, nil
}

// Read is there to satisfy io.Reader; the decoder uses ReadByte.
func (in *input) Read(p []byte) (int, error) {
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

// textByte reads one byte of character data (a reference), which does not
// count as markup.
func (in *input) textByte() (byte, error) {
	b, err := in.br.ReadByte()
	if err != nil {
		if err != io.EOF {
			in.err = err
		}
		return 0, err
	}
	in.n++
	return b, nil
}

// discard consumes n buffered bytes of character data.
func (in *input) discard(n int) {
	in.br.Discard(n) //nolint:errcheck // n bytes are buffered
	in.n += int64(n)
}

// fill makes at least one byte available and returns all buffered bytes.
// It returns io.EOF at the end of the input.
func (in *input) fill() ([]byte, error) {
	if in.br.Buffered() == 0 {
		if _, err := in.br.Peek(1); err != nil {
			if err != io.EOF {
				in.err = err
			}
			return nil, err
		}
	}
	buf, _ := in.br.Peek(in.br.Buffered())
	return buf, nil
}

// sink records the first error of the destination writer, so that a long
// text stops streaming as soon as the writer fails.
type sink struct {
	w   io.Writer
	err error
}

func (s *sink) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.w.Write(p)
	if err != nil {
		s.err = err
	}
	return n, err
}
