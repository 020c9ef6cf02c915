package metrics_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"github.com/lienthong/lienthong/internal/blob"
	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/metrics"
	"github.com/lienthong/lienthong/internal/tooltest"
	"github.com/lienthong/lienthong/internal/trust"
)

const rulesDir = "../../deploy/prometheus"

// promtool accepts the shipped rules and their unit tests pass: each alert
// fires on the series it is for and stays quiet on healthy ones.
func TestPrometheusRules(t *testing.T) {
	rules, err := filepath.Glob(filepath.Join(rulesDir, "rules", "*.yml"))
	if err != nil || len(rules) == 0 {
		t.Fatalf("no rule files: %v", err)
	}
	tests, err := filepath.Glob(filepath.Join(rulesDir, "tests", "*_test.yml"))
	if err != nil || len(tests) == 0 {
		t.Fatalf("no rule tests: %v", err)
	}
	if out, ok := tooltest.Run(t, "promtool", append([]string{"check", "rules"}, rules...)...); !ok {
		t.Errorf("promtool check rules:\n%s", out)
	}
	if out, ok := tooltest.Run(t, "promtool", append([]string{"test", "rules"}, tests...)...); !ok {
		t.Errorf("promtool test rules:\n%s", out)
	}
	// Both deployments' Prometheus configurations, which load the rules:
	// compose's file, and Kubernetes's in the prometheus-config ConfigMap.
	if out, ok := tooltest.Run(t, "promtool", "check", "config", "--syntax-only", "../../deploy/compose/prometheus.yml"); !ok {
		t.Errorf("promtool check config compose/prometheus.yml:\n%s", out)
	}
	k8s := filepath.Join(t.TempDir(), "prometheus.yml")
	if err := os.WriteFile(k8s, []byte(k8sPrometheusConfig(t)), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, ok := tooltest.Run(t, "promtool", "check", "config", "--syntax-only", k8s); !ok {
		t.Errorf("promtool check config k8s/monitoring.yaml:\n%s", out)
	}
}

// k8sPrometheusConfig is prometheus.yml of the prometheus-config ConfigMap.
func k8sPrometheusConfig(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile("../../deploy/k8s/monitoring.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	for {
		var doc struct {
			Kind     string                `yaml:"kind"`
			Metadata struct{ Name string } `yaml:"metadata"`
			Data     map[string]string     `yaml:"data"`
		}
		if err := dec.Decode(&doc); err != nil {
			t.Fatalf("no prometheus-config ConfigMap in k8s/monitoring.yaml: %v", err)
		}
		if doc.Kind == "ConfigMap" && doc.Metadata.Name == "prometheus-config" {
			if !strings.Contains(doc.Data["prometheus.yml"], "rule_files") {
				t.Error("k8s Prometheus loads no rules")
			}
			return doc.Data["prometheus.yml"]
		}
	}
}

// Every metric the rules query is one the hub registers, so a rename
// breaks this test rather than an alert that then never fires.
func TestRulesQueryRegisteredMetrics(t *testing.T) {
	known := registeredMetrics(t)
	rules, err := filepath.Glob(filepath.Join(rulesDir, "rules", "*.yml"))
	if err != nil || len(rules) == 0 {
		t.Fatalf("no rule files: %v", err)
	}
	name := regexp.MustCompile(`lienthong_[a-z_]+`)
	queried := 0
	for _, f := range rules {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		comment := regexp.MustCompile(`(?m)#.*$`)
		for _, m := range name.FindAllString(comment.ReplaceAllString(string(raw), ""), -1) {
			queried++
			if !known[m] {
				t.Errorf("%s queries %s, which the hub does not register", f, m)
			}
		}
	}
	if queried < 15 {
		t.Errorf("only %d metric references in the rules", queried)
	}
}

// registeredMetrics is every metric name the hub's collectors export.
func registeredMetrics(t *testing.T) map[string]bool {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := metrics.NewHub(reg, []string{"000.00.00.G22"})
	if err != nil {
		t.Fatal(err)
	}
	m.ObserveHealth(func(context.Context) metrics.Health {
		return metrics.Health{Up: map[string]bool{metrics.ComponentBroker: true}, Lags: []metrics.Lag{{Group: "router", Topic: "lienthong.accepted"}}}
	})
	fs, err := blob.NewFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	blob.WithMetrics(fs, reg)
	bm, err := bus.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	// Counter vectors appear once a series exists.
	if err := bm.Publisher(nopPublisher{}).Produce(context.Background(), bus.Message{Topic: "lienthong.dead-letter"}); err != nil {
		t.Fatal(err)
	}
	cert, crl := certAndCRL(t)
	exp := &metrics.ExpiryCollector{}
	exp.AddCertificates(metrics.UseTrustRoot, cert)
	exp.AddCRL("ca.crl", crl)
	reg.MustRegister(exp)
	reg.MustRegister(metrics.NewCRLFetchCollector(func() []trust.CRLFetch {
		return []trust.CRLFetch{{URL: "http://ca/ca.crl", NextUpdate: crl.NextUpdate, Fetched: time.Now(), Failures: 1}}
	}))
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, f := range families {
		known[f.GetName()] = true
	}
	// kafka-go's statistics appear with a producer or consumer running;
	// what the collector describes is what it exports.
	ks, err := bus.NewKafkaStats(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	descs := make(chan *prometheus.Desc, 64)
	ks.Describe(descs)
	close(descs)
	fqName := regexp.MustCompile(`fqName: "([^"]+)"`)
	for d := range descs {
		if m := fqName.FindStringSubmatch(d.String()); m != nil {
			known[m[1]] = true
		}
	}
	return known
}

type nopPublisher struct{}

func (nopPublisher) Produce(context.Context, ...bus.Message) error { return nil }

func certAndCRL(t *testing.T) (*x509.Certificate, *x509.RevocationList) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "test root"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	crlDER, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: now, NextUpdate: now.Add(time.Hour)}, cert, key)
	if err != nil {
		t.Fatal(err)
	}
	crl, err := x509.ParseRevocationList(crlDER)
	if err != nil {
		t.Fatal(err)
	}
	return cert, crl
}

// The expiry gauges carry the certificates' and CRLs' ends as timestamps.
func TestExpiryCollector(t *testing.T) {
	cert, crl := certAndCRL(t)
	exp := &metrics.ExpiryCollector{}
	exp.AddCertificates(metrics.UseReceipt, cert, cert) // named twice: reported once
	exp.AddCRL("ca.crl", crl)
	reg := prometheus.NewRegistry()
	reg.MustRegister(exp)
	reg.MustRegister(metrics.NewCRLFetchCollector(func() []trust.CRLFetch {
		return []trust.CRLFetch{{URL: "http://ca/ca.crl", NextUpdate: crl.NextUpdate, Fetched: time.Now(), Failures: 1}}
	}))
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			got[f.GetName()] = append(got[f.GetName()], m.GetGauge().GetValue())
		}
	}
	tests := []struct {
		give string
		want float64
	}{
		{"lienthong_certificate_expiry_timestamp_seconds", float64(cert.NotAfter.Unix())},
		{"lienthong_crl_next_update_timestamp_seconds", float64(crl.NextUpdate.Unix())},
	}
	for _, tt := range tests {
		if v := got[tt.give]; len(v) != 1 || v[0] != tt.want {
			t.Errorf("%s = %v, want [%v]", tt.give, v, tt.want)
		}
	}
}
