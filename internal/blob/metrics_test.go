package blob_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/lienthong/lienthong/internal/blob"
	"github.com/lienthong/lienthong/internal/blob/blobtest"
)

func TestWithMetricsPassesSuite(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store { return blob.WithMetrics(newFS(t), prometheus.NewRegistry()) })
}

// metric returns the value of the counter or the sample count of the
// histogram name with the given labels.
func metric(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if v, ok := labels[lp.GetName()]; ok && v != lp.GetValue() {
					continue next
				}
			}
			if mf.GetType() == dto.MetricType_HISTOGRAM {
				return float64(m.GetHistogram().GetSampleCount())
			}
			return m.GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s%v", name, labels)
	return 0
}

func TestWithMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := blob.WithMetrics(newFS(t), reg)
	ctx := t.Context()
	data := blobtest.Bytes(1, 1234)

	if _, err := s.Create(ctx, "m/a", bytes.NewReader(data), -1, blob.Meta{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, "m/a", bytes.NewReader(data), -1, blob.Meta{}); !errors.Is(err, blob.ErrExists) {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, "m/b", bytes.NewReader(data), -1, blob.Meta{SHA256: blobtest.Digest(nil)}); !errors.Is(err, blob.ErrDigestMismatch) {
		t.Fatal(err)
	}
	if _, err := s.Stat(ctx, "m/missing"); !errors.Is(err, blob.ErrNotFound) {
		t.Fatal(err)
	}
	if _, err := s.Stat(ctx, "../x"); !errors.Is(err, blob.ErrInvalidKey) {
		t.Fatal(err)
	}
	rc, _, err := s.Get(ctx, "m/a", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, rc); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	errStop := errors.New("stop")
	if err := s.List(ctx, "", func(blob.Info) error { return errStop }); !errors.Is(err, errStop) {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"lienthong_blob_operations_total", map[string]string{"op": "create", "outcome": "ok"}, 1},
		{"lienthong_blob_operations_total", map[string]string{"op": "create", "outcome": "exists"}, 1},
		{"lienthong_blob_operations_total", map[string]string{"op": "create", "outcome": "digest_mismatch"}, 1},
		{"lienthong_blob_operations_total", map[string]string{"op": "stat", "outcome": "not_found"}, 1},
		{"lienthong_blob_operations_total", map[string]string{"op": "stat", "outcome": "invalid"}, 1},
		{"lienthong_blob_operations_total", map[string]string{"op": "get", "outcome": "ok"}, 1},
		{"lienthong_blob_operations_total", map[string]string{"op": "list", "outcome": "ok"}, 1},
		{"lienthong_blob_operations_total", map[string]string{"op": "delete", "outcome": "error"}, 0},
		{"lienthong_blob_operation_seconds", map[string]string{"op": "create"}, 3},
		{"lienthong_blob_bytes_total", map[string]string{"op": "create"}, 1234},
		{"lienthong_blob_bytes_total", map[string]string{"op": "get"}, 100},
	}
	for _, tt := range tests {
		if got := metric(t, reg, tt.name, tt.labels); got != tt.want {
			t.Errorf("%s%v = %v, want %v", tt.name, tt.labels, got, tt.want)
		}
	}

	// A second store on the same registry shares the collectors.
	s2 := blob.WithMetrics(newFS(t), reg)
	if _, err := s2.Create(ctx, "m/c", bytes.NewReader(data), -1, blob.Meta{}); err != nil {
		t.Fatal(err)
	}
	if got := metric(t, reg, "lienthong_blob_operations_total", map[string]string{"op": "create", "outcome": "ok"}); got != 2 {
		t.Errorf("after a second store's create: %v, want 2", got)
	}
}

// Closing the wrapped store closes the store under it: the fs store's
// small.db is released, so the directory opens again at once (a store still
// holding it makes NewFS wait for the lock and fail).
func TestWithMetricsCloses(t *testing.T) {
	dir := t.TempDir()
	fs, err := blob.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := blob.WithMetrics(fs, prometheus.NewRegistry())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := blob.NewFS(dir)
	if err != nil {
		t.Fatalf("reopening after Close: %v", err)
	}
	if err := again.Close(); err != nil {
		t.Fatal(err)
	}
}
