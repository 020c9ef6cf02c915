package tsa

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/digitorus/pkcs7"
	"github.com/digitorus/timestamp"
)

// Errors Verify wraps, so that callers can tell a token that is not for
// their digest from one that cannot be trusted at all.
var (
	// ErrMalformed: the token is not a CMS SignedData over a TSTInfo with
	// one signer and the attributes RFC 3161 requires.
	ErrMalformed = errors.New("malformed time-stamp token")
	// ErrSignature: the CMS signature or its message digest does not verify.
	ErrSignature = errors.New("time-stamp token signature does not verify")
	// ErrUntrusted: the signer certificate is missing, does not chain to
	// the roots, was not valid at the time stamped or is not a
	// time-stamping certificate.
	ErrUntrusted = errors.New("time-stamp token signer not trusted")
	// ErrImprint: the token stamps another digest or hash algorithm.
	ErrImprint = errors.New("time-stamp token is for another digest")
)

// OIDs of RFC 3161 and RFC 5035 that Verify checks.
var (
	oidTSTInfo             = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
	oidSigningCertificate  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 12}
	oidSigningCertificate2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
	oidExtKeyUsage         = asn1.ObjectIdentifier{2, 5, 29, 37}
)

// MaxToken is the largest token Verify reads.
const MaxToken = 64 << 10

// Verify checks an RFC 3161 TimeStampToken (the DER CMS SignedData Stamp
// returns) stamping digest, made with hash, and returns the time it
// certifies. It checks that
//   - the token is a SignedData over a TSTInfo with exactly one signer;
//   - the signer certificate (carried in the token, or among
//     intermediates) is the one the signed ESS signing-certificate
//     attribute names, has id-kp-timeStamping as its only extended key
//     usage, marked critical (RFC 3161 §2.3), and chains through the
//     token's certificates and intermediates to roots, every certificate
//     valid at the stamped time (a token outlives its TSA's certificate);
//   - the CMS signature and message digest verify;
//   - the message imprint is hash (SHA-256, SHA-384 or SHA-512) and digest.
//
// Revocation is not checked: a TSA certificate revoked after the stamp does
// not void earlier tokens, and the caller decides how to learn of key
// compromise. Roots must not be nil: the system pool is never a trust
// anchor for evidence.
func Verify(token, digest []byte, hash crypto.Hash, roots *x509.CertPool, intermediates []*x509.Certificate) (time.Time, error) {
	if roots == nil {
		return time.Time{}, fmt.Errorf("verify time-stamp: %w: no trust roots", ErrUntrusted)
	}
	// A SHA-1 imprint could be a collision made for the occasion.
	if !supportedHash(hash) {
		return time.Time{}, fmt.Errorf("verify time-stamp: %w: hash %v, want SHA-256, SHA-384 or SHA-512", ErrImprint, hash)
	}
	// pkcs7.Parse recurses into indefinite-length BER: deep nesting in a
	// few MB would take hundreds of MB, or the stack. Tokens are a few KiB.
	if len(token) > MaxToken {
		return time.Time{}, fmt.Errorf("verify time-stamp: %w: %d bytes, more than %d", ErrMalformed, len(token), MaxToken)
	}
	p7, err := pkcs7.Parse(token)
	if err != nil {
		return time.Time{}, fmt.Errorf("verify time-stamp: %w: %w", ErrMalformed, err)
	}
	if len(p7.Signers) != 1 {
		return time.Time{}, fmt.Errorf("verify time-stamp: %w: %d signers, want 1", ErrMalformed, len(p7.Signers))
	}
	// The content type attribute is signed, unlike eContentType in this
	// library's view: checking it keeps a signature over other content made
	// with the TSA's key from passing for a time-stamp.
	var ct asn1.ObjectIdentifier
	if err := p7.UnmarshalSignedAttribute(pkcs7.OIDAttributeContentType, &ct); err != nil || !ct.Equal(oidTSTInfo) {
		return time.Time{}, fmt.Errorf("verify time-stamp: %w: signed content type %v, want TSTInfo", ErrMalformed, ct)
	}
	p7.Certificates = append(p7.Certificates, intermediates...)
	ee := p7.GetOnlySigner()
	if ee == nil {
		return time.Time{}, fmt.Errorf("verify time-stamp: %w: the signer certificate is neither in the token nor among the intermediates", ErrUntrusted)
	}
	if err := checkSigningCertificate(p7, ee); err != nil {
		return time.Time{}, fmt.Errorf("verify time-stamp: %w", err)
	}
	if err := checkTimeStampingEKU(ee); err != nil {
		return time.Time{}, fmt.Errorf("verify time-stamp: %w", err)
	}
	// The library rejects a signing-time attribute outside the signer's
	// validity as a signature error; reported here for what it is.
	var signingTime time.Time
	if err := p7.UnmarshalSignedAttribute(pkcs7.OIDAttributeSigningTime, &signingTime); err == nil &&
		(signingTime.Before(ee.NotBefore) || signingTime.After(ee.NotAfter)) {
		return time.Time{}, fmt.Errorf("verify time-stamp: %w: signed at %s, outside the certificate's validity %s to %s", ErrUntrusted,
			signingTime.Format(time.RFC3339), ee.NotBefore.Format(time.RFC3339), ee.NotAfter.Format(time.RFC3339))
	}
	// Signature only (no roots): the chain is checked below at genTime.
	if err := p7.VerifyWithOpts(x509.VerifyOptions{}); err != nil {
		return time.Time{}, fmt.Errorf("verify time-stamp: %w: %w", ErrSignature, err)
	}
	ts, err := timestamp.Parse(token)
	if err != nil {
		return time.Time{}, fmt.Errorf("verify time-stamp: %w: TSTInfo: %w", ErrMalformed, err)
	}
	inter := x509.NewCertPool()
	for _, c := range p7.Certificates {
		inter.AddCert(c)
	}
	if _, err := ee.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		CurrentTime:   ts.Time,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
	}); err != nil {
		return time.Time{}, fmt.Errorf("verify time-stamp: %w: at %s: %w", ErrUntrusted, ts.Time.Format(time.RFC3339), err)
	}
	if ts.HashAlgorithm != hash || !bytes.Equal(ts.HashedMessage, digest) {
		return time.Time{}, fmt.Errorf("verify time-stamp: %w: token stamps %v %x", ErrImprint, ts.HashAlgorithm, ts.HashedMessage)
	}
	return ts.Time, nil
}

// checkTimeStampingEKU applies RFC 3161 §2.3: the one extended key usage
// is id-kp-timeStamping and the extension is critical.
func checkTimeStampingEKU(c *x509.Certificate) error {
	if !slices.Equal(c.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}) || len(c.UnknownExtKeyUsage) != 0 {
		return fmt.Errorf("%w: certificate %q is not for time-stamping only (RFC 3161 §2.3)", ErrUntrusted, c.Subject)
	}
	for _, e := range c.Extensions {
		if e.Id.Equal(oidExtKeyUsage) && !e.Critical {
			return fmt.Errorf("%w: certificate %q has a non-critical extended key usage (RFC 3161 §2.3)", ErrUntrusted, c.Subject)
		}
	}
	return nil
}

// ESS signing-certificate attributes (RFC 2634 §5.4, RFC 5035 §3), of
// which Verify reads only the first certificate hash.
type (
	signingCertificate struct {
		Certs    []essCertID
		Policies asn1.RawValue `asn1:"optional"`
	}
	essCertID struct {
		CertHash     []byte
		IssuerSerial asn1.RawValue `asn1:"optional"`
	}
	signingCertificateV2 struct {
		Certs    []essCertIDv2
		Policies asn1.RawValue `asn1:"optional"`
	}
	essCertIDv2 struct {
		HashAlgorithm pkix.AlgorithmIdentifier `asn1:"optional"` // absent means SHA-256
		CertHash      []byte
		IssuerSerial  asn1.RawValue `asn1:"optional"`
	}
)

var essHashes = map[string]crypto.Hash{
	"2.16.840.1.101.3.4.2.1": crypto.SHA256,
	"2.16.840.1.101.3.4.2.2": crypto.SHA384,
	"2.16.840.1.101.3.4.2.3": crypto.SHA512,
}

// checkSigningCertificate applies RFC 3161 §2.4.1 (and RFC 5816): the
// signed ESS attribute names the signer certificate by its hash, so that
// another certificate for the same key (other validity, other usage) cannot
// be put in its place.
func checkSigningCertificate(p7 *pkcs7.PKCS7, ee *x509.Certificate) error {
	var (
		h    crypto.Hash
		want []byte
	)
	var v2 signingCertificateV2
	if err := p7.UnmarshalSignedAttribute(oidSigningCertificate2, &v2); err == nil && len(v2.Certs) > 0 {
		id := v2.Certs[0]
		h = crypto.SHA256
		if len(id.HashAlgorithm.Algorithm) > 0 {
			if h = essHashes[id.HashAlgorithm.Algorithm.String()]; h == 0 {
				return fmt.Errorf("%w: signing certificate hashed with unsupported %v", ErrMalformed, id.HashAlgorithm.Algorithm)
			}
		}
		want = id.CertHash
	} else {
		var v1 signingCertificate
		if err := p7.UnmarshalSignedAttribute(oidSigningCertificate, &v1); err != nil || len(v1.Certs) == 0 {
			return fmt.Errorf("%w: no ESS signing-certificate attribute", ErrMalformed)
		}
		h, want = crypto.SHA1, v1.Certs[0].CertHash
	}
	hh := h.New()
	hh.Write(ee.Raw)
	if !bytes.Equal(hh.Sum(nil), want) {
		return fmt.Errorf("%w: the signer certificate is not the one the signed attributes name", ErrUntrusted)
	}
	return nil
}
