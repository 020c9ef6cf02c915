package vdxp

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"strconv"
	"strings"
)

// UnpaddedHex writes each byte in hex without zero padding, as the axis's
// Java SDK does for hash-file (Integer.toHexString(b & 0xFF)): 0x0a
// becomes "a", so a SHA-256 is 32 to 64 characters long.
func UnpaddedHex(sum []byte) string {
	var b strings.Builder
	b.Grow(2 * len(sum))
	for _, c := range sum {
		b.WriteString(strconv.FormatUint(uint64(c), 16))
	}
	return b.String()
}

// hexMatches reports whether got is sum in lowercase or uppercase hex,
// zero-padded or (when unpadded is true) in the SDK's unpadded form. The
// comparison is in constant time for a given length.
func hexMatches(got string, sum []byte, unpadded bool) bool {
	g := []byte(strings.ToLower(strings.TrimSpace(got)))
	ok := subtle.ConstantTimeCompare(g, []byte(hex.EncodeToString(sum)))
	if unpadded {
		ok |= subtle.ConstantTimeCompare(g, []byte(UnpaddedHex(sum)))
	}
	return ok == 1
}

// errHashMismatch ends a packet stream whose bytes do not have the
// declared hash-file.
var errHashMismatch = errors.New("vdxp: the file does not match hash-file")

// hashReader passes a packet through to the hub while computing its
// SHA-256, and at the end checks it against hash-file. With hold = 2 it
// withholds the last two bytes until the end: the Java SDK 2.x appends a
// CRLF after the raw file it uploads, and hash-file covers the file
// without it. Those two bytes are dropped when the hash matches only
// without them. A mismatch makes the final Read fail with errHashMismatch
// (and sets mismatch), so the hub stores nothing.
type hashReader struct {
	src      io.Reader
	want     string // hash-file as sent; "" checks nothing
	unpadded bool   // accept the SDK's unpadded hex
	hold     int

	h        hash.Hash
	tail     []byte // withheld bytes (at most hold)
	out      []byte // bytes ready for the caller, within data
	buf      []byte
	data     []byte // tail and the last read, reused
	done     bool
	err      error
	mismatch bool
	stripped bool
	sum      []byte // SHA-256 of the bytes passed on
}

func newHashReader(src io.Reader, want string, unpadded bool, hold int) *hashReader {
	return &hashReader{src: src, want: want, unpadded: unpadded, hold: hold, h: sha256.New(), buf: make([]byte, 32<<10)}
}

func (r *hashReader) Read(p []byte) (int, error) {
	for len(r.out) == 0 {
		if r.done {
			return 0, r.err
		}
		n, err := r.src.Read(r.buf)
		if n > 0 {
			// data is refilled only once out, a part of it, is consumed.
			r.data = append(append(r.data[:0], r.tail...), r.buf[:n]...)
			keep := min(r.hold, len(r.data))
			r.out = r.data[:len(r.data)-keep]
			r.h.Write(r.out)
			r.tail = append(r.tail[:0], r.data[len(r.data)-keep:]...)
		}
		switch {
		case errors.Is(err, io.EOF):
			r.finish()
		case err != nil:
			r.done, r.err = true, err
		}
	}
	n := copy(p, r.out)
	r.out = r.out[n:]
	return n, nil
}

// finish decides what to do with the withheld bytes once the source ends.
func (r *hashReader) finish() {
	r.done, r.err = true, io.EOF
	without := r.h.Sum(nil)
	r.h.Write(r.tail)
	with := r.h.Sum(nil)
	switch {
	case r.want == "" || hexMatches(r.want, with, r.unpadded):
		r.out = append(r.out, r.tail...)
		r.sum = with
	case bytes.Equal(r.tail, []byte("\r\n")) && hexMatches(r.want, without, r.unpadded):
		r.stripped, r.sum = true, without
	default:
		r.mismatch, r.err = true, errHashMismatch
	}
	r.tail = nil
}
