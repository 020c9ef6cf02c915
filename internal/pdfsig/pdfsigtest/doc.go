// Package pdfsigtest is the test kit for verifying signatures inside PDF
// attachments (issue 17): PDFs signed by a tool nobody here wrote, Debian's
// poppler-utils pdfsig, and pdfsig's own verdict on them, which the hub's
// verifier (internal/pdfsig, being built) is held to.
//
// Write and Doc make small unsigned PDFs, Append adds an incremental update
// that changes a page, New makes two RSA development CAs (internal/pki) and
// an NSS database with their keys, Kit's methods sign with pdfsig and
// return the variants (Fixtures lists them with what pdfsig says of each),
// and Poppler runs pdfsig with an NSS database trusting only the given
// roots and parses its report. docs/trust.md ("PDF signatures: the test
// kit") says what pdfsig 22.12 can and cannot do.
//
// The kit needs pdfsig and pdfinfo (poppler-utils), certutil and pk12util
// (libnss3-tools) and openssl; scripts/install-test-tools.sh installs them.
package pdfsigtest
