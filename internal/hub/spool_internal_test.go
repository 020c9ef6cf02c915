package hub

import (
	"bytes"
	"io"
	"os"
	"testing"
)

// Spool files have no name, come back empty, are reused, and leave
// nothing in the directory.
func TestSpools(t *testing.T) {
	dir := t.TempDir()
	p := &spools{dir: dir}
	f, err := p.get()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("một gói tin"); err != nil {
		t.Fatal(err)
	}
	if names, _ := os.ReadDir(dir); len(names) != 0 {
		t.Fatalf("the spool directory holds %d names", len(names))
	}
	p.put(f)
	g, err := p.get()
	if err != nil {
		t.Fatal(err)
	}
	if g != f {
		t.Error("a kept spool file was not reused")
	}
	if b, _ := io.ReadAll(g); len(b) != 0 {
		t.Errorf("a reused spool file holds %q", b)
	}
	// Past the bound, files are closed rather than kept.
	var fs []*os.File
	for range maxFreeSpools + 3 {
		h, err := p.get()
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, h)
	}
	for _, h := range fs {
		p.put(h)
	}
	if len(p.free) != maxFreeSpools {
		t.Errorf("%d kept, want %d", len(p.free), maxFreeSpools)
	}
	if _, err := fs[len(fs)-1].Stat(); err == nil {
		t.Error("a file past the bound was not closed")
	}
}

// A letter stays in memory; a packet past the spool's memory, or past the
// process's budget, goes whole to a pooled file; Release gives the memory
// back and the file to the pool.
func TestSpoolMemory(t *testing.T) {
	held := spoolMemHeld.Load()
	letter := bytes.Repeat([]byte("a"), 50_000)
	big := bytes.Repeat([]byte("b"), DefaultSpoolMemory+1)
	tests := []struct {
		name     string
		give     []byte
		max      int64
		taken    int64
		wantFile bool
	}{
		{"letter", letter, DefaultSpoolMemory, 0, false},
		{"exactly the memory", big[:DefaultSpoolMemory], DefaultSpoolMemory, 0, false},
		{"large", big, DefaultSpoolMemory, 0, true},
		{"no memory", letter, 0, 0, true},
		{"budget spent", letter, DefaultSpoolMemory, spoolMemBudget, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spoolMemHeld.Add(tt.taken)
			defer spoolMemHeld.Add(-tt.taken)
			p := &spools{dir: t.TempDir()}
			s := &Spool{p: p, max: tt.max}
			if _, err := CopyToSpool(s, bytes.NewReader(tt.give)); err != nil {
				t.Fatal(err)
			}
			if (s.f != nil) != tt.wantFile || s.Size() != int64(len(tt.give)) {
				t.Errorf("file %v size %d, want file %v size %d", s.f != nil, s.Size(), tt.wantFile, len(tt.give))
			}
			got, _ := io.ReadAll(io.NewSectionReader(s.ReaderAt(), 0, s.Size()))
			if !bytes.Equal(got, tt.give) {
				t.Errorf("read back %d bytes, want %d", len(got), len(tt.give))
			}
			s.Release()
			if spoolMemHeld.Load() != held+tt.taken {
				t.Errorf("budget held after Release: %d, want %d", spoolMemHeld.Load(), held+tt.taken)
			}
			if tt.wantFile && len(p.free) != 1 {
				t.Errorf("the spilled file was not given back to the pool (%d kept)", len(p.free))
			}
		})
	}
}

// A letter read from a stream (a multipart part: no WriteTo) goes straight
// into the spool's memory: one allocation, that memory, not io.Copy's
// buffer besides.
func TestSpoolReadsStraightIn(t *testing.T) {
	letter := bytes.Repeat([]byte("a"), 50_000)
	p := &spools{dir: t.TempDir()}
	var r bytes.Reader
	allocs := testing.AllocsPerRun(20, func() {
		r.Reset(letter)
		s := &Spool{p: p, max: DefaultSpoolMemory}
		if _, err := CopyToSpool(s, struct{ io.Reader }{&r}); err != nil || s.Size() != int64(len(letter)) {
			t.Fatalf("spooled %d bytes: %v", s.Size(), err)
		}
		s.Release()
	})
	if allocs > 3 {
		t.Errorf("%v allocations per letter, want at most 3 (the spool, its memory, the reader boxed)", allocs)
	}
}
