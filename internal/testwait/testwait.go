// Package testwait holds the one polling helper the tests share: wait for a
// condition that another goroutine or process makes true, with a deadline
// generous enough for a loaded CI machine running under -race.
package testwait

import (
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
