package pdfsigtest

import (
	"bufio"
	"crypto/x509"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/tooltest"
)

// SigStatus is pdfsig's "Signature Validation" line: whether the CMS
// signature verifies over the signed byte ranges.
type SigStatus string

// The statuses pdfsig 22.12 prints (utils/pdfsig.cc), and Unsigned for an
// empty signature field.
const (
	SigValid          SigStatus = "valid"           // Signature is Valid.
	SigInvalid        SigStatus = "invalid"         // Signature is Invalid.
	SigDigestMismatch SigStatus = "digest_mismatch" // Digest Mismatch.
	SigDecodingError  SigStatus = "decoding_error"  // Document isn't signed or corrupted data.
	SigNotVerified    SigStatus = "not_verified"    // Signature has not yet been verified.
	SigUnknown        SigStatus = "unknown"         // Unknown Validation Failure.
	SigUnsigned       SigStatus = "unsigned"        // The signature form field is not signed.
)

// CertStatus is pdfsig's "Certificate Validation" line: the signer's
// chain to the NSS database's trusted roots (NSS, usage email signer).
type CertStatus string

// The certificate statuses pdfsig 22.12 prints.
const (
	CertTrusted         CertStatus = "trusted"          // Certificate is Trusted.
	CertUntrustedIssuer CertStatus = "untrusted_issuer" // Certificate issuer isn't Trusted.
	CertUnknownIssuer   CertStatus = "unknown_issuer"   // Certificate issuer is unknown.
	CertRevoked         CertStatus = "revoked"          // Certificate has been Revoked.
	CertExpired         CertStatus = "expired"          // Certificate has Expired
	CertNotVerified     CertStatus = "not_verified"     // Certificate has not yet been verified.
	CertGenericError    CertStatus = "generic_error"    // Unknown issue with Certificate or corrupted data.
	CertNotChecked      CertStatus = ""                 // no line: unsigned field
)

var sigStatuses = map[string]SigStatus{
	"Signature is Valid.":                      SigValid,
	"Signature is Invalid.":                    SigInvalid,
	"Digest Mismatch.":                         SigDigestMismatch,
	"Document isn't signed or corrupted data.": SigDecodingError,
	"Signature has not yet been verified.":     SigNotVerified,
	"Unknown Validation Failure.":              SigUnknown,
}

var certStatuses = map[string]CertStatus{
	"Certificate is Trusted.":                           CertTrusted,
	"Certificate issuer isn't Trusted.":                 CertUntrustedIssuer,
	"Certificate issuer is unknown.":                    CertUnknownIssuer,
	"Certificate has been Revoked.":                     CertRevoked,
	"Certificate has Expired":                           CertExpired,
	"Certificate has not yet been verified.":            CertNotVerified,
	"Unknown issue with Certificate or corrupted data.": CertGenericError,
}

// Verdict is what pdfsig says of a file: the reference the hub's verifier
// is held to.
type Verdict struct {
	Signatures []Signature // in pdfsig's order (the fields' order)
	Output     string      // pdfsig's output, for failure messages
}

// Signature is pdfsig's report on one signature field.
type Signature struct {
	Field     string     // Signature Field Name
	SignerCN  string     // Signer Certificate Common Name
	SignerDN  string     // Signer full Distinguished Name, e.g. UID=…,CN=…,O=…,C=VN
	SignedAt  time.Time  // Signing Time, UTC, to the second
	Hash      string     // Signing Hash Algorithm, e.g. SHA-256
	SubFilter string     // Signature Type: adbe.pkcs7.detached, ETSI.CAdES.detached…
	Ranges    [][2]int64 // Signed Ranges, [start, end) byte offsets
	Total     bool       // "Total document signed": the ranges cover the whole file
	Status    SigStatus
	Cert      CertStatus
}

// Poppler runs pdfsig on pdf with an NSS database trusting only roots,
// and parses its report. With no signatures Signatures is empty. pdfsig
// runs without -no-ocsp: in 22.12 that flag turns every chain into
// CertGenericError; the kit's certificates carry no OCSP responder, so
// nothing is fetched.
func Poppler(t testing.TB, pdf []byte, roots ...*x509.Certificate) Verdict {
	t.Helper()
	return poppler(t, pdf, roots, nil)
}

func poppler(t testing.TB, pdf []byte, roots []*x509.Certificate, args []string) Verdict {
	t.Helper()
	bin := tooltest.Require(t, "pdfsig")
	db := NewNSS(t, roots...)
	path := filepath.Join(t.TempDir(), "in.pdf")
	writeFile(t, path, pdf)
	args = append([]string{"-nssdir", "sql:" + db.Dir}, args...)
	cmd := exec.CommandContext(t.Context(), bin, append(args, path)...)
	// pdfsig prints the signing time in local time.
	cmd.Env = append(os.Environ(), "TZ=UTC")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("pdfsig: %v", err)
	}
	v, perr := ParseReport(string(out))
	if perr != nil {
		t.Fatalf("pdfsig: %v\n%s", perr, out)
	}
	if err != nil && len(v.Signatures) > 0 {
		t.Fatalf("pdfsig: %v\n%s", err, out)
	}
	return v
}

var (
	sigHeaderRE = regexp.MustCompile(`^Signature #\d+:$`)
	rangeRE     = regexp.MustCompile(`\[(\d+) - (\d+)\]`)
)

// ParseReport parses pdfsig's output (without -dump). A line it does not
// know is an error, so that a new pdfsig's changes show up.
func ParseReport(out string) (Verdict, error) {
	v := Verdict{Output: out}
	var cur *Signature
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "Digital Signature Info of:"),
			strings.Contains(line, "does not contain any signatures"),
			strings.HasPrefix(line, "NSS_Shutdown failed"),
			strings.TrimSpace(line) == "":
			continue
		case sigHeaderRE.MatchString(line):
			v.Signatures = append(v.Signatures, Signature{})
			cur = &v.Signatures[len(v.Signatures)-1]
			continue
		}
		if cur == nil {
			return v, errors.New("unexpected line before the first signature: " + line)
		}
		line = strings.TrimSpace(line)
		if line == "The signature form field is not signed." {
			cur.Status = SigUnsigned
			continue
		}
		key, val, ok := strings.Cut(strings.TrimPrefix(line, "- "), ": ")
		if !ok {
			switch line {
			case "- Total document signed":
				cur.Total = true
				continue
			case "- Not total document signed":
				continue
			}
			return v, errors.New("unknown line: " + line)
		}
		switch key {
		case "Signature Field Name":
			cur.Field = val
		case "Signer Certificate Common Name":
			cur.SignerCN = val
		case "Signer full Distinguished Name":
			cur.SignerDN = val
		case "Signing Time":
			at, err := time.Parse("Jan 02 2006 15:04:05", val)
			if err != nil {
				return v, err
			}
			cur.SignedAt = at
		case "Signing Hash Algorithm":
			cur.Hash = val
		case "Signature Type":
			cur.SubFilter = val
		case "Signed Ranges":
			for _, m := range rangeRE.FindAllStringSubmatch(val, -1) {
				a, _ := strconv.ParseInt(m[1], 10, 64)
				b, _ := strconv.ParseInt(m[2], 10, 64)
				cur.Ranges = append(cur.Ranges, [2]int64{a, b})
			}
		case "Signature Validation":
			s, ok := sigStatuses[val]
			if !ok {
				return v, errors.New("unknown signature status: " + val)
			}
			cur.Status = s
		case "Certificate Validation":
			c, ok := certStatuses[val]
			if !ok {
				return v, errors.New("unknown certificate status: " + val)
			}
			cur.Cert = c
		default:
			return v, errors.New("unknown line: " + line)
		}
	}
	return v, sc.Err()
}
