package cli

import (
	"os"
	"runtime/debug"
)

// serverGCPercent is the GC target of the long-running commands. A hub's
// live heap is small and its garbage is per request, so Go's default of 100
// collects very often: under load it spent ~8% of the CPU in GC, and 400
// gave 19-42% more packets/s when the CPU was the limit
// (docs/PERFORMANCE.md). The heap may grow to five times the live heap,
// tens of MB.
const serverGCPercent = 400

// serverGC sets serverGCPercent unless the environment sets GOGC, which
// stays the operator's override (with GOMEMLIMIT). An empty GOGC, as
// compose's ${GOGC:-} gives, counts as unset.
func serverGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(serverGCPercent)
	}
}
