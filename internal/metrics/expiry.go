package metrics

import (
	"crypto/x509"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lienthong/lienthong/internal/trust"
)

// Certificate uses, the use label of lienthong_certificate_expiry_timestamp_seconds.
const (
	UseTrustRoot    = "trust_root"    // trust.roots
	UseReceipt      = "receipt"       // trust.hubCert, the hub's receipt signer
	UseReceiptChain = "receipt_chain" // trust.hubChain
	UseHostedKey    = "hosted_key"    // console.hostedKeys[].cert
	UseHostedChain  = "hosted_chain"  // console.hostedKeys[].chain
)

var (
	certExpiryDesc = prometheus.NewDesc("lienthong_certificate_expiry_timestamp_seconds",
		"When a certificate the hub trusts or signs with stops being valid (NotAfter, Unix seconds), by use (trust_root, receipt, receipt_chain, hosted_key, hosted_chain).",
		[]string{"use", "subject", "serial"}, nil)
	crlNextDesc = prometheus.NewDesc("lienthong_crl_next_update_timestamp_seconds",
		"When a configured CRL (trust.crls) must be replaced (NextUpdate, Unix seconds; a day later the hub stops using it).",
		[]string{"issuer", "file"}, nil)
)

// ExpiryCollector reports the end of every configured certificate and
// CRL. The values are timestamps, so alerts compare them with time() and
// a gauge needs no refreshing.
type ExpiryCollector struct {
	certs []certExpiry
	crls  []crlExpiry
}

type certExpiry struct {
	use, subject, serial string
	notAfter             time.Time
}

type crlExpiry struct {
	issuer, file string
	next         time.Time
}

// AddCertificates records certs under use.
func (c *ExpiryCollector) AddCertificates(use string, certs ...*x509.Certificate) {
	for _, cert := range certs {
		c.certs = append(c.certs, certExpiry{use: use, subject: cert.Subject.String(), serial: fmt.Sprintf("%x", cert.SerialNumber), notAfter: cert.NotAfter})
	}
}

// AddCRL records a CRL read from file. One without NextUpdate never
// expires and is not reported.
func (c *ExpiryCollector) AddCRL(file string, crl *x509.RevocationList) {
	if crl.NextUpdate.IsZero() {
		return
	}
	c.crls = append(c.crls, crlExpiry{issuer: crl.Issuer.String(), file: file, next: crl.NextUpdate})
}

// Describe implements prometheus.Collector.
func (c *ExpiryCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- certExpiryDesc
	ch <- crlNextDesc
}

// Collect implements prometheus.Collector. A certificate named twice under
// one use (a root in two bundles) is reported once.
func (c *ExpiryCollector) Collect(ch chan<- prometheus.Metric) {
	seen := map[[3]string]bool{}
	for _, e := range c.certs {
		k := [3]string{e.use, e.subject, e.serial}
		if seen[k] {
			continue
		}
		seen[k] = true
		ch <- prometheus.MustNewConstMetric(certExpiryDesc, prometheus.GaugeValue, float64(e.notAfter.Unix()), e.use, e.subject, e.serial)
	}
	for _, e := range c.crls {
		ch <- prometheus.MustNewConstMetric(crlNextDesc, prometheus.GaugeValue, float64(e.next.Unix()), e.issuer, e.file)
	}
}

var (
	crlFetchNextDesc = prometheus.NewDesc("lienthong_crl_fetch_next_update_timestamp_seconds",
		"NextUpdate (Unix seconds) of the last good CRL fetched from a distribution point (trust.fetchCrls); a day later the hub stops using it.",
		[]string{"url"}, nil)
	crlFetchLastDesc = prometheus.NewDesc("lienthong_crl_fetch_last_success_timestamp_seconds",
		"When the last good CRL was fetched from a distribution point (Unix seconds); later than its NextUpdate, the point publishes no current list.",
		[]string{"url"}, nil)
	crlFetchFailDesc = prometheus.NewDesc("lienthong_crl_fetch_failures_total",
		"Failed fetches of a CRL distribution point (transport, HTTP status, size, parse or signature).",
		[]string{"url"}, nil)
)

// CRLFetchCollector reports the CRLs the verifier fetched, read at scrape
// time (a point never fetched good has only its failures). The URLs are
// those named by certificates that chain to a configured root, bounded in
// trust.
type CRLFetchCollector struct {
	fetches func() []trust.CRLFetch
}

// NewCRLFetchCollector reports through fn (trust.Verifier.CRLFetches).
func NewCRLFetchCollector(fn func() []trust.CRLFetch) *CRLFetchCollector {
	return &CRLFetchCollector{fetches: fn}
}

// Describe implements prometheus.Collector.
func (c *CRLFetchCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- crlFetchNextDesc
	ch <- crlFetchLastDesc
	ch <- crlFetchFailDesc
}

// Collect implements prometheus.Collector. A CRL without NextUpdate has no
// next-update series.
func (c *CRLFetchCollector) Collect(ch chan<- prometheus.Metric) {
	for _, f := range c.fetches() {
		if !f.NextUpdate.IsZero() {
			ch <- prometheus.MustNewConstMetric(crlFetchNextDesc, prometheus.GaugeValue, float64(f.NextUpdate.Unix()), f.URL)
		}
		if !f.Fetched.IsZero() {
			ch <- prometheus.MustNewConstMetric(crlFetchLastDesc, prometheus.GaugeValue, float64(f.Fetched.Unix()), f.URL)
		}
		ch <- prometheus.MustNewConstMetric(crlFetchFailDesc, prometheus.CounterValue, float64(f.Failures), f.URL)
	}
}
