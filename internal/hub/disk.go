package hub

import "fmt"

// checkDisks fails when a directory of Options.DiskDirs has less free
// space than Options.MinFreeBytes: a hub about to fill its disk says so on
// /readyz, so a balancer sends work elsewhere before writes start failing.
func (h *Hub) checkDisks() error {
	if h.o.MinFreeBytes <= 0 {
		return nil
	}
	for _, dir := range h.o.DiskDirs {
		free, err := freeBytes(dir)
		if err != nil {
			return fmt.Errorf("disk %s: %w", dir, err)
		}
		if free < uint64(h.o.MinFreeBytes) {
			return fmt.Errorf("disk %s: %d bytes free, below the %d required (hub.minFreeSpace)", dir, free, h.o.MinFreeBytes)
		}
	}
	return nil
}
