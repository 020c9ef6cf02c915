package c14n

import (
	"io"
)

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
