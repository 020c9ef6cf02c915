package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
)

// payload wraps the reader given to Create. It hashes and counts what passes,
// holds the stream to the declared size (ErrSizeMismatch when it ends early
// or goes on), and stops with the context's error once ctx is done, so that
// an implementation only has to copy from it.
type payload struct {
	ctx  context.Context
	r    io.Reader
	size int64 // -1: unknown
	n    int64
	h    hash.Hash
	eof  bool
}

func newPayload(ctx context.Context, r io.Reader, size int64) *payload {
	return &payload{ctx: ctx, r: r, size: size, h: sha256.New()}
}

// newPayloadFor is newPayload for meta: with a digest the caller computed
// from the same bytes (Meta.Hashed), the bytes are not hashed again.
func newPayloadFor(ctx context.Context, r io.Reader, size int64, meta Meta) *payload {
	if meta.Hashed && meta.SHA256 != "" {
		if sum, err := hex.DecodeString(meta.SHA256); err == nil && len(sum) == sha256.Size {
			return &payload{ctx: ctx, r: r, size: size, h: knownHash(sum)}
		}
	}
	return newPayload(ctx, r, size)
}

// knownHash is a hash.Hash whose sum is given: writes are ignored.
type knownHash []byte

func (k knownHash) Write(p []byte) (int, error) { return len(p), nil }
func (k knownHash) Sum(b []byte) []byte         { return append(b, k...) }
func (k knownHash) Reset()                      {}
func (k knownHash) Size() int                   { return len(k) }
func (k knownHash) BlockSize() int              { return sha256.BlockSize }

func (p *payload) Read(b []byte) (int, error) {
	if err := p.ctx.Err(); err != nil {
		return 0, err
	}
	if p.eof {
		return 0, io.EOF
	}
	if len(b) == 0 {
		return 0, nil
	}
	if p.size >= 0 {
		left := p.size - p.n
		if left == 0 {
			return 0, p.expectEOF()
		}
		if int64(len(b)) > left {
			b = b[:left]
		}
	}
	n, err := p.r.Read(b)
	p.h.Write(b[:n])
	p.n += int64(n)
	switch {
	case err == io.EOF: // only io.EOF itself ends a stream; a wrapped one is a failure
		if p.size >= 0 && p.n < p.size {
			return n, fmt.Errorf("%w: reader ended after %d of %d bytes", ErrSizeMismatch, p.n, p.size)
		}
		p.eof = true
		return n, io.EOF
	case err != nil:
		return n, fmt.Errorf("read payload: %w", err)
	}
	return n, nil
}

// expectEOF checks that the reader ends where the declared size does.
func (p *payload) expectEOF() error {
	var one [1]byte
	for range 100 {
		n, err := p.r.Read(one[:])
		if n > 0 {
			return fmt.Errorf("%w: reader goes on after the declared %d bytes", ErrSizeMismatch, p.size)
		}
		if err == io.EOF {
			p.eof = true
			return io.EOF
		}
		if err != nil {
			return fmt.Errorf("read payload: %w", err)
		}
	}
	return fmt.Errorf("read payload: %w", io.ErrNoProgress)
}

// sum is the lowercase hex SHA-256 of the bytes read so far.
func (p *payload) sum() string { return hex.EncodeToString(p.h.Sum(nil)) }

// check compares the digest of the whole stream with the expected one.
func (p *payload) check(want string) error {
	if got := p.sum(); want != "" && got != want {
		return fmt.Errorf("%w: got %s, expected %s", ErrDigestMismatch, got, want)
	}
	return nil
}
