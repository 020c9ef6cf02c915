package boltgroup

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

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

func TestConcurrentWritesShareCommits(t *testing.T) {
	db := openDB(t)
	g := New(db)
	const n = 200
	var (
		mu  sync.Mutex
		txs = map[*bolt.Tx]bool{}
		wg  sync.WaitGroup
	)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
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
	}
	close(start)
	wg.Wait()
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
	var wg sync.WaitGroup
	errs := make([]error, 50)
	start := make(chan struct{})
	for i := range errs {
		wg.Go(func() {
			<-start
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
	}
	close(start)
	wg.Wait()
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
