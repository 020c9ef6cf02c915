package vdxp

import (
	"time"

	"github.com/lienthong/lienthong/internal/track"
)

// Outbox lists the packets an agency sent, accepted in [since, until)
// (zero times leave that end open), oldest first, at most limit of them:
// hub.Hub.Sent, or Options.Outbox.
type Outbox interface {
	Sent(caller string, since, until time.Time, limit int) ([]track.Packet, error)
}
