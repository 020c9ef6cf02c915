package pdfsig

import (
	"bytes"
	"context"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/pdfsig/pdfsigtest"
)

// FuzzVerify: whatever the bytes, Verify returns within its deadline, and
// every problem it reports carries a code (pdf.* for the file, pdf.* or
// trust's sig.* for a signature). pdfium inside wasm is not
// coverage-instrumented, so this mutates without guidance there. Run
// longer with go test -run '^$' -fuzz FuzzVerify -fuzztime 60s
// -fuzzminimizetime 3s: each run takes 10-20 ms, so minimising an input
// byte by byte stalls the default run for minutes.
func FuzzVerify(f *testing.F) {
	roots, fs := fixtures(f)
	fuzzing := flag.Lookup("test.fuzz").Value.String() != ""
	for _, fx := range fs {
		// The fuzzer minimises every input that finds new coverage, which
		// for the half-megabyte files (pdfsig embeds a font) takes the
		// whole run: fuzzing starts from the small ones; go test runs all.
		if fuzzing && len(fx.PDF) > 64<<10 {
			continue
		}
		f.Add(fx.PDF)
	}
	f.Add(pdfsigtest.Write("x"))
	f.Add([]byte("%PDF-1.7\nxref\n0 1\n0000000000 65535 f \ntrailer\n<< /Size 1 /Prev 9 >>\nstartxref\n9\n%%EOF\n"))
	e := engine(f)
	v := verifier(f, roots)
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		got := e.Verify(context.Background(), v, bytes.NewReader(data), int64(len(data)), VerifyOptions{From: pdfsigtest.OrganID})
		if d := time.Since(start); d > 4*time.Second {
			t.Errorf("took %v", d)
		}
		for _, p := range got.Errors {
			if !strings.HasPrefix(p.Code, "pdf.") {
				t.Errorf("attachment error without a pdf code: %+v", p)
			}
		}
		for _, s := range got.Signatures {
			if !s.Valid && (len(s.Errors) == 0 || !strings.HasPrefix(s.Errors[0].Code, "pdf.")) {
				t.Errorf("invalid signature without a pdf code: %+v", s.Errors)
			}
		}
	})
}
