package hubtest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/hub"
	"github.com/lienthong/lienthong/internal/hubtest"
)

// cleanupTB runs the cleanups when told and keeps the errors they report.
type cleanupTB struct {
	*testing.T
	mu       sync.Mutex
	cleanups []func()
	errs     []string
}

func (c *cleanupTB) Cleanup(f func()) { c.cleanups = append(c.cleanups, f) }

func (c *cleanupTB) Errorf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errs = append(c.errs, fmt.Sprintf(format, args...))
}

func (c *cleanupTB) Error(args ...any) { c.Errorf("%s", fmt.Sprint(args...)) }

func (c *cleanupTB) runCleanups() {
	for i := len(c.cleanups) - 1; i >= 0; i-- {
		c.cleanups[i]()
	}
	c.cleanups = nil
}

// failDeadLetter fails every write to the dead-letter topic, and says so
// once on failed.
type failDeadLetter struct {
	bus.Publisher
	once   sync.Once
	failed chan struct{}
}

func (f *failDeadLetter) Produce(ctx context.Context, msgs ...bus.Message) error {
	for _, m := range msgs {
		if strings.HasSuffix(m.Topic, "dead-letter") {
			f.once.Do(func() { close(f.failed) })
			return errors.New("dead-letter unwritable")
		}
	}
	return f.Publisher.Produce(ctx, msgs...)
}

// A hub whose consumer fails fails the test that started it: hubtest
// waits for Run and reports its error.
func TestStartReportsRunError(t *testing.T) {
	tb := &cleanupTB{T: t}
	defer tb.runCleanups()
	fail := &failDeadLetter{failed: make(chan struct{})}
	h := hubtest.Start(tb, hubtest.Options{Hub: func(o *hub.Options) {
		fail.Publisher, o.Publisher = o.Publisher, fail
	}})
	p, err := bus.NewProducer(bus.Config{Brokers: h.Broker.Addrs()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close() //nolint:errcheck // test
	// The router dead-letters what it cannot read; with the dead-letter
	// topic unwritable it stops, and so does hub.Run.
	if err := p.Produce(t.Context(), bus.Message{Topic: "lienthong.accepted", Key: []byte("garbage"), Value: []byte("{not json")}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-fail.failed:
	case <-time.After(30 * time.Second):
		t.Fatal("the router never dead-lettered")
	}
	tb.runCleanups()
	if len(tb.errs) != 1 || !strings.Contains(tb.errs[0], "hub.Run") || !strings.Contains(tb.errs[0], "dead-letter unwritable") {
		t.Errorf("errors reported = %q, want hub.Run's dead-letter failure", tb.errs)
	}
}

// A hub stopped at the end of its test reports nothing.
func TestStartCleanStop(t *testing.T) {
	tb := &cleanupTB{T: t}
	hubtest.Start(tb, hubtest.Options{})
	tb.runCleanups()
	if len(tb.errs) != 0 {
		t.Errorf("errors reported = %q, want none", tb.errs)
	}
}
