// Package boltgroup commits concurrent bbolt writes together: one
// transaction and one fdatasync for every write that arrived while the
// previous commit was running.
//
// bolt.DB.Batch does the same but waits MaxBatchDelay for company, which
// adds that delay to a lone writer. Here the first writer commits at once;
// writers that arrive meanwhile queue, and the first of them leads the next
// commit with the whole queue (docs/PERFORMANCE.md).
package boltgroup

import (
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// ErrAborted is the error of writes whose leader stopped before it could say
// whether they were committed (bbolt panicked outside a write, or a write
// called runtime.Goexit): they may or may not be.
var ErrAborted = errors.New("boltgroup: the commit was abandoned")

// Group serialises writes to one DB in shared transactions.
type Group struct {
	db *bolt.DB

	mu    sync.Mutex
	busy  bool // a leader is committing
	queue []*call
}

type call struct {
	fn  func(*bolt.Tx) error
	err error
	// done receives true when the call is to lead the next commit, false
	// when its write was committed (or failed: err). It is sent to at most
	// once of each kind, so one slot suffices.
	done chan bool
	sent bool // false was sent; touched only by the leader
}

// New returns a Group writing to db.
func New(db *bolt.DB) *Group { return &Group{db: db} }

// Update runs fn in a read-write transaction shared with other concurrent
// Updates and returns once it is committed. As with bolt.DB.Batch, fn may
// run more than once and must only touch the transaction: when a write
// fails a shared transaction, it is run again alone and the others again
// together, so one write's error does not fail the others.
func (g *Group) Update(fn func(*bolt.Tx) error) error {
	c := &call{fn: fn, done: make(chan bool, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, c)
	if g.busy {
		g.mu.Unlock()
		if lead := <-c.done; !lead {
			return c.err
		}
		g.mu.Lock()
	}
	g.busy = true
	batch := g.queue
	g.queue = nil
	g.mu.Unlock()

	// Deferred, so that a leader that panics or exits still passes the
	// lead on: otherwise every later write would wait for ever.
	defer g.handOver()
	g.commit(batch)
	return c.err
}

// handOver makes the first queued writer the next leader, or marks the
// group idle. Handing over rather than looping keeps a leader's own
// latency at one commit under sustained load.
func (g *Group) handOver() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.queue) > 0 {
		g.queue[0].done <- true
	} else {
		g.busy = false
	}
}

// failed marks which write failed a shared transaction.
type failed struct {
	i   int
	err error
}

func (f *failed) Error() string { return f.err.Error() }

func (g *Group) commit(batch []*call) {
	all := batch // batch shrinks below; the deferred check covers every call
	defer func() {
		for _, c := range all {
			if !c.sent { // the leader is panicking or exiting
				finish(c, ErrAborted)
			}
		}
	}()
	for len(batch) > 0 {
		err := g.db.Update(func(tx *bolt.Tx) error {
			for i, c := range batch {
				if err := run(c.fn, tx); err != nil {
					return &failed{i: i, err: err}
				}
			}
			return nil
		})
		f, ok := errors.AsType[*failed](err)
		if !ok { // committed, or the commit itself failed: for all alike
			for _, c := range batch {
				finish(c, err)
			}
			return
		}
		// As bolt.DB.Batch: the failed write alone, then the rest again
		// together (the writes before it rolled back with it).
		c := batch[f.i]
		batch = slices.Delete(slices.Clone(batch), f.i, f.i+1)
		if len(batch) == 0 {
			finish(c, f.err)
			return
		}
		finish(c, g.db.Update(func(tx *bolt.Tx) error { return run(c.fn, tx) }))
	}
}

func finish(c *call, err error) {
	c.err, c.sent = err, true
	c.done <- false
}

// run calls fn, turning a panic into an error: one write's bug fails that
// write, not its group.
func run(fn func(*bolt.Tx) error, tx *bolt.Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("boltgroup: write panicked: %v\n%s", r, debug.Stack())
		}
	}()
	return fn(tx)
}
