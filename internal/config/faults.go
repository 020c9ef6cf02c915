package config

import "time"

// Settings of how the hub meets its own faults (hub.brokerWait,
// hub.minFreeSpace; docs/OPERATIONS.md).
//
//   - BrokerWait bounds how long a request (submit, ack) waits for the
//     broker to take its event before answering 503 with Retry-After: while
//     the broker is down, clients are told at once to come back, instead of
//     hanging on the Kafka client's own timeouts (7–22 s).
//   - MinFreeSpace: /readyz answers 503 while the data or spool directory
//     (or the fs blob store's) has less free space, so a balancer moves
//     traffic away before writes fail. 0 turns the check off.
const (
	DefaultBrokerWait   = 2 * time.Second
	DefaultMinFreeSpace = 256 * MiB
)

func (h Hub) validateFaults(p *problems) {
	p.positive("hub.brokerWait", h.BrokerWait)
	if h.MinFreeSpace < 0 {
		p.addf("hub.minFreeSpace", "%w (got %d)", ErrNotPositive, h.MinFreeSpace)
	}
}

// DiskDirs are the local directories whose free space hub.minFreeSpace
// guards: the data directory, the spool and the fs blob store's.
func (c *Config) DiskDirs(spool string) []string {
	dirs := []string{c.Hub.DataDir, spool}
	if c.Blob.Kind == BlobFS && c.Blob.FS.Dir != "" {
		dirs = append(dirs, c.Blob.FS.Dir)
	}
	return dirs
}
