package console

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// The dashboard's chart shows packets per minute over the last hour. The
// counters are sampled every sampleEvery; a minute's count is the rise of
// the total between the last samples of it and of the minute before.
const (
	sampleEvery  = 10 * time.Second
	chartMinutes = 60
)

// series of the chart, in drawing order.
var chartSeries = []struct {
	key, metric, color string
}{
	{"accepted", mAccepted, "#1a5c8b"},
	{"delivered", mDelivered, "#2e7d32"},
	{"rejected", mRejected, "#b3261e"},
}

// history keeps the counters' totals at the end of each minute.
type history struct {
	mu      sync.Mutex
	minutes []minuteTotals // oldest first, at most chartMinutes+1
}

type minuteTotals struct {
	minute int64 // Unix minutes
	totals [3]float64
}

// sample records the totals read at now.
func (h *history) sample(now time.Time, totals [3]float64) {
	m := now.Unix() / 60
	h.mu.Lock()
	defer h.mu.Unlock()
	if n := len(h.minutes); n > 0 && h.minutes[n-1].minute == m {
		h.minutes[n-1].totals = totals
		return
	}
	h.minutes = append(h.minutes, minuteTotals{m, totals})
	if len(h.minutes) > chartMinutes+1 {
		h.minutes = h.minutes[len(h.minutes)-chartMinutes-1:]
	}
}

// perMinute returns, for each series, the count in each of the last
// chartMinutes minutes ending with now's (oldest first), NaN where no
// sample tells. A total that fell (a restart) counts from zero.
func (h *history) perMinute(now time.Time) [3][]float64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	at := map[int64][3]float64{}
	for _, mt := range h.minutes {
		at[mt.minute] = mt.totals
	}
	end := now.Unix() / 60
	var out [3][]float64
	for i := range out {
		out[i] = make([]float64, chartMinutes)
	}
	for k := range chartMinutes {
		m := end - int64(chartMinutes-1-k)
		cur, ok1 := at[m]
		prev, ok2 := at[m-1]
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
	return out
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

// chartView is the chart drawn as SVG by the template.
type chartView struct {
	Width, Height int
	Max           float64
	Lines         []chartLine
}

type chartLine struct {
	Key, Color string
	Label      string
	Points     string // SVG polyline points
	Last       string // the last complete minute's count, or "—"
}

// chart lays out the per-minute counts in a width×height box.
func chart(per [3][]float64, labels [3]string) *chartView {
	const w, h, step = 600, 160, 10
	c := &chartView{Width: w, Height: h, Max: 1}
	for _, s := range per {
		for _, v := range s {
			if !math.IsNaN(v) && v > c.Max {
				c.Max = v
			}
		}
	}
	for i, s := range per {
		var pts strings.Builder
		for k, v := range s {
			if math.IsNaN(v) {
				continue
			}
			fmt.Fprintf(&pts, "%d,%.1f ", k*step, float64(h)-v/c.Max*float64(h-4)-2)
		}
		last := "—"
		// The current minute is still filling: report the one before.
		if n := len(s); n >= 2 && !math.IsNaN(s[n-2]) {
			last = fmt.Sprintf("%.0f", s[n-2])
		}
		c.Lines = append(c.Lines, chartLine{Key: chartSeries[i].key, Color: chartSeries[i].color, Label: labels[i], Points: strings.TrimSpace(pts.String()), Last: last})
	}
	return c
}
