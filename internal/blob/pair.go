package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Object is one object for CreatePair: its key, bytes (Size as Create's
// size) and metadata.
type Object struct {
	Key  string
	R    io.Reader
	Size int64
	Meta Meta
}

// pairCreator is a Store that creates two objects in one durable write.
type pairCreator interface {
	createPair(ctx context.Context, a, b Object) (errA, errB error)
}

// CreatePair creates a, then b only if a was created: errA is a's Create
// error, errB b's (nil when a failed and b was not tried). The embedded
// log store (Log) writes both in one batch, one fdatasync and one index
// commit, so a crash leaves both or neither: the cost of one Create, not
// two. On the other stores they are two Creates, one after the other,
// and a failure between leaves a without b, as a crash between two
// Creates would.
func CreatePair(ctx context.Context, s Store, a, b Object) (errA, errB error) {
	if p, ok := s.(pairCreator); ok {
		return p.createPair(ctx, a, b)
	}
	return createOneThenOther(ctx, s, a, b)
}

func createOneThenOther(ctx context.Context, s Store, a, b Object) (errA, errB error) {
	if _, err := s.Create(ctx, a.Key, a.R, a.Size, a.Meta); err != nil {
		return err, nil
	}
	_, err := s.Create(ctx, b.Key, b.R, b.Size, b.Meta)
	return nil, err
}

// createPair commits both as records of one batch, b only if a wins its
// key. Objects kept as files (unknown size, above 1 MiB) are created one
// after the other.
func (s *Log) createPair(ctx context.Context, a, b Object) (errA, errB error) {
	inline := func(o Object) bool { return o.Size >= 0 && o.Size <= logInlineMax }
	if !inline(a) || !inline(b) {
		return createOneThenOther(ctx, s, a, b)
	}
	prepare := func(o Object) (*logReq, error) {
		meta, err := checkCreate(ctx, o.Key, o.Size, o.Meta)
		if err != nil {
			return nil, err
		}
		if _, found, err := s.lookup(o.Key); err != nil || found {
			if err == nil {
				err = ErrExists
			}
			return nil, err
		}
		return s.record(ctx, o.Key, o.R, o.Size, meta)
	}
	wrap := func(key string, err error) error {
		if err != nil {
			return fmt.Errorf("blob: create %s: %w", key, err)
		}
		return nil
	}
	ra, err := prepare(a)
	if err != nil {
		return wrap(a.Key, err), nil
	}
	rb, err := prepare(b)
	switch {
	case errors.Is(err, ErrExists): // b is there already: a alone, as two Creates would
		return wrap(a.Key, s.commit(ra)), wrap(b.Key, err)
	case err != nil: // b unread (its reader failed, ctx ended): neither
		return wrap(a.Key, err), nil
	}
	rb.after = ra
	errA = s.commit(ra, rb)
	if errA != nil {
		return wrap(a.Key, errA), nil
	}
	return nil, wrap(b.Key, rb.err)
}

// createPair times and counts each object as a Create.
func (m *metricsStore) createPair(ctx context.Context, a, b Object) (errA, errB error) {
	start := time.Now()
	errA, errB = CreatePair(ctx, m.s, a, b)
	m.observe(opCreate, start, errA)
	if errA == nil {
		m.bytes.WithLabelValues(opCreate).Add(float64(max(a.Size, 0)))
		m.observe(opCreate, start, errB)
		if errB == nil {
			m.bytes.WithLabelValues(opCreate).Add(float64(max(b.Size, 0)))
		}
	}
	return errA, errB
}
