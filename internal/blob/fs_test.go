package blob_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/blob"
	"github.com/lienthong/lienthong/internal/blob/blobtest"
)

func newFS(t *testing.T) *blob.FS {
	t.Helper()
	s, err := blob.NewFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestFS(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store { return newFS(t) })
}

func TestFSLayout(t *testing.T) {
	dir := t.TempDir()
	s, err := blob.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	data := blobtest.Bytes(1, 1000)
	key := blob.PacketKey(blobtest.Digest([]byte("id")))
	if _, err := s.Create(t.Context(), key, bytes.NewReader(data), -1, blob.Meta{}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "objects", filepath.FromSlash(key)+"@blob"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(raw, data) || !bytes.HasSuffix(raw, []byte("LTBLOB1\n")) {
		t.Errorf("object file does not start with the bytes and end with the footer magic")
	}
	tmp, err := os.ReadDir(filepath.Join(dir, ".tmp"))
	if err != nil || len(tmp) != 0 {
		t.Errorf(".tmp holds %d entries (%v) after Create, want none", len(tmp), err)
	}
}

func TestFSCleansTemporaryFiles(t *testing.T) {
	dir := t.TempDir()
	first, err := blob.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, ".tmp")
	left := filepath.Join(tmp, "create-crashed")
	if err := os.WriteFile(left, []byte("half an object"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A live writer holds an flock on its temporary file.
	live := filepath.Join(tmp, "create-live")
	f, err := os.Create(live)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}

	s, err := blob.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := os.Stat(left); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("leftover temporary file: Stat = %v, want not exist", err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("a live writer's temporary file was removed: %v", err)
	}
}

func TestFSReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := blob.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	// A small object (in small.db) and a large one (a file).
	wants := map[string]blob.Info{}
	for key, n := range map[string]int{"re/open": 5000, "re/large": 100_000} {
		data := blobtest.Bytes(2, n)
		want, err := s.Create(t.Context(), key, bytes.NewReader(data), int64(len(data)), blob.Meta{ContentType: "text/plain"})
		if err != nil {
			t.Fatal(err)
		}
		wants[key] = want
	}
	// A second process cannot open the store while the first has it.
	if s3, err := blob.NewFS(dir); err == nil {
		s3.Close()
		t.Fatal("the store opened twice")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := blob.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	for key, want := range wants {
		got, err := s2.Stat(t.Context(), key)
		if err != nil || !got.Created.Equal(want.Created) || got.SHA256 != want.SHA256 || got.ContentType != want.ContentType || got.Size != want.Size {
			t.Errorf("Stat %s after reopen = %+v, %v; want %+v", key, got, err, want)
		}
	}
}

func TestFSCorruptObject(t *testing.T) {
	dir := t.TempDir()
	s, err := blob.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	// Larger than the small objects kept in small.db: a file.
	big := blobtest.Bytes(3, 20_000)
	if _, err := s.Create(ctx, "c/obj", bytes.NewReader(big), int64(len(big)), blob.Meta{}); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "objects", "c", "obj@blob")
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, fi.Size()-3); err != nil {
		t.Fatal(err)
	}
	sentinels := []error{blob.ErrNotFound, blob.ErrExists, blob.ErrInvalidKey, blob.ErrInvalidRange}
	check := func(op string, err error) {
		t.Helper()
		if err == nil {
			t.Errorf("%s of a corrupt object succeeded", op)
		}
		for _, s := range sentinels {
			if errors.Is(err, s) {
				t.Errorf("%s of a corrupt object = %v; a failing store must not answer %v", op, err, s)
			}
		}
	}
	_, err = s.Stat(ctx, "c/obj")
	check("Stat", err)
	_, _, err = s.Get(ctx, "c/obj", 0, -1)
	check("Get", err)
	check("List", s.List(ctx, "", func(blob.Info) error { return nil }))
}

func TestFSObjectAndPrefix(t *testing.T) {
	// S3 allows a key to be a prefix of another; so does FS, unlike a plain
	// file tree.
	s := newFS(t)
	ctx := t.Context()
	for _, k := range []string{"a/b/c", "a/b"} {
		if _, err := s.Create(ctx, k, bytes.NewReader([]byte(k)), -1, blob.Meta{}); err != nil {
			t.Fatalf("Create(%s): %v", k, err)
		}
	}
	var got []string
	if err := s.List(ctx, "a/", func(i blob.Info) error { got = append(got, i.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	if want := []string{"a/b", "a/b/c"}; !slices.Equal(got, want) {
		t.Errorf("List = %q, want %q", got, want)
	}
}

func TestFSIgnoresForeignFiles(t *testing.T) {
	dir := t.TempDir()
	s, err := blob.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "objects", "README"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	calls := 0
	if err := s.List(context.Background(), "", func(blob.Info) error { calls++; return nil }); err != nil || calls != 0 {
		t.Errorf("List = %v with %d calls, want nothing", err, calls)
	}
}

// Small objects (in small.db) and files list together in key order, and
// a List callback may write to the store.
func TestFSListMergesSmallAndLarge(t *testing.T) {
	s := newFS(t)
	ctx := t.Context()
	sizes := map[string]int{
		"m/a": 10, "m/b": 40_000, "m/b/c": 10, "m/b-x": 40_000, "m/c": 10, "m/d/e": 40_000, "m/d/f": 10,
		"m/e": 40_000, "n/z": 10,
	}
	for k, n := range sizes {
		data := blobtest.Bytes(byte(len(k)), n)
		if _, err := s.Create(ctx, k, bytes.NewReader(data), int64(n), blob.Meta{}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	err := s.List(ctx, "m/", func(i blob.Info) error {
		got = append(got, i.Key)
		if i.Size != int64(sizes[i.Key]) {
			t.Errorf("%s: size %d, want %d", i.Key, i.Size, sizes[i.Key])
		}
		// Writing while listing must not deadlock.
		_, err := s.Create(ctx, "w/"+i.Key, bytes.NewReader([]byte("x")), 1, blob.Meta{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"m/a", "m/b", "m/b-x", "m/b/c", "m/c", "m/d/e", "m/d/f", "m/e"}
	if !slices.Equal(got, want) {
		t.Errorf("List(m/) = %v, want %v", got, want)
	}
	// A small and a large object cannot share a key.
	if _, err := s.Create(ctx, "m/b", bytes.NewReader([]byte("x")), 1, blob.Meta{}); !errors.Is(err, blob.ErrExists) {
		t.Errorf("a small object over a large one: %v", err)
	}
	big := blobtest.Bytes(9, 40_000)
	if _, err := s.Create(ctx, "m/a", bytes.NewReader(big), int64(len(big)), blob.Meta{}); !errors.Is(err, blob.ErrExists) {
		t.Errorf("a large object over a small one: %v", err)
	}
}

// Listing more small objects than are read at a time misses none.
func TestFSListManySmall(t *testing.T) {
	s := newFS(t)
	ctx := t.Context()
	var want []string
	for i := range 700 {
		k := fmt.Sprintf("many/%04d", i)
		want = append(want, k)
		if _, err := s.Create(ctx, k, bytes.NewReader([]byte("x")), 1, blob.Meta{}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	if err := s.List(ctx, "many/", func(i blob.Info) error { got = append(got, i.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("listed %d, want %d in order", len(got), len(want))
	}
}

// slowReader hands out its bytes after a pause, so a Create stays open.
type slowReader struct {
	r     io.Reader
	pause time.Duration
	once  sync.Once
}

func (s *slowReader) Read(p []byte) (int, error) {
	s.once.Do(func() { time.Sleep(s.pause) })
	return s.r.Read(p)
}

// A small and a large Create of one key racing: exactly one wins, and the
// key lists once.
func TestFSSmallLargeRace(t *testing.T) {
	s := newFS(t)
	ctx := t.Context()
	big := blobtest.Bytes(5, 64<<10)
	var wg sync.WaitGroup
	var errLarge, errSmall error
	wg.Go(func() {
		_, errLarge = s.Create(ctx, "race/k", &slowReader{r: bytes.NewReader(big), pause: 200 * time.Millisecond}, int64(len(big)), blob.Meta{})
	})
	time.Sleep(50 * time.Millisecond) // the large Create is past its early checks
	_, errSmall = s.Create(ctx, "race/k", bytes.NewReader([]byte("small")), 5, blob.Meta{})
	wg.Wait()
	if (errLarge == nil) == (errSmall == nil) {
		t.Fatalf("large: %v, small: %v; want exactly one to win", errLarge, errSmall)
	}
	for _, err := range []error{errLarge, errSmall} {
		if err != nil && !errors.Is(err, blob.ErrExists) {
			t.Fatalf("the loser failed with %v, want ErrExists", err)
		}
	}
	n := 0
	if err := s.List(ctx, "race/", func(blob.Info) error { n++; return nil }); err != nil || n != 1 {
		t.Fatalf("listed %d (%v), want 1", n, err)
	}
	if err := s.Delete(ctx, "race/k"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(ctx, "race/k"); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("after Delete: %v", err)
	}
}
