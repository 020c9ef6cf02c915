package trust

import (
	"bytes"
	"encoding/asn1"
	"math/big"
	"slices"

	"github.com/digitorus/pkcs7"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// cmsSigned is what verification reads of a SignedData.
type cmsSigned struct {
	certs   []*certEntry
	signers []cmsSigner
	content []byte // the encapsulated content; empty when detached
}

// cmsSigner is one SignerInfo.
type cmsSigner struct {
	issuer      []byte // the issuer Name's DER
	serial      *big.Int
	digestAlg   asn1.ObjectIdentifier
	signedAttrs []attribute
	// signedDER is what the signature covers: the signed attributes as a
	// DER SET OF. Nil when not yet encoded (the BER path encodes them
	// when needed, as it always did).
	signedDER []byte
	sigAlg    asn1.ObjectIdentifier
	signature []byte
	unsigned  []attribute
}

var oidSignedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}

// maxDERDepth bounds the well-formedness walk of the DER path; deeper
// input goes to pkcs7.Parse.
const maxDERDepth = 32

// parseDER reads a detached SignedData in strict DER without copying it.
// It accepts only input on which pkcs7.Parse gives the same result: a
// well-formed DER tree (so its BER-to-DER step is the identity), no CRLs,
// no encapsulated content, no trailing bytes anywhere, and each structure
// with exactly the fields the pkcs7 structures read. Anything else, ok is
// false and the caller asks pkcs7.Parse, which judges it as before.
// Certificates are returned as DER, not parsed.
func parseDER(der []byte) (certs [][]byte, signers []cmsSigner, ok bool) {
	in := cryptobyte.String(der)
	if !wellFormed(in, 0) {
		return nil, nil, false
	}
	var ci, explicit, sd cryptobyte.String
	var typ asn1.ObjectIdentifier
	if !in.ReadASN1(&ci, cbasn1.SEQUENCE) || !in.Empty() ||
		!ci.ReadASN1ObjectIdentifier(&typ) || !typ.Equal(oidSignedData) ||
		!ci.ReadASN1(&explicit, cbasn1.Tag(0).Constructed().ContextSpecific()) || !ci.Empty() ||
		!explicit.ReadASN1(&sd, cbasn1.SEQUENCE) || !explicit.Empty() {
		return nil, nil, false
	}
	var version int64
	var algs, encap, rawCerts, infos cryptobyte.String
	var eType asn1.ObjectIdentifier
	var hasCerts bool
	if !sd.ReadASN1Integer(&version) || !sd.ReadASN1(&algs, cbasn1.SET) ||
		!sd.ReadASN1(&encap, cbasn1.SEQUENCE) || !encap.ReadASN1ObjectIdentifier(&eType) || !encap.Empty() ||
		!sd.ReadOptionalASN1(&rawCerts, &hasCerts, cbasn1.Tag(0).Constructed().ContextSpecific()) ||
		!sd.ReadASN1(&infos, cbasn1.SET) || !sd.Empty() {
		return nil, nil, false
	}
	for !algs.Empty() {
		if _, ok := readAlgorithm(&algs); !ok {
			return nil, nil, false
		}
	}
	for !rawCerts.Empty() {
		var c cryptobyte.String
		if !rawCerts.ReadASN1Element(&c, cbasn1.SEQUENCE) {
			return nil, nil, false
		}
		certs = append(certs, c)
	}
	for !infos.Empty() {
		var si cryptobyte.String
		if !infos.ReadASN1(&si, cbasn1.SEQUENCE) {
			return nil, nil, false
		}
		s, ok := readSignerInfo(si)
		if !ok {
			return nil, nil, false
		}
		signers = append(signers, s)
	}
	return certs, signers, true
}

// wellFormed: s is a sequence of DER elements (cryptobyte refuses
// indefinite and non-minimal lengths and high tag numbers), and so is the
// content of every constructed one, as pkcs7's BER-to-DER walk reads them.
func wellFormed(s cryptobyte.String, depth int) bool {
	if depth > maxDERDepth {
		return false
	}
	for !s.Empty() {
		var content cryptobyte.String
		var tag cbasn1.Tag
		if !s.ReadAnyASN1(&content, &tag) {
			return false
		}
		if tag&0x20 != 0 && !wellFormed(content, depth+1) {
			return false
		}
	}
	return true
}

// readAlgorithm reads an AlgorithmIdentifier: an OID and at most one
// parameter element.
func readAlgorithm(s *cryptobyte.String) (asn1.ObjectIdentifier, bool) {
	var seq cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !seq.ReadASN1ObjectIdentifier(&oid) {
		return nil, false
	}
	if !seq.Empty() {
		var params cryptobyte.String
		var tag cbasn1.Tag
		if !seq.ReadAnyASN1Element(&params, &tag) || !seq.Empty() {
			return nil, false
		}
	}
	return oid, true
}

func readSignerInfo(si cryptobyte.String) (cmsSigner, bool) {
	var s cmsSigner
	var version int64
	var sid, issuer cryptobyte.String
	var signed, unsigned cryptobyte.String
	var hasSigned, hasUnsigned bool
	var ok bool
	if !si.ReadASN1Integer(&version) || !si.ReadASN1(&sid, cbasn1.SEQUENCE) ||
		!sid.ReadASN1Element(&issuer, cbasn1.SEQUENCE) {
		return s, false
	}
	s.issuer = issuer
	s.serial = new(big.Int)
	if !sid.ReadASN1Integer(s.serial) || !sid.Empty() {
		return s, false
	}
	if s.digestAlg, ok = readAlgorithm(&si); !ok {
		return s, false
	}
	if !si.ReadOptionalASN1(&signed, &hasSigned, cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return s, false
	}
	if s.sigAlg, ok = readAlgorithm(&si); !ok {
		return s, false
	}
	var sig cryptobyte.String
	if !si.ReadASN1(&sig, cbasn1.OCTET_STRING) ||
		!si.ReadOptionalASN1(&unsigned, &hasUnsigned, cbasn1.Tag(1).Constructed().ContextSpecific()) || !si.Empty() {
		return s, false
	}
	s.signature = sig
	// An empty [0] or [1] is left to pkcs7 (encoding/asn1 reads it as
	// absent); so the DER path never sees signed attributes it drops.
	if hasSigned {
		var elems [][]byte
		if s.signedAttrs, elems, ok = readAttributes(signed); !ok {
			return s, false
		}
		s.signedDER = setOf(signed, elems)
	}
	if hasUnsigned {
		if s.unsigned, _, ok = readAttributes(unsigned); !ok {
			return s, false
		}
	}
	return s, true
}

// readAttributes reads a non-empty SET OF Attribute: each an OID and a SET
// of values, nothing more.
func readAttributes(s cryptobyte.String) ([]attribute, [][]byte, bool) {
	if s.Empty() {
		return nil, nil, false
	}
	var attrs []attribute
	var elems [][]byte
	for !s.Empty() {
		var elem, seq, value, values cryptobyte.String
		var a attribute
		if !s.ReadASN1Element(&elem, cbasn1.SEQUENCE) {
			return nil, nil, false
		}
		whole := elem
		if !whole.ReadASN1(&seq, cbasn1.SEQUENCE) || !seq.ReadASN1ObjectIdentifier(&a.Type) {
			return nil, nil, false
		}
		if !seq.ReadASN1Element(&value, cbasn1.SET) || !seq.Empty() {
			return nil, nil, false
		}
		set := value
		if !set.ReadASN1(&values, cbasn1.SET) {
			return nil, nil, false
		}
		a.Value = asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: values, FullBytes: value}
		attrs = append(attrs, a)
		elems = append(elems, elem)
	}
	return attrs, elems, true
}

// setOf is the DER SET OF the elements in content, as asn1.Marshal writes
// it (marshalAttributes): sorted by their encodings. Signers sort them
// already, so this is usually content with a SET header.
func setOf(content []byte, elems [][]byte) []byte {
	if !slices.IsSortedFunc(elems, bytes.Compare) {
		elems = slices.Clone(elems)
		slices.SortFunc(elems, bytes.Compare)
		content = bytes.Join(elems, nil)
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { b.AddBytes(content) })
	return b.BytesOrPanic()
}

// fromPKCS7 is what the BER path gives: pkcs7's structures, its
// certificates entered in (or taken from) the cache.
func (c *certCache) fromPKCS7(p7 *pkcs7.PKCS7) *cmsSigned {
	sd := &cmsSigned{content: p7.Content}
	for _, cert := range p7.Certificates {
		sd.certs = append(sd.certs, c.add(cert))
	}
	for _, si := range p7.Signers {
		s := cmsSigner{
			issuer:    si.IssuerAndSerialNumber.IssuerName.FullBytes,
			serial:    si.IssuerAndSerialNumber.SerialNumber,
			digestAlg: si.DigestAlgorithm.Algorithm,
			sigAlg:    si.DigestEncryptionAlgorithm.Algorithm,
			signature: si.EncryptedDigest,
		}
		for _, a := range si.AuthenticatedAttributes {
			s.signedAttrs = append(s.signedAttrs, attribute{Type: a.Type, Value: a.Value})
		}
		for _, a := range si.UnauthenticatedAttributes {
			s.unsigned = append(s.unsigned, attribute{Type: a.Type, Value: a.Value})
		}
		sd.signers = append(sd.signers, s)
	}
	return sd
}
