package trust

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/big"
	"time"

	"github.com/digitorus/pkcs7"
)

// Content gives digests of the signed content: the exact packet bytes. The
// hub computes SHA-256 while it stores the packet and re-reads the stored
// bytes only for another algorithm, so content is never held in memory.
type Content interface {
	Digest(h crypto.Hash) ([]byte, error)
}

// Digests is a Content with digests already computed.
type Digests map[crypto.Hash][]byte

// Digest returns the digest for h, or an error when it was not computed.
func (d Digests) Digest(h crypto.Hash) ([]byte, error) {
	if sum, ok := d[h]; ok {
		return sum, nil
	}
	return nil, fmt.Errorf("no %s digest of the content", h)
}

// ReaderContent computes digests by reading the content again for each
// algorithm asked for.
type ReaderContent func() (io.ReadCloser, error)

// Digest reads the content through h.
func (open ReaderContent) Digest(h crypto.Hash) ([]byte, error) {
	r, err := open()
	if err != nil {
		return nil, err
	}
	defer r.Close() //nolint:errcheck // read-only
	w := h.New()
	if _, err := io.Copy(w, r); err != nil {
		return nil, err
	}
	return w.Sum(nil), nil
}

// DigestReader hashes what is read through it, for the common algorithms at
// once, so the bytes need be read only once.
type DigestReader struct {
	r      io.Reader
	hashes map[crypto.Hash]hash.Hash
}

// NewDigestReader wraps r; Digests is valid once r is read to the end.
func NewDigestReader(r io.Reader, hs ...crypto.Hash) *DigestReader {
	d := &DigestReader{r: r, hashes: map[crypto.Hash]hash.Hash{}}
	for _, h := range hs {
		d.hashes[h] = h.New()
	}
	return d
}

func (d *DigestReader) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	for _, h := range d.hashes {
		h.Write(p[:n])
	}
	return n, err
}

// Digests returns the digests of what was read.
func (d *DigestReader) Digests() Digests {
	out := Digests{}
	for k, h := range d.hashes {
		out[k] = h.Sum(nil)
	}
	return out
}

var (
	oidData          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidSigningTime   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}

	oidSHA1   = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}

	oidRSA          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidRSASHA1      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 5}
	oidRSASHA256    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidRSASHA384    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}
	oidRSASHA512    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}
	oidECPublicKey  = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidECDSASHA1    = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 1}
	oidECDSASHA256  = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSASHA384  = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidECDSASHA512  = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
	rsaSignatureAlg = []asn1.ObjectIdentifier{oidRSA, oidRSASHA1, oidRSASHA256, oidRSASHA384, oidRSASHA512}
	ecSignatureAlg  = []asn1.ObjectIdentifier{oidECPublicKey, oidECDSASHA1, oidECDSASHA256, oidECDSASHA384, oidECDSASHA512}
)

func hashFor(oid asn1.ObjectIdentifier) (crypto.Hash, bool) {
	switch {
	case oid.Equal(oidSHA1):
		return crypto.SHA1, true
	case oid.Equal(oidSHA256):
		return crypto.SHA256, true
	case oid.Equal(oidSHA384):
		return crypto.SHA384, true
	case oid.Equal(oidSHA512):
		return crypto.SHA512, true
	}
	return 0, false
}

func oneOf(oid asn1.ObjectIdentifier, list []asn1.ObjectIdentifier) bool {
	for _, o := range list {
		if oid.Equal(o) {
			return true
		}
	}
	return false
}

// attribute mirrors the CMS Attribute, to re-encode the signed attributes.
type attribute struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue `asn1:"set"`
}

// DecodeSignature accepts a detached CMS signature in DER or PEM.
func DecodeSignature(data []byte) []byte {
	if b, _ := pem.Decode(data); b != nil {
		return b.Bytes
	}
	return data
}

// VerifyCMS checks a detached CMS/PKCS#7 signature over content, received
// at at, by the sender from: the signed digest, the signature, the signer's
// chain to the roots using the intermediates the CMS carries, validity and
// revocation at at, key usage, and the binding of the signer to from.
func (v *Verifier) VerifyCMS(ctx context.Context, sig []byte, content Content, from string, at time.Time) *Signature {
	return v.verifyCMS(ctx, sig, content, &from, at)
}

// VerifyCMSUnbound is VerifyCMS without binding the signer to a sender: for
// a signature inside a document, which a person may have made, and whose
// organ (if any) the caller reads from Signer.OrganID. A separate method,
// not a magic from, so no packet header can switch the binding off.
func (v *Verifier) VerifyCMSUnbound(ctx context.Context, sig []byte, content Content, at time.Time) *Signature {
	return v.verifyCMS(ctx, sig, content, nil, at)
}

// verifyCMS binds the signer to *from, or to nobody when from is nil.
func (v *Verifier) verifyCMS(ctx context.Context, sig []byte, content Content, from *string, at time.Time) *Signature {
	s := newSignature(TypeCMS, at)
	p7, err := v.parseCMS(DecodeSignature(sig))
	if err != nil {
		s.fail(CodeMalformed, "%v", err)
		return s.done()
	}
	s.passed("parse")
	signer := p7.Signers[0]
	leaf := signerCertificate(p7.Certificates, signer.IssuerAndSerialNumber.IssuerName.FullBytes, signer.IssuerAndSerialNumber.SerialNumber)
	if leaf == nil {
		if signer.IssuerAndSerialNumber.SerialNumber == nil {
			s.fail(CodeMalformed, "the signer is identified by subject key identifier, which is not supported; use issuer and serial number")
		} else {
			s.fail(CodeMalformed, "the signature does not carry its signer's certificate")
		}
		return s.done()
	}
	s.Signer = new(describe(leaf))
	h, ok := hashFor(signer.DigestAlgorithm.Algorithm)
	if !ok {
		s.fail(CodeInvalid, "digest algorithm %v is not supported", signer.DigestAlgorithm.Algorithm)
		return s.done()
	}
	if h == crypto.SHA1 {
		if !v.cfg.AllowSHA1 {
			s.fail(CodeInvalid, "SHA-1 digests are not accepted")
			return s.done()
		}
		s.warn(CodeWeakAlgorithm, "the signature uses SHA-1")
	}
	s.Algorithm = h.String()
	digest, err := content.Digest(h)
	if err != nil {
		s.fail(CodeInvalid, "%v", err)
		return s.done()
	}
	signed := digest
	if len(signer.AuthenticatedAttributes) > 0 {
		var attrs []attribute
		var got []byte
		var contentType asn1.ObjectIdentifier
		for _, a := range signer.AuthenticatedAttributes {
			attrs = append(attrs, attribute{Type: a.Type, Value: a.Value})
			switch {
			case a.Type.Equal(oidMessageDigest):
				if _, err := asn1.Unmarshal(a.Value.Bytes, &got); err != nil {
					s.fail(CodeMalformed, "messageDigest attribute: %v", err)
					return s.done()
				}
			case a.Type.Equal(oidContentType):
				if _, err := asn1.Unmarshal(a.Value.Bytes, &contentType); err != nil {
					s.fail(CodeMalformed, "contentType attribute: %v", err)
					return s.done()
				}
			case a.Type.Equal(oidSigningTime):
				var t time.Time
				if _, err := asn1.Unmarshal(a.Value.Bytes, &t); err == nil {
					s.SignedAt = new(t.UTC())
				}
			}
		}
		if got == nil || contentType == nil {
			s.fail(CodeMalformed, "signed attributes lack messageDigest or contentType")
			return s.done()
		}
		if !contentType.Equal(oidData) {
			s.fail(CodeMalformed, "signed content type is %v, not id-data", contentType)
			return s.done()
		}
		if subtle.ConstantTimeCompare(got, digest) != 1 {
			s.fail(CodeDigestMismatch, "the signed digest %s does not match the packet's %s %s", hex.EncodeToString(got), h, hex.EncodeToString(digest))
			return s.done()
		}
		s.passed("digest")
		der, err := marshalAttributes(attrs)
		if err != nil {
			s.fail(CodeMalformed, "signed attributes: %v", err)
			return s.done()
		}
		hh := h.New()
		hh.Write(der)
		signed = hh.Sum(nil)
	}
	if err := checkSignature(leaf.PublicKey, signer.DigestEncryptionAlgorithm.Algorithm, h, signed, signer.EncryptedDigest); err != nil {
		// Without signed attributes the signature is over the content
		// itself, so a wrong digest shows only here.
		code := CodeInvalid
		if len(signer.AuthenticatedAttributes) == 0 {
			code = CodeDigestMismatch
		}
		s.fail(code, "%v", err)
		return s.done()
	}
	s.passed("signature")
	if s.SignedAt != nil && (s.SignedAt.Before(leaf.NotBefore) || s.SignedAt.After(leaf.NotAfter)) {
		s.warn(CodeSigningTimeOutside, "the claimed signing time %s is outside the certificate's validity", s.SignedAt.Format(time.RFC3339))
	}
	var intermediates []*x509.Certificate
	for _, c := range p7.Certificates {
		if c != leaf {
			intermediates = append(intermediates, c)
		}
	}
	if from == nil {
		v.checkTrust(ctx, s, leaf, intermediates)
	} else {
		v.checkCertificate(ctx, s, leaf, intermediates, *from)
	}
	return s.done()
}

// parseCMS parses and bounds a SignedData. The parser has been the source
// of panics on hostile BER in the past; one here is malformed input.
func (v *Verifier) parseCMS(der []byte) (p7 *pkcs7.PKCS7, err error) {
	if len(der) == 0 {
		return nil, errors.New("empty signature")
	}
	if len(der) > v.cfg.MaxSignatureBytes {
		return nil, fmt.Errorf("signature larger than %d bytes", v.cfg.MaxSignatureBytes)
	}
	defer func() {
		if r := recover(); r != nil {
			p7, err = nil, fmt.Errorf("unreadable CMS: %v", r)
		}
	}()
	p7, err = pkcs7.Parse(der)
	if err != nil {
		return nil, fmt.Errorf("not a CMS signature: %w", err)
	}
	switch {
	case len(p7.Signers) != 1:
		return nil, fmt.Errorf("%d signers, want exactly one", len(p7.Signers))
	case len(p7.Content) > 0:
		return nil, errors.New("the signature is not detached: it carries content")
	case len(p7.Certificates) > v.cfg.MaxCertificates:
		return nil, fmt.Errorf("%d certificates, more than %d", len(p7.Certificates), v.cfg.MaxCertificates)
	}
	return p7, nil
}

func signerCertificate(certs []*x509.Certificate, issuer []byte, serial *big.Int) *x509.Certificate {
	for _, c := range certs {
		if serial != nil && bytes.Equal(c.RawIssuer, issuer) && serial.Cmp(c.SerialNumber) == 0 {
			return c
		}
	}
	return nil
}

func marshalAttributes(attrs []attribute) ([]byte, error) {
	der, err := asn1.Marshal(struct {
		A []attribute `asn1:"set"`
	}{A: attrs})
	if err != nil {
		return nil, err
	}
	var raw asn1.RawValue
	if _, err := asn1.Unmarshal(der, &raw); err != nil {
		return nil, err
	}
	return raw.Bytes, nil
}

// checkSignature verifies sig over a digest with the signer's public key.
func checkSignature(pub crypto.PublicKey, alg asn1.ObjectIdentifier, h crypto.Hash, digest, sig []byte) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if !oneOf(alg, rsaSignatureAlg) {
			return fmt.Errorf("signature algorithm %v does not fit an RSA key", alg)
		}
		if err := rsa.VerifyPKCS1v15(k, h, digest, sig); err != nil {
			return errors.New("the RSA signature does not verify")
		}
		return nil
	case *ecdsa.PublicKey:
		if !oneOf(alg, ecSignatureAlg) {
			return fmt.Errorf("signature algorithm %v does not fit an ECDSA key", alg)
		}
		if !ecdsa.VerifyASN1(k, digest, sig) {
			return errors.New("the ECDSA signature does not verify")
		}
		return nil
	}
	return fmt.Errorf("public key type %T is not supported", pub)
}
