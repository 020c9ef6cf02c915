package console

import (
	"context"
	"io"
	"time"

	"github.com/lienthong/lienthong/internal/blob"
	"github.com/lienthong/lienthong/internal/hub"
	"github.com/lienthong/lienthong/internal/push"
	"github.com/lienthong/lienthong/internal/track"
	"github.com/lienthong/lienthong/internal/trust"
)

// Hub is what the console asks of the hub, as vdxp.Hub is for the VDXP
// endpoint: the data path a clerk uses and the lookups behind the pages.
// *hub.Hub is one; a test may pass another.
type Hub interface {
	Submit(ctx context.Context, s hub.Submission) (*hub.Receipt, bool, error)
	Fetch(ctx context.Context, caller, id string) (io.ReadCloser, blob.Info, error)
	Inbox(caller, kind string, limit int, cursor string) ([]track.Item, string, error)
	Sent(caller string, since, until time.Time, limit int) ([]track.Packet, error)
	// Received and Outgoing page through a clerk's incoming and outgoing
	// documents, handled or not, with their timelines.
	Received(caller string, q track.MailQuery) ([]track.Letter, string, error)
	Outgoing(caller string, q track.MailQuery) ([]track.Letter, string, error)
	Timeline(caller, id string) (track.Timeline, error)
	Report(ctx context.Context, caller, id string) (*trust.Report, error)
	// Search and Trace are the operators' lookups across agencies.
	Search(q track.Query) ([]track.Packet, bool, error)
	Trace(id string) (track.Packet, track.Timeline, error)
}

// DeadLetterQueue is the operators' view of the webhook dead letters
// (*push.DeadLetters is one), apart from the hub: its data path does not
// depend on the pusher.
type DeadLetterQueue interface {
	Newest(ctx context.Context, n int) ([]push.DeadLetter, error)
	Replayable(d push.DeadLetter) bool
	Replay(ctx context.Context, refs []string, n int, by string) ([]push.Replayed, error)
}

var (
	_ Hub             = (*hub.Hub)(nil)
	_ DeadLetterQueue = (*push.DeadLetters)(nil)
)
