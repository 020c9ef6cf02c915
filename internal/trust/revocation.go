package trust

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ocsp"
)

// staleGrace lets a CRL serve a day past its NextUpdate, as issuers publish
// the next one late.
const staleGrace = 24 * time.Hour

type status int

const (
	statusUnknown status = iota
	statusGood
	statusRevoked
)

// checkRevocation looks up every certificate of the chain but the root.
// desc describes each certificate of the chain, for the messages.
func (v *Verifier) checkRevocation(ctx context.Context, s *Signature, chain []*x509.Certificate, desc []Cert) {
	at := s.CheckedAt
	for i := 0; i+1 < len(chain); i++ {
		cert, issuer := chain[i], chain[i+1]
		st, when, source := v.crlStatus(ctx, cert, issuer, at)
		if st == statusUnknown && v.cfg.OCSP && len(cert.OCSPServer) > 0 {
			st, when, source = v.ocspStatus(ctx, cert, issuer, at)
		}
		switch st {
		case statusRevoked:
			s.fail(CodeRevoked, "certificate %q (serial %s) was revoked %s (%s)", desc[i].Subject, cert.SerialNumber, when.UTC().Format(time.RFC3339), source)
			return
		case statusUnknown:
			msg := fmt.Sprintf("revocation status of %q is unknown: %s", desc[i].Subject, source)
			if v.cfg.Revocation == HardFail {
				s.fail(CodeUntrusted, "%s (policy %s)", msg, HardFail)
				return
			}
			s.warn(CodeRevocationUnknown, "%s", msg)
		}
	}
	s.passed("revocation")
}

// crlStatus answers from configured CRLs, then from distribution points.
// Every current list is consulted: one that omits the serial does not
// outvote another that lists it. A revocation after at does not count: the
// signature is judged as of at.
func (v *Verifier) crlStatus(ctx context.Context, cert, issuer *x509.Certificate, at time.Time) (status, time.Time, string) {
	var lists []*x509.RevocationList
	reason := "no CRL for its issuer"
	for _, crl := range v.crls.forIssuer(issuer) {
		if stale(crl, at) {
			reason = "the configured CRL is stale"
			continue
		}
		lists = append(lists, crl)
	}
	if len(lists) == 0 && v.cfg.FetchCRLs {
		for _, dp := range cert.CRLDistributionPoints {
			crl, err := v.crls.fetch(ctx, dp, issuer)
			if err != nil {
				reason = err.Error()
				continue
			}
			if stale(crl, at) {
				reason = "the fetched CRL is stale"
				continue
			}
			lists = append(lists, crl)
			break
		}
	}
	if len(lists) == 0 {
		return statusUnknown, time.Time{}, reason
	}
	for _, crl := range lists {
		for _, when := range v.crls.revokedAt(crl, cert.SerialNumber) {
			if !when.After(at) {
				return statusRevoked, when, "crl"
			}
		}
	}
	return statusGood, time.Time{}, "crl"
}

// crlIndex maps each serial a CRL lists to its revocation times, in the
// list's order. A national CA's list has tens of thousands of entries,
// and scanning them cost more than the rest of a verification (issue 18).
type crlIndex map[string][]time.Time

// maxCRLIndexes bounds the indexes kept: one per list in use; a fetched
// list's index goes when a newer list replaces it.
const maxCRLIndexes = 64

func serialKey(n *big.Int) string {
	if n.Sign() < 0 {
		return "-" + string(n.Bytes())
	}
	return "+" + string(n.Bytes())
}

// revokedAt returns the revocation times crl lists for serial, indexing
// the list on first use (lists are never modified once parsed).
func (c *crlCache) revokedAt(crl *x509.RevocationList, serial *big.Int) []time.Time {
	c.mu.Lock()
	idx, ok := c.indexes[crl]
	c.mu.Unlock()
	if !ok {
		idx = crlIndex{}
		for _, e := range crl.RevokedCertificateEntries {
			k := serialKey(e.SerialNumber)
			idx[k] = append(idx[k], e.RevocationTime)
		}
		c.mu.Lock()
		if len(c.indexes) >= maxCRLIndexes {
			clear(c.indexes)
		}
		c.indexes[crl] = idx
		c.mu.Unlock()
	}
	return idx[serialKey(serial)]
}

func stale(crl *x509.RevocationList, at time.Time) bool {
	return !crl.NextUpdate.IsZero() && at.After(crl.NextUpdate.Add(staleGrace))
}

func (v *Verifier) ocspStatus(ctx context.Context, cert, issuer *x509.Certificate, at time.Time) (status, time.Time, string) {
	req, err := ocsp.CreateRequest(cert, issuer, &ocsp.RequestOptions{Hash: crypto.SHA256})
	if err != nil {
		return statusUnknown, time.Time{}, "ocsp request: " + err.Error()
	}
	for _, server := range cert.OCSPServer {
		u, err := url.Parse(server)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			continue
		}
		body, err := v.post(ctx, server, req)
		if err != nil {
			continue
		}
		resp, err := ocsp.ParseResponseForCert(body, cert, issuer)
		if err != nil || !ocspAcceptable(resp, cert, issuer, time.Now()) {
			continue
		}
		switch resp.Status {
		case ocsp.Good:
			return statusGood, time.Time{}, "ocsp"
		case ocsp.Revoked:
			if resp.RevokedAt.After(at) {
				return statusGood, time.Time{}, "ocsp"
			}
			return statusRevoked, resp.RevokedAt, "ocsp"
		}
	}
	return statusUnknown, time.Time{}, "no OCSP responder answered"
}

// ocspSkew and ocspMaxAge bound the clocks of responders and how old a
// response without NextUpdate may be.
const (
	ocspSkew   = 5 * time.Minute
	ocspMaxAge = 24 * time.Hour
)

// ocspAcceptable: the x/crypto parser checks the signature chain of a
// delegated responder but neither its purpose nor freshness. A response must
// come from the issuer itself, or from a certificate the issuer gave the
// OCSP-signing purpose that is valid now and is not the certificate asked
// about; and it must be current.
func ocspAcceptable(resp *ocsp.Response, cert, issuer *x509.Certificate, now time.Time) bool {
	if rc := resp.Certificate; rc != nil && !bytes.Equal(rc.Raw, issuer.Raw) {
		delegated := false
		for _, u := range rc.ExtKeyUsage {
			delegated = delegated || u == x509.ExtKeyUsageOCSPSigning
		}
		if !delegated || bytes.Equal(rc.Raw, cert.Raw) || now.Before(rc.NotBefore) || now.After(rc.NotAfter) {
			return false
		}
	}
	if resp.ThisUpdate.After(now.Add(ocspSkew)) {
		return false
	}
	if resp.NextUpdate.IsZero() {
		return now.Sub(resp.ThisUpdate) <= ocspMaxAge
	}
	return !now.After(resp.NextUpdate.Add(ocspSkew))
}

func (v *Verifier) post(ctx context.Context, server string, req []byte) ([]byte, error) {
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, server, bytes.NewReader(req))
	if err != nil {
		return nil, err
	}
	r.Header.Set("Content-Type", "application/ocsp-request")
	resp, err := v.cfg.HTTP.Do(r)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close() //nolint:errcheck // read-only
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("OCSP responder answered %s", resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 1<<20))
}

// crlCache holds configured CRLs and fetched ones until their NextUpdate.
type crlCache struct {
	cfg    Config
	static []*x509.RevocationList

	mu      sync.Mutex
	fetched map[fetchKey]fetchedCRL
	failed  map[fetchKey]time.Time // backoff after a failed fetch
	checked map[staticKey]bool     // signature checks of static CRLs
	points  map[string]*CRLFetch   // per distribution point, for metrics
	indexes map[*x509.RevocationList]crlIndex
}

func newCRLCache(cfg Config) *crlCache {
	return &crlCache{cfg: cfg, static: cfg.CRLs, fetched: map[fetchKey]fetchedCRL{}, failed: map[fetchKey]time.Time{},
		checked: map[staticKey]bool{}, points: map[string]*CRLFetch{}, indexes: map[*x509.RevocationList]crlIndex{}}
}

// CRLFetch is what the verifier knows of one distribution point it fetched
// from (trust.fetchCrls).
type CRLFetch struct {
	URL string
	// NextUpdate of the last good CRL fetched (zero before one, or when it
	// has none).
	NextUpdate time.Time
	// Fetched is when the last good CRL was fetched: after NextUpdate, the
	// point publishes no current list.
	Fetched time.Time
	// Failures counts the fetches that failed (transport, status, size,
	// parse or signature), not those skipped during the backoff.
	Failures uint64
}

// maxCRLPoints bounds the distribution points remembered for metrics. Only
// certificates that chain to a configured root name them, so it is never
// reached in practice; it keeps a misbehaving CA from growing the series.
const maxCRLPoints = 256

// CRLFetches reports every distribution point fetched from, by URL.
func (v *Verifier) CRLFetches() []CRLFetch {
	c := v.crls
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]CRLFetch, 0, len(c.points))
	for _, p := range c.points {
		out = append(out, *p)
	}
	slices.SortFunc(out, func(a, b CRLFetch) int { return strings.Compare(a.URL, b.URL) })
	return out
}

// notePoint records a fetch of dp; c.mu is held.
func (c *crlCache) notePoint(dp string, crl *x509.RevocationList, err error) {
	p, ok := c.points[dp]
	if !ok {
		if len(c.points) >= maxCRLPoints {
			return
		}
		p = &CRLFetch{URL: dp}
		c.points[dp] = p
	}
	if err != nil {
		p.Failures++
		return
	}
	p.NextUpdate, p.Fetched = crl.NextUpdate, time.Now()
}

// forIssuer returns the configured CRLs that issuer signed. Signature
// checks are remembered per (CRL, issuer): the lists do not change.
func (c *crlCache) forIssuer(issuer *x509.Certificate) []*x509.RevocationList {
	var out []*x509.RevocationList
	for i, crl := range c.static {
		if !bytes.Equal(crl.RawIssuer, issuer.RawSubject) {
			continue
		}
		key := staticKey{i, sha256.Sum256(issuer.Raw)}
		c.mu.Lock()
		ok, seen := c.checked[key]
		c.mu.Unlock()
		if !seen {
			ok = crl.CheckSignatureFrom(issuer) == nil
			c.mu.Lock()
			c.checked[key] = ok
			c.mu.Unlock()
		}
		if ok {
			out = append(out, crl)
		}
	}
	return out
}

type staticKey struct {
	index  int
	issuer [32]byte
}

const (
	fetchBackoff = time.Minute
	// maxCRLCache bounds how long a fetched CRL without NextUpdate is kept.
	maxCRLCache = time.Hour
)

// fetchKey scopes a fetched CRL to the issuer whose signature it passed:
// two CAs may name the same URL (a key roll-over), and one's list must
// never answer for the other.
type fetchKey struct {
	dp     string
	issuer [32]byte
}

type fetchedCRL struct {
	crl     *x509.RevocationList
	fetched time.Time
}

func (f fetchedCRL) fresh(now time.Time) bool {
	if f.crl.NextUpdate.IsZero() {
		return now.Sub(f.fetched) < maxCRLCache
	}
	return now.Before(f.crl.NextUpdate)
}

func (c *crlCache) fetch(ctx context.Context, dp string, issuer *x509.Certificate) (*x509.RevocationList, error) {
	u, err := url.Parse(dp)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("distribution point %q is not http(s)", dp)
	}
	key := fetchKey{dp, sha256.Sum256(issuer.Raw)}
	now := time.Now()
	c.mu.Lock()
	cached, ok := c.fetched[key]
	failedAt, failed := c.failed[key]
	c.mu.Unlock()
	if ok && cached.fresh(now) {
		return cached.crl, nil
	}
	if failed && now.Sub(failedAt) < fetchBackoff {
		if ok {
			return cached.crl, nil // past NextUpdate; stale() still bounds its use
		}
		return nil, fmt.Errorf("CRL %s failed to load less than %s ago", dp, fetchBackoff)
	}
	crl, err := c.load(ctx, dp, issuer)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.notePoint(dp, crl, err)
	if err != nil {
		c.failed[key] = now
		if ok {
			return cached.crl, nil
		}
		return nil, err
	}
	delete(c.failed, key)
	if ok {
		// The index would keep the replaced list alive.
		delete(c.indexes, cached.crl)
	}
	c.fetched[key] = fetchedCRL{crl: crl, fetched: now}
	return crl, nil
}

func (c *crlCache) load(ctx context.Context, dp string, issuer *x509.Certificate) (*x509.RevocationList, error) {
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, dp, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.cfg.HTTP.Do(r)
	if err != nil {
		return nil, fmt.Errorf("fetch CRL: %w", err)
	}
	defer resp.Body.Close() //nolint:errcheck // read-only
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch CRL %s: %s", dp, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.cfg.MaxCRLBytes+1))
	if err != nil {
		return nil, fmt.Errorf("fetch CRL %s: %w", dp, err)
	}
	if int64(len(body)) > c.cfg.MaxCRLBytes {
		return nil, fmt.Errorf("CRL %s is larger than %d bytes", dp, c.cfg.MaxCRLBytes)
	}
	crl, err := ParseCRL(body)
	if err != nil {
		return nil, fmt.Errorf("CRL %s: %w", dp, err)
	}
	if err := crl.CheckSignatureFrom(issuer); err != nil {
		return nil, fmt.Errorf("CRL %s is not signed by the certificate's issuer: %w", dp, err)
	}
	return crl, nil
}

// ParseCRL reads a CRL in DER or PEM.
func ParseCRL(data []byte) (*x509.RevocationList, error) {
	if b, _ := pem.Decode(data); b != nil {
		if b.Type != "X509 CRL" {
			return nil, fmt.Errorf("PEM block %q is not an X509 CRL", b.Type)
		}
		data = b.Bytes
	}
	crl, err := x509.ParseRevocationList(data)
	if err != nil {
		return nil, errors.New("not a CRL: " + err.Error())
	}
	return crl, nil
}
