// Package testwait holds the polling helpers the tests share: wait for a
// condition that another goroutine or process makes true, with a deadline
// generous enough for a loaded CI machine running under -race, and wait for
// a consumer group to have handled everything before checking that nothing
// (more) happened.
package testwait

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// Deadline bounds every wait (the slowest, a Kafka group rebalancing under
// -race, has taken tens of seconds). It is long because a wait that passes returns
// as soon as the condition holds; only a failing test pays for it.
const Deadline = time.Minute

// Interval is the pause between two checks of the condition.
const Interval = 20 * time.Millisecond

// Eventually checks cond until it holds and fails tb with "timed out waiting
// for what" once Deadline has passed.
func Eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	EventuallyState(tb, what, func() (bool, string) { return cond(), "" })
}

// EventuallyState is Eventually for a condition that can say what it saw
// instead: the last state is in the failure message.
func EventuallyState(tb testing.TB, what string, check func() (ok bool, state string)) {
	tb.Helper()
	deadline := time.Now().Add(Deadline)
	for {
		ok, state := check()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			if state != "" {
				tb.Fatalf("timed out after %v waiting for %s: still %s", Deadline, what, state)
			}
			tb.Fatalf("timed out after %v waiting for %s", Deadline, what)
		}
		time.Sleep(Interval)
	}
}

// Lagger reads a consumer group's lag on a topic: *bus.Admin. An interface
// so that bus's own tests can use this package without an import cycle.
type Lagger interface {
	Lag(ctx context.Context, group, topic string) (int64, error)
}

// Consumed waits until group's lag on topic is 0: its consumer has handled
// and committed every message there. A test that checks that nothing (more)
// happened calls it first, so the check follows the consumer's work instead
// of a sleep that guesses how long the work takes.
func Consumed(tb testing.TB, l Lagger, group, topic string) {
	tb.Helper()
	EventuallyState(tb, fmt.Sprintf("group %s to consume %s", group, topic), func() (bool, string) {
		lag, err := l.Lag(tb.Context(), group, topic)
		if err != nil {
			return false, err.Error()
		}
		return lag == 0, fmt.Sprintf("lag %d", lag)
	})
}
