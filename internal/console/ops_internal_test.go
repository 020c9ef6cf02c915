package console

import (
	"math"
	"strings"
	"testing"
	"time"

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

func TestHistoryPerMinute(t *testing.T) {
	var h history
	t0 := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	at := func(m, sec int) time.Time {
		return t0.Add(time.Duration(m)*time.Minute + time.Duration(sec)*time.Second)
	}
	// Minute 0 ends at 10 accepted; minute 1 at 25 (two samples, the last
	// counts); minute 2 has no sample; minute 3 at 40; minute 4 after a
	// restart at 3.
	h.sample(at(0, 50), [3]float64{10, 8, 1})
	h.sample(at(1, 10), [3]float64{20, 15, 1})
	h.sample(at(1, 50), [3]float64{25, 20, 2})
	h.sample(at(3, 30), [3]float64{40, 30, 2})
	h.sample(at(4, 5), [3]float64{3, 2, 0})
	per := h.perMinute(at(4, 30))
	n := chartMinutes
	got := per[0][n-5:]
	if !math.IsNaN(got[0]) || got[1] != 15 || !math.IsNaN(got[2]) || !math.IsNaN(got[3]) || got[4] != 3 {
		t.Errorf("accepted per minute = %v, want [NaN 15 NaN NaN 3]", got)
	}
	if per[1][n-4] != 12 || per[2][n-4] != 1 {
		t.Errorf("minute 1: delivered %v rejected %v, want 12 and 1", per[1][n-4], per[2][n-4])
	}
	c := chart(per, [3]string{"a", "d", "r"})
	if c.Max != 15 || c.Lines[0].Last != "—" || !strings.Contains(c.Lines[0].Points, "560,") {
		t.Errorf("chart: max %v, last %q, points %q", c.Max, c.Lines[0].Last, c.Lines[0].Points)
	}
	// At most an hour and a minute of totals are kept.
	for i := range 200 {
		h.sample(at(10+i, 0), [3]float64{float64(i), 0, 0})
	}
	if len(h.minutes) != chartMinutes+1 {
		t.Errorf("%d minutes kept, want %d", len(h.minutes), chartMinutes+1)
	}
	per = h.perMinute(at(209, 30))
	if per[0][chartMinutes-1] != 1 || per[0][0] != 1 {
		t.Errorf("a steady 1 a minute reads %v … %v", per[0][0], per[0][chartMinutes-1])
	}
	if c := chart(per, [3]string{}); c.Lines[0].Last != "1" {
		t.Errorf("last complete minute = %q, want 1", c.Lines[0].Last)
	}
}
