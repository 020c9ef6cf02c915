package console

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/lienthong/lienthong/internal/metrics"

	dto "github.com/prometheus/client_model/go"
)

// Metric names the operator dashboard reads (internal/metrics).
const (
	mAccepted     = "lienthong_packets_accepted_total"
	mDelivered    = "lienthong_packets_delivered_total"
	mRejected     = "lienthong_packets_rejected_total"
	mVerification = "lienthong_verification_failures_total"
	mSubmit       = "lienthong_submit_duration_seconds"
	mLatency      = "lienthong_delivery_latency_seconds"
	mPending      = "lienthong_inbox_pending"
	mOldest       = "lienthong_inbox_oldest_seconds"
	mUp           = "lienthong_up"
	mLag          = "lienthong_consumer_lag"
	mWebhook      = "lienthong_webhook_attempts_total"
)

// opsRefresh is the dashboard's refresh period in seconds.
const opsRefresh = 10

type countRow struct {
	Key   string // the label's value, e.g. the kind "edoc"
	Label string // what the page shows for it
	Value float64
}

type backlogRow struct {
	Agency  string
	Pending float64
	Oldest  string
}

type opsView struct {
	Configured   bool
	Refresh      int
	Accepted     []countRow
	Delivered    []countRow
	Rejected     []countRow
	Verification []countRow
	SubmitP50    string
	SubmitP99    string
	DeliveryP50  string
	DeliveryP99  string
	Backlog      []backlogRow
	Chart        *chartView
	Health       []healthRow
	Lags         []lagRow
	Webhooks     []countRow // attempts by outcome
}

type healthRow struct {
	Component string
	Up        bool
}

// lagRow is a consumer's backlog on one topic: Stage says what the
// consumer does and Channel what the topic carries, in the page's words;
// Group and Topic are the names Kafka and Prometheus know them by.
type lagRow struct {
	Group, Topic   string
	Stage, Channel string
	Organ          string // the agency whose inbox the topic is, if one
	Messages       float64
}

// operator wraps a handler for a signed-in operator or admin (signedIn).
func (s *server) operator(next func(http.ResponseWriter, *http.Request, *Account, *session)) http.HandlerFunc {
	return s.signedIn(isOperator, "operators_only", next)
}

func isOperator(u *Account) bool {
	return u != nil && (u.Role == RoleOperator || u.Role == RoleAdmin)
}

// landing is where a signed-in account starts.
func landing(u *Account) string {
	if isOperator(u) {
		return "/ops"
	}
	return "/inbox"
}

func (s *server) ops(w http.ResponseWriter, r *http.Request, u *Account, ss *session) {
	p := s.page(w, r, u, ss)
	p.Title = p.M.T("ops")
	v := &opsView{Refresh: opsRefresh, SubmitP50: "—", SubmitP99: "—", DeliveryP50: "—", DeliveryP99: "—"}
	p.Ops = v
	if s.o.Gatherer == nil {
		s.render(w, http.StatusOK, "ops", p)
		return
	}
	mfs, err := s.o.Gatherer.Gather()
	if err != nil {
		// Gather returns what it could read along with the error.
		s.o.Log.Warn("console: gather metrics", "err", err)
	}
	v.Configured = true
	byName := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		byName[mf.GetName()] = mf
	}
	v.Accepted = counts(byName[mAccepted], "kind", false)
	v.Delivered = counts(byName[mDelivered], "kind", false)
	v.Rejected = counts(byName[mRejected], "code", true)
	v.Verification = counts(byName[mVerification], "code", true)
	for _, rows := range [][]countRow{v.Accepted, v.Delivered} {
		for i := range rows {
			rows[i].Label = p.M.T("kind_" + rows[i].Key)
		}
	}
	for i := range v.Rejected {
		v.Rejected[i].Label = codeLabel(p.M, v.Rejected[i].Key)
	}
	for i := range v.Verification {
		v.Verification[i].Label = codeLabel(p.M, v.Verification[i].Key)
	}
	if h := histogram(byName[mSubmit]); h != nil {
		v.SubmitP50, v.SubmitP99 = fmtSeconds(p.M, bucketQuantile(0.5, h)), fmtSeconds(p.M, bucketQuantile(0.99, h))
	}
	if h := histogram(byName[mLatency]); h != nil {
		v.DeliveryP50, v.DeliveryP99 = fmtSeconds(p.M, bucketQuantile(0.5, h)), fmtSeconds(p.M, bucketQuantile(0.99, h))
	}
	v.Backlog = backlog(p.M, byName[mPending], byName[mOldest])
	v.Chart = s.chart(p, r.URL.Query().Get("chart"))
	for _, m := range byName[mUp].GetMetric() {
		v.Health = append(v.Health, healthRow{Component: label(m, "component"), Up: value(m) == 1})
	}
	slices.SortFunc(v.Health, func(a, b healthRow) int { return strings.Compare(a.Component, b.Component) })
	for _, m := range byName[mLag].GetMetric() {
		row := lagRow{Group: label(m, "group"), Topic: label(m, "topic"), Messages: value(m)}
		row.Stage = p.M.T("stage_" + row.Group)
		row.Channel, row.Organ = s.channel(p.M, row.Topic)
		v.Lags = append(v.Lags, row)
	}
	slices.SortFunc(v.Lags, func(a, b lagRow) int {
		return cmp.Or(cmp.Compare(b.Messages, a.Messages), strings.Compare(a.Group, b.Group), strings.Compare(a.Topic, b.Topic))
	})
	byOutcome := map[string]float64{}
	for _, m := range byName[mWebhook].GetMetric() {
		byOutcome[label(m, "outcome")] += value(m)
	}
	for _, o := range slices.Sorted(maps.Keys(byOutcome)) {
		v.Webhooks = append(v.Webhooks, countRow{Key: o, Label: p.M.T("outcome_" + o), Value: byOutcome[o]})
	}
	// Successes first.
	okFirst := func(r countRow) int {
		if r.Key == metrics.OutcomeOK {
			return 0
		}
		return 1
	}
	slices.SortStableFunc(v.Webhooks, func(a, b countRow) int { return cmp.Compare(okFirst(a), okFirst(b)) })
	s.render(w, http.StatusOK, "ops", p)
}

// glossary explains the words of the operators' pages and names what
// Kafka and Prometheus call them.
func (s *server) glossary(w http.ResponseWriter, r *http.Request, u *Account, ss *session) {
	p := s.page(w, r, u, ss)
	p.Title = p.M.T("glossary")
	s.render(w, http.StatusOK, "glossary", p)
}

// chart draws the view asked for (?chart=day, else the last hour).
func (s *server) chart(p *page, which string) *chartView {
	r := hourRange
	if which == dayRange.Key {
		r = dayRange
	}
	per, start := s.history.counts(r, s.o.Now())
	m := p.M
	return chart(r, per, start, chartText{
		Title:  m.T("chart_title_" + r.Key),
		Unit:   m.T("chart_unit_" + r.Key),
		Period: m.T("chart_period_" + r.Key),
		Labels: [3]string{m.T("ops_accepted"), m.T("ops_delivered_short"), m.T("ops_rejected_short")},
		Desc: func(t [3]string, highest string) string {
			return fmt.Sprintf(m.T("chart_desc_"+r.Key), t[0], t[1], t[2], highest)
		},
		Row:  s.datetime,
		Zone: s.o.Zone,
	})
}

// channel names a topic for the page: what it carries and, for an inbox,
// whose it is. Names are the hub's (internal/hub Topics) after the prefix.
func (s *server) channel(m msgs, topic string) (string, string) {
	if i := strings.LastIndex(topic, "inbox."); i >= 0 && (i == 0 || topic[i-1] == '.') {
		o := topic[i+len("inbox."):]
		return m.T("channel_inbox") + " " + s.organLabel(o), o
	}
	for _, k := range []string{"accepted", "events", "dead-letter", "credentials"} {
		if topic == k || strings.HasSuffix(topic, "."+k) {
			return m.T("channel_" + k), ""
		}
	}
	return topic, ""
}

// codeLabel says what an error code means, the code itself when no
// message does (it is shown with the technical details anyway).
func codeLabel(m msgs, code string) string {
	for _, k := range []string{"rej_" + code, "code_" + code} {
		if l, ok := m[k]; ok {
			return l
		}
	}
	return m.T("rej_other")
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func value(m *dto.Metric) float64 {
	switch {
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue()
	case m.GetUntyped() != nil:
		return m.GetUntyped().GetValue()
	}
	return 0
}

// counts lists a family's series by one label, sorted by label; nonZero
// drops the series at 0 and sorts by value, largest first.
func counts(mf *dto.MetricFamily, by string, nonZero bool) []countRow {
	var rows []countRow
	for _, m := range mf.GetMetric() {
		v := value(m)
		if nonZero && v == 0 {
			continue
		}
		rows = append(rows, countRow{Key: label(m, by), Label: label(m, by), Value: v})
	}
	slices.SortFunc(rows, func(a, b countRow) int {
		if nonZero {
			if c := cmp.Compare(b.Value, a.Value); c != 0 {
				return c
			}
		}
		return strings.Compare(a.Label, b.Label)
	})
	return rows
}

// histogram returns the first series of a histogram family.
func histogram(mf *dto.MetricFamily) *dto.Histogram {
	for _, m := range mf.GetMetric() {
		if h := m.GetHistogram(); h != nil {
			return h
		}
	}
	return nil
}

// bucketQuantile estimates the q-quantile of a histogram from its
// cumulative buckets, interpolating linearly inside the bucket the rank
// falls in, as Prometheus's histogram_quantile does. The first bucket
// starts at 0; a rank past the last finite bucket gives its upper bound.
// It is NaN for an empty histogram or q outside [0, 1].
func bucketQuantile(q float64, h *dto.Histogram) float64 {
	total := float64(h.GetSampleCount())
	if total == 0 || q < 0 || q > 1 || math.IsNaN(q) {
		return math.NaN()
	}
	rank := q * total
	lower, below := 0.0, 0.0
	var last float64
	for _, b := range h.GetBucket() {
		upper, cum := b.GetUpperBound(), float64(b.GetCumulativeCount())
		if math.IsInf(upper, +1) {
			break
		}
		last = upper
		if cum >= rank && cum > below {
			return lower + (upper-lower)*(rank-below)/(cum-below)
		}
		lower, below = upper, cum
	}
	return last
}

// decimal writes v with prec decimals and the language's separator.
func decimal(m msgs, v float64, prec int) string {
	return strings.Replace(strconv.FormatFloat(v, 'f', prec, 64), ".", m.T("ops_decimal"), 1)
}

// fmtSeconds shows a duration in seconds, in milliseconds below one.
func fmtSeconds(m msgs, s float64) string {
	switch {
	case math.IsNaN(s):
		return "—"
	case s < 1:
		return decimal(m, s*1000, 0) + " " + m.T("ops_unit_ms")
	default:
		return decimal(m, s, 2) + " " + m.T("ops_unit_s")
	}
}

// fmtAge shows an age in seconds roughly.
func fmtAge(m msgs, s float64) string {
	switch {
	case s <= 0:
		return "—"
	case s < 120:
		return decimal(m, s, 0) + " " + m.T("ops_unit_s")
	case s < 7200:
		return decimal(m, s/60, 0) + " " + m.T("ops_unit_min")
	case s < 172800:
		return decimal(m, s/3600, 1) + " " + m.T("ops_unit_h")
	default:
		return decimal(m, s/86400, 1) + " " + m.T("ops_unit_d")
	}
}

// backlog joins the pending and oldest gauges per agency, sorted by
// pending, most first, then by agency. The page names the agencies.
func backlog(m msgs, pending, oldest *dto.MetricFamily) []backlogRow {
	age := map[string]float64{}
	for _, mt := range oldest.GetMetric() {
		age[label(mt, "agency")] = value(mt)
	}
	var rows []backlogRow
	for _, mt := range pending.GetMetric() {
		a := label(mt, "agency")
		rows = append(rows, backlogRow{Agency: a, Pending: value(mt), Oldest: fmtAge(m, age[a])})
	}
	slices.SortFunc(rows, func(a, b backlogRow) int {
		if c := cmp.Compare(b.Pending, a.Pending); c != 0 {
			return c
		}
		return strings.Compare(a.Agency, b.Agency)
	})
	return rows
}
