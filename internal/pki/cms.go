package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"slices"
	"time"

	_ "crypto/sha256" // register SHA-256 for crypto.Hash.New
	_ "crypto/sha512" // register SHA-384 and SHA-512
)

// ErrKeyMismatch reports a private key that does not belong to the
// certificate it is used with.
var ErrKeyMismatch = errors.New("private key does not match the certificate")

// ErrUnsupportedKey reports a key type SignDetached cannot use (only RSA and
// ECDSA are supported).
var ErrUnsupportedKey = errors.New("unsupported key type")

// ErrUnsupportedHash reports a digest other than SHA-256, SHA-384 or SHA-512.
var ErrUnsupportedHash = errors.New("unsupported digest algorithm")

// PEMType is the PEM label of a CMS structure, as openssl cms -outform PEM
// writes it.
const PEMType = "CMS"

// Object identifiers of RFC 5652, RFC 5754 and RFC 8017.
var (
	OIDData          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	OIDSignedData    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	OIDContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	OIDMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	OIDSigningTime   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}

	oidSHA256          = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384          = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512          = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
	oidRSAEncryption   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidECDSAWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSAWithSHA384 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidECDSAWithSHA512 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
)

// SignOptions configures SignDetached.
type SignOptions struct {
	// Time is the signingTime attribute; zero means now. It is a claim of
	// the signer, which verifiers must not trust (docs/contracts.md,
	// Identity and trust).
	Time time.Time
	// Hash is the message digest; zero means crypto.SHA256. SHA-384 and
	// SHA-512 are also accepted.
	Hash crypto.Hash
}

// SignDetached reads content to its end and returns the DER of a CMS
// ContentInfo holding a SignedData (RFC 5652) whose content, of type id-data,
// is detached. Memory use does not depend on the content's size.
//
// The one SignerInfo is identified by issuerAndSerialNumber and carries the
// signed attributes contentType, signingTime and messageDigest. RSA keys sign
// with PKCS#1 v1.5 (signatureAlgorithm rsaEncryption), ECDSA keys with
// ecdsa-with-SHA256 (or SHA-384/512 following opts.Hash). The certificates
// field holds cert and chain, without duplicates and in DER SET OF order, so
// verifiers must find the signer by issuer and serial, not by position.
//
// The key must match cert (ErrKeyMismatch otherwise). Validity, key usage
// and chain are not checked: tests need signatures by expired certificates.
func SignDetached(content io.Reader, cert *x509.Certificate, key crypto.Signer, chain []*x509.Certificate, opts SignOptions) ([]byte, error) {
	if cert == nil || key == nil {
		return nil, errors.New("sign: nil certificate or key")
	}
	if !publicKeysEqual(key.Public(), cert.PublicKey) {
		return nil, fmt.Errorf("sign: %w", ErrKeyMismatch)
	}
	hash := opts.Hash
	if hash == 0 {
		hash = crypto.SHA256
	}
	digestAlg, err := digestAlgorithm(hash)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	sigAlg, err := signatureAlgorithm(key.Public(), hash)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	signingTime := opts.Time
	if signingTime.IsZero() {
		signingTime = time.Now()
	}

	h := hash.New()
	if _, err := io.Copy(h, content); err != nil {
		return nil, fmt.Errorf("sign: read content: %w", err)
	}
	digest := h.Sum(nil)

	attrs, err := signedAttributes(digest, signingTime)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	// The signature covers the attributes DER-encoded as a SET OF
	// (RFC 5652 §5.4); the SignerInfo stores them [0] IMPLICIT.
	attrsDigest := hash.New()
	attrsDigest.Write(attrs)
	signature, err := key.Sign(rand.Reader, attrsDigest.Sum(nil), hash)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	implicit := slices.Clone(attrs)
	implicit[0] = 0xa0 // context-specific, constructed, tag 0

	sd := signedData{
		Version:          1,
		DigestAlgorithms: []pkix.AlgorithmIdentifier{digestAlg},
		EncapContentInfo: encapsulatedContentInfo{EContentType: OIDData},
		Certificates:     certificateSet(cert, chain),
		SignerInfos: []signerInfo{{
			Version: 1,
			SID: issuerAndSerialNumber{
				Issuer:       asn1.RawValue{FullBytes: cert.RawIssuer},
				SerialNumber: cert.SerialNumber,
			},
			DigestAlgorithm:    digestAlg,
			SignedAttrs:        asn1.RawValue{FullBytes: implicit},
			SignatureAlgorithm: sigAlg,
			Signature:          signature,
		}},
	}
	inner, err := asn1.Marshal(sd)
	if err != nil {
		return nil, fmt.Errorf("sign: encode SignedData: %w", err)
	}
	der, err := asn1.Marshal(contentInfo{
		ContentType: OIDSignedData,
		Content:     asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: inner},
	})
	if err != nil {
		return nil, fmt.Errorf("sign: encode ContentInfo: %w", err)
	}
	return der, nil
}

// PEM wraps a DER CMS structure as openssl cms -outform PEM does, with the
// label "CMS".
func PEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: PEMType, Bytes: der})
}

type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue
}

type signedData struct {
	Version          int
	DigestAlgorithms []pkix.AlgorithmIdentifier `asn1:"set"`
	EncapContentInfo encapsulatedContentInfo
	Certificates     asn1.RawValue
	SignerInfos      []signerInfo `asn1:"set"`
}

// encapsulatedContentInfo has no eContent: the signature is detached.
type encapsulatedContentInfo struct {
	EContentType asn1.ObjectIdentifier
}

type signerInfo struct {
	Version            int
	SID                issuerAndSerialNumber
	DigestAlgorithm    pkix.AlgorithmIdentifier
	SignedAttrs        asn1.RawValue
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          []byte
}

type issuerAndSerialNumber struct {
	Issuer       asn1.RawValue
	SerialNumber *big.Int
}

type attribute struct {
	Type   asn1.ObjectIdentifier
	Values []asn1.RawValue `asn1:"set"`
}

// signedAttributes returns the DER SET OF the three signed attributes.
// encoding/asn1 sorts SET OF elements as DER requires.
func signedAttributes(digest []byte, t time.Time) ([]byte, error) {
	contentType, err := asn1.Marshal(OIDData)
	if err != nil {
		return nil, err
	}
	// UTC, whole seconds: encoding/asn1 then writes UTCTime for 1950-2049
	// and GeneralizedTime otherwise, as RFC 5652 §11.3 requires.
	when, err := asn1.Marshal(t.UTC().Truncate(time.Second))
	if err != nil {
		return nil, err
	}
	md, err := asn1.Marshal(digest)
	if err != nil {
		return nil, err
	}
	attrs := []attribute{
		{Type: OIDContentType, Values: []asn1.RawValue{{FullBytes: contentType}}},
		{Type: OIDSigningTime, Values: []asn1.RawValue{{FullBytes: when}}},
		{Type: OIDMessageDigest, Values: []asn1.RawValue{{FullBytes: md}}},
	}
	return asn1.MarshalWithParams(attrs, "set")
}

// certificateSet encodes cert and chain as the [0] IMPLICIT SET OF
// Certificate, sorted and without duplicates as DER requires.
func certificateSet(cert *x509.Certificate, chain []*x509.Certificate) asn1.RawValue {
	raws := [][]byte{cert.Raw}
	for _, c := range chain {
		if c != nil && !slices.ContainsFunc(raws, func(r []byte) bool { return bytes.Equal(r, c.Raw) }) {
			raws = append(raws, c.Raw)
		}
	}
	slices.SortFunc(raws, bytes.Compare)
	return asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: bytes.Join(raws, nil)}
}

func digestAlgorithm(h crypto.Hash) (pkix.AlgorithmIdentifier, error) {
	// Parameters absent, as RFC 5754 §2 prefers.
	switch h {
	case crypto.SHA256:
		return pkix.AlgorithmIdentifier{Algorithm: oidSHA256}, nil
	case crypto.SHA384:
		return pkix.AlgorithmIdentifier{Algorithm: oidSHA384}, nil
	case crypto.SHA512:
		return pkix.AlgorithmIdentifier{Algorithm: oidSHA512}, nil
	}
	return pkix.AlgorithmIdentifier{}, fmt.Errorf("%w %v", ErrUnsupportedHash, h)
}

func signatureAlgorithm(pub crypto.PublicKey, h crypto.Hash) (pkix.AlgorithmIdentifier, error) {
	switch pub.(type) {
	case *rsa.PublicKey:
		return pkix.AlgorithmIdentifier{Algorithm: oidRSAEncryption, Parameters: asn1.NullRawValue}, nil
	case *ecdsa.PublicKey:
		switch h {
		case crypto.SHA384:
			return pkix.AlgorithmIdentifier{Algorithm: oidECDSAWithSHA384}, nil
		case crypto.SHA512:
			return pkix.AlgorithmIdentifier{Algorithm: oidECDSAWithSHA512}, nil
		}
		return pkix.AlgorithmIdentifier{Algorithm: oidECDSAWithSHA256}, nil
	}
	return pkix.AlgorithmIdentifier{}, fmt.Errorf("%w %T", ErrUnsupportedKey, pub)
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}
