package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Store holds immutable objects by key.
//
// Contract, common to every implementation (package blobtest checks it):
//
//   - Create is a conditional create (S3's If-None-Match: *). It is atomic: no
//     partial object is ever visible to Get, Stat or List, also across a crash
//     of the process or the machine. When it returns nil the object is
//     durable. A Create of a key that already exists fails with ErrExists and
//     leaves the stored object unchanged; of concurrent Creates of one key
//     exactly one succeeds. Create reads r to its end, computes the SHA-256
//     of the bytes while it writes them and returns it in Info.
//     size is the exact length of r, or -1 when unknown; a reader that ends
//     early or goes on after size bytes fails with ErrSizeMismatch. When
//     meta.SHA256 is set and differs from the digest of the bytes, Create fails
//     with ErrDigestMismatch and stores nothing. When ctx is cancelled or r
//     fails, nothing is stored and the error wraps the cause.
//   - Get returns n bytes of the object from offset off (n -1: to the end).
//     A range that runs past the end is cut at the end; off may equal the size
//     (an empty read); off beyond the size, a negative off or an n below -1
//     fail with ErrInvalidRange. Info describes the whole object. The caller
//     closes the reader.
//   - Stat returns the Info of an object without reading its bytes.
//   - Delete removes an object; deleting a missing key is not an error.
//   - List calls fn for every object whose key starts with prefix, in lexical
//     (byte) order of keys, and stops at the first error fn returns, which
//     List returns. Info from List always holds Key, Size and Created;
//     SHA256 and ContentType may be empty (use Stat).
//   - Ping reports whether the store can serve requests (readiness).
//
// Errors: a missing object is ErrNotFound, an existing one ErrExists, and a
// bad key ErrInvalidKey (test with errors.Is). ErrDigestMismatch,
// ErrSizeMismatch, ErrInvalidRange and ErrInvalidMeta blame the caller's
// input. Any other error means the store is unavailable or failing: the hub
// answers 503 hub.unavailable. After such an error from Create the object
// is absent or whole (the store may have published it before failing to
// confirm); a retry then gets ErrExists, and the caller compares digests.
type Store interface {
	Create(ctx context.Context, key string, r io.Reader, size int64, meta Meta) (Info, error)
	Get(ctx context.Context, key string, off, n int64) (io.ReadCloser, Info, error)
	Stat(ctx context.Context, key string) (Info, error)
	Delete(ctx context.Context, key string) error
	List(ctx context.Context, prefix string, fn func(Info) error) error
	Ping(ctx context.Context) error
	// Close releases what the store holds open (the fs store's small.db,
	// the S3 store's idle connections); the store is unusable after.
	Close() error
}

// Meta is what the caller states about an object it creates.
type Meta struct {
	// ContentType is stored with the object; empty means
	// application/octet-stream.
	ContentType string
	// SHA256, when set, is the expected lowercase hex SHA-256 of the bytes.
	SHA256 string
	// Hashed says SHA256 was computed by the caller from these very bytes
	// (the hub's spool hashes a packet as it arrives): the embedded stores
	// record it without hashing them again. Without it, a SHA256 that
	// differs from the bytes' is ErrDigestMismatch.
	Hashed bool
}

// Info describes a stored object.
type Info struct {
	Key         string
	Size        int64
	SHA256      string // lowercase hex
	ContentType string
	Created     time.Time
}

// Errors at the seam. Implementations wrap them ("blob: get KEY: object not
// found"); test with errors.Is.
var (
	ErrNotFound       = errors.New("object not found")
	ErrExists         = errors.New("object already exists")
	ErrDigestMismatch = errors.New("SHA-256 digest mismatch")
	ErrSizeMismatch   = errors.New("size mismatch")
	ErrInvalidKey     = errors.New("invalid key")
	ErrInvalidRange   = errors.New("invalid range")
	ErrInvalidMeta    = errors.New("invalid metadata")
)

// defaultContentType is stored when Meta.ContentType is empty.
const defaultContentType = "application/octet-stream"

// maxContentType bounds Meta.ContentType (a header value on S3).
const maxContentType = 255

// checkCreate checks what every Store's Create is given, before any I/O.
func checkCreate(ctx context.Context, key string, size int64, meta Meta) (Meta, error) {
	if err := ValidateKey(key); err != nil {
		return meta, err
	}
	meta, err := checkMeta(meta)
	if err != nil {
		return meta, err
	}
	if size < -1 {
		return meta, fmt.Errorf("%w: size %d", ErrSizeMismatch, size)
	}
	return meta, ctx.Err()
}

// checkMeta validates meta and returns it with the content type defaulted.
func checkMeta(meta Meta) (Meta, error) {
	if meta.SHA256 != "" && !isLowerHex(meta.SHA256, 64) {
		return meta, fmt.Errorf("%w: expected SHA-256 %q is not 64 lowercase hex digits", ErrInvalidMeta, meta.SHA256)
	}
	if meta.ContentType == "" {
		meta.ContentType = defaultContentType
	}
	if len(meta.ContentType) > maxContentType {
		return meta, fmt.Errorf("%w: content type longer than %d bytes", ErrInvalidMeta, maxContentType)
	}
	for i := 0; i < len(meta.ContentType); i++ {
		if c := meta.ContentType[i]; c < 0x20 || c > 0x7e {
			return meta, fmt.Errorf("%w: content type %q has a byte outside printable ASCII", ErrInvalidMeta, meta.ContentType)
		}
	}
	return meta, nil
}

// checkRange validates the arguments of Get that do not depend on the size.
func checkRange(off, n int64) error {
	if off < 0 || n < -1 {
		return fmt.Errorf("%w: offset %d, length %d", ErrInvalidRange, off, n)
	}
	return nil
}

func isLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
