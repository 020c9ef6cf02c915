//go:build !unix

package bench

import "time"

// cpuTime is not measured here: the CPU figures stay 0.
func cpuTime() (time.Duration, bool) { return 0, false }
