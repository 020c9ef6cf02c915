// Package c14n computes the octets that an XML-DSig Reference with URI=""
// digests: the enveloped-signature transform followed by Canonical XML 1.0
// or Exclusive XML Canonicalization 1.0, in one streaming pass.
//
// encoding/xml reads the markup; text is read straight from the input
// buffer, so a text node of any size (a base64 attachment) streams to the
// output in bounded memory. The whole document is the node-set, minus
// comments (URI="" removes them, even for the #WithComments algorithms)
// and minus the first dsig:Signature element in document order.
//
// The output is what libxml2, and so xmlsec1, computes; the tests hold it
// to both. Where the two differ from goxmldsig, goxmldsig is wrong (see
// goxmldsigDisagrees in the tests). Enveloped is stricter than libxml2 in
// two ways: a DTD is always an error, and so is a document that is not
// namespace-well-formed, which libxml2 only warns about.
package c14n
