package evidence_test

import (
	"fmt"
	"testing"

	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/bus/bustest"
	"github.com/lienthong/lienthong/internal/evidence"
	"github.com/lienthong/lienthong/internal/testwait"
)

// Run again after a failure, the log reads its topic from the start and
// takes no leaf twice, even beyond the window that skips repeats.
func TestRunAgainTakesNoLeafTwice(t *testing.T) {
	cfg := bustest.Broker(t)
	admin, err := bus.NewAdmin(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := evidence.EnsureTopic(t.Context(), admin, "t.log", 1); err != nil {
		t.Fatal(err)
	}
	p, err := bus.NewProducer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	produce := func(from, to int) {
		var msgs []bus.Message
		for i := from; i < to; i++ {
			msgs = append(msgs, bus.Message{Topic: "t.log", Key: []byte("k"), Value: leaf(i)})
		}
		if err := p.Produce(t.Context(), msgs...); err != nil {
			t.Fatal(err)
		}
	}
	const n = 5000 // more than the repeat window
	produce(0, n)
	s, _ := keys(t)
	l, err := evidence.New(evidence.Config{Bus: cfg, Topic: "t.log", Signer: s, Origin: origin})
	if err != nil {
		t.Fatal(err)
	}
	stop := bustest.Run(t, "log", l.Run)
	testwait.Eventually(t, "every leaf read", func() bool { return l.Size() == n })
	stop()
	bustest.Run(t, "log again", l.Run)
	produce(n, n+1)
	testwait.Eventually(t, "the new leaf read", func() bool { return len(l.LeavesOf(fmt.Sprintf("%064x", n))) > 0 })
	if got := l.Size(); got != n+1 {
		t.Errorf("after Run again: %d leaves, want %d", got, n+1)
	}
}
