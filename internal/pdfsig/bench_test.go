package pdfsig

import (
	"bytes"
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/pdfsig/pdfsigtest"
)

// BenchmarkVerify is the cost of one PDF on the submit path: a file pdfium
// must repair (random bytes between a PDF header and trailer, as bench's
// packets carry), an unsigned letter, and letters signed once and twice.
func BenchmarkVerify(b *testing.B) {
	garbage := make([]byte, 40_000)
	_, _ = rand.NewChaCha8([32]byte{1}).Read(garbage)
	copy(garbage, "%PDF-1.4\n")
	copy(garbage[len(garbage)-7:], "\n%%EOF\n")
	roots, _ := fixtures(b)
	v := verifier(b, roots)
	files := []struct {
		name string
		pdf  []byte
	}{
		{"garbage-40KB", garbage},
		{"unsigned", pdfsigtest.Write(pdfsigtest.Page1, pdfsigtest.Page2)},
		{"in-field", fixture(b, "in_field")},
		{"signed-twice", fixture(b, "signed_twice")},
	}
	e := engine(b)
	for _, f := range files {
		b.Run(f.name, func(b *testing.B) {
			b.SetBytes(int64(len(f.pdf)))
			for b.Loop() {
				e.Verify(context.Background(), v, bytes.NewReader(f.pdf), int64(len(f.pdf)), VerifyOptions{From: pdfsigtest.OrganID, At: time.Now()})
			}
		})
	}
}
