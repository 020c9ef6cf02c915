package bus

import "github.com/twmb/franz-go/pkg/kfake"

// Cluster is the kfake cluster behind b, for tests that inject faults.
func (b *Broker) Cluster() *kfake.Cluster { return b.cluster }
