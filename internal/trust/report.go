package trust

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"time"
)

// Stable codes (docs/contracts.md).
const (
	CodeMissing        = "sig.missing"
	CodeMalformed      = "sig.malformed"
	CodeInvalid        = "sig.invalid"
	CodeDigestMismatch = "sig.digest_mismatch"
	CodeUntrusted      = "sig.untrusted"
	CodeExpired        = "sig.expired"
	CodeNotYetValid    = "sig.not_yet_valid"
	CodeRevoked        = "sig.revoked"
	CodeSignerMismatch = "sig.signer_mismatch"

	// Warnings.
	CodeUnsigned           = "sig.unsigned"
	CodeRevocationUnknown  = "sig.revocation_unknown"
	CodeWeakAlgorithm      = "sig.weak_algorithm"
	CodeSigningTimeOutside = "sig.signing_time"
)

// Signature types.
const (
	TypeCMS     = "cms"
	TypeXMLDSig = "xmldsig"
)

// Problem is one failed check or warning.
type Problem struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Cert describes a certificate in a report.
type Cert struct {
	Subject   string    `json:"subject"`
	Issuer    string    `json:"issuer,omitempty"`
	Serial    string    `json:"serial,omitempty"`
	OrganID   string    `json:"organId,omitempty"`
	SHA256    string    `json:"sha256"`
	NotBefore time.Time `json:"notBefore"`
	NotAfter  time.Time `json:"notAfter"`
}

// Signature reports one signature: what was checked and what failed. It is
// stored with each packet and returned to the sender.
type Signature struct {
	Type     string     `json:"type"`
	Valid    bool       `json:"valid"`
	Signer   *Cert      `json:"signer,omitempty"`
	SignedAt *time.Time `json:"signedAt"` // the signer's claim, never trusted
	// CheckedAt is the time validity and revocation were judged at: when the
	// hub received the packet, or the --at of an audit.
	CheckedAt time.Time `json:"checkedAt"`
	Algorithm string    `json:"algorithm,omitempty"`
	Chain     []Cert    `json:"chain,omitempty"`
	Checks    []string  `json:"checks"`
	Errors    []Problem `json:"errors"`
	Warnings  []Problem `json:"warnings"`

	cms *cmsExtra // not reported; see UnsignedAttribute
}

// Report is the result of verifying a packet's signatures.
type Report struct {
	Valid      bool        `json:"valid"`
	Signatures []Signature `json:"signatures"`
	Errors     []Problem   `json:"errors"`
	Warnings   []Problem   `json:"warnings"`
	// Attachments are the verdicts on the signatures inside the packet's
	// PDF attachments (internal/pdfsig), in packet order. Absent when the
	// hub did not look (checking off, or a report from before it did);
	// empty when it looked and found no PDF. They do not decide Valid:
	// the PDF policy does (pdf.organ_signature_missing).
	Attachments []Attachment `json:"attachments,omitzero"`
}

// Attachment is the verdict on the signatures inside one PDF attachment.
type Attachment struct {
	Index     int    `json:"index"` // among the packet's attachments, from 0
	ContentID string `json:"contentId,omitempty"`
	Name      string `json:"name,omitempty"` // AttachmentName, a label
	// Entry is the PDF's name inside the zip attachment it came from (the
	// national axis's SDK zips files); SHA256 and Size are then the
	// PDF's, not the zip's.
	Entry  string `json:"entry,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
	Size   int64  `json:"size"`
	// Main marks the first PDF in packet order: the letter itself, whose
	// organ signature the PDF policy may require; the others are annexes.
	Main       bool           `json:"main"`
	Signatures []PDFSignature `json:"signatures"`
	// OrganSigned: a signature FromSender after which nothing but further
	// signatures was added.
	OrganSigned bool      `json:"organSigned"`
	Errors      []Problem `json:"errors"`   // the file could not be read: pdf.malformed, pdf.timeout, pdf.too_large
	Warnings    []Problem `json:"warnings"` // none yet; kept for the report's shape
}

// PDFSignature is the verdict on one signature inside a PDF, in the
// document's order.
type PDFSignature struct {
	Signer *Cert `json:"signer,omitempty"`
	// OrganID is the certificate's UID: set for an organ's signature (the
	// electronic seal), empty for a person's.
	OrganID string `json:"organId,omitempty"`
	// SignedAt is the CMS signingTime, else the signature dictionary's /M:
	// the signer's claim, never trusted.
	SignedAt *time.Time `json:"signedAt"`
	// TimeStamped is the time a signature time-stamp (PAdES B-T) vouches
	// for, its TSA checked against the configured roots; SignedAt is then
	// that time, and validity is judged there when the certificate has
	// expired since.
	TimeStamped *time.Time `json:"timeStamped,omitempty"`
	SubFilter   string     `json:"subFilter,omitempty"`
	Reason      string     `json:"reason,omitempty"`
	ByteRange   []int64    `json:"byteRange"`
	// Valid: the byte ranges, the CMS, the digest and the certificate all
	// hold at the time judged. A later update does not make it invalid;
	// see Changes.
	Valid           bool `json:"valid"`
	CoversWholeFile bool `json:"coversWholeFile"`
	// ModifiedAfterSigning: a later update did more than add signatures
	// (Changes is "content").
	ModifiedAfterSigning bool `json:"modifiedAfterSigning"`
	// Changes is what later updates did: none, signatures, content, or
	// unknown (the byte ranges are wrong).
	Changes string `json:"changes"`
	// FromSender: valid, by a certificate that speaks for the packet's
	// sender (its UID or an alias, or a fingerprint the directory pins).
	FromSender bool      `json:"fromSender"`
	Chain      []Cert    `json:"chain,omitempty"`
	Errors     []Problem `json:"errors"`
	Warnings   []Problem `json:"warnings"`
}

func newSignature(typ string, at time.Time) *Signature {
	return &Signature{Type: typ, CheckedAt: at, Checks: []string{}, Errors: []Problem{}, Warnings: []Problem{}}
}

func (s *Signature) fail(code, format string, args ...any) {
	s.Errors = append(s.Errors, Problem{Code: code, Message: fmt.Sprintf(format, args...)})
}

func (s *Signature) warn(code, format string, args ...any) {
	s.Warnings = append(s.Warnings, Problem{Code: code, Message: fmt.Sprintf(format, args...)})
}

func (s *Signature) passed(check string) { s.Checks = append(s.Checks, check) }

func (s *Signature) done() *Signature {
	s.Valid = len(s.Errors) == 0
	return s
}

// OIDUID is the subject attribute UID (userid, RFC 4519) that names the
// agency a certificate speaks for: its OrganId.
var OIDUID = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}

// OrganID returns the certificate subject's UID, and whether there is
// exactly one: two UIDs would let two readers see two different agencies.
func OrganID(c *x509.Certificate) (string, bool) {
	var id string
	n := 0
	for _, a := range c.Subject.Names {
		if a.Type.Equal(OIDUID) {
			s, ok := a.Value.(string)
			if !ok {
				return "", false
			}
			id = s
			n++
		}
	}
	return id, n == 1
}

// Fingerprint is the lowercase hex SHA-256 of the certificate's DER.
func Fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

func describe(c *x509.Certificate) Cert {
	organID, ok := OrganID(c)
	if !ok {
		// Two UIDs name no organ: readers would disagree on which.
		organID = ""
	}
	return Cert{
		Subject:   c.Subject.String(),
		Issuer:    c.Issuer.String(),
		Serial:    c.SerialNumber.String(),
		OrganID:   organID,
		SHA256:    Fingerprint(c),
		NotBefore: c.NotBefore.UTC(),
		NotAfter:  c.NotAfter.UTC(),
	}
}
