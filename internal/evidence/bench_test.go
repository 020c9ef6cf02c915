package evidence_test

import (
	"os"
	"strconv"
	"testing"

	"github.com/lienthong/lienthong/internal/evidence"
)

// BenchmarkInclusion measures one inclusion proof in a log of
// LIENTHONG_BENCH_LEAVES leaves (default 1,048,576), kept in memory and on
// disk (as serve keeps it; the page cache holds what proofs read).
func BenchmarkInclusion(b *testing.B) {
	n := 1 << 20
	if s := os.Getenv("LIENTHONG_BENCH_LEAVES"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	s, _ := keys(b)
	for _, where := range []string{"memory", "disk"} {
		b.Run(where, func(b *testing.B) {
			cfg := evidence.Config{Signer: s, Origin: origin}
			if where == "disk" {
				cfg.Dir = b.TempDir()
			}
			l, err := evidence.New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			for i := range n {
				if err := l.Append(leaf(i)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			i := int64(0)
			for b.Loop() {
				i = (i*7919 + 1) % int64(n)
				if _, err := l.Inclusion(i, int64(n)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
