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
	"slices"
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
	signer := &p7.signers[0]
	if len(signer.unsigned) > 0 {
		s.cms = &cmsExtra{signature: bytes.Clone(signer.signature), unsigned: cloneAttributes(signer.unsigned)}
	}
	li := signerCertificate(p7.certs, signer.issuer, signer.serial)
	if li < 0 {
		if signer.serial == nil {
			s.fail(CodeMalformed, "the signer is identified by subject key identifier, which is not supported; use issuer and serial number")
		} else {
			s.fail(CodeMalformed, "the signature does not carry its signer's certificate")
		}
		return s.done()
	}
	leaf := p7.certs[li].cert
	s.Signer = new(p7.certs[li].desc)
	h, ok := hashFor(signer.digestAlg)
	if !ok {
		s.fail(CodeInvalid, "digest algorithm %v is not supported", signer.digestAlg)
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
	if len(signer.signedAttrs) > 0 {
		var got []byte
		var contentType asn1.ObjectIdentifier
		for _, a := range signer.signedAttrs {
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
		der := signer.signedDER
		if der == nil {
			if der, err = marshalAttributes(signer.signedAttrs); err != nil {
				s.fail(CodeMalformed, "signed attributes: %v", err)
				return s.done()
			}
		}
		hh := h.New()
		hh.Write(der)
		signed = hh.Sum(nil)
	}
	if err := checkSignature(leaf.PublicKey, signer.sigAlg, h, signed, signer.signature); err != nil {
		// Without signed attributes the signature is over the content
		// itself, so a wrong digest shows only here.
		code := CodeInvalid
		if len(signer.signedAttrs) == 0 {
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
	for i, c := range p7.certs {
		if i != li {
			intermediates = append(intermediates, c.cert)
		}
	}
	if from == nil {
		v.checkTrust(ctx, s, leaf, intermediates)
	} else {
		v.checkCertificate(ctx, s, leaf, intermediates, *from)
	}
	return s.done()
}

// parseCMS parses and bounds a SignedData: strict DER without a copy
// (parseDER), anything else by pkcs7.Parse with its BER-to-DER copy. The
// pkcs7 parser has been the source of panics on hostile BER in the past;
// one here is malformed input.
func (v *Verifier) parseCMS(der []byte) (sd *cmsSigned, err error) {
	if len(der) == 0 {
		return nil, errors.New("empty signature")
	}
	if len(der) > v.cfg.MaxSignatureBytes {
		return nil, fmt.Errorf("signature larger than %d bytes", v.cfg.MaxSignatureBytes)
	}
	defer func() {
		if r := recover(); r != nil {
			sd, err = nil, fmt.Errorf("unreadable CMS: %v", r)
		}
	}()
	if sd = v.parseFast(der); sd == nil {
		p7, err := pkcs7.Parse(der)
		if err != nil {
			return nil, fmt.Errorf("not a CMS signature: %w", err)
		}
		sd = v.certs.fromPKCS7(p7)
	}
	switch {
	case len(sd.signers) != 1:
		return nil, fmt.Errorf("%d signers, want exactly one", len(sd.signers))
	case len(sd.content) > 0:
		return nil, errors.New("the signature is not detached: it carries content")
	case len(sd.certs) > v.cfg.MaxCertificates:
		return nil, fmt.Errorf("%d certificates, more than %d", len(sd.certs), v.cfg.MaxCertificates)
	}
	return sd, nil
}

// parseFast is the DER path, or nil to take pkcs7's. Too many
// certificates, or one that does not parse, go to pkcs7 too, so the error
// is the one it always was.
func (v *Verifier) parseFast(der []byte) *cmsSigned {
	certs, signers, ok := parseDER(der)
	if !ok || len(certs) > v.cfg.MaxCertificates {
		return nil
	}
	sd := &cmsSigned{signers: signers}
	for _, raw := range certs {
		e, err := v.certs.parse(raw)
		if err != nil {
			return nil
		}
		sd.certs = append(sd.certs, e)
	}
	return sd
}

// signerCertificate returns the index of the signer's certificate, or -1.
func signerCertificate(certs []*certEntry, issuer []byte, serial *big.Int) int {
	for i, c := range certs {
		if serial != nil && bytes.Equal(c.cert.RawIssuer, issuer) && serial.Cmp(c.cert.SerialNumber) == 0 {
			return i
		}
	}
	return -1
}

// cmsExtra is what a Signature keeps of its CMS for a caller that reads
// more of it (pdfsig's signature time-stamp), so it need not parse the
// CMS again.
type cmsExtra struct {
	signature []byte
	unsigned  []attribute
}

func cloneAttributes(attrs []attribute) []attribute {
	out := make([]attribute, len(attrs))
	for i, a := range attrs {
		out[i] = attribute{Type: slices.Clone(a.Type), Value: asn1.RawValue{Class: a.Value.Class, Tag: a.Value.Tag, IsCompound: a.Value.IsCompound,
			Bytes: bytes.Clone(a.Value.Bytes), FullBytes: bytes.Clone(a.Value.FullBytes)}}
	}
	return out
}

// UnsignedAttribute returns the values (the content of the SET) of the
// CMS signer's last unsigned attribute of type oid, and the signature
// value they may refer to (a time-stamp is over it); ok is false when the
// CMS did not parse or has no such attribute.
func (s *Signature) UnsignedAttribute(oid asn1.ObjectIdentifier) (values, signatureValue []byte, ok bool) {
	if s.cms == nil {
		return nil, nil, false
	}
	for _, a := range s.cms.unsigned {
		if a.Type.Equal(oid) {
			values, ok = a.Value.Bytes, true
		}
	}
	return values, s.cms.signature, ok
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
