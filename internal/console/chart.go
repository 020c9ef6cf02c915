package console

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// The dashboard's chart shows packets per period: per minute over the
// last hour, per quarter hour over the last day. The counters are sampled
// every sampleEvery; a period's count is the rise of the total between
// the last samples of it and of the period before.
const sampleEvery = 10 * time.Second

// chartRange is one view of the chart: Buckets periods of Step, the last
// being the one now falls in.
type chartRange struct {
	Key     string        // "hour", "day": the ?chart= value
	Step    time.Duration // one bucket
	Buckets int
	Tick    time.Duration // between labelled ticks of the time axis
}

// The chart's two views. Each keeps Buckets+1 totals (one before the
// first bucket), so a day of history takes 97 totals, however long the
// console runs.
var (
	hourRange = chartRange{Key: "hour", Step: time.Minute, Buckets: 60, Tick: 15 * time.Minute}
	dayRange  = chartRange{Key: "day", Step: 15 * time.Minute, Buckets: 96, Tick: 4 * time.Hour}
)

// series of the chart, in drawing order; dashes tell them apart without
// colour.
var chartSeries = []struct {
	key, metric, color, dash string
}{
	{"accepted", mAccepted, "#1a5c8b", ""},
	{"delivered", mDelivered, "#2e7d32", "8 4"},
	{"rejected", mRejected, "#b3261e", "2 3"},
}

// history keeps the counters' totals at the end of each minute and of
// each quarter hour: two bounded rings.
type history struct {
	mu       sync.Mutex
	minutes  []bucketTotals // oldest first, at most hourRange.Buckets+1
	quarters []bucketTotals // oldest first, at most dayRange.Buckets+1
}

type bucketTotals struct {
	bucket int64 // Unix time / the range's step
	totals [3]float64
}

// ring is the totals kept for r.
func (h *history) ring(r chartRange) *[]bucketTotals {
	if r.Key == dayRange.Key {
		return &h.quarters
	}
	return &h.minutes
}

// sample records the totals read at now.
func (h *history) sample(now time.Time, totals [3]float64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range []chartRange{hourRange, dayRange} {
		ring := h.ring(r)
		b := now.Unix() / int64(r.Step/time.Second)
		if n := len(*ring); n > 0 && (*ring)[n-1].bucket == b {
			(*ring)[n-1].totals = totals
			continue
		}
		*ring = append(*ring, bucketTotals{b, totals})
		if len(*ring) > r.Buckets+1 {
			// Copied, so the backing array does not grow without bound.
			*ring = append([]bucketTotals(nil), (*ring)[len(*ring)-r.Buckets-1:]...)
		}
	}
}

// counts returns, for each series, the count in each of r's buckets
// ending with now's (oldest first), NaN where no sample tells, and the
// start of the first bucket. A total that fell (a restart) counts from
// zero.
func (h *history) counts(r chartRange, now time.Time) ([3][]float64, time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	at := map[int64][3]float64{}
	for _, bt := range *h.ring(r) {
		at[bt.bucket] = bt.totals
	}
	step := int64(r.Step / time.Second)
	end := now.Unix() / step
	var out [3][]float64
	for i := range out {
		out[i] = make([]float64, r.Buckets)
	}
	for k := range r.Buckets {
		b := end - int64(r.Buckets-1-k)
		cur, ok1 := at[b]
		prev, ok2 := at[b-1]
		for i := range out {
			switch {
			case !ok1 || !ok2:
				out[i][k] = math.NaN()
			case cur[i] < prev[i]:
				out[i][k] = cur[i]
			default:
				out[i][k] = cur[i] - prev[i]
			}
		}
	}
	return out, time.Unix((end-int64(r.Buckets-1))*step, 0)
}

// totals sums the chart's counters over all their series.
func totals(mfs []*dto.MetricFamily) [3]float64 {
	var t [3]float64
	for _, mf := range mfs {
		for i, s := range chartSeries {
			if mf.GetName() != s.metric {
				continue
			}
			for _, m := range mf.GetMetric() {
				t[i] += value(m)
			}
		}
	}
	return t
}

// runSampler samples g until ctx ends.
func (h *history) runSampler(ctx context.Context, g prometheus.Gatherer, now func() time.Time) {
	tick := time.NewTicker(sampleEvery)
	defer tick.Stop()
	for {
		if mfs, err := g.Gather(); err == nil || len(mfs) > 0 {
			h.sample(now(), totals(mfs))
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// The chart's box (SVG user units): the viewBox scales it to the page, at
// most chartMaxWidth wide, so labels stay legible on a 390-px phone.
const (
	chartW, chartH           = 440, 260
	chartLeft, chartRight    = 40, 24
	chartTop, chartBottom    = 52, 34
	chartFont                = 14
	chartMaxWidth            = "min(100%, 600px)"
	chartPlotW, chartPlotH   = chartW - chartLeft - chartRight, chartH - chartTop - chartBottom
	chartPlotX1, chartPlotY1 = chartLeft + chartPlotW, chartTop + chartPlotH
)

// chartView is the chart drawn as SVG by the template, and its numbers
// as a table.
type chartView struct {
	Range             string // hourRange.Key or dayRange.Key
	Width, Height     int
	MaxWidth          string
	Font              int
	X0, Y0, X1, Y1    int // the plot's box
	UnitY, LegendY    int // baselines of the unit's label and of the legend
	YLabelX, XLabelY  int // where the axes' tick labels are
	XTickY2           int // the time ticks' bottom
	Title, Desc, Unit string
	PeriodLabel       string // the table's heading of a bucket's count
	YTicks, XTicks    []chartTick
	Lines             []chartLine
	Rows              []chartRow // the table, newest first
}

type chartTick struct {
	At     float64 // y or x in user units
	LabelY float64 // a y tick's label baseline
	Label  string
}

type chartLine struct {
	Key, Color, Dash  string
	Label             string
	Path              string  // SVG path data, broken where no sample tells
	LegendX, LegendX2 float64 // its legend's sample line
	LegendTextX       float64
	LegendLineY       float64
	Last              string // the last complete bucket's count, or "—"
	Total             string // over the whole range
}

type chartRow struct {
	At     string
	Values [3]string
}

// chartText is what a chart says, in the page's language.
type chartText struct {
	Title, Unit, Period string
	Labels              [3]string
	Desc                func(totals [3]string, highest string) string
	Row                 func(time.Time) string // a table row's time
	Zone                *time.Location         // the ticks' (HH:mm)
}

// chart lays out the counts of r, whose first bucket starts at start.
func chart(r chartRange, per [3][]float64, start time.Time, tx chartText) *chartView {
	c := &chartView{Range: r.Key, Width: chartW, Height: chartH, MaxWidth: chartMaxWidth, Font: chartFont,
		X0: chartLeft, Y0: chartTop, X1: chartPlotX1, Y1: chartPlotY1,
		UnitY: chartTop - 14, LegendY: 18, YLabelX: chartLeft - 6, XLabelY: chartPlotY1 + 20, XTickY2: chartPlotY1 + 5, Title: tx.Title, Unit: tx.Unit, PeriodLabel: tx.Period}
	highest := 0.0
	for _, s := range per {
		for _, v := range s {
			if !math.IsNaN(v) && v > highest {
				highest = v
			}
		}
	}
	top, step := niceScale(highest)
	for v := 0.0; v <= top+step/2; v += step {
		c.YTicks = append(c.YTicks, chartTick{At: yOf(v, top), LabelY: yOf(v, top) + 4, Label: strconv.FormatFloat(v, 'f', -1, 64)})
	}
	n := len(per[0])
	xOf := func(k int) float64 {
		if n < 2 {
			return chartLeft
		}
		return chartLeft + float64(k)*chartPlotW/float64(n-1)
	}
	// Ticks fall on the zone's round times.
	for k := range n {
		at := start.Add(time.Duration(k) * r.Step).In(tx.Zone)
		if onTick(at, r.Tick) {
			c.XTicks = append(c.XTicks, chartTick{At: xOf(k), Label: at.Format("15:04")})
		}
	}
	var sums [3]string
	legendX := 4.0
	for i, s := range per {
		var d strings.Builder
		pen, sum := false, 0.0
		for k, v := range s {
			if math.IsNaN(v) {
				pen = false
				continue
			}
			sum += v
			x, y := xOf(k), yOf(v, top)
			switch {
			case !pen:
				fmt.Fprintf(&d, "M%.1f %.1f", x, y)
				// A lone point shows as a dot (round caps).
				if k+1 >= len(s) || math.IsNaN(s[k+1]) {
					d.WriteString("h0.1")
				}
			default:
				fmt.Fprintf(&d, "L%.1f %.1f", x, y)
			}
			pen = true
		}
		last := "—"
		// The current bucket is still filling: report the one before.
		if len(s) >= 2 && !math.IsNaN(s[len(s)-2]) {
			last = strconv.FormatFloat(s[len(s)-2], 'f', 0, 64)
		}
		sums[i] = strconv.FormatFloat(sum, 'f', 0, 64)
		c.Lines = append(c.Lines, chartLine{Key: chartSeries[i].key, Color: chartSeries[i].color, Dash: chartSeries[i].dash,
			Label: tx.Labels[i], Path: d.String(), LegendX: legendX, LegendX2: legendX + 24, LegendTextX: legendX + 30, LegendLineY: 14, Last: last, Total: sums[i]})
		// Room for the sample line and the label (diacritics widen it).
		legendX += 48 + float64(len([]rune(tx.Labels[i])))*chartFont*0.6
	}
	c.Desc = tx.Desc(sums, strconv.FormatFloat(highest, 'f', 0, 64))
	for k := n - 1; k >= 0; k-- {
		row := chartRow{At: tx.Row(start.Add(time.Duration(k) * r.Step))}
		for i := range per {
			row.Values[i] = "—"
			if v := per[i][k]; !math.IsNaN(v) {
				row.Values[i] = strconv.FormatFloat(v, 'f', 0, 64)
			}
		}
		c.Rows = append(c.Rows, row)
	}
	return c
}

// yOf places a count on the plot whose axis tops at top.
func yOf(v, top float64) float64 {
	return chartPlotY1 - v/top*chartPlotH
}

// onTick says whether t, in its zone, is a multiple of every since
// midnight.
func onTick(t time.Time, every time.Duration) bool {
	since := time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute + time.Duration(t.Second())*time.Second
	return since%every == 0
}

// niceScale picks the axis's top and step: 1, 2 or 5 times a power of
// ten, about four steps, the top at least highest (and at least 4, so an
// idle hub's axis reads 0–4 rather than 0–1 in fractions).
func niceScale(highest float64) (top, step float64) {
	if highest < 4 {
		return 4, 1
	}
	raw := highest / 4
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, f := range []float64{1, 2, 5, 10} {
		if step = f * mag; step >= raw {
			break
		}
	}
	return math.Ceil(highest/step) * step, step
}
