package trust

import (
	"bytes"
	"encoding/asn1"
	"fmt"
	"slices"
	"testing"

	"github.com/digitorus/pkcs7"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// slowParse is the BER path alone: pkcs7.Parse, with the signed
// attributes encoded as verification encodes them there.
func slowParse(der []byte) (sd *cmsSigned, err error) {
	defer func() {
		if r := recover(); r != nil {
			sd, err = nil, fmt.Errorf("panic: %v", r)
		}
	}()
	p7, err := pkcs7.Parse(der)
	if err != nil {
		return nil, err
	}
	sd = newCertCache().fromPKCS7(p7)
	for i := range sd.signers {
		if s := &sd.signers[i]; len(s.signedAttrs) > 0 {
			if s.signedDER, err = marshalAttributes(s.signedAttrs); err != nil {
				return nil, err
			}
		}
	}
	return sd, nil
}

// fastParse is the DER path alone, or ok false where it defers to pkcs7.
func fastParse(der []byte) (*cmsSigned, bool) {
	certs, signers, ok := parseDER(der)
	if !ok {
		return nil, false
	}
	sd := &cmsSigned{signers: signers}
	c := newCertCache()
	for _, raw := range certs {
		e, err := c.parse(raw)
		if err != nil {
			return nil, false
		}
		sd.certs = append(sd.certs, e)
	}
	return sd, true
}

// sameParse says how a and b differ, or "".
func sameParse(a, b *cmsSigned) string {
	if !bytes.Equal(a.content, b.content) {
		return "content"
	}
	if len(a.certs) != len(b.certs) {
		return fmt.Sprintf("%d certificates, %d", len(a.certs), len(b.certs))
	}
	for i := range a.certs {
		if !bytes.Equal(a.certs[i].cert.Raw, b.certs[i].cert.Raw) {
			return fmt.Sprintf("certificate %d", i)
		}
	}
	if len(a.signers) != len(b.signers) {
		return fmt.Sprintf("%d signers, %d", len(a.signers), len(b.signers))
	}
	for i := range a.signers {
		x, y := a.signers[i], b.signers[i]
		switch {
		case !bytes.Equal(x.issuer, y.issuer):
			return "issuer"
		case (x.serial == nil) != (y.serial == nil) || x.serial != nil && x.serial.Cmp(y.serial) != 0:
			return "serial"
		case !x.digestAlg.Equal(y.digestAlg):
			return "digest algorithm"
		case !x.sigAlg.Equal(y.sigAlg):
			return "signature algorithm"
		case !bytes.Equal(x.signature, y.signature):
			return "signature"
		case !bytes.Equal(x.signedDER, y.signedDER):
			return fmt.Sprintf("signed DER %x, %x", x.signedDER, y.signedDER)
		}
		if d := sameAttributes(x.signedAttrs, y.signedAttrs); d != "" {
			return "signed attributes: " + d
		}
		if d := sameAttributes(x.unsigned, y.unsigned); d != "" {
			return "unsigned attributes: " + d
		}
	}
	return ""
}

func sameAttributes(a, b []attribute) string {
	if len(a) != len(b) {
		return fmt.Sprintf("%d, %d", len(a), len(b))
	}
	for i := range a {
		x, y := a[i], b[i]
		if !x.Type.Equal(y.Type) || x.Value.Class != y.Value.Class || x.Value.Tag != y.Value.Tag || x.Value.IsCompound != y.Value.IsCompound ||
			!bytes.Equal(x.Value.Bytes, y.Value.Bytes) || !bytes.Equal(x.Value.FullBytes, y.Value.FullBytes) {
			return fmt.Sprintf("attribute %d", i)
		}
	}
	return ""
}

// CheckDERPathForTest fails t when the DER path accepts der and
// pkcs7.Parse does not, or reads it differently; it reports whether the
// DER path took der.
func CheckDERPathForTest(t testing.TB, der []byte) (fast bool) {
	t.Helper()
	f, ok := fastParse(der)
	if !ok {
		return false
	}
	s, err := slowParse(der)
	if err != nil {
		t.Fatalf("the DER path accepts what pkcs7.Parse refuses (%v): %x", err, der)
	}
	if d := sameParse(f, s); d != "" {
		t.Fatalf("the DER path and pkcs7.Parse differ in %s: %x", d, der)
	}
	return true
}

// SignedDERForTest is what the DER path hashes for the signer's signed
// attributes.
func SignedDERForTest(der []byte) ([]byte, bool) {
	_, signers, ok := parseDER(der)
	if !ok || len(signers) != 1 {
		return nil, false
	}
	return signers[0].signedDER, true
}

// Variant rebuilds a signature made by pki.SignDetached with one change.
type Variant struct {
	DigestParams []byte // an element appended to the signer's digest algorithm
	ReverseAttrs bool   // signed attributes out of DER order
	Unsigned     []byte // the content of an unsigned [1]
	CRLs         []byte // the content of a SignedData crls [1]
	EContent     []byte // an encapsulated [0] EXPLICIT element
	Trailing     []byte // bytes after the ContentInfo
	EmptySigned  bool   // a signed [0] with no attributes
}

func RebuildForTest(t testing.TB, good []byte, v Variant) []byte {
	t.Helper()
	certs, signers, ok := parseDER(good)
	if !ok || len(signers) != 1 {
		t.Fatal("the DER path refuses pki.SignDetached's signature")
	}
	s := signers[0]
	var elems [][]byte
	rest := cryptobyte.String(s.signedDER)
	var content cryptobyte.String
	rest.ReadASN1(&content, cbasn1.SET)
	for !content.Empty() {
		var e cryptobyte.String
		content.ReadASN1Element(&e, cbasn1.SEQUENCE)
		elems = append(elems, e)
	}
	if v.ReverseAttrs {
		slices.Reverse(elems)
	}
	alg := func(b *cryptobyte.Builder, oid asn1.ObjectIdentifier, params []byte) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oid)
			b.AddBytes(params)
		})
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oidSignedData)
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1Int64(1)
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { alg(b, s.digestAlg, nil) })
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier(oidData)
					if v.EContent != nil {
						b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(v.EContent) })
					}
				})
				b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
					for _, c := range certs {
						b.AddBytes(c)
					}
				})
				if v.CRLs != nil {
					b.AddASN1(cbasn1.Tag(1).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(v.CRLs) })
				}
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1Int64(1)
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
							b.AddBytes(s.issuer)
							b.AddASN1BigInt(s.serial)
						})
						alg(b, s.digestAlg, v.DigestParams)
						b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
							if !v.EmptySigned {
								b.AddBytes(bytes.Join(elems, nil))
							}
						})
						alg(b, s.sigAlg, nil)
						b.AddASN1OctetString(s.signature)
						if v.Unsigned != nil {
							b.AddASN1(cbasn1.Tag(1).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(v.Unsigned) })
						}
					})
				})
			})
		})
	})
	return append(b.BytesOrPanic(), v.Trailing...)
}
