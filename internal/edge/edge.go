// Package edge is what the hub's HTTP listener needs at the network's
// edge: which proxies may speak for the client (X-Forwarded-For and
// X-Forwarded-Proto), HSTS when the client side is TLS, and a cap on
// concurrent connections.
package edge

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ErrBadProxy is a trusted proxy that is neither an address nor a CIDR.
var ErrBadProxy = errors.New("edge: not an IP address or CIDR")

// Proxies are the addresses of reverse proxies whose X-Forwarded-* headers
// are believed. The zero value trusts none: a client could otherwise claim
// any address or scheme.
type Proxies []netip.Prefix

// ParseProxies reads addresses ("10.0.0.5") and CIDRs ("10.0.0.0/8").
func ParseProxies(list []string) (Proxies, error) {
	var out Proxies
	for _, s := range list {
		s = strings.TrimSpace(s)
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%w: %q", ErrBadProxy, s)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

func (p Proxies) trusts(a netip.Addr) bool {
	a = a.Unmap()
	for _, pr := range p {
		if pr.Contains(a) {
			return true
		}
	}
	return false
}

func peer(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// FromProxy tells whether the request's peer is a trusted proxy.
func (p Proxies) FromProxy(r *http.Request) bool {
	a := peer(r)
	return a.IsValid() && p.trusts(a)
}

// ClientAddr is the address of the client: the peer, or, when the peer is
// a trusted proxy, the rightmost address of X-Forwarded-For that is not a
// trusted proxy (those left of it could be written by the client).
func (p Proxies) ClientAddr(r *http.Request) netip.Addr {
	a := peer(r)
	if !a.IsValid() || !p.trusts(a) {
		return a
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		h, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return a // a mangled chain: the proxy is all we know
		}
		h = h.Unmap()
		if !p.trusts(h) {
			return h
		}
		a = h
	}
	return a
}

// IsTLS tells whether the client reached the hub over TLS: directly, or
// through a trusted proxy that says X-Forwarded-Proto: https. The proxy's
// word is the rightmost value: a proxy that appends rather than overwrites
// leaves whatever the client wrote on the left.
func (p Proxies) IsTLS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	if !p.FromProxy(r) {
		return false
	}
	vs := r.Header.Values("X-Forwarded-Proto")
	if len(vs) == 0 {
		return false
	}
	last := vs[len(vs)-1]
	proto := last[strings.LastIndexByte(last, ',')+1:]
	return strings.EqualFold(strings.TrimSpace(proto), "https")
}

// HSTSValue is sent on every response to a client on TLS: one year.
const HSTSValue = "max-age=31536000"

// HSTS adds Strict-Transport-Security to the responses of clients on TLS,
// so a browser never goes back to plain http for the hub (and its cookies).
func HSTS(p Proxies, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.IsTLS(r) {
			w.Header().Set("Strict-Transport-Security", HSTSValue)
		}
		next.ServeHTTP(w, r)
	})
}

// LimitListener accepts at most n connections at a time; one over the cap
// is closed at once, so it costs a file descriptor for a moment rather
// than waiting in the kernel's queue, and the connections already open
// (a probe's, a clerk's) keep being served. refused, when set, is called
// for each.
func LimitListener(ln net.Listener, n int, refused func()) net.Listener {
	return &limitListener{Listener: ln, n: int64(n), refused: refused}
}

type limitListener struct {
	net.Listener
	n       int64
	open    atomic.Int64
	refused func()
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.open.Add(1) > l.n {
			l.open.Add(-1)
			_ = c.Close() // refused: nothing was read or written
			if l.refused != nil {
				l.refused()
			}
			continue
		}
		return &limitConn{Conn: c, release: func() { l.open.Add(-1) }}, nil
	}
}

type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// ClientCertHeader carries the client's TLS certificate from a TLS proxy
// that verified it (nginx: $ssl_client_escaped_cert, URL-escaped PEM).
const ClientCertHeader = "X-Client-Cert"

// CertProxies are the proxies whose ClientCertHeader is believed, and the
// CAs its certificate must chain to. A proxy that merely trusts
// X-Forwarded-For is not one of them: a certificate is a credential, and
// the header is believed only from proxies an operator named for it, and
// only for a certificate the hub verifies itself (a pinned certificate is
// public, so a pin alone would not do).
type CertProxies struct {
	Proxies Proxies
	Roots   *x509.CertPool
	// Intermediates are the issuing CAs under Roots (the header carries
	// the client's certificate alone).
	Intermediates *x509.CertPool
	Now           func() time.Time // nil is time.Now
}

// ClientCert is the client's verified TLS certificate: from the handshake
// when the hub serves TLS itself, or from ClientCertHeader when one of the
// proxies sent it and it chains to Roots for client authentication (from
// anyone else the header is ignored). Nil when none.
func (c CertProxies) ClientCert(r *http.Request) *x509.Certificate {
	if r.TLS != nil {
		if len(r.TLS.VerifiedChains) == 0 || len(r.TLS.PeerCertificates) == 0 {
			return nil
		}
		return r.TLS.PeerCertificates[0]
	}
	v := r.Header.Get(ClientCertHeader)
	if v == "" || c.Roots == nil || !c.Proxies.FromProxy(r) {
		return nil
	}
	raw, err := url.QueryUnescape(v)
	if err != nil {
		return nil
	}
	b, _ := pem.Decode([]byte(raw))
	if b == nil || b.Type != "CERTIFICATE" {
		return nil
	}
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return nil
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	opts := x509.VerifyOptions{Roots: c.Roots, Intermediates: c.Intermediates, CurrentTime: now(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if _, err := cert.Verify(opts); err != nil {
		return nil
	}
	return cert
}
