//go:build unix

package bench

import (
	"crypto/sha256"
	"testing"
	"time"
)

// The process's CPU time never goes back, and burning CPU moves it on.
func TestCPUTime(t *testing.T) {
	before, ok := cpuTime()
	if !ok {
		t.Fatal("getrusage failed")
	}
	var sum [32]byte
	buf := make([]byte, 1<<20)
	// Hash until the clock has moved well past the rusage's granularity
	// (a tick of 1–10 ms on some kernels).
	for end := time.Now().Add(100 * time.Millisecond); time.Now().Before(end); {
		sum = sha256.Sum256(buf)
		buf[0] = sum[0]
	}
	after, ok := cpuTime()
	if !ok {
		t.Fatal("getrusage failed")
	}
	if before <= 0 || after <= before {
		t.Errorf("CPU time %s then %s after burning 100 ms", before, after)
	}
	last := after
	for range 1000 {
		d, _ := cpuTime()
		if d < last {
			t.Fatalf("CPU time went back from %s to %s", last, d)
		}
		last = d
	}
	t.Run("a child's is its own", testChildCPU)
}
