// Package pki is a development public-key infrastructure and a streaming CMS
// signer, for clients, tests and the embedded hub.
//
// Init creates a two-level CA in a directory (a root and one issuing
// intermediate, docs/trust.md); Open loads it again. Issue makes agency
// signing certificates that name their organ in the subject attribute UID
// (OID 0.9.2342.19200300.100.1.1), IssueTSA a time-stamping certificate for
// the development TSA (internal/tsa), and CRL publishes revocations. Keys are
// unencrypted PKCS#8 PEM files with mode 0600 that openssl reads: this is a
// development PKI, never a production one.
//
// SignDetached makes a detached CMS SignedData (RFC 5652) over a stream of
// any size in constant memory: only the digest of the content is kept. The
// output verifies with openssl cms -verify and github.com/digitorus/pkcs7.
//
// A CA serialises its own writes; two processes must not write to one
// directory at the same time.
package pki
