package blob

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Operation names, the op label.
const (
	opCreate = "create"
	opGet    = "get"
	opStat   = "stat"
	opDelete = "delete"
	opList   = "list"
	opPing   = "ping"
)

// Outcomes, the outcome label.
const (
	outcomeOK       = "ok"
	outcomeNotFound = "not_found"
	outcomeExists   = "exists"
	outcomeDigest   = "digest_mismatch"
	outcomeInvalid  = "invalid" // key, range, metadata or size
	outcomeCanceled = "canceled"
	outcomeError    = "error" // the store is unavailable or failing
)

// WithMetrics decorates s with Prometheus collectors registered on reg:
//
//   - lienthong_blob_operations_total{op,outcome}: calls by operation and
//     outcome (ok, not_found, exists, digest_mismatch, invalid, canceled,
//     error);
//   - lienthong_blob_operation_seconds{op}: duration of the call; for get
//     until the reader is returned, for list including the callbacks (a
//     listing the callback stops counts as ok);
//   - lienthong_blob_bytes_total{op}: bytes stored by successful creates and
//     bytes read through readers returned by get.
//
// Decorating several stores with one registry shares the collectors.
func WithMetrics(s Store, reg prometheus.Registerer) Store {
	m := &metricsStore{
		s: s,
		ops: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lienthong_blob_operations_total",
			Help: "Blob store operations by operation and outcome.",
		}, []string{"op", "outcome"})),
		seconds: register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "lienthong_blob_operation_seconds",
			Help:    "Duration of blob store operations.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10), // 1 ms to 4.4 min
		}, []string{"op"})),
		bytes: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lienthong_blob_bytes_total",
			Help: "Bytes stored (create) and read (get) through the blob store.",
		}, []string{"op"})),
	}
	// Export zeros, so that rates and alerts work before the first event.
	for _, op := range []string{opCreate, opGet, opStat, opDelete, opList, opPing} {
		m.seconds.WithLabelValues(op)
		for _, o := range []string{outcomeOK, outcomeNotFound, outcomeExists, outcomeDigest, outcomeInvalid, outcomeCanceled, outcomeError} {
			m.ops.WithLabelValues(op, o)
		}
	}
	m.bytes.WithLabelValues(opCreate)
	m.bytes.WithLabelValues(opGet)
	return m
}

// register registers c, or returns the equal collector already registered.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		if are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err) // a conflicting collector of the same name: a programming error
	}
	return c
}

type metricsStore struct {
	s       Store
	ops     *prometheus.CounterVec
	seconds *prometheus.HistogramVec
	bytes   *prometheus.CounterVec
}

func outcome(err error) string {
	switch {
	case err == nil:
		return outcomeOK
	case errors.Is(err, ErrNotFound):
		return outcomeNotFound
	case errors.Is(err, ErrExists):
		return outcomeExists
	case errors.Is(err, ErrDigestMismatch):
		return outcomeDigest
	case errors.Is(err, ErrInvalidKey), errors.Is(err, ErrInvalidRange),
		errors.Is(err, ErrInvalidMeta), errors.Is(err, ErrSizeMismatch):
		return outcomeInvalid
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return outcomeCanceled
	}
	return outcomeError
}

func (m *metricsStore) observe(op string, start time.Time, err error) {
	m.seconds.WithLabelValues(op).Observe(time.Since(start).Seconds())
	m.ops.WithLabelValues(op, outcome(err)).Inc()
}

func (m *metricsStore) Create(ctx context.Context, key string, r io.Reader, size int64, meta Meta) (Info, error) {
	start := time.Now()
	info, err := m.s.Create(ctx, key, r, size, meta)
	m.observe(opCreate, start, err)
	if err == nil {
		m.bytes.WithLabelValues(opCreate).Add(float64(info.Size))
	}
	return info, err
}

func (m *metricsStore) Get(ctx context.Context, key string, off, n int64) (io.ReadCloser, Info, error) {
	start := time.Now()
	rc, info, err := m.s.Get(ctx, key, off, n)
	m.observe(opGet, start, err)
	if err != nil {
		return nil, info, err
	}
	return &countingReader{ReadCloser: rc, c: m.bytes.WithLabelValues(opGet)}, info, nil
}

type countingReader struct {
	io.ReadCloser
	c prometheus.Counter
}

func (r *countingReader) Read(b []byte) (int, error) {
	n, err := r.ReadCloser.Read(b)
	r.c.Add(float64(n))
	return n, err
}

func (m *metricsStore) Stat(ctx context.Context, key string) (Info, error) {
	start := time.Now()
	info, err := m.s.Stat(ctx, key)
	m.observe(opStat, start, err)
	return info, err
}

func (m *metricsStore) Delete(ctx context.Context, key string) error {
	start := time.Now()
	err := m.s.Delete(ctx, key)
	m.observe(opDelete, start, err)
	return err
}

func (m *metricsStore) List(ctx context.Context, prefix string, fn func(Info) error) error {
	start := time.Now()
	var stopped error
	err := m.s.List(ctx, prefix, func(info Info) error {
		stopped = fn(info)
		return stopped
	})
	if stopped != nil && errors.Is(err, stopped) {
		m.observe(opList, start, nil) // the caller stopped the listing
	} else {
		m.observe(opList, start, err)
	}
	return err
}

func (m *metricsStore) Ping(ctx context.Context) error {
	start := time.Now()
	err := m.s.Ping(ctx)
	m.observe(opPing, start, err)
	return err
}

// Close closes the store it wraps.
func (m *metricsStore) Close() error { return m.s.Close() }
