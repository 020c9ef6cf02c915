package console

import (
	"math"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
)

func hist(count uint64, buckets ...float64) *dto.Histogram {
	h := &dto.Histogram{SampleCount: proto.Uint64(count)}
	for i := 0; i+1 < len(buckets); i += 2 {
		h.Bucket = append(h.Bucket, &dto.Bucket{UpperBound: proto.Float64(buckets[i]), CumulativeCount: proto.Uint64(uint64(buckets[i+1]))})
	}
	return h
}

func TestBucketQuantile(t *testing.T) {
	// 10 observations: 4 in (0, 0.1], 4 in (0.1, 0.5], 2 in (0.5, 1].
	h := hist(10, 0.1, 4, 0.5, 8, 1, 10)
	for _, c := range []struct{ q, want float64 }{
		{0, 0},
		{0.2, 0.05},      // rank 2 of 4 in the first bucket
		{0.5, 0.1 + 0.1}, // rank 5: 1 of 4 into (0.1, 0.5]
		{0.8, 0.5},       // rank 8: the top of the second bucket
		{0.99, 0.975},    // rank 9.9: 1.9 of 2 into (0.5, 1]
		{1, 1},
	} {
		if got := bucketQuantile(c.q, h); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("q=%v: %v, want %v", c.q, got, c.want)
		}
	}
	// Observations past the last finite bucket give its upper bound.
	if got := bucketQuantile(0.99, hist(10, 0.1, 1, 1, 2)); got != 1 {
		t.Errorf("past the last bucket: %v", got)
	}
	// With an explicit +Inf bucket too.
	if got := bucketQuantile(0.99, hist(10, 0.1, 1, 1, 2, math.Inf(1), 10)); got != 1 {
		t.Errorf("+Inf bucket: %v", got)
	}
	// Empty buckets before the rank are skipped.
	if got := bucketQuantile(0.5, hist(2, 0.1, 0, 0.5, 0, 1, 2)); math.Abs(got-0.75) > 1e-9 {
		t.Errorf("after empty buckets: %v", got)
	}
	if got := bucketQuantile(0.5, hist(0, 0.1, 0)); !math.IsNaN(got) {
		t.Errorf("empty histogram: %v", got)
	}
	if got := bucketQuantile(1.5, h); !math.IsNaN(got) {
		t.Errorf("q out of range: %v", got)
	}
	if s := fmtSeconds(math.NaN()); s != "—" {
		t.Errorf("fmtSeconds(NaN) = %q", s)
	}
	if s := fmtSeconds(0.0123); s != "12 ms" {
		t.Errorf("fmtSeconds(0.0123) = %q", s)
	}
}
