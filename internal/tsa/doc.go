// Package tsa gets, checks and issues RFC 3161 time-stamp tokens, the
// trusted time of the verifiable log's checkpoints and receipts
// (docs/tsa.md).
//
// Client.Stamp asks a time-stamping authority (the Vietnamese government
// CA's, or any RFC 3161 TSA over HTTP) to stamp a digest and returns the
// token, a CMS SignedData that holds the TSA's certificate and verifies
// offline. Verify checks a token against a digest and configured trust
// roots and returns the time it certifies. Server is a development TSA on
// the dev PKI (pki.CA.IssueTSA; DevServer) for the embedded hub and tests.
//
// Parsing and making the protocol's structures is
// github.com/digitorus/timestamp's, over github.com/digitorus/pkcs7; this
// package adds the checks RFC 3161 asks of a verifier that those leave to
// their callers.
package tsa
