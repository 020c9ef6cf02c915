package spike

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzInspect: whatever the bytes, Inspect returns a document or an *Error,
// within its deadline. pdfium inside wasm is not coverage-instrumented, so
// this is mutation without guidance there.
func FuzzInspect(f *testing.F) {
	dir := f.TempDir()
	plain := filepath.Join(dir, "a.pdf")
	writePDF(&testing.T{}, plain, "x", nil)
	b, err := os.ReadFile(plain)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte("%PDF-1.7\nxref\n0 1\n0000000000 65535 f \ntrailer\n<< /Size 1 /Prev 9 >>\nstartxref\n9\n%%EOF\n"))
	e, err := NewEngine(context.Background(), EngineOptions{MemoryLimitPages: 1024, CacheDir: os.Getenv("PDFSIG_SPIKE_CACHE")})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { e.Close() }) //nolint:errcheck,gosec // test
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		start := time.Now()
		_, err := e.Inspect(ctx, bytes.NewReader(data), int64(len(data)))
		if d := time.Since(start); d > 4*time.Second {
			t.Errorf("took %v", d)
		}
		var pe *Error
		if err != nil && !errors.As(err, &pe) {
			t.Errorf("error without a code: %v", err)
		}
	})
}
