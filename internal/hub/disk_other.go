//go:build !(linux || darwin || freebsd)

package hub

import "math"

// freeBytes is not measured here: the check passes.
func freeBytes(string) (uint64, error) { return math.MaxUint64, nil }
