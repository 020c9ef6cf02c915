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
	"sync"

	bolt "go.etcd.io/bbolt"
)

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
	// when its write was committed (or failed: err).
	done chan bool
}

// New returns a Group writing to db.
func New(db *bolt.DB) *Group { return &Group{db: db} }

// Update runs fn in a read-write transaction shared with other concurrent
// Updates and returns once it is committed. As with bolt.DB.Batch, fn may
// run more than once and must only touch the transaction: when a write of
// a shared transaction fails, each write is retried in its own, so one
// write's error does not fail the others.
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

	g.commit(batch)

	g.mu.Lock()
	if len(g.queue) > 0 {
		// Hand over rather than loop, so a leader's own latency stays one
		// commit under sustained load.
		g.queue[0].done <- true
	} else {
		g.busy = false
	}
	g.mu.Unlock()
	return c.err
}

// failed marks which write failed a shared transaction.
type failed struct {
	i   int
	err error
}

func (f *failed) Error() string { return f.err.Error() }

func (g *Group) commit(batch []*call) {
	err := g.db.Update(func(tx *bolt.Tx) error {
		for i, c := range batch {
			if err := run(c.fn, tx); err != nil {
				return &failed{i: i, err: err}
			}
		}
		return nil
	})
	if f, ok := errors.AsType[*failed](err); ok && len(batch) > 1 {
		for _, c := range batch {
			c.err = g.db.Update(func(tx *bolt.Tx) error { return run(c.fn, tx) })
		}
	} else {
		if ok {
			err = f.err
		}
		for _, c := range batch {
			c.err = err
		}
	}
	for _, c := range batch {
		c.done <- false
	}
}

// run calls fn, turning a panic into an error: a leader that panicked
// would leave the group busy for ever.
func run(fn func(*bolt.Tx) error, tx *bolt.Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("boltgroup: write panicked: %v", r)
		}
	}()
	return fn(tx)
}
