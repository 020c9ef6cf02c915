package boltgroup

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/testwait"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

func openDB(t *testing.T) *bolt.DB {
	t.Helper()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "g.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucket([]byte("b"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return db
}

// together runs fn(0) … fn(n-1) in goroutines released at once, and waits.
func together(n int, fn func(i int)) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			fn(i)
		})
	}
	close(start)
	wg.Wait()
}

func TestConcurrentWritesShareCommits(t *testing.T) {
	db := openDB(t)
	g := New(db)
	const n = 200
	var (
		mu  sync.Mutex
		txs = map[*bolt.Tx]bool{}
	)
	together(n, func(i int) {
		err := g.Update(func(tx *bolt.Tx) error {
			mu.Lock()
			txs[tx] = true
			mu.Unlock()
			return tx.Bucket([]byte("b")).Put(fmt.Appendf(nil, "k%03d", i), []byte("v"))
		})
		if err != nil {
			t.Error(err)
		}
	})
	got := 0
	if err := db.View(func(tx *bolt.Tx) error {
		got = tx.Bucket([]byte("b")).Stats().KeyN
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got != n {
		t.Fatalf("%d keys committed, want %d", got, n)
	}
	// Every write ran in some transaction; sharing means fewer of them.
	if len(txs) >= n {
		t.Errorf("%d transactions for %d concurrent writes: none shared", len(txs), n)
	}
	t.Logf("%d writes in %d transactions", n, len(txs))
}

func TestOneFailureDoesNotFailOthers(t *testing.T) {
	db := openDB(t)
	g := New(db)
	bad := errors.New("bad write")
	errs := make([]error, 50)
	together(len(errs), func(i int) {
		errs[i] = g.Update(func(tx *bolt.Tx) error {
			switch i % 10 {
			case 3:
				return bad
			case 7:
				panic("boom")
			}
			return tx.Bucket([]byte("b")).Put(fmt.Appendf(nil, "k%02d", i), []byte("v"))
		})
	})
	for i, err := range errs {
		switch i % 10 {
		case 3:
			if !errors.Is(err, bad) {
				t.Errorf("write %d: err %v, want %v", i, err, bad)
			}
		case 7:
			if err == nil {
				t.Errorf("write %d panicked but returned no error", i)
			}
		default:
			if err != nil {
				t.Errorf("write %d: %v", i, err)
			}
		}
	}
	if err := db.View(func(tx *bolt.Tx) error {
		for i := range errs {
			v := tx.Bucket([]byte("b")).Get(fmt.Appendf(nil, "k%02d", i))
			if ok := i%10 != 3 && i%10 != 7; (v != nil) != ok {
				t.Errorf("key %d stored = %v, want %v", i, v != nil, ok)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// The group is still usable after a panic.
	if err := g.Update(func(tx *bolt.Tx) error { return tx.Bucket([]byte("b")).Put([]byte("after"), nil) }); err != nil {
		t.Fatal(err)
	}
}

func TestClosedDB(t *testing.T) {
	db := openDB(t)
	g := New(db)
	db.Close()
	if err := g.Update(func(*bolt.Tx) error { return nil }); !errors.Is(err, berrors.ErrDatabaseNotOpen) {
		t.Fatalf("err %v, want %v", err, berrors.ErrDatabaseNotOpen)
	}
}

// A failed write is retried alone and the others together: the rest still
// share commits, and each write runs at most twice.
func TestFailureRetriesTheRestTogether(t *testing.T) {
	db := openDB(t)
	g := New(db)
	bad := errors.New("bad write")
	const n = 40
	var (
		mu   sync.Mutex
		txs  = map[*bolt.Tx]bool{}
		runs = make([]int, n)
	)
	together(n, func(i int) {
		err := g.Update(func(tx *bolt.Tx) error {
			mu.Lock()
			runs[i]++
			txs[tx] = true
			mu.Unlock()
			if i == 0 {
				return bad
			}
			return tx.Bucket([]byte("b")).Put(fmt.Appendf(nil, "k%02d", i), nil)
		})
		if (i == 0) != errors.Is(err, bad) {
			t.Errorf("write %d: %v", i, err)
		}
	})
	for i, r := range runs {
		if r < 1 || r > 2 {
			t.Errorf("write %d ran %d times", i, r)
		}
	}
	if len(txs) >= n/2 {
		t.Errorf("%d transactions for %d writes: the rest did not commit together", len(txs), n)
	}
}

// A leader that stops outside a write (bbolt panicking after the writes
// ran, here from an OnCommit hook; or runtime.Goexit) hands the lead on,
// and its batch learns that its fate is unknown.
func TestLeaderStopsHandsOver(t *testing.T) {
	db := openDB(t)
	g := New(db)
	tests := []struct {
		name string
		stop func(tx *bolt.Tx)
	}{
		{"panic after the writes", func(tx *bolt.Tx) { tx.OnCommit(func() { panic("hook") }) }},
		{"Goexit", func(*bolt.Tx) { runtime.Goexit() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stopped := make(chan struct{})
			inside := make(chan struct{})
			release := make(chan struct{})
			go func() {
				defer close(stopped)
				defer func() { _ = recover() }()
				_ = g.Update(func(tx *bolt.Tx) error {
					close(inside)
					<-release // let a second writer queue behind this commit
					tt.stop(tx)
					return nil
				})
			}()
			<-inside
			queued := make(chan error, 1)
			go func() { queued <- g.Update(func(*bolt.Tx) error { return nil }) }()
			// The queued writer is in the next batch, not this one, so it
			// must commit normally once the lead is handed over.
			for g.queued() < 1 {
				time.Sleep(time.Millisecond)
			}
			close(release)
			<-stopped
			select {
			case err := <-queued:
				if err != nil {
					t.Fatalf("queued write: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the queued write hangs: the lead was not handed over")
			}
			done := make(chan error, 1)
			go func() { done <- g.Update(func(*bolt.Tx) error { return nil }) }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("a later write hangs")
			}
		})
	}
}

// queueBehind holds the group busy with a first write, queues lead (which
// will lead the next commit) and then other, releases the first write, and
// returns other's result.
func queueBehind(t *testing.T, g *Group, lead, other func(*bolt.Tx) error) error {
	t.Helper()
	hold := make(chan struct{})
	first := make(chan error, 1)
	go func() { first <- g.Update(func(*bolt.Tx) error { <-hold; return nil }) }()
	testwait.Eventually(t, "the first write to hold the group", g.isBusy)
	go func() {
		defer func() { _ = recover() }()
		_ = g.Update(lead)
	}()
	testwait.Eventually(t, "lead queued", func() bool { return g.queued() == 1 })
	res := make(chan error, 1)
	go func() { res <- g.Update(other) }()
	testwait.Eventually(t, "other queued behind lead", func() bool { return g.queued() == 2 })
	close(hold)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-res:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("the queued write hangs")
		return nil
	}
}

// Writes that shared the stopped leader's transaction get ErrAborted
// instead of waiting for ever.
func TestBatchOfStoppedLeaderIsAborted(t *testing.T) {
	g := New(openDB(t))
	err := queueBehind(t, g, func(tx *bolt.Tx) error {
		tx.OnCommit(func() { panic("hook") }) // after the writes ran
		return nil
	}, func(*bolt.Tx) error { return nil })
	if !errors.Is(err, ErrAborted) {
		t.Fatalf("err %v, want %v", err, ErrAborted)
	}
}

// A write retried alone that then stops its leader still gets an answer.
func TestRetriedWriteThatStopsIsAborted(t *testing.T) {
	g := New(openDB(t))
	var runs atomic.Int32
	err := queueBehind(t, g, func(*bolt.Tx) error { return nil }, func(*bolt.Tx) error {
		if runs.Add(1) == 1 {
			return errors.New("fail the shared commit")
		}
		runtime.Goexit() // in the leader's goroutine
		return nil
	})
	if !errors.Is(err, ErrAborted) {
		t.Fatalf("err %v, want %v", err, ErrAborted)
	}
}
