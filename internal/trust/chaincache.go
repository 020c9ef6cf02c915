package trust

import (
	"crypto/sha256"
	"crypto/x509"
	"sync"
	"time"
)

// chainCache remembers verified chains. Agencies sign thousands of packets
// with one certificate, and re-verifying its chain (two signature checks)
// cost more than the packet's own signature. A cached chain is reused only
// at a time inside every certificate's validity, where x509.Verify would
// build the same chain; failures are not cached.
type chainCache struct {
	mu      sync.Mutex
	entries map[[32]byte]cachedChain
}

type cachedChain struct {
	chain     *verifiedChain
	notBefore time.Time // the latest NotBefore in the chain
	notAfter  time.Time // the earliest NotAfter in the chain
}

// verifiedChain is a chain from the leaf to a root, with each
// certificate's report description (rendering names is not cheap).
// Shared between packets: never modified.
type verifiedChain struct {
	certs []*x509.Certificate
	desc  []Cert
}

const maxCachedChains = 10_000

func newChainCache() *chainCache { return &chainCache{entries: map[[32]byte]cachedChain{}} }

func chainKey(leaf *x509.Certificate, intermediates []*x509.Certificate) [32]byte {
	h := sha256.New()
	h.Write(leaf.Raw)
	for _, c := range intermediates {
		sum := sha256.Sum256(c.Raw)
		h.Write(sum[:])
	}
	var k [32]byte
	h.Sum(k[:0])
	return k
}

func (c *chainCache) verify(leaf *x509.Certificate, intermediates []*x509.Certificate, at time.Time, roots *x509.CertPool) (*verifiedChain, error) {
	key := chainKey(leaf, intermediates)
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && !at.Before(e.notBefore) && !at.After(e.notAfter) {
		return e.chain, nil
	}
	pool := x509.NewCertPool()
	for _, ic := range intermediates {
		pool.AddCert(ic)
	}
	chains, err := leaf.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: pool,
		CurrentTime:   at,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		return nil, err
	}
	vc := &verifiedChain{certs: chains[0]}
	for _, cert := range vc.certs {
		vc.desc = append(vc.desc, describe(cert))
	}
	e = cachedChain{chain: vc, notBefore: leaf.NotBefore, notAfter: leaf.NotAfter}
	for _, cert := range vc.certs {
		if cert.NotBefore.After(e.notBefore) {
			e.notBefore = cert.NotBefore
		}
		if cert.NotAfter.Before(e.notAfter) {
			e.notAfter = cert.NotAfter
		}
	}
	c.mu.Lock()
	if len(c.entries) >= maxCachedChains {
		clear(c.entries)
	}
	c.entries[key] = e
	c.mu.Unlock()
	return e.chain, nil
}
