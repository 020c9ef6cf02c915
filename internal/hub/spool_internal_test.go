package hub

import (
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
