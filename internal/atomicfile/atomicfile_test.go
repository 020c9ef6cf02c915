package atomicfile_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/lienthong/lienthong/internal/atomicfile"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.json")
	if err := atomicfile.WriteBytes(path, []byte("một"), 0o640); err != nil {
		t.Fatal(err)
	}
	// A failing fill leaves the old file as it was and no temporary file.
	boom := errors.New("boom")
	if err := atomicfile.Write(path, 0o640, func(w io.Writer) error {
		_, _ = w.Write([]byte("half"))
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("Write = %v, want boom", err)
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != "một" {
		t.Fatalf("after a failed write: %q %v", got, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", fi.Mode().Perm())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%d entries in the directory, want 1", len(entries))
	}
	if err := atomicfile.WriteBytes(path, []byte("hai"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != "hai" {
		t.Errorf("replaced content %q", got)
	}
}
