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
}

// Durations read in the page's language: Vietnamese units and a decimal
// comma, not "ms" and "1.25 s".
func TestFmtDurations(t *testing.T) {
	vi, en := messages["vi"], messages["en"]
	tests := []struct {
		give string
		got  string
		want string
	}{
		{"NaN", fmtSeconds(vi, math.NaN()), "—"},
		{"vi 12 ms", fmtSeconds(vi, 0.0123), "12 mili giây"},
		{"en 12 ms", fmtSeconds(en, 0.0123), "12 ms"},
		{"vi 1.25 s", fmtSeconds(vi, 1.25), "1,25 giây"},
		{"en 1.25 s", fmtSeconds(en, 1.25), "1.25 s"},
		{"vi age 90 s", fmtAge(vi, 90), "90 giây"},
		{"vi age 10 min", fmtAge(vi, 600), "10 phút"},
		{"vi age 2.5 h", fmtAge(vi, 9000), "2,5 giờ"},
		{"vi age 3 d", fmtAge(vi, 3*86400), "3,0 ngày"},
		{"none", fmtAge(vi, 0), "—"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: %q, want %q", tt.give, tt.got, tt.want)
		}
	}
}

var (
	testZone = time.FixedZone("ICT", 7*3600)
	testText = chartText{Title: "t", Unit: "u", Labels: [3]string{"a", "d", "r"},
		Desc: func(t [3]string, highest string) string { return strings.Join(t[:], "/") + " max " + highest },
		Row:  func(t time.Time) string { return t.In(testZone).Format("02/01 15:04") }, Zone: testZone}
)

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
	per, start := h.counts(hourRange, at(4, 30))
	n := hourRange.Buckets
	if want := at(4, 0).Add(-59 * time.Minute); !start.Equal(want) {
		t.Errorf("first minute starts %v, want %v", start, want)
	}
	got := per[0][n-5:]
	if !math.IsNaN(got[0]) || got[1] != 15 || !math.IsNaN(got[2]) || !math.IsNaN(got[3]) || got[4] != 3 {
		t.Errorf("accepted per minute = %v, want [NaN 15 NaN NaN 3]", got)
	}
	if per[1][n-4] != 12 || per[2][n-4] != 1 {
		t.Errorf("minute 1: delivered %v rejected %v, want 12 and 1", per[1][n-4], per[2][n-4])
	}
	c := chart(hourRange, per, start, testText)
	// The gap at minute 2 breaks the line: two pieces, the lone point of
	// minute 1 a dot.
	if c.Lines[0].Last != "—" || strings.Count(c.Lines[0].Path, "M") != 2 || !strings.Contains(c.Lines[0].Path, "h0.1") {
		t.Errorf("chart: last %q, path %q", c.Lines[0].Last, c.Lines[0].Path)
	}
	if c.Lines[0].Total != "18" || c.Desc != "18/14/1 max 15" {
		t.Errorf("totals %q, desc %q", c.Lines[0].Total, c.Desc)
	}
	// At most an hour and a minute of totals are kept.
	for i := range 200 {
		h.sample(at(10+i, 0), [3]float64{float64(i), 0, 0})
	}
	if len(h.minutes) != hourRange.Buckets+1 {
		t.Errorf("%d minutes kept, want %d", len(h.minutes), hourRange.Buckets+1)
	}
	per, start = h.counts(hourRange, at(209, 30))
	if per[0][n-1] != 1 || per[0][0] != 1 {
		t.Errorf("a steady 1 a minute reads %v … %v", per[0][0], per[0][n-1])
	}
	if c := chart(hourRange, per, start, testText); c.Lines[0].Last != "1" {
		t.Errorf("last complete minute = %q, want 1", c.Lines[0].Last)
	}
}

// A day of history in bounded memory: however long the sampler runs, 61
// minutes and 97 quarter hours of totals, and the day view counts per
// quarter hour.
func TestHistoryDay(t *testing.T) {
	var h history
	t0 := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	now := t0
	// Three days of samples every 10 s, one packet accepted each.
	for i := range 3 * 24 * 360 {
		now = t0.Add(time.Duration(i) * sampleEvery)
		h.sample(now, [3]float64{float64(i), float64(i) / 2, 0})
		if len(h.minutes) > hourRange.Buckets+1 || len(h.quarters) > dayRange.Buckets+1 ||
			cap(h.minutes) > 2*(hourRange.Buckets+1) || cap(h.quarters) > 2*(dayRange.Buckets+1) {
			t.Fatalf("after %v: %d/%d minutes, %d/%d quarters kept", now.Sub(t0), len(h.minutes), cap(h.minutes), len(h.quarters), cap(h.quarters))
		}
	}
	if len(h.quarters) != dayRange.Buckets+1 {
		t.Errorf("%d quarter hours kept, want %d", len(h.quarters), dayRange.Buckets+1)
	}
	per, start := h.counts(dayRange, now)
	if len(per[0]) != 96 || !start.Equal(now.Truncate(15*time.Minute).Add(-95*15*time.Minute)) {
		t.Fatalf("%d quarters from %v", len(per[0]), start)
	}
	// 90 samples a quarter hour; the current one is still filling.
	for k, v := range per[0][:95] {
		if v != 90 {
			t.Fatalf("quarter %d: %v accepted, want 90", k, v)
		}
	}
	c := chart(dayRange, per, start, testText)
	if len(c.Rows) != 96 || c.Lines[0].Last != "90" {
		t.Errorf("day chart: %d rows, last %q", len(c.Rows), c.Lines[0].Last)
	}
	// Ticks every 4 hours of the zone's clock.
	for _, tk := range c.XTicks {
		hh, mm, _ := strings.Cut(tk.Label, ":")
		if mm != "00" || (hh[0]-'0')*10+(hh[1]-'0') != 0 && ((hh[0]-'0')*10+(hh[1]-'0'))%4 != 0 {
			t.Errorf("day tick %q", tk.Label)
		}
	}
	if len(c.XTicks) < 5 {
		t.Errorf("day ticks: %v", c.XTicks)
	}
}

// The chart's axes: the counts' scale with round steps, and times in the
// console's zone on the quarter hours.
func TestChartAxes(t *testing.T) {
	start := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC) // 16:00 in the zone
	var per [3][]float64
	for i := range per {
		per[i] = make([]float64, 60)
	}
	per[0][30] = 37
	c := chart(hourRange, per, start, testText)
	var ys, xs []string
	for _, tk := range c.YTicks {
		ys = append(ys, tk.Label)
	}
	for _, tk := range c.XTicks {
		xs = append(xs, tk.Label)
	}
	if got := strings.Join(ys, " "); got != "0 10 20 30 40" {
		t.Errorf("y ticks %q", got)
	}
	if got := strings.Join(xs, " "); got != "16:00 16:15 16:30 16:45" {
		t.Errorf("x ticks %q (in the zone, HH:mm)", got)
	}
	if c.XTicks[0].At != float64(c.X0) || c.YTicks[0].At != float64(c.Y1) || c.YTicks[4].At != float64(c.Y0) {
		t.Errorf("ticks off the axes: %+v %+v", c.XTicks[0], c.YTicks)
	}
	if c.Rows[0].At != "27/11 16:59" || c.Rows[29].Values[0] != "37" {
		t.Errorf("table: newest %q, row of 16:30 %v", c.Rows[0].At, c.Rows[29].Values)
	}
}

func TestNiceScale(t *testing.T) {
	tests := []struct {
		give            float64
		wantTop, wantSt float64
	}{
		{0, 4, 1},
		{3, 4, 1},
		{4, 4, 1},
		{5, 6, 2},
		{37, 40, 10},
		{90, 100, 50},
		{1234, 1500, 500},
	}
	for _, tt := range tests {
		if top, step := niceScale(tt.give); top != tt.wantTop || step != tt.wantSt {
			t.Errorf("niceScale(%v) = %v, %v; want %v, %v", tt.give, top, step, tt.wantTop, tt.wantSt)
		}
	}
}

// Every message has both languages, and the chart's and glossary's keys
// exist (a missing key would show as itself).
func TestOpsMessagesBothLanguages(t *testing.T) {
	for k := range messages["vi"] {
		if _, ok := messages["en"][k]; !ok {
			t.Errorf("%q has no English", k)
		}
	}
	for k := range messages["en"] {
		if _, ok := messages["vi"][k]; !ok {
			t.Errorf("%q has no Vietnamese", k)
		}
	}
	var keys []string
	for _, g := range glossaryTerms {
		keys = append(keys, g.Key, g.Key+"_def")
	}
	for _, r := range []chartRange{hourRange, dayRange} {
		for _, p := range []string{"chart_title_", "chart_unit_", "chart_period_", "chart_total_", "chart_desc_", "chart_view_"} {
			keys = append(keys, p+r.Key)
		}
	}
	keys = append(keys, "stage_router", "stage_view", "stage_forward", "stage_push", "outcome_ok", "outcome_error",
		"dl_cause_push", "dl_cause_forward", "dl_cause_route", "dl_cause_other")
	for _, k := range keys {
		for _, l := range []string{"vi", "en"} {
			if _, ok := messages[l][k]; !ok {
				t.Errorf("%s: no message %q", l, k)
			}
		}
	}
}

// Warning flags and results read in words, an unknown one as "another".
func TestFlagAndResultWords(t *testing.T) {
	vi := messages["vi"]
	tests := []struct {
		give, got, want string
	}{
		{"organ.alias", vi.Flag("organ.alias"), "Gửi đến mã cũ của cơ quan"},
		{"unknown flag", vi.Flag("new.flag"), "Cảnh báo khác"},
		{"acked:done", vi.State("acked:done"), vi.Event("acked", "done")},
		{"03", vi.State("03"), "Đã tiếp nhận"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: %q, want %q", tt.give, tt.got, tt.want)
		}
	}
}
