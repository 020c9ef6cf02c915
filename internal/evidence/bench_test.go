package evidence_test

import (
	"os"
	"strconv"
	"testing"
)

// BenchmarkInclusion measures one inclusion proof (with its checkpoint
// cached) in a log of LIENTHONG_BENCH_LEAVES leaves (default 1,048,576;
// docs/PERFORMANCE.md has the 10 million figure).
func BenchmarkInclusion(b *testing.B) {
	n := 1 << 20
	if s := os.Getenv("LIENTHONG_BENCH_LEAVES"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	s, _ := keys(b)
	l := filled(b, n, s)
	b.ReportAllocs()
	b.ResetTimer()
	i := int64(0)
	for b.Loop() {
		i = (i*7919 + 1) % int64(n)
		if _, err := l.Inclusion(i, int64(n)); err != nil {
			b.Fatal(err)
		}
	}
}
