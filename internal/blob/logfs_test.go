package blob_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/blob"
	"github.com/lienthong/lienthong/internal/blob/blobtest"
	"github.com/lienthong/lienthong/internal/testwait"
)

func newLog(t *testing.T) *blob.Log {
	t.Helper()
	s, err := blob.NewLog(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLog(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store { return newLog(t) })
}

// TestLogSmallSegments runs the suite with segments that roll every few
// objects.
func TestLogSmallSegments(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store {
		s, err := blob.OpenLogSegMax(t.TempDir(), 64<<10)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func segFiles(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "segments"))
	if err != nil {
		t.Fatal(err)
	}
	sizes := map[string]int64{}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		sizes[e.Name()] = fi.Size()
	}
	return sizes
}

func wantWhole(t *testing.T, s blob.Store, key string, want []byte) {
	t.Helper()
	rc, info, err := s.Get(t.Context(), key, 0, -1)
	if err != nil {
		t.Errorf("Get(%s): %v", key, err)
		return
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil || !bytes.Equal(got, want) || info.SHA256 != blobtest.Digest(want) {
		t.Errorf("Get(%s) = %d bytes, sha256 %s, %v; want %d bytes, %s", key, len(got), info.SHA256, err, len(want), blobtest.Digest(want))
	}
}

func TestLogTornTail(t *testing.T) {
	dir := t.TempDir()
	s, err := blob.NewLog(dir)
	if err != nil {
		t.Fatal(err)
	}
	data := blobtest.Bytes(1, 5000)
	if _, err := s.Create(t.Context(), "torn/a", bytes.NewReader(data), int64(len(data)), blob.Meta{}); err != nil {
		t.Fatal(err)
	}
	// A second process cannot open the store while the first has it.
	if s2, err := blob.NewLog(dir); err == nil {
		s2.Close()
		t.Fatal("the store opened twice")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	committed := segFiles(t, dir)["000001.seg"]
	// A batch written but not committed when the process died, and a
	// segment rolled to but never committed.
	seg := filepath.Join(dir, "segments", "000001.seg")
	f, err := os.OpenFile(seg, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("LTR1 half a record")); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := os.WriteFile(filepath.Join(dir, "segments", "000002.seg"), []byte("LTR1"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "files", "obj-123"), []byte("uncommitted"), 0o600); err != nil {
		t.Fatal(err)
	}

	s, err = blob.NewLog(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := segFiles(t, dir); len(got) != 1 || got["000001.seg"] != committed {
		t.Errorf("segments after reopen = %v, want only 000001.seg of %d bytes", got, committed)
	}
	if _, err := os.Stat(filepath.Join(dir, "files", "obj-123")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an uncommitted file survived the reopen: %v", err)
	}
	more := blobtest.Bytes(2, 7000)
	if _, err := s.Create(t.Context(), "torn/b", bytes.NewReader(more), int64(len(more)), blob.Meta{}); err != nil {
		t.Fatal(err)
	}
	wantWhole(t, s, "torn/a", data)
	wantWhole(t, s, "torn/b", more)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestLogTailSegmentGone reopens a store whose committed tail segment was
// removed (Compact removes a sealed segment of dead records even when the
// batch that rolled past it failed to commit).
func TestLogTailSegmentGone(t *testing.T) {
	dir := t.TempDir()
	s, err := blob.NewLog(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(t.Context(), "gone/a", strings.NewReader("abc"), 3, blob.Meta{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(t.Context(), "gone/a"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "segments", "000001.seg")); err != nil {
		t.Fatal(err)
	}
	// Opened, closed with nothing written, opened again: the index must
	// have learnt that the tail starts afresh.
	for range 2 {
		if s, err = blob.NewLog(dir); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	s, err = blob.NewLog(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	data := blobtest.Bytes(1, 100)
	if _, err := s.Create(t.Context(), "gone/b", bytes.NewReader(data), 100, blob.Meta{}); err != nil {
		t.Fatal(err)
	}
	wantWhole(t, s, "gone/b", data)
}

func TestLogCorruptRecord(t *testing.T) {
	dir := t.TempDir()
	s, err := blob.NewLog(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	data := blobtest.Bytes(1, 5000)
	if _, err := s.Create(t.Context(), "c/a", bytes.NewReader(data), int64(len(data)), blob.Meta{}); err != nil {
		t.Fatal(err)
	}
	seg := filepath.Join(dir, "segments", "000001.seg")
	raw, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)-100] ^= 1 // in the bytes, before the CRC
	if err := os.WriteFile(seg, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	rc, _, err := s.Get(t.Context(), "c/a", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.ReadAll(rc); err == nil || !strings.Contains(err.Error(), "CRC") {
		t.Errorf("reading a damaged record = %v, want a CRC error", err)
	}
}

func TestLogCompact(t *testing.T) {
	dir := t.TempDir()
	s, err := blob.OpenLogSegMax(dir, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	const n = 60
	data := func(i int) []byte { return blobtest.Bytes(byte(i), 9000+i) }
	for i := range n {
		if _, err := s.Create(ctx, fmt.Sprintf("cp/%03d", i), bytes.NewReader(data(i)), int64(len(data(i))), blob.Meta{}); err != nil {
			t.Fatal(err)
		}
	}
	// A file object lives outside the segments and stays put.
	big := blobtest.Bytes(99, 30_000)
	if _, err := s.Create(ctx, "cp/file", bytes.NewReader(big), -1, blob.Meta{}); err != nil {
		t.Fatal(err)
	}
	kept := map[string][]byte{"cp/file": big}
	for i := range n {
		key := fmt.Sprintf("cp/%03d", i)
		if i%5 == 0 {
			kept[key] = data(i)
			continue
		}
		if err := s.Delete(ctx, key); err != nil {
			t.Fatal(err)
		}
	}
	before := segFiles(t, dir)
	var sizeBefore int64
	for _, n := range before {
		sizeBefore += n
	}
	st, err := s.Compact(ctx, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	after := segFiles(t, dir)
	var sizeAfter int64
	for _, n := range after {
		sizeAfter += n
	}
	t.Logf("compact: %+v; segments %d → %d, %d → %d bytes", st, len(before), len(after), sizeBefore, sizeAfter)
	if st.Segments == 0 || st.Moved == 0 || sizeAfter > sizeBefore/2 {
		t.Errorf("Compact = %+v, segments %d → %d bytes; want segments removed and the size halved", st, sizeBefore, sizeAfter)
	}
	check := func(s blob.Store) {
		t.Helper()
		var listed []string
		if err := s.List(ctx, "cp/", func(i blob.Info) error { listed = append(listed, i.Key); return nil }); err != nil {
			t.Fatal(err)
		}
		if len(listed) != len(kept) {
			t.Errorf("List = %d keys, want %d", len(listed), len(kept))
		}
		for key, want := range kept {
			wantWhole(t, s, key, want)
		}
		for i := range n {
			if key := fmt.Sprintf("cp/%03d", i); kept[key] == nil {
				if _, err := s.Stat(ctx, key); !errors.Is(err, blob.ErrNotFound) {
					t.Errorf("Stat(%s) = %v, want ErrNotFound", key, err)
				}
			}
		}
	}
	check(s)
	// The segment active during the first may still be sparse; then
	// nothing is left to do.
	for i := 0; ; i++ {
		st, err := s.Compact(ctx, 0.5)
		if err != nil {
			t.Fatal(err)
		}
		if st.Segments == 0 {
			break
		}
		if i == 2 {
			t.Fatalf("Compact still removes segments on its %d. call: %+v", i+2, st)
		}
	}
	check(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = blob.OpenLogSegMax(dir, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check(s)
}

// TestLogCompactConcurrent compacts while objects are read, created and
// deleted: no read fails, no object changes.
func TestLogCompactConcurrent(t *testing.T) {
	s, err := blob.OpenLogSegMax(t.TempDir(), 32<<10)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	data := func(i int) []byte { return blobtest.Bytes(byte(i), 3000+i) }
	for i := range 100 {
		if _, err := s.Create(ctx, fmt.Sprintf("cc/%03d", i), bytes.NewReader(data(i)), int64(len(data(i))), blob.Meta{}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 100 {
		if i%3 != 0 {
			if err := s.Delete(ctx, fmt.Sprintf("cc/%03d", i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Go(func() {
			for j := 0; ; j++ {
				select {
				case <-stop:
					return
				default:
				}
				i := (j*3 + g*51) % 100 / 3 * 3
				wantWhole(t, s, fmt.Sprintf("cc/%03d", i), data(i))
			}
		})
	}
	// Objects created during compaction, half of them deleted again: those
	// kept must stay whole (their batch may be indexed after Compact has
	// chosen the segment it went to).
	var mu sync.Mutex
	var kept []int
	for w := range 4 {
		wg.Go(func() {
			for j := 100 + w; ; j += 4 {
				select {
				case <-stop:
					return
				default:
				}
				key := fmt.Sprintf("cc/new/%d", j)
				if _, err := s.Create(ctx, key, bytes.NewReader(data(j)), int64(len(data(j))), blob.Meta{}); err != nil {
					t.Error(err)
					return
				}
				if j%8 < 4 {
					mu.Lock()
					kept = append(kept, j)
					mu.Unlock()
					continue
				}
				if err := s.Delete(ctx, key); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for range 10 {
		if _, err := s.Compact(ctx, 0.6); err != nil {
			t.Error(err)
		}
	}
	close(stop)
	wg.Wait()
	for _, j := range kept {
		wantWhole(t, s, fmt.Sprintf("cc/new/%d", j), data(j))
	}
	t.Logf("%d objects created during compaction", len(kept))
}

// envLogChild makes the test binary create objects in the log store it
// names, print each one it created, and go on until killed.
const envLogChild = "LIENTHONG_BLOB_LOG_CHILD"

func TestMain(m *testing.M) {
	if v := os.Getenv(envLogChild); v != "" {
		runLogChild(v)
		return
	}
	os.Exit(m.Run())
}

const crashSegMax = 1 << 20

// crashObject is the key and bytes of the i-th object of writer g in round
// r; every fourth has no declared size (a file object), the others are
// records of 1 to 120 KB.
func crashObject(r, g, i int) (key string, data []byte, size int64) {
	n := 1000 + (i*7919+g*104729)%120_000
	data = blobtest.Bytes(byte(r*31+g*7+i), n)
	size = int64(n)
	kind := "r"
	if i%4 == 3 {
		size, kind = -1, "f"
	}
	return fmt.Sprintf("crash/%d/%d/%06d-%s", r, g, i, kind), data, size
}

func parseCrashKey(key string) (r, g, i int, ok bool) {
	parts := strings.Split(key, "/")
	if len(parts) != 4 || parts[0] != "crash" {
		return 0, 0, 0, false
	}
	r, err1 := strconv.Atoi(parts[1])
	g, err2 := strconv.Atoi(parts[2])
	num, _, _ := strings.Cut(parts[3], "-")
	i, err3 := strconv.Atoi(num)
	return r, g, i, err1 == nil && err2 == nil && err3 == nil
}

func runLogChild(arg string) {
	dir, roundS, _ := strings.Cut(arg, ",")
	round, _ := strconv.Atoi(roundS)
	s, err := blob.OpenLogSegMax(dir, crashSegMax)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	var mu sync.Mutex
	say := func(format string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(os.Stdout, format, a...)
	}
	ctx := context.Background()
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(3)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				key, data, size := crashObject(round, g, i)
				info, err := s.Create(ctx, key, bytes.NewReader(data), size, blob.Meta{})
				if err != nil {
					fail(err)
				}
				say("ok %s %s\n", key, info.SHA256)
				if i%3 == 1 { // deleted: space for compaction
					say("deleting %s\n", key)
					if err := s.Delete(ctx, key); err != nil {
						fail(err)
					}
					say("del %s\n", key)
				}
			}
		})
	}
	wg.Go(func() {
		for {
			time.Sleep(20 * time.Millisecond)
			if _, err := s.Compact(ctx, 0.7); err != nil {
				fail(err)
			}
		}
	})
	wg.Wait()
}

// TestLogKill9 kills a process that creates, deletes and compacts at a
// random moment, several times over: after each reopen every object it
// reported created (and not deleted) is whole, every object it reported
// deleted is gone, and every object listed is whole.
func TestLogKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	dir := t.TempDir()
	created := map[string]string{} // key → sha256
	deleted := map[string]bool{}
	deleting := map[string]bool{} // may be there or not
	for round := range 6 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s,%d", envLogChild, dir, round))
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1024)
		go func() {
			defer close(lines)
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
		}()
		first := <-lines
		time.Sleep(time.Duration(100+rand.IntN(700)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, line := range append([]string{first}, drain(lines)...) {
			switch f := strings.Fields(line); {
			case len(f) == 3 && f[0] == "ok":
				created[f[1]] = f[2]
				n++
			case len(f) == 2 && f[0] == "deleting":
				deleting[f[1]] = true
			case len(f) == 2 && f[0] == "del":
				deleted[f[1]] = true
			case line != "":
				t.Fatalf("child said %q", line)
			}
		}
		err = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("child ended with %v before it was killed", err)
		}
		t.Logf("round %d: %d objects created before the kill", round, n)
		checkAfterCrash(t, dir, created, deleting, deleted)
	}
}

func drain(c chan string) []string {
	var all []string
	for l := range c {
		all = append(all, l)
	}
	return all
}

func checkAfterCrash(t *testing.T, dir string, created map[string]string, deleting, deleted map[string]bool) {
	t.Helper()
	ctx := t.Context()
	s, err := blob.OpenLogSegMax(dir, crashSegMax)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for key, sum := range created {
		info, err := s.Stat(ctx, key)
		switch {
		case deleted[key]:
			if !errors.Is(err, blob.ErrNotFound) {
				t.Errorf("%s was reported deleted: Stat = %v", key, err)
			}
		case deleting[key] && errors.Is(err, blob.ErrNotFound):
		case err != nil || info.SHA256 != sum:
			t.Errorf("%s was reported created with %s: Stat = %+v, %v", key, sum, info, err)
		}
	}
	listed := 0
	if err := s.List(ctx, "crash/", func(info blob.Info) error {
		listed++
		r, g, i, ok := parseCrashKey(info.Key)
		if !ok {
			t.Errorf("List: unexpected key %s", info.Key)
			return nil
		}
		_, want, _ := crashObject(r, g, i)
		wantWhole(t, s, info.Key, want)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("%d objects whole after reopen, %d reported created, %d deleted", listed, len(created), len(deleted))
}

func TestOpenDir(t *testing.T) {
	tests := []struct {
		name     string
		existing string // layout already in the directory
		give     string
		want     string // "log", "files" or "" for an error
	}{
		{"new, default", "", "", "log"},
		{"new, files", "", "files", "files"},
		{"new, log", "", "log", "log"},
		{"files kept by default", "files", "", "files"},
		{"log kept by default", "log", "", "log"},
		{"files asked log", "files", "log", ""},
		{"log asked files", "log", "files", ""},
		{"unknown", "", "tree", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.existing != "" {
				s, err := blob.OpenDir(dir, tt.existing)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := s.Create(t.Context(), "a", strings.NewReader("x"), 1, blob.Meta{}); err != nil {
					t.Fatal(err)
				}
				s.Close()
			}
			s, err := blob.OpenDir(dir, tt.give)
			if tt.want == "" {
				if err == nil {
					s.Close()
					t.Fatal("OpenDir succeeded, want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			got := "files"
			if _, ok := s.(*blob.Log); ok {
				got = "log"
			}
			if got != tt.want {
				t.Errorf("OpenDir = %s layout, want %s", got, tt.want)
			}
			if tt.existing != "" {
				if _, err := s.Stat(t.Context(), "a"); err != nil {
					t.Errorf("the object created before: %v", err)
				}
			}
		})
	}
}

// TestLogCompactDamagedRecord: a record whose bytes no longer match their
// CRC keeps its segment, and Compact says so, but still compacts the
// other segments (one bad record once stopped every later Compact).
func TestLogCompactDamagedRecord(t *testing.T) {
	s, dir := smallSegments(t)
	ctx := t.Context()
	const n = 40
	data := func(i int) []byte { return blobtest.Bytes(byte(i), 9000+i) }
	for i := range n {
		if _, err := s.Create(ctx, fmt.Sprintf("dr/%03d", i), bytes.NewReader(data(i)), int64(len(data(i))), blob.Meta{}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		if i%5 != 0 {
			if err := s.Delete(ctx, fmt.Sprintf("dr/%03d", i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Damage the first kept record: flip a byte of its data where it lies.
	segs := segFiles(t, dir)
	var damaged string
	for name := range segs {
		path := filepath.Join(dir, "segments", name)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if at := bytes.Index(b, data(0)); at >= 0 {
			b[at+100] ^= 0xff
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			damaged = name
		}
	}
	if damaged == "" {
		t.Fatal("record of dr/000 not found in any segment")
	}
	st, err := s.Compact(ctx, 0.5)
	if err == nil || !strings.Contains(err.Error(), "CRC mismatch") {
		t.Errorf("Compact error = %v, want the damaged record's CRC mismatch", err)
	}
	if st.Segments == 0 {
		t.Errorf("Compact = %+v: removed no segment, want the undamaged ones compacted", st)
	}
	after := segFiles(t, dir)
	if _, ok := after[damaged]; !ok {
		t.Errorf("segment %s with the damaged record was removed", damaged)
	}
	for i := 5; i < n; i += 5 {
		wantWhole(t, s, fmt.Sprintf("dr/%03d", i), data(i))
	}
}

// TestLogCompactEvery: the scheduled compaction gives deleted objects'
// space back with nobody calling Compact.
func TestLogCompactEvery(t *testing.T) {
	s, dir := smallSegments(t)
	ctx := t.Context()
	const n = 40
	for i := range n {
		b := blobtest.Bytes(byte(i), 9000)
		if _, err := s.Create(ctx, fmt.Sprintf("ce/%03d", i), bytes.NewReader(b), int64(len(b)), blob.Meta{}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n - 1 {
		if err := s.Delete(ctx, fmt.Sprintf("ce/%03d", i)); err != nil {
			t.Fatal(err)
		}
	}
	size := func() (n int64) {
		for _, s := range segFiles(t, dir) {
			n += s
		}
		return n
	}
	before := size()
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.CompactEvery(runCtx, 10*time.Millisecond, slog.New(slog.DiscardHandler)) }()
	testwait.Eventually(t, "segments of deleted objects removed", func() bool { return size() < before/4 })
	cancel()
	if err := <-done; err != nil {
		t.Errorf("CompactEvery = %v after its context ended, want nil", err)
	}
	wantWhole(t, s, fmt.Sprintf("ce/%03d", n-1), blobtest.Bytes(byte(n-1), 9000))
}

// smallSegments opens a log store in a fresh directory whose segments roll
// at 64 KiB, so that a few objects fill several; it closes with the test.
func smallSegments(t *testing.T) (*blob.Log, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := blob.OpenLogSegMax(dir, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, dir
}
