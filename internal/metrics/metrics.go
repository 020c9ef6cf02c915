// Package metrics holds the hub's Prometheus collectors (issue 6). They are
// registered on an injected registry, never the global one, and every
// series of a registered agency or packet kind exists from start-up at 0,
// so dashboards and alerts work before the first packet.
//
//	lienthong_packets_accepted_total{kind}          packets accepted (a resubmission is not counted again)
//	lienthong_packets_rejected_total{code}          submissions refused, by stable error code
//	lienthong_packets_delivered_total{kind}         inbox items applied to this process's view
//	lienthong_packet_bytes_total{kind}              bytes of accepted packets
//	lienthong_submit_duration_seconds               duration of Submit, accepted or not
//	lienthong_delivery_latency_seconds              acceptedAt to delivery into an inbox
//	lienthong_verification_failures_total{code}     signature failures (sig.*)
//	lienthong_inbox_pending{agency}                 pending items, read from the view at scrape time (agencies of the live directory)
//	lienthong_inbox_oldest_seconds{agency}          age of the oldest pending item (0 when none)
//	lienthong_webhook_attempts_total{agency,outcome} webhook posts (ok, error)
//	lienthong_up{component}                         broker and store answered the last probe (1) or not (0)
//	lienthong_consumer_lag{group,topic}             messages a consumer group has not committed
//	lienthong_certificate_expiry_timestamp_seconds{use,subject,serial}  NotAfter of configured certificates (ExpiryCollector)
//	lienthong_crl_next_update_timestamp_seconds{issuer,file}            NextUpdate of configured CRLs (ExpiryCollector)
//	lienthong_crl_fetch_next_update_timestamp_seconds{url}              NextUpdate of the last good fetched CRL (CRLFetchCollector)
//	lienthong_crl_fetch_last_success_timestamp_seconds{url}             when the last good CRL was fetched (CRLFetchCollector)
//	lienthong_crl_fetch_failures_total{url}                             failed fetches of a distribution point (CRLFetchCollector)
//
// Every method is safe on a nil *Hub, so the hub runs without metrics.
package metrics

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Kinds are the packet kinds (edxml.KindEdoc, edxml.KindStatus).
var Kinds = []string{"edoc", "status"}

// Webhook attempt outcomes.
const (
	OutcomeOK    = "ok"
	OutcomeError = "error"
)

// CodeInternal labels a rejection that carried no stable code.
const CodeInternal = "internal"

// PendingFunc reports an agency's pending inbox items and the oldest one's
// time (track.Store.Pending).
type PendingFunc func(agency string) (int, time.Time, error)

// Hub holds the hub's collectors.
type Hub struct {
	accepted     *prometheus.CounterVec
	rejected     *prometheus.CounterVec
	delivered    *prometheus.CounterVec
	bytes        *prometheus.CounterVec
	submit       prometheus.Histogram
	stage        *prometheus.HistogramVec
	latency      prometheus.Histogram
	verification *prometheus.CounterVec
	webhook      *prometheus.CounterVec
	inbox        *InboxCollector
	health       *HealthCollector
	totals       *prometheus.Registry // accepted, delivered and rejected only
}

// RejectionCodes are the stable refusal codes (docs/contracts.md) whose
// series exist from start-up; others appear when first used.
var RejectionCodes = []string{
	"xml.malformed", "xml.dtd_forbidden", "xml.too_deep", "xml.too_large", "edxml.namespace",
	"edxml.missing_field", "edxml.bad_organ_id", "edxml.bad_date", "edxml.bad_status_code",
	"edxml.bad_business_type", "edxml.duplicate_recipient", "edxml.attachment_missing",
	"edxml.attachment_encoding", "edxml.attachment_too_large", "edxml.duplicate_element",
	"edxml.duplicate_content_id", "edxml.kind_mismatch",
	"sig.missing", "sig.malformed", "sig.invalid", "sig.digest_mismatch", "sig.untrusted",
	"sig.expired", "sig.not_yet_valid", "sig.revoked", "sig.signer_mismatch",
	"auth.forbidden", "packet.conflict", "packet.unknown_recipient", "packet.hash_mismatch",
	"hub.unavailable",
}

// NewHub registers the hub's collectors on reg, with the series of every
// agency and kind at 0. The inbox gauges read nothing (0 for every agency)
// until ObservePending is given the view.
func NewHub(reg prometheus.Registerer, agencies []string) (*Hub, error) {
	m := &Hub{
		accepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lienthong_packets_accepted_total",
			Help: "Packets accepted (the accepted event produced), by kind. An identical resubmission is not counted again.",
		}, []string{"kind"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lienthong_packets_rejected_total",
			Help: "Submissions refused, by stable error code.",
		}, []string{"code"}),
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lienthong_packets_delivered_total",
			Help: "Inbox items delivered into this process's view, by kind.",
		}, []string{"kind"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lienthong_packet_bytes_total",
			Help: "Bytes of accepted packets, by kind.",
		}, []string{"kind"}),
		submit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "lienthong_submit_duration_seconds",
			Help:    "Duration of a submission through the data path, accepted or refused.",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}),
		stage: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "lienthong_submit_stage_seconds",
			Help:    "Duration of each stage of a newly accepted submission (parse, verify with the routing plan, store, broker, view, receipt): where submit latency goes.",
			Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10},
		}, []string{"stage"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "lienthong_delivery_latency_seconds",
			Help:    "Time from a packet's acceptance to its delivery into an inbox, as recorded in the view.",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300},
		}),
		verification: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lienthong_verification_failures_total",
			Help: "Submissions refused for their signatures, by code (sig.*).",
		}, []string{"code"}),
		webhook: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lienthong_webhook_attempts_total",
			Help: "Webhook delivery attempts, by agency and outcome (ok, error).",
		}, []string{"agency", "outcome"}),
	}
	m.inbox = NewInboxCollector(agencies, nil)
	m.health = NewHealthCollector(nil, 5*time.Second, 10*time.Second)
	for _, c := range []prometheus.Collector{m.accepted, m.rejected, m.delivered, m.bytes, m.submit, m.stage, m.latency, m.verification, m.webhook, m.inbox, m.health} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: register hub metrics: %w", err)
		}
	}
	m.totals = prometheus.NewRegistry()
	for _, c := range []prometheus.Collector{m.accepted, m.delivered, m.rejected} {
		if err := m.totals.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: register hub metrics: %w", err)
		}
	}
	// Refusal codes start at 0 too, so an alert on a rate works before the
	// first refusal of its kind.
	for _, code := range RejectionCodes {
		m.rejected.WithLabelValues(code)
		if strings.HasPrefix(code, "sig.") {
			m.verification.WithLabelValues(code)
		}
	}
	for _, st := range Stages {
		m.stage.WithLabelValues(st)
	}
	for _, k := range Kinds {
		m.accepted.WithLabelValues(k)
		m.delivered.WithLabelValues(k)
		m.bytes.WithLabelValues(k)
	}
	for _, a := range agencies {
		m.webhook.WithLabelValues(a, OutcomeOK)
		m.webhook.WithLabelValues(a, OutcomeError)
	}
	return m, nil
}

// Totals gathers only the accepted, delivered and rejected counters: what
// a sampler needs, without the probes (store, broker, inbox scans) a
// gather of the whole registry runs.
func (m *Hub) Totals() prometheus.Gatherer {
	if m == nil {
		return nil
	}
	return m.totals
}

// ObservePending makes the inbox gauges read fn at scrape time.
func (m *Hub) ObservePending(fn PendingFunc) {
	if m == nil {
		return
	}
	m.inbox.SetFunc(fn)
}

// ObserveAgencies makes the inbox gauges list the agencies through fn at
// scrape time (the live directory), so agencies added at run time appear
// and retired ones go.
func (m *Hub) ObserveAgencies(fn func() []string) {
	if m == nil {
		return
	}
	m.inbox.SetAgencies(fn)
}

// ObserveHealth makes lienthong_up and lienthong_consumer_lag probe
// through fn at scrape time.
func (m *Hub) ObserveHealth(fn HealthFunc) {
	if m == nil {
		return
	}
	m.health.SetFunc(fn)
}

// Accepted records a submission that ended in a receipt. created is false
// for an identical resubmission, which only counts in the duration.
func (m *Hub) Accepted(kind string, size int64, created bool, took time.Duration) {
	if m == nil {
		return
	}
	m.submit.Observe(took.Seconds())
	if !created {
		return
	}
	m.accepted.WithLabelValues(kind).Inc()
	m.bytes.WithLabelValues(kind).Add(float64(size))
}

// Stages are the stages of a submission that Stage times, in order.
var Stages = []string{"parse", "verify", "store", "broker", "view", "receipt"}

// Stage records how long one stage of a submission took (Stages).
func (m *Hub) Stage(stage string, took time.Duration) {
	if m == nil {
		return
	}
	m.stage.WithLabelValues(stage).Observe(took.Seconds())
}

// Rejected records a refused submission by its stable code; a signature
// failure (sig.*) also counts as a verification failure.
func (m *Hub) Rejected(code string, took time.Duration) {
	if m == nil {
		return
	}
	if code == "" {
		code = CodeInternal
	}
	m.submit.Observe(took.Seconds())
	m.rejected.WithLabelValues(code).Inc()
	if strings.HasPrefix(code, "sig.") {
		m.verification.WithLabelValues(code).Inc()
	}
}

// Delivered records an inbox item newly delivered into the view, latency
// after its acceptance.
func (m *Hub) Delivered(kind string, latency time.Duration) {
	if m == nil {
		return
	}
	m.delivered.WithLabelValues(kind).Inc()
	m.latency.Observe(max(latency, 0).Seconds())
}

// WebhookAttempt records one webhook post to an agency (OutcomeOK or
// OutcomeError).
func (m *Hub) WebhookAttempt(agency, outcome string) {
	if m == nil {
		return
	}
	m.webhook.WithLabelValues(agency, outcome).Inc()
}

var (
	pendingDesc = prometheus.NewDesc("lienthong_inbox_pending",
		"Items pending (not acknowledged) in an agency's inbox, read from this process's view.", []string{"agency"}, nil)
	oldestDesc = prometheus.NewDesc("lienthong_inbox_oldest_seconds",
		"Age of the oldest pending item in an agency's inbox (0 when none).", []string{"agency"}, nil)
)

// InboxCollector reports the inbox gauges of every registered agency at
// scrape time. Before it has a function, every agency reads 0.
type InboxCollector struct {
	agencies []string
	now      func() time.Time
	mu       sync.RWMutex
	fn       PendingFunc
	list     func() []string // the live directory's agencies, when set
}

// NewInboxCollector reports the agencies' inboxes through fn (may be nil).
func NewInboxCollector(agencies []string, fn PendingFunc) *InboxCollector {
	return &InboxCollector{agencies: append([]string(nil), agencies...), fn: fn, now: time.Now}
}

// SetFunc replaces the function the gauges read.
func (c *InboxCollector) SetFunc(fn PendingFunc) {
	c.mu.Lock()
	c.fn = fn
	c.mu.Unlock()
}

// SetAgencies makes the collector list the agencies through fn at scrape
// time instead of the list it was made with: agencies are added and retired
// at run time (internal/agencies replaces the directory).
func (c *InboxCollector) SetAgencies(fn func() []string) {
	c.mu.Lock()
	c.list = fn
	c.mu.Unlock()
}

// Describe implements prometheus.Collector.
func (c *InboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- pendingDesc
	ch <- oldestDesc
}

// Collect implements prometheus.Collector. An agency whose count fails is
// reported as an invalid metric, which fails the scrape visibly.
func (c *InboxCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.RLock()
	fn, list := c.fn, c.list
	c.mu.RUnlock()
	agencies := c.agencies
	if list != nil {
		agencies = list()
	}
	now := c.now()
	for _, a := range agencies {
		n, oldest, age := 0, time.Time{}, 0.0
		if fn != nil {
			var err error
			if n, oldest, err = fn(a); err != nil {
				ch <- prometheus.NewInvalidMetric(pendingDesc, fmt.Errorf("inbox of %s: %w", a, err))
				continue
			}
		}
		if n > 0 && !oldest.IsZero() {
			age = max(now.Sub(oldest).Seconds(), 0)
		}
		ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(n), a)
		ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, age, a)
	}
}
