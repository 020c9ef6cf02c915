package push

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/lienthong/lienthong/internal/bus"
)

// ErrNoSuchDeadLetter is returned when a replay names an entry the topic
// does not hold.
var ErrNoSuchDeadLetter = errors.New("push: no such dead-letter entry")

// DeadLetters is what the console's operators do with a hub's dead
// letters. It lives here, not in the hub, so the hub's data path does not
// depend on the pusher.
type DeadLetters struct {
	Bus    bus.Config
	Topics Topics
	Now    func() time.Time // default time.Now
}

// Replayable tells whether Replay can put d back on its topic
// (ReplayMessage).
func (d *DeadLetters) Replayable(m DeadLetter) bool {
	_, err := ReplayMessage(m, d.Topics)
	return err == nil
}

// Newest lists the newest n entries of the dead-letter topic, newest
// first (ListNewestDeadLetters).
func (d *DeadLetters) Newest(ctx context.Context, n int) ([]DeadLetter, error) {
	ds, err := ListNewestDeadLetters(ctx, d.Bus, d.Topics, n)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(ds, func(a, b DeadLetter) int { return b.Time.Compare(a.Time) })
	return ds[:min(n, len(ds))], nil
}

// Replay produces the entries named by refs (DeadLetter.Ref), among the
// newest n, back to their topics, recording by as who asked (Replay).
// Nothing is produced unless every ref names an entry that can be
// replayed.
func (d *DeadLetters) Replay(ctx context.Context, refs []string, n int, by string) ([]Replayed, error) {
	all, err := d.Newest(ctx, n)
	if err != nil {
		return nil, err
	}
	byRef := make(map[string]DeadLetter, len(all))
	for _, e := range all {
		byRef[e.Ref()] = e
	}
	var pick []DeadLetter
	for _, ref := range refs {
		e, ok := byRef[ref]
		if !ok {
			return nil, fmt.Errorf("%w: %s", ErrNoSuchDeadLetter, ref)
		}
		pick = append(pick, e)
	}
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	return Replay(ctx, d.Bus, d.Topics, pick, by, now())
}
