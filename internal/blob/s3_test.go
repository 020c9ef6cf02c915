package blob_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/lienthong/lienthong/internal/blob"
	"github.com/lienthong/lienthong/internal/blob/blobtest"
)

// s3Config reads the test server from the environment (scripts/versitygw.sh
// env prints it). Without it the test is skipped, except under CI, where it
// fails: CI must run the S3 suite.
func s3Config(t testing.TB) blob.S3Config {
	t.Helper()
	ep := os.Getenv("LIENTHONG_TEST_S3_ENDPOINT")
	if ep == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set but LIENTHONG_TEST_S3_ENDPOINT is not: start an S3 server with " +
				`scripts/versitygw.sh start && eval "$(scripts/versitygw.sh env)"`)
		}
		t.Skip("LIENTHONG_TEST_S3_ENDPOINT not set; see scripts/versitygw.sh")
	}
	partSize := uint64(blob.MinPartSize) // exercise multipart with moderate sizes
	if v := os.Getenv("LIENTHONG_TEST_S3_PART_SIZE"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("LIENTHONG_TEST_S3_PART_SIZE: %v", err)
		}
		partSize = n
	}
	bucket := os.Getenv("LIENTHONG_TEST_S3_BUCKET")
	if bucket == "" {
		bucket = "lienthong-test"
	}
	return blob.S3Config{
		Endpoint:     ep,
		Region:       os.Getenv("LIENTHONG_TEST_S3_REGION"),
		Bucket:       bucket,
		AccessKey:    os.Getenv("LIENTHONG_TEST_S3_ACCESS_KEY"),
		SecretKey:    blob.SecretString(os.Getenv("LIENTHONG_TEST_S3_SECRET_KEY")),
		UseTLS:       os.Getenv("LIENTHONG_TEST_S3_TLS") == "true",
		PartSize:     partSize,
		CreateBucket: true,
		SpoolDir:     t.TempDir(),
	}
}

// newS3 returns a store confined to a fresh prefix of the test bucket and
// empties that prefix afterwards.
func newS3(t testing.TB, cfg blob.S3Config) *blob.S3 {
	t.Helper()
	cfg.Prefix = "test-" + strings.ToLower(rand.Text()[:12]) + "/"
	s, err := blob.NewS3(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var keys []string
		if err := s.List(ctx, "", func(i blob.Info) error { keys = append(keys, i.Key); return nil }); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		for _, k := range keys {
			if err := s.Delete(ctx, k); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
	})
	return s
}

func TestS3(t *testing.T) {
	cfg := s3Config(t)
	blobtest.Run(t, func(t *testing.T) blob.Store { return newS3(t, cfg) })
}

// rawClient is a minio-go client on the test server, for what the Store
// does not show (incomplete uploads, the server's answers).
func rawClient(t *testing.T, cfg blob.S3Config) minio.Core {
	t.Helper()
	c, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey.Reveal(), ""),
		Secure: cfg.UseTLS,
		Region: cfg.Region,
	})
	if err != nil {
		t.Fatal(err)
	}
	return minio.Core{Client: c}
}

func incompleteUploads(t *testing.T, c minio.Core, bucket, prefix string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := c.ListMultipartUploads(ctx, bucket, prefix, "", "", "", 1000)
	if err != nil {
		t.Fatalf("ListMultipartUploads: %v", err)
	}
	var keys []string
	for _, u := range res.Uploads {
		keys = append(keys, u.Key)
	}
	return keys
}

// TestS3AbortsFailedUploads checks that a failed multipart Create leaves no
// incomplete upload behind (they hold space, invisible to List).
func TestS3AbortsFailedUploads(t *testing.T) {
	cfg := s3Config(t)
	cfg.Prefix = "abort-" + strings.ToLower(rand.Text()[:12]) + "/"
	s, err := blob.NewS3(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := rawClient(t, cfg)
	const n = 3*blob.MinPartSize + 1000

	ctx, cancel := context.WithCancel(t.Context())
	r := &cancelAfter{r: blobtest.NewGen(1, n), at: 2*blob.MinPartSize + 10, cancel: cancel}
	if _, err := s.Create(ctx, "cancelled", r, n, blob.Meta{SHA256: blobtest.Digest(blobtest.Bytes(1, n))}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Create = %v, want context.Canceled", err)
	}
	if _, err := s.Create(t.Context(), "mismatch", blobtest.NewGen(1, n), -1, blob.Meta{SHA256: blobtest.Digest(nil)}); !errors.Is(err, blob.ErrDigestMismatch) {
		t.Fatalf("Create = %v, want ErrDigestMismatch", err)
	}
	if got := incompleteUploads(t, c, cfg.Bucket, cfg.Prefix); len(got) != 0 {
		t.Errorf("incomplete uploads left: %q", got)
	}
}

// TestS3LostAnswer puts a proxy in front of the server that forwards the
// publishing request (PUT, or POST of CompleteMultipartUpload) of a key once
// and then drops the connection instead of answering. minio-go retries; the
// retry gets 412 or NoSuchUpload; Create must see that the object is its own
// and succeed, not report ErrExists for its own write.
func TestS3LostAnswer(t *testing.T) {
	cfg := s3Config(t)
	if cfg.UseTLS {
		t.Skip("the proxy speaks plain HTTP")
	}
	target := &url.URL{Scheme: "http", Host: cfg.Endpoint}
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.Host = r.In.Host // the signature covers Host
	}}
	var mu sync.Mutex
	dropped := map[string]int{} // path: status the server answered and the client never saw
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		publish := r.Method == http.MethodPut && !q.Has("partNumber") || r.Method == http.MethodPost && q.Has("uploadId")
		mu.Lock()
		_, done := dropped[r.URL.Path]
		drop := publish && strings.Contains(r.URL.Path, "/lost-") && !done
		mu.Unlock()
		if !drop {
			if publish && strings.Contains(r.URL.Path, "/lost-") {
				rec := &statusRecorder{ResponseWriter: w}
				rp.ServeHTTP(rec, r)
				t.Logf("%s %s?%s after the dropped answer: %d", r.Method, r.URL.Path, r.URL.RawQuery, rec.code)
				return
			}
			rp.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		rp.ServeHTTP(rec, r)
		mu.Lock()
		dropped[r.URL.Path] = rec.Code
		mu.Unlock()
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		conn.Close()
	}))
	t.Cleanup(srv.Close) // after newS3's cleanup, which goes through it
	cfg.Endpoint = strings.TrimPrefix(srv.URL, "http://")
	s := newS3(t, cfg)

	tests := []struct {
		key  string
		n    int
		meta func([]byte) blob.Meta
	}{
		{"lost-single", 1000, func([]byte) blob.Meta { return blob.Meta{} }},
		{"lost-multipart", 2*blob.MinPartSize + 1, func(b []byte) blob.Meta { return blob.Meta{SHA256: blobtest.Digest(b)} }},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			data := blobtest.Bytes(3, tt.n)
			info, err := s.Create(t.Context(), tt.key, bytes.NewReader(data), -1, tt.meta(data))
			if err != nil {
				t.Fatalf("Create after a lost answer = %v, want nil", err)
			}
			mu.Lock()
			var answered []int
			for p, code := range dropped {
				if strings.HasSuffix(p, "/"+tt.key) {
					answered = append(answered, code)
				}
			}
			mu.Unlock()
			if len(answered) != 1 || answered[0] != http.StatusOK {
				t.Fatalf("dropped answers %v, want one 200", answered)
			}
			if info.SHA256 != blobtest.Digest(data) {
				t.Errorf("Create SHA256 = %s", info.SHA256)
			}
			if _, err := s.Create(t.Context(), tt.key, bytes.NewReader(data), -1, blob.Meta{}); !errors.Is(err, blob.ErrExists) {
				t.Errorf("a second Create = %v, want ErrExists", err)
			}
		})
	}
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}

type cancelAfter struct {
	r      *blobtest.Gen
	at, n  int64
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.n += int64(n); c.n >= c.at {
		c.cancel()
	}
	return n, err
}

// TestS3ConditionalWrites measures what the server does with If-None-Match
// through minio-go, request by request: what Store.Create relies on is
// asserted, the rest logged.
func TestS3ConditionalWrites(t *testing.T) {
	cfg := s3Config(t)
	c := rawClient(t, cfg)
	ctx := t.Context()
	if _, err := blob.NewS3(ctx, cfg); err != nil { // creates the bucket
		t.Fatal(err)
	}
	prefix := "probe-" + strings.ToLower(rand.Text()[:12]) + "/"
	t.Cleanup(func() {
		for o := range c.ListObjectsIter(context.Background(), cfg.Bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
			_ = c.RemoveObject(context.Background(), cfg.Bucket, o.Key, minio.RemoveObjectOptions{})
		}
		for _, k := range incompleteUploads(t, c, cfg.Bucket, prefix) {
			_ = c.RemoveIncompleteUpload(context.Background(), cfg.Bucket, k)
		}
	})
	cond := func() minio.PutObjectOptions {
		var o minio.PutObjectOptions
		o.SetMatchETagExcept("*")
		return o
	}
	put := func(key string, data []byte, opts minio.PutObjectOptions) error {
		_, err := c.PutObject(ctx, cfg.Bucket, prefix+key, bytes.NewReader(data), int64(len(data)), "", "", opts)
		return err
	}
	answer := func(err error) string {
		if err == nil {
			return "200 OK"
		}
		var er minio.ErrorResponse
		if errors.As(err, &er) {
			return fmt.Sprintf("%d %s", er.StatusCode, er.Code)
		}
		return err.Error()
	}
	part := bytes.Repeat([]byte("p"), blob.MinPartSize)
	mpu := func(key string, newOpts, completeOpts minio.PutObjectOptions, between func()) error {
		id, err := c.NewMultipartUpload(ctx, cfg.Bucket, prefix+key, newOpts)
		if err != nil {
			return fmt.Errorf("create: %w", err)
		}
		p, err := c.PutObjectPart(ctx, cfg.Bucket, prefix+key, id, 1, bytes.NewReader(part), int64(len(part)), minio.PutObjectPartOptions{})
		if err != nil {
			return fmt.Errorf("part: %w", err)
		}
		if between != nil {
			between()
		}
		_, err = c.CompleteMultipartUpload(ctx, cfg.Bucket, prefix+key, id, []minio.CompletePart{{PartNumber: 1, ETag: p.ETag}}, completeOpts)
		if err != nil {
			_ = c.AbortMultipartUpload(ctx, cfg.Bucket, prefix+key, id)
		}
		return err
	}
	mustPut := func(key string) {
		if err := put(key, []byte("first"), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	mustPut("a")
	err := put("a", []byte("second"), cond())
	t.Logf("PUT If-None-Match:* on an existing key: %s", answer(err))
	if !strings.Contains(answer(err), "412") {
		t.Errorf("conditional PUT of an existing key = %s, want 412", answer(err))
	}
	t.Logf("PUT without condition on an existing key: %s (overwrites)", answer(put("a", []byte("third"), minio.PutObjectOptions{})))

	mustPut("b")
	t.Logf("CreateMultipartUpload If-None-Match:* on an existing key, then Complete without it: %s",
		answer(mpu("b", cond(), minio.PutObjectOptions{}, nil)))
	mustPut("c")
	err = mpu("c", minio.PutObjectOptions{}, cond(), nil)
	t.Logf("CompleteMultipartUpload If-None-Match:* on an existing key: %s", answer(err))
	if !strings.Contains(answer(err), "412") {
		t.Errorf("conditional Complete of an existing key = %s, want 412", answer(err))
	}
	err = mpu("d", minio.PutObjectOptions{}, cond(), func() { mustPut("d") })
	t.Logf("CompleteMultipartUpload If-None-Match:* on a key created during the upload: %s", answer(err))
	if !strings.Contains(answer(err), "412") {
		t.Errorf("conditional Complete of a key created meanwhile = %s, want 412", answer(err))
	}

	// minio-go v7.4.1's own multipart PutObject sends the header on
	// CreateMultipartUpload only (completeUploadOpts drops it from Complete):
	// on a server that checks it at Complete, that overwrites. Store.Create
	// runs its own multipart upload through minio.Core for this reason.
	mustPut("e")
	big := bytes.Repeat([]byte("b"), blob.MinPartSize+1)
	o := cond()
	o.PartSize = blob.MinPartSize
	_, err = c.Client.PutObject(ctx, cfg.Bucket, prefix+"e", bytes.NewReader(big), int64(len(big)), o)
	t.Logf("minio-go Client.PutObject (multipart) with SetMatchETagExcept(\"*\") on an existing key: %s", answer(err))

	race := func(name string, create func(i int) error) {
		const writers = 8
		errs := make([]error, writers)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range writers {
			wg.Go(func() { <-start; errs[i] = create(i) })
		}
		close(start)
		wg.Wait()
		won, answers := 0, map[string]int{}
		for _, err := range errs {
			if err == nil {
				won++
			}
			answers[answer(err)]++
		}
		t.Logf("%d concurrent %s of one key: %v", writers, name, answers)
		if won != 1 {
			t.Errorf("%d concurrent %s: %d won, want 1", writers, name, won)
		}
	}
	race("conditional PUTs", func(i int) error { return put("race-put", []byte(fmt.Sprint(i)), cond()) })
	race("conditional multipart uploads", func(int) error { return mpu("race-mpu", minio.PutObjectOptions{}, cond(), nil) })
}

func TestS3ConfigValidate(t *testing.T) {
	ok := blob.S3Config{Endpoint: "127.0.0.1:7070", Bucket: "b", AccessKey: "a", SecretKey: "s"}
	tests := []struct {
		name string
		give func(c *blob.S3Config)
		want error
	}{
		{"ok", func(*blob.S3Config) {}, nil},
		{"part size", func(c *blob.S3Config) { c.PartSize = blob.MinPartSize }, nil},
		{"prefix", func(c *blob.S3Config) { c.Prefix = "lienthong/" }, nil},
		{"no endpoint", func(c *blob.S3Config) { c.Endpoint = "" }, blob.ErrInvalidConfig},
		{"scheme", func(c *blob.S3Config) { c.Endpoint = "http://127.0.0.1:7070" }, blob.ErrInvalidConfig},
		{"no bucket", func(c *blob.S3Config) { c.Bucket = "" }, blob.ErrInvalidConfig},
		{"no secret", func(c *blob.S3Config) { c.SecretKey = "" }, blob.ErrInvalidConfig},
		{"small part", func(c *blob.S3Config) { c.PartSize = 1 << 20 }, blob.ErrInvalidConfig},
		{"huge part", func(c *blob.S3Config) { c.PartSize = 6 << 30 }, blob.ErrInvalidConfig},
		{"prefix without slash", func(c *blob.S3Config) { c.Prefix = "lienthong" }, blob.ErrInvalidConfig},
		{"bad prefix", func(c *blob.S3Config) { c.Prefix = "../" }, blob.ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.give(&c)
			err := c.Validate()
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("Validate = %v, want %v", err, tt.want)
			}
			if tt.want != nil {
				if _, err := blob.NewS3(t.Context(), c); !errors.Is(err, tt.want) {
					t.Errorf("NewS3 = %v, want %v", err, tt.want)
				}
			}
		})
	}
}

func TestS3PingUnreachable(t *testing.T) {
	s, err := blob.NewS3(t.Context(), blob.S3Config{Endpoint: "127.0.0.1:1", Bucket: "b", AccessKey: "a", SecretKey: "s"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if err := s.Ping(ctx); err == nil {
		t.Error("Ping of a closed port succeeded")
	}
}

func TestSecretStringRedacts(t *testing.T) {
	const secret = "hunter2-very-secret"
	cfg := blob.S3Config{Endpoint: "e", Bucket: "b", AccessKey: "a", SecretKey: secret}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "cfg", cfg, "secret", cfg.SecretKey)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "cfg", cfg, "secret", cfg.SecretKey)
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"%v":   fmt.Sprintf("%v", cfg),
		"%+v":  fmt.Sprintf("%+v", cfg),
		"%#v":  fmt.Sprintf("%#v", cfg),
		"%s":   fmt.Sprintf("%s", cfg.SecretKey),
		"%q":   fmt.Sprintf("%q", cfg.SecretKey),
		"%x":   fmt.Sprintf("%x", cfg.SecretKey),
		"%d":   fmt.Sprintf("%d", cfg.SecretKey),
		"json": string(js),
		"slog": logged.String(),
	}
	for name, out := range outputs {
		if strings.Contains(out, secret) || strings.Contains(out, fmt.Sprintf("%x", secret)) {
			t.Errorf("%s shows the secret: %s", name, out)
		}
		if !strings.Contains(out, "REDACTED") {
			t.Errorf("%s does not say REDACTED: %s", name, out)
		}
	}
	if cfg.SecretKey.Reveal() != secret {
		t.Error("Reveal does not return the secret")
	}
}
