package trust

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/lienthong/lienthong/internal/c14n"
	"github.com/lienthong/lienthong/internal/edxml"
)

const (
	nsDSig  = "http://www.w3.org/2000/09/xmldsig#"
	nsEdXML = "http://www.mic.gov.vn/TBT/QCVN_102_2016"

	algEnveloped = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
)

var digestMethods = map[string]crypto.Hash{
	"http://www.w3.org/2000/09/xmldsig#sha1":        crypto.SHA1,
	"http://www.w3.org/2001/04/xmlenc#sha256":       crypto.SHA256,
	"http://www.w3.org/2001/04/xmldsig-more#sha384": crypto.SHA384,
	"http://www.w3.org/2001/04/xmlenc#sha512":       crypto.SHA512,
}

type sigMethod struct {
	hash  crypto.Hash
	ecdsa bool
}

var signatureMethods = map[string]sigMethod{
	"http://www.w3.org/2000/09/xmldsig#rsa-sha1":          {crypto.SHA1, false},
	"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256":   {crypto.SHA256, false},
	"http://www.w3.org/2001/04/xmldsig-more#rsa-sha384":   {crypto.SHA384, false},
	"http://www.w3.org/2001/04/xmldsig-more#rsa-sha512":   {crypto.SHA512, false},
	"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1":   {crypto.SHA1, true},
	"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256": {crypto.SHA256, true},
	"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384": {crypto.SHA384, true},
	"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512": {crypto.SHA512, true},
}

var canonicalizations = map[string]bool{
	c14n.Inclusive: true, c14n.InclusiveWithComments: true,
	c14n.Exclusive: true, c14n.ExclusiveWithComments: true,
}

// XMLDoc is a packet to check for an enveloped XML-DSig.
type XMLDoc struct {
	// Open reads the exact packet bytes; it is called twice: once for the
	// markup, once for the reference digest.
	Open func() (io.ReadCloser, error)
}

// signedInfo is what the shape check found.
type signedInfo struct {
	sig, info    *etree.Element
	c14nMethod   string
	prefixList   string
	method       sigMethod
	methodURI    string
	digestHash   crypto.Hash
	digestValue  []byte
	refC14N      string
	refPrefixes  string
	signature    []byte
	certificates []*x509.Certificate
}

// VerifyXMLDSig checks the enveloped XML-DSig of a packet sent by from and
// received at at. The signature must be the packet's only one, an
// {xmldsig}Signature in edXMLHeader, with exactly one Reference, URI="",
// the enveloped-signature transform and a C14N 1.0 or exclusive C14N
// canonicalization: anything else (ID references, Objects, several
// signatures) is how signature wrapping works, and is refused. The markup is
// read by the strict edXML parser (one root, no DTD) and the reference
// digest is computed over the very bytes, while streaming, by internal/c14n,
// so the tree checked is the tree signed, at any packet size.
func (v *Verifier) VerifyXMLDSig(ctx context.Context, doc XMLDoc, from string, at time.Time) *Signature {
	s := newSignature(TypeXMLDSig, at)
	header, err := readMarkup(doc)
	if err != nil {
		s.fail(CodeMalformed, "%v", err)
		return s.done()
	}
	si, err := signatureShape(header, v.cfg.MaxCertificates)
	if err != nil {
		s.fail(CodeMalformed, "%v", err)
		return s.done()
	}
	s.passed("shape")
	leaf := si.certificates[0]
	s.Signer = new(describe(leaf))
	s.Algorithm = si.methodURI
	for _, h := range []crypto.Hash{si.method.hash, si.digestHash} {
		if h == crypto.SHA1 {
			if !v.cfg.AllowSHA1 {
				s.fail(CodeInvalid, "SHA-1 is not accepted")
				return s.done()
			}
			s.warn(CodeWeakAlgorithm, "the signature uses SHA-1")
			break
		}
	}
	canonical, err := canonicalSignedInfo(si)
	if err != nil {
		s.fail(CodeMalformed, "SignedInfo: %v", err)
		return s.done()
	}
	if err := checkXMLSignature(leaf.PublicKey, si.method, canonical, si.signature); err != nil {
		s.fail(CodeInvalid, "%v", err)
		return s.done()
	}
	s.passed("signature")
	got, err := referenceDigest(doc, si)
	if err != nil {
		s.fail(CodeMalformed, "reference: %v", err)
		return s.done()
	}
	if subtle.ConstantTimeCompare(got, si.digestValue) != 1 {
		s.fail(CodeDigestMismatch, "the packet's digest %s does not match the signed %s: the packet changed after signing", hex.EncodeToString(got), hex.EncodeToString(si.digestValue))
		return s.done()
	}
	s.passed("digest")
	v.checkCertificate(ctx, s, leaf, si.certificates[1:], from)
	return s.done()
}

// readMarkup reads the packet's markup as a DOM, attachment content left out.
func readMarkup(doc XMLDoc) (*etree.Document, error) {
	r, err := doc.Open()
	if err != nil {
		return nil, err
	}
	defer r.Close() //nolint:errcheck // read-only
	p, err := edxml.Parse(r, edxml.Options{NoZipCheck: true})
	if err != nil {
		return nil, err
	}
	return p.Doc, nil
}

func dsigChild(e *etree.Element, tag string) []*etree.Element {
	var out []*etree.Element
	for _, c := range e.ChildElements() {
		if c.Tag == tag && c.NamespaceURI() == nsDSig {
			out = append(out, c)
		}
	}
	return out
}

func one(e *etree.Element, tag string) (*etree.Element, error) {
	list := dsigChild(e, tag)
	if len(list) != 1 {
		return nil, fmt.Errorf("%s: want exactly one %s, found %d", e.Tag, tag, len(list))
	}
	return list[0], nil
}

// signatureShape finds the one signature and checks it has the only shape
// we accept.
func signatureShape(d *etree.Document, maxCerts int) (*signedInfo, error) {
	root := d.Root()
	if root == nil {
		return nil, errors.New("empty document")
	}
	var all, placeholders []*etree.Element
	var walk func(e *etree.Element)
	walk = func(e *etree.Element) {
		for _, c := range e.ChildElements() {
			if c.Tag == "Signature" {
				switch c.NamespaceURI() {
				case nsDSig:
					all = append(all, c)
				case nsEdXML:
					placeholders = append(placeholders, c)
				}
			}
			walk(c)
		}
	}
	walk(root)
	switch {
	case len(all) == 0 && len(placeholders) > 0:
		return nil, errors.New("the Signature element is in the edXML namespace, not XML-DSig's (a placeholder, or a producer that left out xmlns)")
	case len(all) == 0:
		return nil, errors.New("no XML-DSig Signature")
	case len(all) > 1:
		return nil, fmt.Errorf("%d Signature elements; exactly one is accepted", len(all))
	}
	sig := all[0]
	if p := sig.Parent(); p == nil || p.Tag != "edXMLHeader" || p.NamespaceURI() != nsEdXML {
		return nil, errors.New("the Signature is not a child of edXMLHeader")
	}
	if len(dsigChild(sig, "Object")) > 0 {
		return nil, errors.New("Signature carries Object elements")
	}
	si := &signedInfo{sig: sig}
	var err error
	if si.info, err = one(sig, "SignedInfo"); err != nil {
		return nil, err
	}
	cm, err := one(si.info, "CanonicalizationMethod")
	if err != nil {
		return nil, err
	}
	si.c14nMethod = cm.SelectAttrValue("Algorithm", "")
	si.prefixList = prefixList(cm)
	if !canonicalizations[si.c14nMethod] {
		return nil, fmt.Errorf("canonicalization %q is not supported", si.c14nMethod)
	}
	sm, err := one(si.info, "SignatureMethod")
	if err != nil {
		return nil, err
	}
	si.methodURI = sm.SelectAttrValue("Algorithm", "")
	m, ok := signatureMethods[si.methodURI]
	if !ok {
		return nil, fmt.Errorf("signature method %q is not supported", si.methodURI)
	}
	si.method = m
	ref, err := one(si.info, "Reference")
	if err != nil {
		return nil, err
	}
	if uri := ref.SelectAttr("URI"); uri == nil || uri.Value != "" {
		return nil, errors.New(`the Reference must have URI="" (the whole packet); ID references are refused`)
	}
	if err := referenceTransforms(ref, si); err != nil {
		return nil, err
	}
	dm, err := one(ref, "DigestMethod")
	if err != nil {
		return nil, err
	}
	if si.digestHash, ok = digestMethods[dm.SelectAttrValue("Algorithm", "")]; !ok {
		return nil, fmt.Errorf("digest method %q is not supported", dm.SelectAttrValue("Algorithm", ""))
	}
	dv, err := one(ref, "DigestValue")
	if err != nil {
		return nil, err
	}
	if si.digestValue, err = decode64(dv.Text()); err != nil || len(si.digestValue) != si.digestHash.Size() {
		return nil, errors.New("DigestValue is not a digest of the declared method")
	}
	sv, err := one(sig, "SignatureValue")
	if err != nil {
		return nil, err
	}
	if si.signature, err = decode64(sv.Text()); err != nil || len(si.signature) == 0 {
		return nil, errors.New("SignatureValue is not base64")
	}
	si.certificates, err = keyInfoCertificates(sig, maxCerts)
	return si, err
}

func referenceTransforms(ref *etree.Element, si *signedInfo) error {
	ts, err := one(ref, "Transforms")
	if err != nil {
		return err
	}
	list := dsigChild(ts, "Transform")
	if len(list) == 0 || len(list) > 2 || list[0].SelectAttrValue("Algorithm", "") != algEnveloped {
		return errors.New("the Reference's transforms must be enveloped-signature, then at most one canonicalization")
	}
	si.refC14N = c14n.Inclusive // the default for a node-set (XML-DSig §4.3.3.2)
	if len(list) == 2 {
		si.refC14N = list[1].SelectAttrValue("Algorithm", "")
		si.refPrefixes = prefixList(list[1])
		if !canonicalizations[si.refC14N] {
			return fmt.Errorf("transform %q is not supported", si.refC14N)
		}
	}
	return nil
}

func prefixList(e *etree.Element) string {
	for _, c := range e.ChildElements() {
		if c.Tag == "InclusiveNamespaces" {
			return c.SelectAttrValue("PrefixList", "")
		}
	}
	return ""
}

func decode64(s string) ([]byte, error) {
	return base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
}

func keyInfoCertificates(sig *etree.Element, maxCerts int) ([]*x509.Certificate, error) {
	ki, err := one(sig, "KeyInfo")
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	for _, xd := range dsigChild(ki, "X509Data") {
		for _, xc := range dsigChild(xd, "X509Certificate") {
			der, err := decode64(xc.Text())
			if err != nil {
				return nil, errors.New("X509Certificate is not base64")
			}
			c, err := x509.ParseCertificate(der)
			if err != nil {
				return nil, fmt.Errorf("X509Certificate: %w", err)
			}
			certs = append(certs, c)
		}
	}
	if len(certs) == 0 {
		return nil, errors.New("KeyInfo carries no X509Certificate")
	}
	if len(certs) > maxCerts {
		return nil, fmt.Errorf("KeyInfo carries %d certificates, more than %d", len(certs), maxCerts)
	}
	// The signer is the certificate that issued none of the others.
	for i, c := range certs {
		issuer := false
		for _, o := range certs {
			if o != c && bytes.Equal(o.RawIssuer, c.RawSubject) {
				issuer = true
			}
		}
		if !issuer {
			certs[0], certs[i] = certs[i], certs[0]
			break
		}
	}
	return certs, nil
}

// canonicalSignedInfo canonicalises SignedInfo as the signer saw it: a
// copy, given the namespace declarations it inherits, is written out and run
// through the same canonicaliser as the reference, which the tests hold to
// libxml2's output (goxmldsig's differs in corner cases: docs/trust.md).
func canonicalSignedInfo(si *signedInfo) ([]byte, error) {
	c := si.info.Copy()
	declared := map[string]bool{}
	nsKey := func(a etree.Attr) (string, bool) {
		switch {
		case a.Space == "xmlns":
			return a.Key, true
		case a.Space == "" && a.Key == "xmlns":
			return "", true
		}
		return "", false
	}
	for _, a := range c.Attr {
		if k, ok := nsKey(a); ok {
			declared[k] = true
		}
	}
	for p := si.info.Parent(); p != nil; p = p.Parent() {
		for _, a := range p.Attr {
			if k, ok := nsKey(a); ok && !declared[k] {
				declared[k] = true
				c.CreateAttr(a.FullKey(), a.Value)
			}
		}
	}
	d := etree.NewDocument()
	d.WriteSettings = etree.WriteSettings{CanonicalEndTags: true, CanonicalText: true, CanonicalAttrVal: true}
	d.SetRoot(c)
	raw, err := d.WriteToBytes()
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	err = c14n.Enveloped(&out, bytes.NewReader(raw), c14n.Options{Algorithm: si.c14nMethod, PrefixList: strings.Fields(si.prefixList)})
	return out.Bytes(), err
}

// referenceDigest digests the packet as the Reference sees it, streaming.
func referenceDigest(doc XMLDoc, si *signedInfo) ([]byte, error) {
	h := si.digestHash.New()
	r, err := doc.Open()
	if err != nil {
		return nil, err
	}
	defer r.Close() //nolint:errcheck // read-only
	err = c14n.Enveloped(h, r, c14n.Options{Algorithm: si.refC14N, PrefixList: strings.Fields(si.refPrefixes)})
	return h.Sum(nil), err
}

// checkXMLSignature verifies SignatureValue over the canonical SignedInfo.
// XML-DSig writes ECDSA signatures as r||s (RFC 4051), not ASN.1.
func checkXMLSignature(pub crypto.PublicKey, m sigMethod, signed, sig []byte) error {
	h := m.hash.New()
	h.Write(signed)
	digest := h.Sum(nil)
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if m.ecdsa {
			return errors.New("an ECDSA signature method with an RSA key")
		}
		if rsa.VerifyPKCS1v15(k, m.hash, digest, sig) != nil {
			return errors.New("the RSA signature over SignedInfo does not verify")
		}
		return nil
	case *ecdsa.PublicKey:
		if !m.ecdsa {
			return errors.New("an RSA signature method with an ECDSA key")
		}
		size := (k.Curve.Params().BitSize + 7) / 8
		if len(sig) == 2*size {
			r := new(big.Int).SetBytes(sig[:size])
			s := new(big.Int).SetBytes(sig[size:])
			if ecdsa.Verify(k, digest, r, s) {
				return nil
			}
		} else if ecdsa.VerifyASN1(k, digest, sig) {
			return nil
		}
		return errors.New("the ECDSA signature over SignedInfo does not verify")
	}
	return fmt.Errorf("public key type %T is not supported", pub)
}
