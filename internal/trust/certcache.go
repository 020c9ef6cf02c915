package trust

import (
	"bytes"
	"crypto/x509"
	"sync"
)

// certCache remembers parsed certificates and their report descriptions by
// their DER: an agency signs thousands of packets with one certificate,
// and parsing it and rendering its names again cost more than a third of
// a verification. Keyed by the whole DER, so a different certificate with
// the same subject, issuer or serial is a different entry. Parsing is a
// pure function of the bytes; nothing judged (validity, chain, revocation)
// is kept here.
type certCache struct {
	mu        sync.Mutex
	cur, prev map[string]*certEntry
}

type certEntry struct {
	cert *x509.Certificate
	desc Cert
}

// maxCachedCerts bounds one generation: the cache holds at most twice as
// many, the recently used ones (a two-generation LRU approximation).
// Anyone who can submit fills it, before any check: larger certificates
// than maxCachedCertBytes are parsed every time, so it holds at most
// 2 × 256 certificates of up to 16 KiB of DER each, with their parsed
// form and description: a few times 8 MiB at worst.
const (
	maxCachedCerts     = 256
	maxCachedCertBytes = 16 << 10
)

func newCertCache() *certCache {
	return &certCache{cur: map[string]*certEntry{}, prev: map[string]*certEntry{}}
}

// get returns the entry for der, or nil.
func (c *certCache) get(der []byte) *certEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.cur[string(der)]; ok {
		return e
	}
	e, ok := c.prev[string(der)]
	if ok {
		c.putLocked(e)
	}
	return e
}

// parse returns the certificate in der, parsed once.
func (c *certCache) parse(der []byte) (*certEntry, error) {
	if e := c.get(der); e != nil {
		return e, nil
	}
	// A copy: the certificate keeps its DER, which must not pin the
	// request's buffer.
	cert, err := x509.ParseCertificate(bytes.Clone(der))
	if err != nil {
		return nil, err
	}
	return c.add(cert), nil
}

// add returns the entry for a certificate parsed elsewhere (by pkcs7 on the
// BER path), adding it when new.
func (c *certCache) add(cert *x509.Certificate) *certEntry {
	if e := c.get(cert.Raw); e != nil {
		return e
	}
	e := &certEntry{cert: cert, desc: describe(cert)}
	if len(cert.Raw) > maxCachedCertBytes {
		return e
	}
	c.mu.Lock()
	c.putLocked(e)
	c.mu.Unlock()
	return e
}

func (c *certCache) putLocked(e *certEntry) {
	if len(c.cur) >= maxCachedCerts {
		c.prev, c.cur = c.cur, make(map[string]*certEntry, maxCachedCerts)
	}
	c.cur[string(e.cert.Raw)] = e
}

// describe is describe(cert) from the cache when cert is there.
func (c *certCache) describe(cert *x509.Certificate) Cert {
	if e := c.get(cert.Raw); e != nil {
		return e.desc
	}
	return describe(cert)
}
