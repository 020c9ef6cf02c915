package console

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/lienthong/lienthong/internal/pki"
	"github.com/lienthong/lienthong/internal/trust"
)

// problemView is an error or warning of a verification report: a plain
// sentence for the clerk; the code and the verifier's own message (in
// English, so on English pages only) go to the technical details.
type problemView struct {
	Code, Text, Message string
	// Cert is the certificate the problem is about, as a readable DN,
	// when the message names one (a chain has several).
	Cert string
}

// quotedRE finds the first quoted string of a verifier's message: the
// certificate's subject, written with %q (revocation.go).
var quotedRE = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// problemCert is the readable subject a message quotes, "" when none.
func problemCert(msg string) string {
	q := quotedRE.FindString(msg)
	if q == "" {
		return ""
	}
	dn, err := strconv.Unquote(q)
	if err != nil || !strings.Contains(dn, "=") {
		return ""
	}
	return pki.ReadableDN(dn)
}

// signatureView is one signature of a verification report.
type signatureView struct {
	Type  string
	Valid bool
	// Person and Org are the signer's certificate CN and O, as a clerk
	// reads them; OrganID is the agency the certificate speaks for.
	Person, Org, OrganID string
	// Subject and Issuer are readable DNs (hex values decoded).
	Subject, Issuer, Serial string
	SHA256                  string
	SignedAt                time.Time
	Checks                  []string
	Errors                  []problemView
	Warnings                []problemView
}

// reportView is the verification report shown on a document page.
type reportView struct {
	Valid    bool
	Unsigned bool
	// Verdict is the one line a clerk reads: valid or not, and why.
	Verdict    string
	Signatures []signatureView
	Errors     []problemView
	Warnings   []problemView
}

// sigClause is a problem as a clause of the verdict, in m's language.
func sigClause(m msgs, p trust.Problem) string {
	if p.Code == trust.CodeRevocationUnknown {
		// The verifier's message ends with why (revocation.go): say it.
		why := "sigwhy_other"
		switch {
		case strings.HasSuffix(p.Message, "no CRL for its issuer"):
			why = "sigwhy_no_crl"
		case strings.HasSuffix(p.Message, "stale"):
			why = "sigwhy_stale"
		}
		return m.T("sigc_"+p.Code) + " " + m.T(why)
	}
	if c, ok := m["sigc_"+p.Code]; ok {
		return c
	}
	return m.T("sigc_other")
}

// sentence capitalises a clause and ends it with a full stop.
func sentence(s string) string {
	if s == "" {
		return ""
	}
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:] + "."
}

func problems(m msgs, lang string, ps []trust.Problem) []problemView {
	out := make([]problemView, 0, len(ps))
	for _, p := range ps {
		v := problemView{Code: p.Code, Text: sentence(sigClause(m, p)), Cert: problemCert(p.Message)}
		if lang == "en" {
			v.Message = pki.ReadableText(p.Message)
		}
		out = append(out, v)
	}
	return out
}

func newReportView(m msgs, lang string, r *trust.Report) *reportView {
	v := &reportView{Valid: r.Valid, Errors: problems(m, lang, r.Errors), Warnings: problems(m, lang, r.Warnings)}
	isUnsigned := func(p trust.Problem) bool { return p.Code == trust.CodeUnsigned }
	v.Unsigned = slices.ContainsFunc(r.Warnings, isUnsigned)
	errs, warns := slices.Clone(r.Errors), slices.Clone(r.Warnings)
	for _, sg := range r.Signatures {
		sv := signatureView{Type: m.T("sigtype_" + sg.Type), Valid: sg.Valid, Checks: sg.Checks,
			Errors: problems(m, lang, sg.Errors), Warnings: problems(m, lang, sg.Warnings)}
		if sg.Signer != nil {
			sv.Person, sv.Org = pki.DNValue(sg.Signer.Subject, "CN"), pki.DNValue(sg.Signer.Subject, "O")
			if sv.Org == sv.Person {
				sv.Org = ""
			}
			sv.OrganID, sv.SHA256, sv.Serial = sg.Signer.OrganID, sg.Signer.SHA256, sg.Signer.Serial
			sv.Subject, sv.Issuer = pki.ReadableDN(sg.Signer.Subject), pki.ReadableDN(sg.Signer.Issuer)
		}
		if sg.SignedAt != nil {
			sv.SignedAt = *sg.SignedAt
		}
		v.Unsigned = v.Unsigned || slices.ContainsFunc(sg.Warnings, isUnsigned)
		errs, warns = append(errs, sg.Errors...), append(warns, sg.Warnings...)
		v.Signatures = append(v.Signatures, sv)
	}
	v.Verdict = verdict(m, v, errs, warns)
	return v
}

// verdict is the report in one line: "Chữ ký số hợp lệ; chưa kiểm tra
// được tình trạng thu hồi … ." Each distinct reason is said once.
func verdict(m msgs, v *reportView, errs, warns []trust.Problem) string {
	head, list := m.T("verdict_valid"), warns
	switch {
	case !v.Valid:
		head, list = m.T("verdict_invalid"), errs
	case v.Unsigned:
		head = m.T("verdict_unsigned")
	}
	var clauses []string
	for _, p := range list {
		if p.Code == trust.CodeUnsigned {
			continue
		}
		if c := sigClause(m, p); !slices.Contains(clauses, c) {
			clauses = append(clauses, c)
		}
	}
	if len(clauses) == 0 {
		return head + "."
	}
	sep := "; "
	if !v.Valid {
		sep = ": "
	}
	return head + sep + strings.Join(clauses, "; ") + "."
}
