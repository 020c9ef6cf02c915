package trust

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/lienthong/lienthong/internal/organ"
)

// RevocationPolicy says what an unknown revocation status means.
type RevocationPolicy string

// Revocation policies. Soft fail is the default: government OCSP and CRL
// servers are not always reachable from an agency network, and refusing
// every packet then would stop the exchange; the report carries a
// sig.revocation_unknown warning instead. Hard fail refuses the signature
// (sig.untrusted).
const (
	SoftFail RevocationPolicy = "soft-fail"
	HardFail RevocationPolicy = "hard-fail"
)

// Config configures a Verifier.
type Config struct {
	// Roots are the trust anchors.
	Roots []*x509.Certificate
	// CRLs are revocation lists loaded from files; each is used for the
	// certificates of the issuer that signed it.
	CRLs []*x509.RevocationList
	// FetchCRLs fetches CRLs from the certificates' distribution points
	// (http and https only), cached until their NextUpdate.
	FetchCRLs bool
	// OCSP asks a certificate's OCSP responder when no CRL answered.
	OCSP bool
	// Revocation is the policy for an unknown status (default SoftFail).
	Revocation RevocationPolicy
	// HTTP is the client for CRL and OCSP fetches; its timeout bounds them
	// (default 5 s).
	HTTP *http.Client
	// MaxCRLBytes caps a fetched CRL (default 16 MiB).
	MaxCRLBytes int64
	// Directory, when set, pins signer certificates per organ and resolves
	// renamed codes (aliases) when binding a signer to the packet's From.
	Directory *organ.Directory
	// MaxSignatureBytes caps a CMS signature (default 1 MiB), and
	// MaxCertificates the certificates it may carry (default 16).
	MaxSignatureBytes int
	MaxCertificates   int
	// AllowSHA1 accepts SHA-1 digests (with a sig.weak_algorithm warning);
	// old government software still writes them.
	AllowSHA1 bool
}

// Verifier checks signatures against a trust store. It is safe for
// concurrent use.
type Verifier struct {
	cfg    Config
	roots  *x509.CertPool
	crls   *crlCache
	chains *chainCache
	certs  *certCache
}

// NewVerifier makes a Verifier.
func NewVerifier(cfg Config) (*Verifier, error) {
	if len(cfg.Roots) == 0 {
		return nil, errors.New("trust: no root certificates")
	}
	if cfg.Revocation == "" {
		cfg.Revocation = SoftFail
	}
	if cfg.Revocation != SoftFail && cfg.Revocation != HardFail {
		return nil, fmt.Errorf("trust: revocation policy %q is neither %s nor %s", cfg.Revocation, SoftFail, HardFail)
	}
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{Timeout: 5 * time.Second}
	}
	if cfg.MaxCRLBytes <= 0 {
		cfg.MaxCRLBytes = 16 << 20
	}
	if cfg.MaxSignatureBytes <= 0 {
		cfg.MaxSignatureBytes = 1 << 20
	}
	if cfg.MaxCertificates <= 0 {
		cfg.MaxCertificates = 16
	}
	pool := x509.NewCertPool()
	for _, c := range cfg.Roots {
		pool.AddCert(c)
	}
	return &Verifier{cfg: cfg, roots: pool, crls: newCRLCache(cfg), chains: newChainCache(), certs: newCertCache()}, nil
}

// checkCertificate judges the signer certificate at time at: chain to a
// root through the given intermediates, validity, key usage, revocation,
// and binding to the packet's From. It records each check in s.
func (v *Verifier) checkCertificate(ctx context.Context, s *Signature, leaf *x509.Certificate, intermediates []*x509.Certificate, from string) {
	if v.checkTrust(ctx, s, leaf, intermediates) {
		v.checkBinding(s, leaf, from)
	}
}

// checkTrust is checkCertificate without the binding; it reports whether
// the chain was built (the binding is judged only then).
func (v *Verifier) checkTrust(ctx context.Context, s *Signature, leaf *x509.Certificate, intermediates []*x509.Certificate) bool {
	s.Signer = new(v.certs.describe(leaf))
	at := s.CheckedAt
	switch {
	case at.Before(leaf.NotBefore):
		s.fail(CodeNotYetValid, "the signer certificate is valid from %s, the signature was received %s", leaf.NotBefore.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339))
		return false
	case at.After(leaf.NotAfter):
		s.fail(CodeExpired, "the signer certificate expired %s, the signature was received %s", leaf.NotAfter.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339))
		return false
	}
	s.passed("validity")
	if leaf.KeyUsage != 0 && leaf.KeyUsage&(x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment) == 0 {
		s.fail(CodeUntrusted, "the signer certificate's key usage does not allow signatures")
		return false
	}
	s.passed("key-usage")
	chain, err := v.chains.verify(leaf, intermediates, at, v.roots)
	if err != nil {
		s.fail(chainCode(err, at), "the signer certificate does not chain to a trusted root: %v", err)
		return false
	}
	s.Chain = append(s.Chain, chain.desc...)
	s.passed("chain")
	v.checkRevocation(ctx, s, chain.certs, chain.desc)
	return true
}

// chainCode tells an expired intermediate from an untrusted chain.
func chainCode(err error, at time.Time) string {
	var inv x509.CertificateInvalidError
	if errors.As(err, &inv) && inv.Reason == x509.Expired {
		if inv.Cert != nil && at.Before(inv.Cert.NotBefore) {
			return CodeNotYetValid
		}
		return CodeExpired
	}
	return CodeUntrusted
}

// checkBinding: the signer must be the packet's From. A directory that pins
// fingerprints for the organ decides by them alone; otherwise the
// certificate's UID must name the organ (or an alias of it).
func (v *Verifier) checkBinding(s *Signature, leaf *x509.Certificate, from string) {
	uid, ok := OrganID(leaf)
	if !ok {
		uid = ""
	}
	check, msg := v.binding(Fingerprint(leaf), uid, from)
	if msg != "" {
		s.fail(CodeSignerMismatch, "%s", msg)
		return
	}
	s.passed(check)
}

// SpeaksFor tells whether a certificate (as a report describes it) speaks
// for organ from, by the rule that binds an envelope's signer to the
// packet's sender: PDF signatures are judged as the envelope is.
func (v *Verifier) SpeaksFor(c *Cert, from string) bool {
	if c == nil {
		return false
	}
	_, msg := v.binding(c.SHA256, c.OrganID, from)
	return msg == ""
}

// binding returns the check that passed, or why none did. uid is the
// certificate's single UID, or "" when it has none or several.
func (v *Verifier) binding(fp, uid, from string) (check, failure string) {
	if from == "" {
		return "", "the packet names no sender to bind the signer to"
	}
	if d := v.cfg.Directory; d != nil {
		if a, ok := d.Lookup(organ.ID(from)); ok && len(a.CertSHA256) > 0 {
			for _, pin := range a.CertSHA256 {
				if strings.EqualFold(pin, fp) {
					return "binding:pin", ""
				}
			}
			return "", fmt.Sprintf("certificate %s is not among those pinned for %s", fp, from)
		}
	}
	if uid == "" {
		return "", fmt.Sprintf("the signer certificate has no single UID naming its organ; the packet is from %s", from)
	}
	if uid == from || v.sameOrgan(uid, from) {
		return "binding:uid", ""
	}
	return "", fmt.Sprintf("the certificate was issued to %s, the packet is from %s", uid, from)
}

func (v *Verifier) sameOrgan(a, b string) bool {
	d := v.cfg.Directory
	if d == nil {
		return false
	}
	ca, ok1 := d.Canonical(organ.ID(a))
	cb, ok2 := d.Canonical(organ.ID(b))
	return ok1 && ok2 && ca == cb
}
