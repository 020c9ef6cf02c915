package blob_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"testing/iotest"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lienthong/lienthong/internal/blob"
)

func obj(key string, b []byte) blob.Object {
	return blob.Object{Key: key, R: bytes.NewReader(b), Size: int64(len(b))}
}

func content(t *testing.T, s blob.Store, key string) []byte {
	t.Helper()
	r, _, err := s.Get(context.Background(), key, 0, -1)
	if errors.Is(err, blob.ErrNotFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// CreatePair creates b only with a, on every store; on the log store both
// go in one batch of records (one write, one fdatasync, one index commit).
func TestCreatePair(t *testing.T) {
	stores := map[string]func(t *testing.T) (blob.Store, *blob.Log){
		"log": func(t *testing.T) (blob.Store, *blob.Log) { l := newLog(t); return l, l },
		"log with metrics": func(t *testing.T) (blob.Store, *blob.Log) {
			l := newLog(t)
			return blob.WithMetrics(l, prometheus.NewRegistry()), l
		},
		"fs": func(t *testing.T) (blob.Store, *blob.Log) {
			s, err := blob.NewFS(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			return s, nil
		},
		"s3": func(t *testing.T) (blob.Store, *blob.Log) { return newS3(t, s3Config(t)), nil },
	}
	big := bytes.Repeat([]byte("p"), 2<<20) // a file on the log store
	tests := []struct {
		name           string
		taken          []string
		a              []byte
		wantA, wantB   error
		batches        int64 // on the log store, when both are created
		wantA2, wantB2 bool  // created
	}{
		{"both new", nil, []byte("packet"), nil, nil, 1, true, true},
		{"a taken", []string{"a"}, []byte("packet"), blob.ErrExists, nil, 0, false, false},
		{"b taken", []string{"b"}, []byte("packet"), nil, blob.ErrExists, 1, true, false},
		{"a a file", nil, big, nil, nil, 1, true, true}, // a file, b the one record
	}
	ctx := context.Background()
	for name, open := range stores {
		for _, tt := range tests {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				s, l := open(t)
				for _, k := range tt.taken {
					if _, err := s.Create(ctx, k, bytes.NewReader([]byte("before")), 6, blob.Meta{}); err != nil {
						t.Fatal(err)
					}
				}
				var before int64
				if l != nil {
					before = l.Batches()
				}
				errA, errB := blob.CreatePair(ctx, s, obj("a", tt.a), obj("b", []byte("receipt")))
				if !errors.Is(errA, tt.wantA) || (tt.wantA == nil) != (errA == nil) {
					t.Errorf("a: %v, want %v", errA, tt.wantA)
				}
				if !errors.Is(errB, tt.wantB) || (tt.wantB == nil) != (errB == nil) {
					t.Errorf("b: %v, want %v", errB, tt.wantB)
				}
				if got := content(t, s, "a"); tt.wantA2 != bytes.Equal(got, tt.a) {
					t.Errorf("a holds %d bytes, created %v", len(got), tt.wantA2)
				}
				if got := content(t, s, "b"); tt.wantB2 != bytes.Equal(got, []byte("receipt")) {
					t.Errorf("b holds %q, created %v", got, tt.wantB2)
				}
				if l != nil && tt.wantA2 {
					if n := l.Batches() - before; n != tt.batches {
						t.Errorf("%d batches written, want %d", n, tt.batches)
					}
				}
			})
		}
	}
}

// Of concurrent pairs with one first key, exactly one is created, with
// its second object; the others create nothing.
func TestCreatePairTwins(t *testing.T) {
	s := newLog(t)
	ctx := context.Background()
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			var errB error
			errs[i], errB = blob.CreatePair(ctx, s, obj("a", []byte("packet")), obj(fmt.Sprintf("b%d", i), []byte("receipt")))
			if errB != nil {
				t.Errorf("twin %d: b: %v", i, errB)
			}
		})
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		has := content(t, s, fmt.Sprintf("b%d", i)) != nil
		switch {
		case err == nil:
			won++
			if !has {
				t.Errorf("twin %d won without its second object", i)
			}
		case !errors.Is(err, blob.ErrExists):
			t.Errorf("twin %d: %v", i, err)
		case has:
			t.Errorf("twin %d lost but created its second object", i)
		}
	}
	if won != 1 {
		t.Errorf("%d twins created the first object, want 1", won)
	}
}

// On the log store, a second object that cannot be read (its reader
// fails, the request ends) leaves neither: committing the first alone
// would break "both or neither" for no reason.
func TestCreatePairUnreadSecondLeavesNeither(t *testing.T) {
	s := newLog(t)
	ctx := context.Background()
	bad := blob.Object{Key: "pair/record", R: io.MultiReader(bytes.NewReader([]byte("half")), iotest.ErrReader(errors.New("connection reset"))), Size: 100}
	errA, errB := blob.CreatePair(ctx, s, obj("pair/packet", []byte("the packet")), bad)
	if errA == nil {
		t.Errorf("CreatePair = %v, %v; want an error for the first", errA, errB)
	}
	if got := content(t, s, "pair/packet"); got != nil {
		t.Errorf("the first object was created alone: %q", got)
	}
}
