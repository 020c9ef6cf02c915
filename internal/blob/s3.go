package blob

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Config configures an S3 store.
type S3Config struct {
	Endpoint  string // host[:port], no scheme
	Region    string // optional
	Bucket    string
	Prefix    string // optional key prefix inside the bucket: "" or ending in "/"
	AccessKey string
	SecretKey SecretString
	UseTLS    bool
	// RootCAs, with UseTLS, verify the server's certificate instead of the
	// system's roots: for a server whose certificate a private CA issued.
	RootCAs *x509.CertPool
	// PartSize is the size of multipart upload parts and the largest object
	// sent in a single PUT; 0 means DefaultPartSize. Each Create in flight
	// holds up to one part in memory.
	PartSize uint64
	// CreateBucket makes NewS3 create the bucket when it is missing.
	CreateBucket bool
	// SpoolDir holds the temporary copy of a stream larger than PartSize
	// given without an expected SHA-256 (see S3); "" means os.TempDir().
	SpoolDir string
}

// Part sizes: S3 takes parts of 5 MiB to 5 GiB (the last one may be
// smaller) and at most 10000 of them.
const (
	DefaultPartSize = 16 << 20
	MinPartSize     = 5 << 20
	MaxPartSize     = 5 << 30
	maxParts        = 10000
)

// ErrInvalidConfig is wrapped by S3Config.Validate's errors.
var ErrInvalidConfig = errors.New("blob: invalid S3 config")

// Validate checks the config as NewS3 would use it (PartSize 0 is valid).
func (c S3Config) Validate() error {
	switch {
	case c.Endpoint == "":
		return fmt.Errorf("%w: endpoint is empty", ErrInvalidConfig)
	case strings.Contains(c.Endpoint, "://") || strings.Contains(c.Endpoint, "/"):
		return fmt.Errorf("%w: endpoint %q must be host[:port], without scheme or path (set UseTLS for https)", ErrInvalidConfig, c.Endpoint)
	case c.Bucket == "":
		return fmt.Errorf("%w: bucket is empty", ErrInvalidConfig)
	case c.AccessKey == "" || c.SecretKey == "":
		return fmt.Errorf("%w: access key and secret key are required", ErrInvalidConfig)
	case c.PartSize != 0 && (c.PartSize < MinPartSize || c.PartSize > MaxPartSize):
		return fmt.Errorf("%w: part size %d outside %d..%d", ErrInvalidConfig, c.PartSize, MinPartSize, MaxPartSize)
	case c.RootCAs != nil && !c.UseTLS:
		return fmt.Errorf("%w: RootCAs without UseTLS", ErrInvalidConfig)
	case c.Prefix != "" && !strings.HasSuffix(c.Prefix, "/"):
		return fmt.Errorf("%w: prefix %q must end in \"/\"", ErrInvalidConfig, c.Prefix)
	}
	if c.Prefix != "" {
		if err := ValidateKey(strings.TrimSuffix(c.Prefix, "/")); err != nil {
			return fmt.Errorf("%w: prefix: %w", ErrInvalidConfig, err)
		}
		if len(c.Prefix)+MaxKeyLen > 1024 {
			return fmt.Errorf("%w: prefix %q leaves keys longer than S3's 1024 bytes", ErrInvalidConfig, c.Prefix)
		}
	}
	return nil
}

// S3 is a Store on an S3 API server, through minio-go.
//
// Create publishes with a conditional write (If-None-Match: *), on the single
// PUT of an object up to PartSize and on CompleteMultipartUpload of a larger
// one, so the server decides which of concurrent Creates wins: the guarantee
// is the server's. versitygw v1.8.0 evaluates the header on both requests
// under a per-key publish lock (measured by TestS3ConditionalWrites: 8
// concurrent Creates, 1 winner and 7 answers 412, for PUT and for multipart);
// it ignores it on CreateMultipartUpload. AWS S3 documents it on PutObject and
// CompleteMultipartUpload since 2024-08. A server that ignores it lets a later
// Create overwrite: run TestS3ConditionalWrites against a new target. A Stat
// before a large upload is only an early exit.
//
// Create runs multipart uploads itself through minio.Core: minio-go v7.4.1's
// Client.PutObject sends SetMatchETagExcept's header on CreateMultipartUpload
// but drops it from CompleteMultipartUpload (completeUploadOpts), so above
// PartSize it silently overwrites on versitygw.
//
// The SHA-256 goes in user metadata (x-amz-meta-sha256), which S3 fixes
// before the first byte is sent. So Create needs the digest up front: it
// takes it from Meta.SHA256 (checked as the bytes stream; on a mismatch the
// upload is aborted before it completes), computes it over the buffered part
// for an object up to PartSize, and for a larger stream without Meta.SHA256
// first copies it to an unlinked temporary file in SpoolDir. Memory per
// Create in flight stays within one part.
//
// Each Create tags its object with a random upload id (x-amz-meta-
// lienthong-upload). When the publishing request answers 412 or NoSuchUpload,
// which a retry of a request that succeeded (answer lost) also gets, Create
// compares the stored tag with its own before it reports ErrExists.
//
// Failed multipart uploads are aborted, with a context detached from the
// cancelled one. List gives Key, Size and Created; Stat and Get also give
// SHA256 (empty for objects written by other tools) and ContentType. The
// Created that Create returns is the local clock's (S3 answers a PUT
// without Last-Modified); Stat gives the server's, in whole seconds.
type S3 struct {
	client   *minio.Client
	tr       *http.Transport // minio's own default, kept to close its idle connections
	core     minio.Core
	bucket   string
	prefix   string
	partSize int64
	spoolDir string
	bufs     sync.Pool // *[]byte of partSize
}

var _ Store = (*S3)(nil)

// Metadata keys (sent as x-amz-meta-*).
const (
	metaSHA256 = "sha256"
	metaUpload = "lienthong-upload"
)

// NewS3 connects to an S3 server. It makes a request only when
// cfg.CreateBucket is set; use Ping for readiness.
func NewS3(ctx context.Context, cfg S3Config) (*S3, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.PartSize == 0 {
		cfg.PartSize = DefaultPartSize
	}
	if cfg.SpoolDir == "" {
		cfg.SpoolDir = os.TempDir()
	}
	opts := &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey.Reveal(), ""),
		Secure: cfg.UseTLS,
		Region: cfg.Region,
	}
	tr, err := minio.DefaultTransport(cfg.UseTLS)
	if err != nil {
		return nil, fmt.Errorf("blob: s3 transport: %w", err)
	}
	if cfg.UseTLS && cfg.RootCAs != nil {
		tr.TLSClientConfig.RootCAs = cfg.RootCAs
	}
	opts.Transport = tr
	client, err := minio.New(cfg.Endpoint, opts)
	if err != nil {
		return nil, fmt.Errorf("blob: s3 client: %w", err)
	}
	s := &S3{
		client:   client,
		tr:       tr,
		core:     minio.Core{Client: client},
		bucket:   cfg.Bucket,
		prefix:   cfg.Prefix,
		partSize: int64(cfg.PartSize),
		spoolDir: cfg.SpoolDir,
	}
	if cfg.CreateBucket {
		if err := s.ensureBucket(ctx, cfg.Region); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Close closes the store's idle connections; requests in flight finish.
func (s *S3) Close() error {
	s.tr.CloseIdleConnections()
	return nil
}

func (s *S3) ensureBucket(ctx context.Context, region string) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("blob: s3 bucket %s: %w", s.bucket, err)
	}
	if ok {
		return nil
	}
	err = s.client.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{Region: region})
	var er minio.ErrorResponse
	if errors.As(err, &er) && (er.Code == "BucketAlreadyOwnedByYou" || er.Code == "BucketAlreadyExists") {
		return nil
	}
	if err != nil {
		return fmt.Errorf("blob: s3 create bucket %s: %w", s.bucket, err)
	}
	return nil
}

// translate maps minio errors to the package's sentinels.
func translate(err error) error {
	var er minio.ErrorResponse
	if !errors.As(err, &er) {
		return err
	}
	switch {
	case er.Code == minio.NoSuchKey:
		return fmt.Errorf("%w (%s)", ErrNotFound, er.Message)
	case er.Code == "PreconditionFailed" || er.StatusCode == http.StatusPreconditionFailed:
		return fmt.Errorf("%w (%s)", ErrExists, er.Message)
	}
	return err
}

func errorCode(err error) string {
	var er minio.ErrorResponse
	if errors.As(err, &er) {
		return er.Code
	}
	return ""
}

// Create implements Store.
func (s *S3) Create(ctx context.Context, key string, r io.Reader, size int64, meta Meta) (Info, error) {
	info, err := s.create(ctx, key, r, size, meta)
	if err != nil {
		return Info{}, fmt.Errorf("blob: create %s: %w", key, err)
	}
	return info, nil
}

func (s *S3) create(ctx context.Context, key string, r io.Reader, size int64, meta Meta) (Info, error) {
	meta, err := checkCreate(ctx, key, size, meta)
	if err != nil {
		return Info{}, err
	}
	obj := s.prefix + key
	pl := newPayload(ctx, r, size)

	// Read the first part, and one byte more to learn whether it is all.
	var buf []byte
	if size >= 0 && size <= s.partSize {
		buf = make([]byte, size)
	} else {
		b := s.bufs.Get()
		if b == nil {
			nb := make([]byte, s.partSize)
			b = &nb
		}
		defer s.bufs.Put(b)
		buf = *b.(*[]byte)
	}
	n, eof, err := fill(pl, buf)
	if err != nil {
		return Info{}, err
	}
	var rest io.Reader = pl
	if !eof {
		var one [1]byte
		m, _, err := fill(pl, one[:])
		if err != nil {
			return Info{}, err
		}
		eof = m == 0
		rest = io.MultiReader(bytes.NewReader(one[:m]), pl)
	}

	upload := rand.Text()
	var total int64
	var digest string
	if eof {
		if err := pl.check(meta.SHA256); err != nil {
			return Info{}, err
		}
		total, digest = int64(n), pl.sum()
		err = s.putSingle(ctx, obj, buf[:n], digest, meta.ContentType, upload)
	} else {
		// Early exit before a large upload; the conditional write decides.
		if _, err := s.client.StatObject(ctx, s.bucket, obj, minio.StatObjectOptions{}); err == nil {
			return Info{}, ErrExists
		} else if terr := translate(err); !errors.Is(terr, ErrNotFound) {
			return Info{}, terr
		}
		if meta.SHA256 != "" {
			err = s.putStream(ctx, obj, buf, n, rest, pl, meta, upload)
			total, digest = pl.n, meta.SHA256
		} else {
			total, digest, err = s.putSpooled(ctx, obj, buf[:n], rest, pl, meta.ContentType, upload)
		}
	}
	if err != nil {
		code := errorCode(err)
		if (errors.Is(err, ErrExists) || code == "NoSuchUpload") && s.isOurs(ctx, obj, upload) {
			err = nil
		}
	}
	if err != nil {
		return Info{}, err
	}
	return Info{Key: key, Size: total, SHA256: digest, ContentType: meta.ContentType, Created: time.Now().UTC()}, nil
}

// fill reads into b until b is full or r ends; eof reports the end.
func fill(r io.Reader, b []byte) (n int, eof bool, err error) {
	for n < len(b) {
		m, err := r.Read(b[n:])
		n += m
		if err == io.EOF { // payload returns io.EOF itself, as io.Reader requires; a wrapped one is a failure
			return n, true, nil
		}
		if err != nil {
			return n, false, err
		}
	}
	return n, false, nil
}

func (s *S3) putOptions(contentType, digest, upload string, conditional bool) minio.PutObjectOptions {
	opts := minio.PutObjectOptions{
		ContentType:  contentType,
		UserMetadata: map[string]string{metaSHA256: digest, metaUpload: upload},
		PartSize:     uint64(s.partSize),
	}
	if conditional {
		opts.SetMatchETagExcept("*")
	}
	return opts
}

// putSingle stores an object of up to PartSize bytes with one conditional PUT.
func (s *S3) putSingle(ctx context.Context, obj string, data []byte, digest, contentType, upload string) error {
	opts := s.putOptions(contentType, digest, upload, true)
	_, err := s.core.PutObject(ctx, s.bucket, obj, bytes.NewReader(data), int64(len(data)), "", digest, opts)
	return translate(err)
}

// putStream uploads a stream whose digest the caller gave: parts go out as
// they are read, and the digest is checked before the upload completes.
func (s *S3) putStream(ctx context.Context, obj string, buf []byte, n int, rest io.Reader, pl *payload, meta Meta, upload string) error {
	first := true
	next := func() (io.Reader, int64, error) {
		if first {
			first = false
			return bytes.NewReader(buf[:n]), int64(n), nil
		}
		m, eof, err := fill(rest, buf)
		if err != nil {
			return nil, 0, err
		}
		if eof {
			if err := pl.check(meta.SHA256); err != nil {
				return nil, 0, err
			}
			if m == 0 {
				return nil, 0, io.EOF
			}
		}
		return bytes.NewReader(buf[:m]), int64(m), nil
	}
	return s.putMultipart(ctx, obj, meta.ContentType, meta.SHA256, upload, next)
}

// putSpooled copies a large stream to an unlinked temporary file while
// hashing it, then uploads the file's parts.
func (s *S3) putSpooled(ctx context.Context, obj string, first []byte, rest io.Reader, pl *payload, contentType, upload string) (total int64, digest string, err error) {
	f, err := os.CreateTemp(s.spoolDir, "lienthong-blob-spool-*")
	if err != nil {
		return 0, "", fmt.Errorf("spool: %w", err)
	}
	defer func() { err = errors.Join(err, f.Close()) }()
	// Unlinked now, the file vanishes with the process whatever happens.
	if err := os.Remove(f.Name()); err != nil {
		return 0, "", fmt.Errorf("spool: %w", err)
	}
	if _, err := f.Write(first); err != nil {
		return 0, "", fmt.Errorf("spool: %w", err)
	}
	if _, err := io.CopyBuffer(struct{ io.Writer }{f}, struct{ io.Reader }{rest}, make([]byte, copyBufSize)); err != nil {
		return 0, "", err
	}
	total, digest = pl.n, pl.sum()
	var off int64
	next := func() (io.Reader, int64, error) {
		if off >= total {
			return nil, 0, io.EOF
		}
		m := min(s.partSize, total-off)
		r := io.NewSectionReader(f, off, m)
		off += m
		return r, m, nil
	}
	return total, digest, s.putMultipart(ctx, obj, contentType, digest, upload, next)
}

// putMultipart runs a multipart upload of the parts next yields (io.EOF after
// the last) and completes it conditionally; on any failure it aborts it.
func (s *S3) putMultipart(ctx context.Context, obj, contentType, digest, upload string, next func() (io.Reader, int64, error)) (err error) {
	id, err := s.core.NewMultipartUpload(ctx, s.bucket, obj, s.putOptions(contentType, digest, upload, false))
	if err != nil {
		return translate(err)
	}
	done := false
	defer func() {
		if done {
			return
		}
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if aerr := s.core.AbortMultipartUpload(actx, s.bucket, obj, id); aerr != nil && errorCode(aerr) != "NoSuchUpload" {
			err = errors.Join(err, fmt.Errorf("abort upload %s: %w", id, aerr))
		}
	}()
	var parts []minio.CompletePart
	for num := 1; ; num++ {
		r, n, err := next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if num > maxParts {
			return fmt.Errorf("object larger than %d parts of %d bytes", maxParts, s.partSize)
		}
		p, err := s.core.PutObjectPart(ctx, s.bucket, obj, id, num, r, n, minio.PutObjectPartOptions{})
		if err != nil {
			return translate(err)
		}
		parts = append(parts, minio.CompletePart{PartNumber: num, ETag: p.ETag})
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	_, err = s.core.CompleteMultipartUpload(ctx, s.bucket, obj, id, parts, s.putOptions(contentType, digest, upload, true))
	if err == nil || errorCode(err) == "NoSuchUpload" {
		done = true // completed, maybe by an earlier attempt of a retried request
	}
	return translate(err)
}

// isOurs reports whether the object now stored under obj is the one this
// Create uploaded.
func (s *S3) isOurs(ctx context.Context, obj, upload string) bool {
	oi, err := s.client.StatObject(ctx, s.bucket, obj, minio.StatObjectOptions{})
	return err == nil && userMeta(oi, metaUpload) == upload
}

func userMeta(oi minio.ObjectInfo, name string) string {
	for k, v := range oi.UserMetadata {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

func (s *S3) info(key string, oi minio.ObjectInfo) Info {
	return Info{
		Key:         key,
		Size:        oi.Size,
		SHA256:      userMeta(oi, metaSHA256),
		ContentType: oi.ContentType,
		Created:     oi.LastModified.UTC(),
	}
}

// Get implements Store.
func (s *S3) Get(ctx context.Context, key string, off, n int64) (io.ReadCloser, Info, error) {
	rc, info, err := s.get(ctx, key, off, n)
	if err != nil {
		return nil, Info{}, fmt.Errorf("blob: get %s: %w", key, err)
	}
	return rc, info, nil
}

func (s *S3) get(ctx context.Context, key string, off, n int64) (io.ReadCloser, Info, error) {
	if err := ValidateKey(key); err != nil {
		return nil, Info{}, err
	}
	if err := checkRange(off, n); err != nil {
		return nil, Info{}, err
	}
	if n == 0 {
		return s.emptyAt(ctx, key, off)
	}
	var opts minio.GetObjectOptions
	switch {
	case n > 0:
		err := opts.SetRange(off, off+n-1)
		if err != nil {
			return nil, Info{}, fmt.Errorf("%w: %w", ErrInvalidRange, err)
		}
	case off > 0:
		if err := opts.SetRange(off, 0); err != nil {
			return nil, Info{}, fmt.Errorf("%w: %w", ErrInvalidRange, err)
		}
	}
	body, oi, hdr, err := s.core.GetObject(ctx, s.bucket, s.prefix+key, opts)
	if errorCode(err) == "InvalidRange" {
		// S3 refuses a range that starts at the end; the contract allows it.
		return s.emptyAt(ctx, key, off)
	}
	if err != nil {
		return nil, Info{}, translate(err)
	}
	info := s.info(key, oi)
	if cr := hdr.Get("Content-Range"); cr != "" {
		total, err := contentRangeTotal(cr)
		if err != nil {
			return nil, Info{}, errors.Join(err, body.Close())
		}
		info.Size = total
	}
	return body, info, nil
}

// emptyAt answers an empty read at off: valid when off is at most the size.
func (s *S3) emptyAt(ctx context.Context, key string, off int64) (io.ReadCloser, Info, error) {
	info, err := s.stat(ctx, key)
	if err != nil {
		return nil, Info{}, err
	}
	if off > info.Size {
		return nil, Info{}, fmt.Errorf("%w: offset %d beyond size %d", ErrInvalidRange, off, info.Size)
	}
	return io.NopCloser(bytes.NewReader(nil)), info, nil
}

// contentRangeTotal parses the size out of "bytes FIRST-LAST/SIZE".
func contentRangeTotal(cr string) (int64, error) {
	i := strings.LastIndexByte(cr, '/')
	if i < 0 {
		return 0, fmt.Errorf("bad Content-Range %q", cr)
	}
	total, err := strconv.ParseInt(cr[i+1:], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bad Content-Range %q", cr)
	}
	return total, nil
}

// Stat implements Store.
func (s *S3) Stat(ctx context.Context, key string) (Info, error) {
	info, err := s.stat(ctx, key)
	if err != nil {
		return Info{}, fmt.Errorf("blob: stat %s: %w", key, err)
	}
	return info, nil
}

func (s *S3) stat(ctx context.Context, key string) (Info, error) {
	if err := ValidateKey(key); err != nil {
		return Info{}, err
	}
	oi, err := s.client.StatObject(ctx, s.bucket, s.prefix+key, minio.StatObjectOptions{})
	if err != nil {
		return Info{}, translate(err)
	}
	return s.info(key, oi), nil
}

// Delete implements Store.
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := ValidateKey(key); err != nil {
		return fmt.Errorf("blob: delete %s: %w", key, err)
	}
	err := translate(s.client.RemoveObject(ctx, s.bucket, s.prefix+key, minio.RemoveObjectOptions{}))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("blob: delete %s: %w", key, err)
	}
	return nil
}

// List implements Store. S3 lists in byte order of keys.
func (s *S3) List(ctx context.Context, prefix string, fn func(Info) error) error {
	if err := validatePrefix(prefix); err != nil {
		return fmt.Errorf("blob: list %q: %w", prefix, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops minio-go's listing goroutine when fn stops early
	for oi := range s.client.ListObjectsIter(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix + prefix, Recursive: true}) {
		if oi.Err != nil {
			return fmt.Errorf("blob: list %q: %w", prefix, translate(oi.Err))
		}
		key := strings.TrimPrefix(oi.Key, s.prefix)
		if ValidateKey(key) != nil {
			continue // not written through a Store (a directory marker, say)
		}
		if err := fn(Info{Key: key, Size: oi.Size, Created: oi.LastModified.UTC()}); err != nil {
			return err
		}
	}
	return nil
}

// Ping implements Store: the bucket must exist.
func (s *S3) Ping(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("blob: ping: %w", err)
	}
	if !ok {
		return fmt.Errorf("blob: ping: bucket %s does not exist", s.bucket)
	}
	return nil
}
