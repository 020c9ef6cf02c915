package hub

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"slices"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/lienthong/lienthong/internal/pki"
)

// The algorithms pkcs7 names (pki's own signer names RSA by its key
// type); the CMS structure's identifiers are pki's.
var (
	oidSHA256      = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidECDSASHA256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidRSASHA256   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
)

// signAttached writes, byte for byte, the SignedData that SignReceipt's
// pkcs7 calls write (NewSignedData, SHA-256, AddSigner, AddCertificate per
// chain certificate, Finish) for an ECDSA or RSA key, built directly:
// pkcs7's reflective asn1.Marshal of it cost as much as the signature
// (issue 18). ok is false for another key type, which pkcs7 then signs.
// TestSignAttachedIsPKCS7s holds the bytes equal.
func signAttached(content []byte, cert *x509.Certificate, key crypto.Signer, chain []*x509.Certificate, now time.Time) (der []byte, ok bool, err error) {
	var sigAlg asn1.ObjectIdentifier
	switch key.Public().(type) {
	case *ecdsa.PublicKey:
		sigAlg = oidECDSASHA256
	case *rsa.PublicKey:
		sigAlg = oidRSASHA256
	default:
		return nil, false, nil
	}
	digest := sha256.Sum256(content)
	// The signed attributes, each encoded, in DER order (pkcs7 sorts them
	// by their encodings).
	attr := func(oid asn1.ObjectIdentifier, value func(*cryptobyte.Builder)) []byte {
		var b cryptobyte.Builder
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oid)
			b.AddASN1(cbasn1.SET, value)
		})
		return b.BytesOrPanic()
	}
	utc := now.UTC()
	attrs := [][]byte{
		attr(pki.OIDContentType, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(pki.OIDData) }),
		attr(pki.OIDMessageDigest, func(b *cryptobyte.Builder) { b.AddASN1OctetString(digest[:]) }),
		attr(pki.OIDSigningTime, func(b *cryptobyte.Builder) { addTime(b, utc) }),
	}
	slices.SortFunc(attrs, bytes.Compare)
	signed := bytes.Join(attrs, nil)
	var set cryptobyte.Builder
	set.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { b.AddBytes(signed) })
	sum := sha256.Sum256(set.BytesOrPanic())
	signature, err := key.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		return nil, true, err
	}
	alg := func(b *cryptobyte.Builder, oid asn1.ObjectIdentifier) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oid) })
	}
	size := len(content) + len(cert.Raw) + len(signed) + len(signature) + 256
	for _, c := range chain {
		size += len(c.Raw)
	}
	b := cryptobyte.NewBuilder(make([]byte, 0, size))
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(pki.OIDSignedData)
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1Int64(1)
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { alg(b, oidSHA256) })
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier(pki.OIDData)
					b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
						b.AddASN1OctetString(content)
					})
				})
				b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
					b.AddBytes(cert.Raw)
					for _, c := range chain {
						b.AddBytes(c.Raw)
					}
				})
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1Int64(1)
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
							b.AddBytes(cert.RawIssuer)
							b.AddASN1BigInt(cert.SerialNumber)
						})
						alg(b, oidSHA256)
						b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(signed) })
						alg(b, sigAlg)
						b.AddASN1OctetString(signature)
					})
				})
			})
		})
	})
	der, err = b.Bytes()
	return der, true, err
}

// addTime writes t as asn1.Marshal does: UTCTime for 1950–2049, else
// GeneralizedTime.
func addTime(b *cryptobyte.Builder, t time.Time) {
	if y := t.Year(); y >= 1950 && y < 2050 {
		b.AddASN1UTCTime(t)
		return
	}
	b.AddASN1GeneralizedTime(t)
}
