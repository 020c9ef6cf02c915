package config

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// MaxUsernameBytes is the longest console user name; the console treats a
// longer one as unknown without keeping or logging it.
const MaxUsernameBytes = 128

// Defaults of the settings at the network's edge (docs/OPERATIONS.md).
const (
	// DefaultIdleTimeout closes a keep-alive connection idle this long, so
	// idle clients cannot hold the process's file descriptors.
	DefaultIdleTimeout = 2 * time.Minute
	// DefaultMaxHeaderBytes is far above what agencies, the national
	// axis's SDK and browsers send, far below net/http's 1 MiB.
	DefaultMaxHeaderBytes = 64 * KiB
	// DefaultMaxConnections caps the connections open at once; beyond it
	// new ones are closed, and those already open (probes) keep working.
	DefaultMaxConnections = 4096
	// DefaultLoginWait is how long a sign-in waits for a password check
	// slot before it is answered 503.
	DefaultLoginWait = 2 * time.Second
	// DefaultLoginPerMinute is the sign-in attempts one client address
	// may make per minute (with as many at once).
	DefaultLoginPerMinute = 20
)

// ConsoleLogin bounds the password checks of console sign-ins: each runs
// argon2id, which takes 19 MiB and tens of milliseconds.
type ConsoleLogin struct {
	// Concurrency is how many password checks run at once; 0 sizes it
	// from the memory limit (GOMEMLIMIT) and the CPUs.
	Concurrency int `mapstructure:"concurrency" json:"concurrency,omitempty"`
	// Wait is how long a sign-in waits for a slot before 503.
	Wait time.Duration `mapstructure:"wait" json:"wait,omitempty"`
	// PerMinute is the sign-in attempts per client address and minute,
	// beyond which 429.
	PerMinute int `mapstructure:"perMinute" json:"perMinute,omitempty"`
}

// VDXP configures the national-axis channel (/vdxp/).
type VDXP struct {
	// Freshness, when set, refuses a request whose signed
	// XroadVnpt-timestamp is missing or further than this from the hub's
	// clock. Off (0) by default: the axis's Java SDK stamps the timestamp
	// once per service object, so a long-lived client resends the same one
	// for ever and a strict window would refuse it. Pin a client
	// certificate per system (agencies[].vdxpCertSha256) to protect
	// against captured headers instead.
	Freshness time.Duration `mapstructure:"freshness" json:"freshness,omitempty"`
}

func (h Hub) validateEdge(p *problems) {
	p.positive("hub.idleTimeout", h.IdleTimeout)
	if h.MaxHeaderBytes < 4*KiB || h.MaxHeaderBytes > 16*MiB {
		p.addf("hub.maxHeaderBytes", "%w: %s (want 4KiB to 16MiB)", ErrOutOfRange, h.MaxHeaderBytes)
	}
	if h.MaxConnections < 1 {
		p.addf("hub.maxConnections", "%w (got %d)", ErrNotPositive, h.MaxConnections)
	}
	validateProxies(p, "hub.trustedProxies", h.TrustedProxies)
	validateProxies(p, "hub.clientCertProxies", h.ClientCertProxies)
}

func validateProxies(p *problems, key string, list []string) {
	for i, s := range list {
		s = strings.TrimSpace(s)
		at := fmt.Sprintf("%s[%d]", key, i)
		if pr, err := netip.ParsePrefix(s); err == nil {
			if pr.Bits() == 0 {
				// Every address: any client could then say who it is.
				p.addf(at, "%w %q: a proxy range cannot be every address", ErrBadAddress, s)
			}
			continue
		}
		if _, err := netip.ParseAddr(s); err != nil {
			p.addf(at, "%w %q: want an IP address or a CIDR such as 10.0.0.0/8", ErrBadAddress, s)
		}
	}
}

func (l ConsoleLogin) validate(p *problems) {
	if l.Concurrency < 0 {
		p.addf("console.login.concurrency", "%w (got %d; 0 sizes it from memory)", ErrNegative, l.Concurrency)
	}
	p.positive("console.login.wait", l.Wait)
	if l.PerMinute < 1 {
		p.addf("console.login.perMinute", "%w (got %d)", ErrNotPositive, l.PerMinute)
	}
}

func (v VDXP) validate(p *problems) {
	if v.Freshness < 0 {
		p.addf("vdxp.freshness", "%w (got %s; 0 turns the check off)", ErrNegative, v.Freshness)
	}
}

// validateVDXPPins checks the systems' client certificate pins, which
// need the hub to ask for client certificates.
func validateVDXPPins(p *problems, agencies []Agency, t TLS, h Hub) {
	// The certificate comes from the handshake, or from a TLS proxy named
	// for it that verified it (edge.ClientCertHeader).
	certs := t.ClientAuth == ClientAuthOptional || t.ClientAuth == ClientAuthRequire || len(h.ClientCertProxies) > 0
	if len(h.ClientCertProxies) > 0 && t.ClientCAFile == "" {
		// The hub verifies a forwarded certificate itself.
		p.addf("tls.clientCaFile", "%w when hub.clientCertProxies is set", ErrRequired)
	}
	for i, a := range agencies {
		at := fmt.Sprintf("agencies[%d].vdxpCertSha256", i)
		if len(a.VDXPCertSHA256) > 0 && a.VDXPSystemID == "" {
			p.addf(fmt.Sprintf("agencies[%d].vdxpSystemId", i), "%w when vdxpCertSha256 is set", ErrRequired)
		}
		if len(a.VDXPCertSHA256) > 0 && !certs {
			p.addf(at, "%w: pinned client certificates need tls.clientAuth optional or require, or hub.clientCertProxies that forward them", ErrConflict)
		}
		for j, s := range a.VDXPCertSHA256 {
			if !validFingerprint(s) {
				p.addf(fmt.Sprintf("%s[%d]", at, j), "%w %q: want 64 hex digits", ErrBadFingerprint, s)
			}
		}
	}
}

func validFingerprint(s string) bool {
	fp := strings.ReplaceAll(strings.TrimSpace(s), ":", "")
	if len(fp) != 64 {
		return false
	}
	return strings.Trim(strings.ToLower(fp), "0123456789abcdef") == ""
}
