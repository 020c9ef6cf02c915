package bench

import (
	"math"
	"runtime/metrics"
)

// schedLatency reads this process's goroutine scheduling latencies: how
// long goroutines waited, runnable, for a core. In an embedded run the hub
// and its broker share the process (and the load generator when it runs
// in-process), and a wait that shows in the broker or store stage is
// often this.
type schedLatency struct{ counts []uint64 }

const schedMetric = "/sched/latencies:seconds"

func readSched() (schedLatency, []float64) {
	s := []metrics.Sample{{Name: schedMetric}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindFloat64Histogram {
		return schedLatency{}, nil
	}
	h := s[0].Value.Float64Histogram()
	return schedLatency{counts: append([]uint64(nil), h.Counts...)}, h.Buckets
}

// schedSince returns the mean and the 99th percentile, in milliseconds, of
// the waits since before. Each wait counts as its bucket's upper bound
// (the last, unbounded bucket as its lower bound), so both are slightly
// high.
func schedSince(before schedLatency) (meanMs, p99Ms float64) {
	after, bounds := readSched()
	if len(after.counts) == 0 || len(before.counts) != len(after.counts) {
		return 0, 0
	}
	var n, sum float64
	d := make([]float64, len(after.counts))
	for i := range d {
		d[i] = float64(after.counts[i] - before.counts[i])
		n += d[i]
		sum += d[i] * schedBound(bounds, i)
	}
	if n == 0 {
		return 0, 0
	}
	acc := 0.0
	for i := range d {
		if acc += d[i]; acc >= 0.99*n {
			p99Ms = schedBound(bounds, i) * 1e3
			break
		}
	}
	return math.Round(sum/n*1e6) / 1e3, math.Round(p99Ms*1e3) / 1e3
}

// schedBound is bucket i's upper bound, or its lower one when unbounded.
func schedBound(bounds []float64, i int) float64 {
	if b := bounds[i+1]; !math.IsInf(b, 1) {
		return b
	}
	return max(bounds[i], 0)
}
