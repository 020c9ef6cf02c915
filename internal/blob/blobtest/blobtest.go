// Package blobtest is the acceptance suite of blob.Store: every
// implementation runs it (objstore's AcceptanceTest, watermill's
// TestPubSub). It checks the contract written on blob.Store.
package blobtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/blob"
)

// Sizes the suite uses.
const (
	// Large exceeds blob.DefaultPartSize, so that an S3 store streams it in
	// parts whatever its part size.
	Large = 20 << 20
	// Stream is the size of the flat-memory test (skipped with -short).
	Stream = 300_000_000
	// MaxHeapGrowth bounds the growth of the live heap while Stream bytes
	// pass.
	MaxHeapGrowth = 64 << 20
)

// Run runs the suite; newStore returns an empty store for each subtest.
func Run(t *testing.T, newStore func(t *testing.T) blob.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(*testing.T, blob.Store)
	}{
		{"CreateGetStat", testCreateGetStat},
		{"Range", testRange},
		{"List", testList},
		{"Delete", testDelete},
		{"NotFound", testNotFound},
		{"Exists", testExists},
		{"DigestMismatch", testDigestMismatch},
		{"SizeMismatch", testSizeMismatch},
		{"ReaderError", testReaderError},
		{"ConcurrentCreate", testConcurrentCreate},
		{"CancelMidUpload", testCancel},
		{"InvalidKeys", testInvalidKeys},
		{"Ping", testPing},
		{"Close", testClose},
		{"Stream300MB", testStream},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newStore(t)) })
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// Gen is a deterministic pseudo-random stream of a given length that hashes
// what it hands out.
type Gen struct {
	r    *rand.ChaCha8
	left int64
	h    hash.Hash
}

// NewGen returns the stream of n bytes for seed.
func NewGen(seed byte, n int64) *Gen {
	var s [32]byte
	s[0] = seed
	return &Gen{r: rand.NewChaCha8(s), left: n, h: sha256.New()}
}

func (g *Gen) Read(p []byte) (int, error) {
	if g.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > g.left {
		p = p[:g.left]
	}
	g.r.Read(p)
	g.h.Write(p)
	g.left -= int64(len(p))
	return len(p), nil
}

// Sum is the hex SHA-256 of what was read so far.
func (g *Gen) Sum() string { return hex.EncodeToString(g.h.Sum(nil)) }

// Bytes returns the n bytes of the stream for seed.
func Bytes(seed byte, n int) []byte {
	b, _ := io.ReadAll(NewGen(seed, int64(n)))
	return b
}

// Digest is the lowercase hex SHA-256 of b.
func Digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// digestOf returns the digest of the n bytes of the stream for seed.
func digestOf(seed byte, n int64) string {
	g := NewGen(seed, n)
	if _, err := io.Copy(io.Discard, g); err != nil {
		panic(err)
	}
	return g.Sum()
}

// onlyReader hides any method but Read (Len, Seek, WriteTo).
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

func create(t *testing.T, s blob.Store, key string, data []byte, meta blob.Meta) blob.Info {
	t.Helper()
	info, err := s.Create(testCtx(t), key, bytes.NewReader(data), int64(len(data)), meta)
	if err != nil {
		t.Fatalf("Create(%s): %v", key, err)
	}
	return info
}

// closeIt closes a reader the store returned; a failing Close fails the test.
func closeIt(t *testing.T, c io.Closer) {
	t.Helper()
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func get(t *testing.T, s blob.Store, key string, off, n int64) ([]byte, blob.Info) {
	t.Helper()
	rc, info, err := s.Get(testCtx(t), key, off, n)
	if err != nil {
		t.Fatalf("Get(%s, %d, %d): %v", key, off, n, err)
	}
	defer closeIt(t, rc)
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("Get(%s, %d, %d): read: %v", key, off, n, err)
	}
	return b, info
}

// wantGone checks that key is not visible to Stat, Get and List.
func wantGone(t *testing.T, s blob.Store, key string) {
	t.Helper()
	ctx := testCtx(t)
	if _, err := s.Stat(ctx, key); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Stat(%s) = %v, want ErrNotFound", key, err)
	}
	if rc, _, err := s.Get(ctx, key, 0, -1); !errors.Is(err, blob.ErrNotFound) {
		if rc != nil {
			closeIt(t, rc)
		}
		t.Errorf("Get(%s) = %v, want ErrNotFound", key, err)
	}
	if keys := listKeys(t, s, key); slices.Contains(keys, key) {
		t.Errorf("List(%s) = %q, want no %s", key, keys, key)
	}
}

func listKeys(t *testing.T, s blob.Store, prefix string) []string {
	t.Helper()
	var keys []string
	err := s.List(testCtx(t), prefix, func(i blob.Info) error {
		keys = append(keys, i.Key)
		return nil
	})
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	return keys
}

// sameObject compares the parts of two Infos that every call returns.
func sameObject(t *testing.T, what string, got, want blob.Info) {
	t.Helper()
	if got.Key != want.Key || got.Size != want.Size || got.SHA256 != want.SHA256 || got.ContentType != want.ContentType {
		t.Errorf("%s = %+v, want %+v", what, got, want)
	}
}

// recent checks a Created time; S3 keeps whole seconds.
func recent(t *testing.T, what string, got, from, to time.Time) {
	t.Helper()
	if got.Before(from.Add(-2*time.Second)) || got.After(to.Add(2*time.Second)) {
		t.Errorf("%s Created = %v, want within [%v, %v]", what, got, from, to)
	}
}

func testCreateGetStat(t *testing.T, s blob.Store) {
	tests := []struct {
		name     string
		give     []byte
		size     func(int) int64
		meta     blob.Meta
		wantType string
	}{
		{"known size", Bytes(1, 10_000), func(n int) int64 { return int64(n) }, blob.Meta{ContentType: "application/xml"}, "application/xml"},
		{"unknown size", Bytes(2, 70_000), func(int) int64 { return -1 }, blob.Meta{ContentType: "application/json"}, "application/json"},
		{"default type", Bytes(3, 100), func(n int) int64 { return int64(n) }, blob.Meta{}, "application/octet-stream"},
		{"empty", nil, func(int) int64 { return 0 }, blob.Meta{}, "application/octet-stream"},
		{"empty unknown size", nil, func(int) int64 { return -1 }, blob.Meta{}, "application/octet-stream"},
		{"expected digest", Bytes(4, 5000), func(n int) int64 { return int64(n) }, blob.Meta{SHA256: Digest(Bytes(4, 5000))}, "application/octet-stream"},
		{"large", Bytes(5, Large+5), func(n int) int64 { return int64(n) }, blob.Meta{ContentType: "application/xml"}, "application/xml"},
		{"large unknown size", Bytes(6, Large+6), func(int) int64 { return -1 }, blob.Meta{ContentType: "text/xml"}, "text/xml"},
		{"large expected digest", Bytes(7, Large+7), func(int) int64 { return -1 }, blob.Meta{ContentType: "text/xml", SHA256: Digest(Bytes(7, Large+7))}, "text/xml"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			key := fmt.Sprintf("packets/%02d/obj-%d.bin", i, i)
			want := blob.Info{Key: key, Size: int64(len(tt.give)), SHA256: Digest(tt.give), ContentType: tt.wantType}
			from := time.Now()
			info, err := s.Create(ctx, key, onlyReader{bytes.NewReader(tt.give)}, tt.size(len(tt.give)), tt.meta)
			to := time.Now()
			if err != nil {
				t.Fatalf("Create: %v", err)
			}
			sameObject(t, "Create", info, want)
			recent(t, "Create", info.Created, from, to)

			st, err := s.Stat(ctx, key)
			if err != nil {
				t.Fatalf("Stat: %v", err)
			}
			sameObject(t, "Stat", st, want)
			recent(t, "Stat", st.Created, from, to)

			got, gi := get(t, s, key, 0, -1)
			if !bytes.Equal(got, tt.give) {
				t.Errorf("Get returned %d bytes that differ from the %d created", len(got), len(tt.give))
			}
			sameObject(t, "Get", gi, want)
		})
	}
}

func testRange(t *testing.T, s blob.Store) {
	data := Bytes(5, 1000)
	create(t, s, "r/full", data, blob.Meta{})
	create(t, s, "r/empty", nil, blob.Meta{})
	tests := []struct {
		key      string
		off, n   int64
		from, to int
		wantErr  error
	}{
		{key: "r/full", off: 0, n: -1, from: 0, to: 1000},
		{key: "r/full", off: 0, n: 10, from: 0, to: 10},
		{key: "r/full", off: 10, n: 1, from: 10, to: 11},
		{key: "r/full", off: 990, n: -1, from: 990, to: 1000},
		{key: "r/full", off: 990, n: 100, from: 990, to: 1000},
		{key: "r/full", off: 999, n: 1, from: 999, to: 1000},
		{key: "r/full", off: 500, n: 0, from: 500, to: 500},
		{key: "r/full", off: 1000, n: -1, from: 1000, to: 1000},
		{key: "r/full", off: 1000, n: 5, from: 1000, to: 1000},
		{key: "r/full", off: 1001, n: -1, wantErr: blob.ErrInvalidRange},
		{key: "r/full", off: 2000, n: 10, wantErr: blob.ErrInvalidRange},
		{key: "r/full", off: -1, n: 5, wantErr: blob.ErrInvalidRange},
		{key: "r/full", off: 0, n: -2, wantErr: blob.ErrInvalidRange},
		{key: "r/empty", off: 0, n: -1},
		{key: "r/empty", off: 0, n: 5},
		{key: "r/empty", off: 1, n: -1, wantErr: blob.ErrInvalidRange},
		{key: "r/missing", off: 5, n: 5, wantErr: blob.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s[%d,%d]", tt.key, tt.off, tt.n), func(t *testing.T) {
			rc, info, err := s.Get(testCtx(t), tt.key, tt.off, tt.n)
			if tt.wantErr != nil {
				if rc != nil {
					closeIt(t, rc)
				}
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Get = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			defer closeIt(t, rc)
			got, err := io.ReadAll(rc)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			var want []byte
			if tt.key == "r/full" {
				want = data[tt.from:tt.to]
			}
			if !bytes.Equal(got, want) {
				t.Errorf("got %d bytes, want bytes [%d:%d]", len(got), tt.from, tt.to)
			}
			if wantSize := int64(len(data)); tt.key == "r/full" && info.Size != wantSize {
				t.Errorf("Info.Size = %d, want the object's %d", info.Size, wantSize)
			}
		})
	}
}

func testList(t *testing.T, s blob.Store) {
	// Byte order puts '-' and '.' before '/', and '/' before '0': a walk of
	// directories in name order would get this wrong.
	keys := []string{"list/b", "list/a-x", "list/a.c", "list/a/b", "list/a/c/d", "list/a0", "listz", "lis", "list/a/c/d0"}
	for i, k := range keys {
		create(t, s, k, Bytes(byte(i), i+1), blob.Meta{})
	}
	sorted := slices.Sorted(slices.Values(keys))
	tests := []struct {
		give string
		want []string
	}{
		{"", sorted},
		{"list/", []string{"list/a-x", "list/a.c", "list/a/b", "list/a/c/d", "list/a/c/d0", "list/a0", "list/b"}},
		{"list/a", []string{"list/a-x", "list/a.c", "list/a/b", "list/a/c/d", "list/a/c/d0", "list/a0"}},
		{"list/a/", []string{"list/a/b", "list/a/c/d", "list/a/c/d0"}},
		{"list/a/c/d", []string{"list/a/c/d", "list/a/c/d0"}},
		{"list", []string{"list/a-x", "list/a.c", "list/a/b", "list/a/c/d", "list/a/c/d0", "list/a0", "list/b", "listz"}},
		{"nothing/", nil},
		{"list/b/", nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("prefix %q", tt.give), func(t *testing.T) {
			var got []string
			err := s.List(testCtx(t), tt.give, func(i blob.Info) error {
				got = append(got, i.Key)
				if want := int64(slices.Index(keys, i.Key) + 1); i.Size != want {
					t.Errorf("%s: Size = %d, want %d", i.Key, i.Size, want)
				}
				if i.Created.IsZero() {
					t.Errorf("%s: Created is zero", i.Key)
				}
				return nil
			})
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("List(%q) = %q, want %q", tt.give, got, tt.want)
			}
		})
	}
	t.Run("stop", func(t *testing.T) {
		errStop := errors.New("stop")
		calls := 0
		err := s.List(testCtx(t), "list/", func(blob.Info) error {
			calls++
			if calls == 2 {
				return errStop
			}
			return nil
		})
		if !errors.Is(err, errStop) || calls != 2 {
			t.Errorf("List = %v after %d calls, want the callback's error after 2", err, calls)
		}
	})
	t.Run("bad prefix", func(t *testing.T) {
		err := s.List(testCtx(t), "a b", func(blob.Info) error { return nil })
		if !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("List(\"a b\") = %v, want ErrInvalidKey", err)
		}
	})
}

func testDelete(t *testing.T, s blob.Store) {
	ctx := testCtx(t)
	create(t, s, "d/one", Bytes(1, 100), blob.Meta{})
	create(t, s, "d/two", Bytes(2, 100), blob.Meta{})
	if err := s.Delete(ctx, "d/one"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantGone(t, s, "d/one")
	if got := listKeys(t, s, "d/"); !slices.Equal(got, []string{"d/two"}) {
		t.Errorf("List after Delete = %q, want [d/two]", got)
	}
	if err := s.Delete(ctx, "d/one"); err != nil {
		t.Errorf("second Delete = %v, want nil", err)
	}
	if err := s.Delete(ctx, "d/never/was"); err != nil {
		t.Errorf("Delete of a missing key = %v, want nil", err)
	}
	again := Bytes(3, 50)
	create(t, s, "d/one", again, blob.Meta{})
	if got, _ := get(t, s, "d/one", 0, -1); !bytes.Equal(got, again) {
		t.Error("Create after Delete: Get returns other bytes")
	}
}

func testNotFound(t *testing.T, s blob.Store) {
	wantGone(t, s, "nf/missing")
	create(t, s, "nf/a/b", Bytes(1, 10), blob.Meta{})
	wantGone(t, s, "nf/a") // a prefix of an object is not an object
}

func testExists(t *testing.T, s blob.Store) {
	ctx := testCtx(t)
	first := Bytes(1, 3000)
	want := create(t, s, "x/obj", first, blob.Meta{ContentType: "text/plain"})
	tests := []struct {
		name string
		give []byte
		meta blob.Meta
	}{
		{"other bytes", Bytes(2, 3000), blob.Meta{}},
		{"same bytes", first, blob.Meta{ContentType: "text/plain"}},
		{"other bytes, expected digest", Bytes(3, 10), blob.Meta{SHA256: Digest(Bytes(3, 10))}},
		{"large", Bytes(4, Large+1), blob.Meta{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Create(ctx, "x/obj", bytes.NewReader(tt.give), int64(len(tt.give)), tt.meta)
			if !errors.Is(err, blob.ErrExists) {
				t.Fatalf("second Create = %v, want ErrExists", err)
			}
			st, err := s.Stat(ctx, "x/obj")
			if err != nil {
				t.Fatalf("Stat: %v", err)
			}
			sameObject(t, "Stat", st, want)
			if got, _ := get(t, s, "x/obj", 0, -1); !bytes.Equal(got, first) {
				t.Error("the object changed")
			}
		})
	}
}

func testDigestMismatch(t *testing.T, s blob.Store) {
	tests := []struct {
		name string
		seed byte
		n    int64
		size func(int64) int64
	}{
		{"small", 1, 5000, func(n int64) int64 { return n }},
		{"small unknown size", 2, 5000, func(int64) int64 { return -1 }},
		{"large", 3, Large, func(n int64) int64 { return n }},
		{"large unknown size", 4, Large, func(int64) int64 { return -1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			key := "dm/" + strings.ReplaceAll(tt.name, " ", "-")
			wrong := digestOf(tt.seed+100, tt.n)
			_, err := s.Create(ctx, key, NewGen(tt.seed, tt.n), tt.size(tt.n), blob.Meta{SHA256: wrong})
			if !errors.Is(err, blob.ErrDigestMismatch) {
				t.Fatalf("Create with a wrong digest = %v, want ErrDigestMismatch", err)
			}
			wantGone(t, s, key)

			right := digestOf(tt.seed, tt.n)
			info, err := s.Create(ctx, key, NewGen(tt.seed, tt.n), tt.size(tt.n), blob.Meta{SHA256: right})
			if err != nil {
				t.Fatalf("Create with the right digest: %v", err)
			}
			if info.SHA256 != right || info.Size != tt.n {
				t.Errorf("Create = %+v, want size %d sha256 %s", info, tt.n, right)
			}
			if st, err := s.Stat(ctx, key); err != nil || st.SHA256 != right {
				t.Errorf("Stat = %+v, %v; want sha256 %s", st, err, right)
			}
		})
	}
	t.Run("malformed", func(t *testing.T) {
		for _, give := range []string{"abc", strings.Repeat("A", 64), strings.Repeat("g", 64)} {
			_, err := s.Create(testCtx(t), "dm/malformed", bytes.NewReader(nil), 0, blob.Meta{SHA256: give})
			if !errors.Is(err, blob.ErrInvalidMeta) {
				t.Errorf("Create with SHA256 %q = %v, want ErrInvalidMeta", give, err)
			}
		}
		wantGone(t, s, "dm/malformed")
	})
}

func testSizeMismatch(t *testing.T, s blob.Store) {
	tests := []struct {
		name       string
		give, size int64
	}{
		{"short", 50, 100},
		{"long", 100, 50},
		{"long by one", 101, 100},
		{"empty declared", 1, 0},
		{"large short", Large - 1, Large},
		{"large long", Large + 1, Large},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := "sm/" + strings.ReplaceAll(tt.name, " ", "-")
			_, err := s.Create(testCtx(t), key, NewGen(1, tt.give), tt.size, blob.Meta{})
			if !errors.Is(err, blob.ErrSizeMismatch) {
				t.Fatalf("Create(%d bytes, size %d) = %v, want ErrSizeMismatch", tt.give, tt.size, err)
			}
			wantGone(t, s, key)
		})
	}
}

// failingReader fails after n bytes.
type failingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, f.err
	}
	if int64(len(p)) > f.n {
		p = p[:f.n]
	}
	n, err := f.r.Read(p)
	f.n -= int64(n)
	return n, err
}

func testReaderError(t *testing.T, s blob.Store) {
	errBoom := errors.New("boom")
	for _, n := range []int64{0, 1000, Large + 1000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			key := fmt.Sprintf("re/%d", n)
			_, err := s.Create(testCtx(t), key, &failingReader{r: NewGen(1, 1<<40), n: n, err: errBoom}, -1, blob.Meta{})
			if !errors.Is(err, errBoom) {
				t.Fatalf("Create = %v, want the reader's error", err)
			}
			wantGone(t, s, key)
		})
	}
}

func testConcurrentCreate(t *testing.T, s blob.Store) {
	const writers = 8
	tests := []struct {
		name    string
		size    int
		same    bool
		skipped bool
	}{
		{name: "small", size: 4096},
		{name: "small same bytes", size: 4096, same: true},
		{name: "parts", size: 6 << 20, skipped: testing.Short()}, // above S3's 5 MiB minimum part
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.skipped {
				t.Skip("-short")
			}
			ctx := testCtx(t)
			key := "cc/" + strings.ReplaceAll(tt.name, " ", "-")
			payloads := make([][]byte, writers)
			for i := range payloads {
				seed := byte(i + 1)
				if tt.same {
					seed = 1
				}
				payloads[i] = Bytes(seed, tt.size+i%2)
			}
			errs := make([]error, writers)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range writers {
				wg.Go(func() {
					<-start
					_, errs[i] = s.Create(ctx, key, bytes.NewReader(payloads[i]), int64(len(payloads[i])), blob.Meta{})
				})
			}
			close(start)
			wg.Wait()
			winner := -1
			for i, err := range errs {
				switch {
				case err == nil && winner >= 0:
					t.Errorf("writers %d and %d both won", winner, i)
				case err == nil:
					winner = i
				case !errors.Is(err, blob.ErrExists):
					t.Errorf("writer %d: %v, want nil or ErrExists", i, err)
				}
			}
			if winner < 0 {
				t.Fatal("no writer won")
			}
			got, info := get(t, s, key, 0, -1)
			if !bytes.Equal(got, payloads[winner]) {
				t.Errorf("stored %d bytes are not the winner's payload whole", len(got))
			}
			if info.SHA256 != Digest(payloads[winner]) {
				t.Errorf("stored SHA256 %s is not the winner's", info.SHA256)
			}
		})
	}
}

// cancellingReader cancels its context once it has handed out at bytes, and
// goes on: the store must notice the context, not the reader.
type cancellingReader struct {
	r      io.Reader
	at     int64
	n      int64
	cancel context.CancelFunc
}

func (c *cancellingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n >= c.at {
		c.cancel()
	}
	return n, err
}

func testCancel(t *testing.T, s blob.Store) {
	tests := []struct {
		name     string
		n, at    int64
		size     int64
		digest   bool
		canceled bool // before Create
	}{
		{name: "before", n: 1000, size: 1000, canceled: true},
		{name: "small", n: 64 << 10, at: 1 << 10, size: -1},
		{name: "large", n: Large, at: 12 << 20, size: -1},
		{name: "large with digest", n: Large, at: 12 << 20, size: Large, digest: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := "cancel/" + strings.ReplaceAll(tt.name, " ", "-")
			ctx, cancel := context.WithCancel(testCtx(t))
			defer cancel()
			var meta blob.Meta
			if tt.digest {
				meta.SHA256 = digestOf(1, tt.n)
			}
			var r io.Reader = &cancellingReader{r: NewGen(1, tt.n), at: tt.at, cancel: cancel}
			if tt.canceled {
				cancel()
				r = NewGen(1, tt.n)
			}
			_, err := s.Create(ctx, key, r, tt.size, meta)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Create = %v, want context.Canceled", err)
			}
			wantGone(t, s, key)
		})
	}
}

func testInvalidKeys(t *testing.T, s blob.Store) {
	ctx := testCtx(t)
	bad := []string{
		"", "/a", "a/", "a//b", "..", "../a", "a/../b", "a/..", "a..b", ".", "./a", "a/./b",
		"a b", "a\x00b", "a\\b", "ä", "a?b", "a*", "a%2F", "a:b", "a\nb",
		strings.Repeat("a", blob.MaxKeyLen+1),
		strings.Repeat("a", blob.MaxSegmentLen+1),
	}
	for _, key := range bad {
		if _, err := s.Create(ctx, key, bytes.NewReader([]byte("x")), 1, blob.Meta{}); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("Create(%q) = %v, want ErrInvalidKey", key, err)
		}
		if rc, _, err := s.Get(ctx, key, 0, -1); !errors.Is(err, blob.ErrInvalidKey) {
			if rc != nil {
				closeIt(t, rc)
			}
			t.Errorf("Get(%q) = %v, want ErrInvalidKey", key, err)
		}
		if _, err := s.Stat(ctx, key); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("Stat(%q) = %v, want ErrInvalidKey", key, err)
		}
		if err := s.Delete(ctx, key); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("Delete(%q) = %v, want ErrInvalidKey", key, err)
		}
	}
	if keys := listKeys(t, s, ""); len(keys) != 0 {
		t.Errorf("invalid keys left objects: %q", keys)
	}

	long := strings.Repeat(strings.Repeat("k", blob.MaxSegmentLen)+"/", blob.MaxKeyLen/(blob.MaxSegmentLen+1))
	long += strings.Repeat("z", blob.MaxKeyLen-len(long))
	good := []string{"a", "A-Z_a.z-0/9", "a.b", "x/.hidden", "-/_/.x", long}
	for _, key := range good {
		create(t, s, key, []byte(key), blob.Meta{})
		if got, _ := get(t, s, key, 0, -1); string(got) != key {
			t.Errorf("Get(%q) = %q", key, got)
		}
	}
}

func testPing(t *testing.T, s blob.Store) {
	if err := s.Ping(testCtx(t)); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

// testClose closes a store that was used: what it held open (a file, a
// connection) is released without error.
func testClose(t *testing.T, s blob.Store) {
	ctx := testCtx(t)
	for key, n := range map[string]int{"close/small": 100, "close/large": 100_000} {
		data := Bytes(3, n)
		if _, err := s.Create(ctx, key, bytes.NewReader(data), int64(n), blob.Meta{}); err != nil {
			t.Fatal(err)
		}
		rc, _, err := s.Get(ctx, key, 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			t.Fatal(err)
		}
		if err := rc.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// heapGrowth runs f and returns how far the live heap (runtime/metrics
// /gc/heap/live:bytes, sampled every 2 ms) grew above its size before f, and
// the same for all heap objects, garbage not yet collected included, which
// depends on GC pacing and is only reported. When no GC ran during f, the
// live heap was not measured and the second figure is both.
func heapGrowth(f func()) (live, objects uint64) {
	names := []string{"/gc/heap/live:bytes", "/memory/classes/heap/objects:bytes", "/gc/cycles/total:gc-cycles"}
	read := func() [3]uint64 {
		s := make([]metrics.Sample, len(names))
		for i, n := range names {
			s[i].Name = n
		}
		metrics.Read(s)
		return [3]uint64{s[0].Value.Uint64(), s[1].Value.Uint64(), s[2].Value.Uint64()}
	}
	runtime.GC()
	base := read()
	var peakLive, peakObjects atomic.Uint64
	sample := func() [3]uint64 {
		v := read()
		if v[0] > peakLive.Load() {
			peakLive.Store(v[0])
		}
		if v[1] > peakObjects.Load() {
			peakObjects.Store(v[1])
		}
		return v
	}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			sample()
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	f()
	close(stop)
	<-done
	end := sample()
	grow := func(peak, base uint64) uint64 { return max(peak, base) - base }
	objects = grow(peakObjects.Load(), base[1])
	if end[2] == base[2] {
		return objects, objects
	}
	return grow(peakLive.Load(), base[0]), objects
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }

func testStream(t *testing.T, s blob.Store) {
	if testing.Short() {
		t.Skip("-short: 300 MB")
	}
	ctx := testCtx(t)
	const key = "stream/300MB"
	gen := NewGen(7, Stream)
	var info blob.Info
	var err error
	start := time.Now()
	grew, all := heapGrowth(func() { info, err = s.Create(ctx, key, onlyReader{gen}, -1, blob.Meta{}) })
	took := time.Since(start)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	t.Logf("Create of %d bytes (size unknown): %v, %.0f MB/s, live heap grew %.1f MiB (all heap objects %.1f MiB)",
		Stream, took.Round(time.Millisecond), Stream/took.Seconds()/1e6, mib(grew), mib(all))
	if grew > MaxHeapGrowth {
		t.Errorf("live heap grew %.1f MiB during Create, want under %d MiB", mib(grew), MaxHeapGrowth>>20)
	}
	if info.Size != Stream || info.SHA256 != gen.Sum() {
		t.Errorf("Create = size %d sha256 %s, want %d %s", info.Size, info.SHA256, int64(Stream), gen.Sum())
	}

	h := sha256.New()
	var n int64
	start = time.Now()
	grew, all = heapGrowth(func() {
		var rc io.ReadCloser
		rc, _, err = s.Get(ctx, key, 0, -1)
		if err != nil {
			return
		}
		defer closeIt(t, rc)
		n, err = io.Copy(h, rc)
	})
	took = time.Since(start)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	t.Logf("Get: %v, %.0f MB/s, live heap grew %.1f MiB (all heap objects %.1f MiB)",
		took.Round(time.Millisecond), Stream/took.Seconds()/1e6, mib(grew), mib(all))
	if grew > MaxHeapGrowth {
		t.Errorf("live heap grew %.1f MiB during Get, want under %d MiB", mib(grew), MaxHeapGrowth>>20)
	}
	if got := hex.EncodeToString(h.Sum(nil)); n != Stream || got != gen.Sum() {
		t.Errorf("Get returned %d bytes with sha256 %s, want %d %s", n, got, int64(Stream), gen.Sum())
	}
	if err := s.Delete(ctx, key); err != nil {
		t.Errorf("Delete: %v", err)
	}
}
