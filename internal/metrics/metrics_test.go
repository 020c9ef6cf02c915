package metrics_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"

	"github.com/lienthong/lienthong/internal/api"
	"github.com/lienthong/lienthong/internal/hubtest"
	"github.com/lienthong/lienthong/internal/metrics"
	"github.com/lienthong/lienthong/internal/organ"
	"github.com/lienthong/lienthong/internal/pki"
)

const fixtures = "../edxml/testdata/fixtures"

// value returns the value of the series name{labels}, and whether it exists.
func value(t *testing.T, reg prometheus.Gatherer, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if !matches(m, labels) {
				continue
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue(), true
			case m.Gauge != nil:
				return m.Gauge.GetValue(), true
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount()), true
			}
		}
	}
	return 0, false
}

func matches(m *dto.Metric, labels map[string]string) bool {
	if len(m.GetLabel()) != len(labels) {
		return false
	}
	for _, lp := range m.GetLabel() {
		if v, ok := labels[lp.GetName()]; !ok || v != lp.GetValue() {
			return false
		}
	}
	return true
}

func want(t *testing.T, reg prometheus.Gatherer, name string, labels map[string]string, v float64) {
	t.Helper()
	got, ok := value(t, reg, name, labels)
	if !ok {
		t.Errorf("%s%v: no such series", name, labels)
	} else if got != v {
		t.Errorf("%s%v = %v, want %v", name, labels, got, v)
	}
}

func TestMetricsZeroAtStart(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := metrics.NewHub(reg, hubtest.Agencies); err != nil {
		t.Fatal(err)
	}
	for _, k := range metrics.Kinds {
		for _, name := range []string{"lienthong_packets_accepted_total", "lienthong_packets_delivered_total", "lienthong_packet_bytes_total"} {
			want(t, reg, name, map[string]string{"kind": k}, 0)
		}
	}
	for _, a := range hubtest.Agencies {
		want(t, reg, "lienthong_inbox_pending", map[string]string{"agency": a}, 0)
		want(t, reg, "lienthong_inbox_oldest_seconds", map[string]string{"agency": a}, 0)
		want(t, reg, "lienthong_webhook_attempts_total", map[string]string{"agency": a, "outcome": metrics.OutcomeOK}, 0)
		want(t, reg, "lienthong_webhook_attempts_total", map[string]string{"agency": a, "outcome": metrics.OutcomeError}, 0)
	}
	want(t, reg, "lienthong_submit_duration_seconds", map[string]string{}, 0)
	want(t, reg, "lienthong_delivery_latency_seconds", map[string]string{}, 0)
	// A second hub on the same registry is a conflict, not a silent share.
	if _, err := metrics.NewHub(reg, hubtest.Agencies); err == nil {
		t.Error("NewHub twice on one registry: no error")
	}
}

func TestMetricsNilSafe(_ *testing.T) {
	var m *metrics.Hub
	m.Accepted("edoc", 1, true, time.Second)
	m.Rejected("sig.missing", time.Second)
	m.Delivered("edoc", time.Second)
	m.WebhookAttempt("000.00.00.G22", metrics.OutcomeOK)
	m.ObservePending(nil)
}

// Totals holds the three counters and runs no probe.
func TestMetricsTotals(t *testing.T) {
	m, err := metrics.NewHub(prometheus.NewRegistry(), hubtest.Agencies)
	if err != nil {
		t.Fatal(err)
	}
	probed := 0
	m.ObserveHealth(func(context.Context) metrics.Health { probed++; return metrics.Health{} })
	m.ObservePending(func(string) (int, time.Time, error) { probed++; return 0, time.Time{}, nil })
	m.Accepted("edoc", 10, true, time.Millisecond)
	mfs, err := m.Totals().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, mf := range mfs {
		names = append(names, mf.GetName())
	}
	want := []string{"lienthong_packets_accepted_total", "lienthong_packets_delivered_total", "lienthong_packets_rejected_total"}
	if !slices.Equal(names, want) {
		t.Errorf("Totals gathers %v, want %v", names, want)
	}
	if probed != 0 {
		t.Errorf("gathering Totals ran %d probes", probed)
	}
	if (*metrics.Hub)(nil).Totals() != nil {
		t.Error("a nil Hub's Totals is not nil")
	}
}

func TestMetricsInboxCollector(t *testing.T) {
	reg := prometheus.NewRegistry()
	oldest := time.Now().Add(-time.Minute)
	reg.MustRegister(metrics.NewInboxCollector([]string{"a", "b"}, func(agency string) (int, time.Time, error) {
		if agency == "a" {
			return 2, oldest, nil
		}
		return 0, time.Time{}, nil
	}))
	want(t, reg, "lienthong_inbox_pending", map[string]string{"agency": "a"}, 2)
	want(t, reg, "lienthong_inbox_pending", map[string]string{"agency": "b"}, 0)
	want(t, reg, "lienthong_inbox_oldest_seconds", map[string]string{"agency": "b"}, 0)
	if age, _ := value(t, reg, "lienthong_inbox_oldest_seconds", map[string]string{"agency": "a"}); age < 59 || age > 120 {
		t.Errorf("oldest age of a = %v, want about 60", age)
	}

	bad := prometheus.NewRegistry()
	bad.MustRegister(metrics.NewInboxCollector([]string{"a"}, func(string) (int, time.Time, error) { return 0, time.Time{}, errors.New("view closed") }))
	if _, err := bad.Gather(); err == nil || !strings.Contains(err.Error(), "view closed") {
		t.Errorf("gather with a failing view: %v, want the error", err)
	}
}

// The inbox gauges follow the live directory: an agency added at run time
// (organ.Directory.Replace, as internal/agencies does) gets its series, a
// retired one loses it.
func TestMetricsInboxFollowsDirectory(t *testing.T) {
	dir := directory(t, "000.00.00.G22", "000.00.00.H29")
	reg := prometheus.NewRegistry()
	m, err := metrics.NewHub(reg, ids(dir))
	if err != nil {
		t.Fatal(err)
	}
	m.ObserveAgencies(func() []string { return ids(dir) })
	m.ObservePending(func(string) (int, time.Time, error) { return 1, time.Now(), nil })
	dir.Replace(directory(t, "000.00.00.G22", "000.00.00.K01"))
	tests := []struct {
		give string
		want bool
	}{
		{"000.00.00.G22", true},
		{"000.00.00.K01", true},  // added
		{"000.00.00.H29", false}, // retired
	}
	for _, tt := range tests {
		if _, ok := value(t, reg, "lienthong_inbox_pending", map[string]string{"agency": tt.give}); ok != tt.want {
			t.Errorf("lienthong_inbox_pending{agency=%q} exists = %v, want %v", tt.give, ok, tt.want)
		}
	}
}

func directory(t *testing.T, agencies ...string) *organ.Directory {
	t.Helper()
	var as []organ.Agency
	for _, a := range agencies {
		as = append(as, organ.Agency{ID: organ.ID(a), Name: a})
	}
	d, err := organ.NewDirectory(as)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func ids(d *organ.Directory) []string {
	var out []string
	for _, a := range d.Agencies() {
		out = append(out, string(a.ID))
	}
	return out
}

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// send posts a packet as multipart, with a detached CMS by signer if any.
func send(t *testing.T, url, token string, packet []byte, signer *pki.Issued) int {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if signer != nil {
		sig, err := pki.SignDetached(bytes.NewReader(packet), signer.Cert, signer.Key, signer.Chain, pki.SignOptions{})
		if err != nil {
			t.Fatal(err)
		}
		w, _ := mw.CreateFormFile("signature", "packet.p7s")
		_, _ = w.Write(sig)
	}
	w, _ := mw.CreateFormFile("packet", "packet.xml")
	_, _ = w.Write(packet)
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, url+"/v1/packets", &body)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close() //nolint:errcheck // test
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

func TestMetricsHealthCollector(t *testing.T) {
	reg := prometheus.NewRegistry()
	calls, up := 0, true
	c := metrics.NewHealthCollector(nil, time.Second, time.Hour)
	reg.MustRegister(c)
	if _, ok := value(t, reg, "lienthong_up", map[string]string{"component": "broker"}); ok {
		t.Fatal("lienthong_up without a probe")
	}
	probe := func(ctx context.Context) metrics.Health {
		calls++
		if _, ok := ctx.Deadline(); !ok {
			t.Error("the probe has no deadline")
		}
		return metrics.Health{Up: map[string]bool{"broker": up, "store": true}, Lags: []metrics.Lag{{Group: "router", Topic: "t", Messages: 7}}}
	}
	c.SetFunc(probe)
	want(t, reg, "lienthong_up", map[string]string{"component": "broker"}, 1)
	want(t, reg, "lienthong_consumer_lag", map[string]string{"group": "router", "topic": "t"}, 7)
	// Within the TTL a scrape reuses the last probe.
	up = false
	want(t, reg, "lienthong_up", map[string]string{"component": "broker"}, 1)
	if calls != 1 {
		t.Errorf("%d probes for three scrapes within the TTL, want 1", calls)
	}
	// A new probe function is used at once.
	c.SetFunc(probe)
	want(t, reg, "lienthong_up", map[string]string{"component": "broker"}, 0)
}

func TestMetricsEndToEnd(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := metrics.NewHub(reg, hubtest.Agencies)
	if err != nil {
		t.Fatal(err)
	}
	th := hubtest.Start(t, hubtest.Options{Metrics: m})
	g22 := th.Agencies["000.00.00.G22"]
	h29 := map[string]string{"agency": "000.00.00.H29"}
	want(t, reg, "lienthong_inbox_pending", h29, 0)

	if code := send(t, th.URL, g22.Token, read(t, "edoc-new.xml"), g22.Cert); code != http.StatusCreated {
		t.Fatalf("signed packet: %d, want 201", code)
	}
	if code := send(t, th.URL, g22.Token, read(t, "invalid/dtd-external-entity.xml"), g22.Cert); code != http.StatusBadRequest {
		t.Fatalf("hostile packet: %d, want 400", code)
	}
	if code := send(t, th.URL, g22.Token, read(t, "edoc-new.xml"), nil); code != http.StatusUnprocessableEntity {
		t.Fatalf("unsigned packet: %d, want 422", code)
	}
	// An identical resubmission gets its receipt again, and is not counted again.
	if code := send(t, th.URL, g22.Token, read(t, "edoc-new.xml"), g22.Cert); code != http.StatusOK {
		t.Fatalf("resubmission: %d, want 200", code)
	}
	want(t, reg, "lienthong_packets_accepted_total", map[string]string{"kind": "edoc"}, 1)
	want(t, reg, "lienthong_packets_accepted_total", map[string]string{"kind": "status"}, 0)
	want(t, reg, "lienthong_packets_rejected_total", map[string]string{"code": "xml.dtd_forbidden"}, 1)
	want(t, reg, "lienthong_packets_rejected_total", map[string]string{"code": "sig.missing"}, 1)
	want(t, reg, "lienthong_verification_failures_total", map[string]string{"code": "sig.missing"}, 1)
	want(t, reg, "lienthong_submit_duration_seconds", map[string]string{}, 4)
	if b, _ := value(t, reg, "lienthong_packet_bytes_total", map[string]string{"kind": "edoc"}); b <= 0 {
		t.Errorf("packet bytes of edoc = %v, want > 0", b)
	}

	deadline := time.Now().Add(30 * time.Second)
	for {
		if n, _ := value(t, reg, "lienthong_inbox_pending", h29); n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("inbox_pending of H29 never became 1")
		}
		time.Sleep(50 * time.Millisecond)
	}
	want(t, reg, "lienthong_inbox_pending", map[string]string{"agency": "000.00.00.G12"}, 0)
	want(t, reg, "lienthong_packets_delivered_total", map[string]string{"kind": "edoc"}, 1)
	want(t, reg, "lienthong_delivery_latency_seconds", map[string]string{}, 1)

	srv := httptest.NewServer((&api.Server{Hub: th.Hub, Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{})}).Handler())
	t.Cleanup(srv.Close)
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d", resp.StatusCode)
	}
	for _, s := range []string{
		`lienthong_packets_accepted_total{kind="edoc"} 1`,
		`lienthong_packets_rejected_total{code="xml.dtd_forbidden"} 1`,
		`lienthong_inbox_pending{agency="000.00.00.H29"} 1`,
		`lienthong_packets_delivered_total{kind="edoc"} 1`,
		`lienthong_inbox_oldest_seconds{agency="000.00.00.H29"}`,
		`lienthong_submit_duration_seconds_bucket`,
		`lienthong_delivery_latency_seconds_bucket`,
		`lienthong_webhook_attempts_total{agency="000.00.00.G12",outcome="ok"} 0`,
	} {
		if !bytes.Contains(body, []byte(s)) {
			t.Errorf("GET /metrics lacks %s", s)
		}
	}
	// The broker and the store are up, and the router and the view have
	// caught up.
	want(t, reg, "lienthong_up", map[string]string{"component": metrics.ComponentBroker}, 1)
	want(t, reg, "lienthong_up", map[string]string{"component": metrics.ComponentStore}, 1)
	want(t, reg, "lienthong_consumer_lag", map[string]string{"group": "router", "topic": "lienthong.accepted"}, 0)
	want(t, reg, "lienthong_consumer_lag", map[string]string{"group": "view", "topic": "lienthong.inbox.000.00.00.H29"}, 0)

	// Without Metrics there is no /metrics.
	plain := httptest.NewServer((&api.Server{Hub: th.Hub}).Handler())
	t.Cleanup(plain.Close)
	if resp, err := http.Get(plain.URL + "/metrics"); err != nil {
		t.Fatal(err)
	} else if _ = resp.Body.Close(); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /metrics without Metrics: %d, want 404", resp.StatusCode)
	}
}
