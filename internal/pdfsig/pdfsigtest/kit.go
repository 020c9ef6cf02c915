package pdfsigtest

import (
	"bytes"
	"crypto/x509"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/pki"
)

// The organs of the kit's certificates (UID of the subject).
const (
	OrganID    = "000.00.00.G01" // the organ that signs the valid fixtures
	ExpiredID  = "000.00.00.G02" // an organ whose certificate expired yesterday
	StrangerID = "000.00.00.G03" // an organ certified by the rogue CA
	PersonName = "Nguyen Van A"  // the competent person: a subject without UID
)

// Text of the fixtures' two pages. Tampered changes a byte of Page1;
// ModifiedAfterSigning replaces Page2 with Page2Modified.
const (
	Page1         = "Official letter 123/VPCP-HC"
	Page2         = "Signed by the competent person"
	Page2Modified = "Amended after signing"
)

// Signer is a certificate and key in the kit's NSS database.
type Signer struct {
	*pki.Issued
	Nick string // its nickname there, for pdfsig -nick
}

// Kit signs PDFs with pdfsig (poppler-utils) from keys of two development
// CAs: CA, whose root the verifier under test trusts (Roots), and Rogue,
// whose root it does not. The signing database trusts both, since pdfsig
// signs only with what NSS can chain. pdfsig 22.12 fails most signings
// with an ECDSA key (pki's default), so both CAs and every key are
// RSA-2048, as government CAs' are.
type Kit struct {
	CA, Rogue *pki.CA
	Organ     Signer // UID=OrganID, under CA
	Person    Signer // CN=PersonName, no UID, under CA
	Expired   Signer // UID=ExpiredID, under CA, valid from 48 to 24 hours ago
	Stranger  Signer // UID=StrangerID, under Rogue
	NSS       *NSS   // the signing database
}

// New makes the CAs, the certificates and the signing database in t's
// temporary directories. It needs openssl, certutil and pk12util.
func New(t testing.TB) *Kit {
	t.Helper()
	k := &Kit{}
	var err error
	rsa := pki.InitOptions{Algorithm: pki.RSA}
	if k.CA, err = pki.Init(filepath.Join(t.TempDir(), "ca"), rsa); err != nil {
		t.Fatal(err)
	}
	if k.Rogue, err = pki.Init(filepath.Join(t.TempDir(), "rogue"), rsa); err != nil {
		t.Fatal(err)
	}
	k.NSS = NewNSS(t, k.CA.Root(), k.Rogue.Root())
	now := time.Now()
	k.Organ = k.issue(t, k.CA, OrganID, "Organ One", pki.IssueOptions{Algorithm: pki.RSA})
	person := pki.IssueOptions{Algorithm: pki.RSA, NoUID: true}
	k.Person = k.issue(t, k.CA, "000.00.00.G04", PersonName, person)
	k.Expired = k.issue(t, k.CA, ExpiredID, "Organ Two", pki.IssueOptions{
		Algorithm: pki.RSA, NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-24 * time.Hour),
	})
	k.Stranger = k.issue(t, k.Rogue, StrangerID, "Organ Three", pki.IssueOptions{Algorithm: pki.RSA})
	return k
}

func (k *Kit) issue(t testing.TB, ca *pki.CA, id, name string, opts pki.IssueOptions) Signer {
	t.Helper()
	iss, err := ca.Issue(id, name, opts)
	if err != nil {
		t.Fatal(err)
	}
	return Signer{Issued: iss, Nick: k.NSS.AddKey(t, iss)}
}

// Roots are the roots the verifier under test trusts: CA's only.
func (k *Kit) Roots() []*x509.Certificate { return []*x509.Certificate{k.CA.Root()} }

// Sign returns pdf with a new invisible signature by s appended as an
// incremental update (pdfsig -add-signature): adbe.pkcs7.detached,
// SHA-256, the signer's certificate and intermediate in the CMS, no
// signingTime attribute (the signature dictionary's /M holds the time).
// pdfsig also embeds a font for the field's appearance, so the result is
// about half a megabyte.
func (k *Kit) Sign(t testing.TB, pdf []byte, s Signer) []byte {
	t.Helper()
	return k.pdfsig(t, pdf, "-add-signature", "-nick", s.Nick)
}

// SignField returns pdf with its empty signature field named field signed
// by s (pdfsig -sign), as an incremental update: a few kilobytes more.
// pdfsig 22.12 ignores -etsi and -digest here: adbe.pkcs7.detached with
// SHA-256 it is.
func (k *Kit) SignField(t testing.TB, pdf []byte, field string, s Signer) []byte {
	t.Helper()
	return k.pdfsig(t, pdf, "-sign", field, "-nick", s.Nick)
}

func (k *Kit) pdfsig(t testing.TB, pdf []byte, args ...string) []byte {
	t.Helper()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.pdf"), filepath.Join(dir, "out.pdf")
	writeFile(t, in, pdf)
	args = append([]string{"-nssdir", "sql:" + k.NSS.Dir}, args...)
	run(t, "pdfsig", append(args, in, out)...)
	return readFile(t, out)
}

// Unsigned is a two-page PDF without signatures (Page1, Page2).
func (k *Kit) Unsigned() []byte { return Write(Page1, Page2) }

// Valid is Unsigned signed by Organ: valid, trusted, the whole file.
func (k *Kit) Valid(t testing.TB) []byte { return k.Sign(t, k.Unsigned(), k.Organ) }

// InField is a PDF with an empty field "Organ" that Organ signs: valid,
// trusted, the whole file, and small (no appearance font).
func (k *Kit) InField(t testing.TB) []byte {
	return k.SignField(t, Doc{Pages: []string{Page1, Page2}, SigField: "Organ"}.Bytes(), "Organ", k.Organ)
}

// SignedTwice is Unsigned signed by Person (the competent person) and
// then, in a second incremental update, by Organ (the organ's seal), as
// Nghị định 30/2020 has it: both valid and trusted; the first no longer
// covers the whole file (only a signature was added after it), the second
// does. Two signers, because pdfsig 22.12 reports the second of two
// signatures by one certificate as CertGenericError for some files (about
// one in eight, always the same for a given file).
func (k *Kit) SignedTwice(t testing.TB) []byte {
	t.Helper()
	return k.Sign(t, k.Sign(t, k.Unsigned(), k.Person), k.Organ)
}

// Tampered is Valid with one byte of Page1's text changed, inside the
// first signed byte range: the digest no longer matches.
func (k *Kit) Tampered(t testing.TB) []byte {
	t.Helper()
	pdf := k.Valid(t)
	i := bytes.Index(pdf, []byte("("+Page1+")"))
	r := ByteRanges(pdf)
	if i < 0 || len(r) == 0 || int64(i+1) >= r[0][1] {
		t.Fatalf("tamper: page text at %d, byte ranges %v", i, r)
	}
	pdf[i+1] ^= 0x20 // "O" becomes "o": still a well-formed content stream
	return pdf
}

// ModifiedAfterSigning is Valid with an incremental update appended that
// replaces the second page's text with Page2Modified (Append): the
// signature stays valid and trusted but no longer covers the whole file,
// and the update changes content, not only annotations or signatures.
func (k *Kit) ModifiedAfterSigning(t testing.TB) []byte {
	t.Helper()
	pdf, err := Append(k.Valid(t), 1, Page2Modified)
	if err != nil {
		t.Fatal(err)
	}
	return pdf
}

// WronglyChained is Unsigned signed by Stranger, whose chain ends at the
// rogue root the verifier does not trust: valid signature, unknown issuer.
func (k *Kit) WronglyChained(t testing.TB) []byte { return k.Sign(t, k.Unsigned(), k.Stranger) }

// ExpiredCert is Unsigned signed now by Expired, whose certificate ended
// yesterday: valid signature, expired certificate.
func (k *Kit) ExpiredCert(t testing.TB) []byte { return k.Sign(t, k.Unsigned(), k.Expired) }

// Want is what is true of one signature of a fixture, in pdfsig's terms.
type Want struct {
	Status SigStatus
	Cert   CertStatus
	Total  bool   // covers the whole file
	UID    string // the signer's organ
}

// Update is what the revisions after the first signature do, which
// pdfsig does not report and the hub must (modifiedAfterSigning).
type Update string

// The updates of the kit's fixtures.
const (
	UpdateNone       Update = ""           // nothing after the first signature
	UpdateSignatures Update = "signatures" // only signatures were added
	UpdateContent    Update = "content"    // a page's content was replaced
)

// Fixture is a PDF of the kit and what pdfsig says of each signature.
type Fixture struct {
	Name   string
	PDF    []byte
	Want   []Want // none for an unsigned file
	Update Update
}

// Fixtures returns every variant, for table tests that hold a verifier to
// pdfsig: each verdict here is checked against pdfsig's by this package's
// tests (TestFixtures).
func (k *Kit) Fixtures(t testing.TB) []Fixture {
	t.Helper()
	ok := Want{Status: SigValid, Cert: CertTrusted, Total: true, UID: OrganID}
	partial := ok
	partial.Total = false
	person := partial
	person.UID = ""
	return []Fixture{
		{Name: "unsigned", PDF: k.Unsigned()},
		{Name: "valid", PDF: k.Valid(t), Want: []Want{ok}},
		{Name: "in_field", PDF: k.InField(t), Want: []Want{ok}},
		{Name: "signed_twice", PDF: k.SignedTwice(t), Want: []Want{person, ok}, Update: UpdateSignatures},
		{Name: "tampered", PDF: k.Tampered(t), Want: []Want{{Status: SigDigestMismatch, Cert: CertNotChecked, Total: true, UID: OrganID}}},
		{Name: "modified_after_signing", PDF: k.ModifiedAfterSigning(t), Want: []Want{partial}, Update: UpdateContent},
		{Name: "wrongly_chained", PDF: k.WronglyChained(t), Want: []Want{{Status: SigValid, Cert: CertUnknownIssuer, Total: true, UID: StrangerID}}},
		{Name: "expired_cert", PDF: k.ExpiredCert(t), Want: []Want{{Status: SigValid, Cert: CertExpired, Total: true, UID: ExpiredID}}},
	}
}

var byteRangeRE = regexp.MustCompile(`/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]`)

// ByteRanges returns the /ByteRange of each signature of pdf in file
// order, as two [start, end) pairs per signature, found by a pattern
// rather than by parsing: enough for files the kit made.
func ByteRanges(pdf []byte) [][2]int64 {
	var out [][2]int64
	for _, m := range byteRangeRE.FindAllSubmatch(pdf, -1) {
		var n [4]int64
		for i := range n {
			n[i], _ = strconv.ParseInt(string(m[i+1]), 10, 64)
		}
		out = append(out, [2]int64{n[0], n[0] + n[1]}, [2]int64{n[2], n[2] + n[3]})
	}
	return out
}
