package console

import (
	"cmp"
	"fmt"
	"html/template"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/lienthong/lienthong/internal/pdfsig"
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
	// PDFs are the verdicts on the signatures inside the PDF attachments;
	// none when the hub did not check or found no PDF.
	PDFs []pdfView
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

// pdfView is the verdict on the signatures inside one PDF attachment, as
// the document page shows it.
type pdfView struct {
	Name string
	Main bool
	// Badge is the verdict in a word; OK colours it.
	Badge string
	OK    bool
	// Line is the verdict in one sentence: who signed, whether the sending
	// organ did, whether the file changed after. HTML for the organ ids,
	// shown as secondary codes after their names.
	Line       template.HTML
	Signatures []pdfSigView
	// Errors say why the file could not be read.
	Errors []problemView
	// SHA256 and Size are for the technical details.
	SHA256, Size string
}

// pdfSigView is one signature inside a PDF.
type pdfSigView struct {
	N int // from 1, in the document's order
	// Who is the signer as a clerk reads them: the person's name, or the
	// organ's directory name; OrganID is set for an organ's signature.
	Who, OrganID string
	Organ        bool
	SignedAt     time.Time
	Stamped      bool // SignedAt is a trusted time-stamp's, not the signer's claim
	Valid        bool
	// Status is "hợp lệ" or "không hợp lệ: why", with the warnings;
	// Coverage what happened to the file after the signature.
	Status, Coverage string
	// The technical details.
	Subject, Issuer, Serial, SHA256 string
	SubFilter, Reason, ByteRange    string
	Errors, Warnings                []problemView
}

// pdfGeneric are pdfsig's own codes for a signature that does not hold:
// the clause says why with trust's codes that follow them when there are.
var pdfGeneric = []string{pdfsig.CodeSigInvalid, pdfsig.CodeSigUntrusted}

// pdfWhy is why a PDF signature does not hold, each reason once.
func pdfWhy(m msgs, sg trust.PDFSignature) string {
	var specific, generic []string
	for _, p := range sg.Errors {
		c := sigClause(m, p)
		if slices.Contains(pdfGeneric, p.Code) {
			if !slices.Contains(generic, c) {
				generic = append(generic, c)
			}
		} else if !slices.Contains(specific, c) {
			specific = append(specific, c)
		}
	}
	if len(specific) == 0 {
		specific = generic
	}
	if len(specific) == 0 {
		return m.T("sigc_other")
	}
	return strings.Join(specific, "; ")
}

// newPDFViews are the report's PDF attachments for the page; name
// resolves an OrganId to the directory's name ("" when unlisted). Which
// seals are the sender's the hub said (fromSender).
func newPDFViews(m msgs, lang string, atts []trust.Attachment, name func(string) string) []pdfView {
	out := make([]pdfView, 0, len(atts))
	for _, a := range atts {
		v := pdfView{Name: fileName(a.Name, a.Index), Main: a.Main, Errors: problems(m, lang, a.Errors),
			SHA256: a.SHA256, Size: humanSize(lang, a.Size)}
		for i, sg := range a.Signatures {
			sv := newPDFSigView(m, lang, sg, name)
			sv.N = i + 1
			v.Signatures = append(v.Signatures, sv)
		}
		v.Line, v.Badge, v.OK = pdfLine(m, a, v.Signatures)
		out = append(out, v)
	}
	return out
}

func newPDFSigView(m msgs, lang string, sg trust.PDFSignature, name func(string) string) pdfSigView {
	v := pdfSigView{Valid: sg.Valid, OrganID: sg.OrganID, Organ: sg.OrganID != "", SubFilter: sg.SubFilter, Reason: sg.Reason,
		Errors: problems(m, lang, sg.Errors), Warnings: problems(m, lang, sg.Warnings)}
	if sg.SignedAt != nil {
		v.SignedAt, v.Stamped = *sg.SignedAt, sg.TimeStamped != nil
	}
	if c := sg.Signer; c != nil {
		v.Subject, v.Issuer, v.Serial, v.SHA256 = pki.ReadableDN(c.Subject), pki.ReadableDN(c.Issuer), c.Serial, c.SHA256
		cn, o := pki.DNValue(c.Subject, "CN"), pki.DNValue(c.Subject, "O")
		switch {
		case v.Organ:
			// An organ by the directory's name; the certificate's as a
			// fallback: the directory is the hub's, the certificate the CA's.
			v.Who = cmp.Or(name(sg.OrganID), o, cn)
		default:
			v.Who = cmp.Or(cn, o)
		}
	}
	if v.Who == "" {
		v.Who = cmp.Or(name(sg.OrganID), m.T("pdf_signer_unknown"))
	}
	if len(sg.ByteRange) > 0 {
		parts := make([]string, len(sg.ByteRange))
		for i, n := range sg.ByteRange {
			parts[i] = strconv.FormatInt(n, 10)
		}
		v.ByteRange = "[" + strings.Join(parts, " ") + "]"
	}
	if sg.Valid {
		v.Status = m.T("sig_valid")
		var warns []string
		for _, p := range sg.Warnings {
			// The coverage says it.
			if c := sigClause(m, p); p.Code != pdfsig.CodeModified && !slices.Contains(warns, c) {
				warns = append(warns, c)
			}
		}
		if len(warns) > 0 {
			v.Status += "; " + strings.Join(warns, "; ")
		}
	} else {
		v.Status = m.T("sig_invalid") + ": " + pdfWhy(m, sg)
	}
	switch {
	case sg.CoversWholeFile:
		v.Coverage = m.T("pdfcov_whole")
	case sg.Changes == pdfsig.ChangesSignatures:
		v.Coverage = m.T("pdfcov_signatures")
	case sg.Changes == pdfsig.ChangesContent:
		v.Coverage = m.T("pdfcov_content")
	}
	return v
}

// organHTML names an organ as the page does: its name, its id after it
// as a secondary code.
func organHTML(s pdfSigView) string {
	return template.HTMLEscapeString(s.Who) + ` <small class="secondary">` + template.HTMLEscapeString(s.OrganID) + `</small>`
}

// pdfLine is an attachment's verdict in one sentence, with its badge:
// "Văn bản được ký số bởi Nguyễn Văn A; cơ quan ban hành: Văn phòng Chính
// phủ 000.00.00.G22; không bị sửa sau khi ký."
func pdfLine(m msgs, a trust.Attachment, sigs []pdfSigView) (line template.HTML, badge string, ok bool) {
	esc := template.HTMLEscapeString
	if len(a.Errors) > 0 {
		return template.HTML(esc(sentence(sigClause(m, a.Errors[0])))), m.T("badge_pdf_unreadable"), false
	}
	if len(sigs) == 0 {
		if a.Main {
			return template.HTML(esc(m.T("pdfl_main_unsigned"))), m.T("badge_unsigned"), false
		}
		return template.HTML(esc(m.T("pdfl_unsigned"))), m.T("badge_unsigned"), false
	}
	// The issuing organ's signatures are those the hub bound to the
	// sender (its UID, an alias, or a pinned certificate).
	var persons, issuers, others, clauses []string
	for i, s := range sigs {
		switch {
		case !s.Valid:
		case !s.Organ:
			persons = append(persons, esc(s.Who))
		case a.Signatures[i].FromSender:
			issuers = append(issuers, organHTML(s))
		default:
			others = append(others, organHTML(s))
		}
	}
	subject := m.T("pdfl_file")
	if a.Main {
		subject = m.T("pdfl_doc")
	}
	switch {
	case len(persons) > 0:
		clauses = append(clauses, esc(subject)+" "+esc(m.T("pdfl_signed_by"))+" "+strings.Join(persons, ", "))
		if len(issuers) > 0 {
			clauses = append(clauses, esc(m.T("pdfl_issuer"))+": "+strings.Join(issuers, ", "))
		}
	case len(issuers) > 0:
		clauses = append(clauses, esc(subject)+" "+esc(m.T("pdfl_signed_by"))+" "+esc(m.T("pdfl_by_issuer"))+" "+strings.Join(issuers, ", "))
	}
	if len(others) > 0 {
		clauses = append(clauses, esc(m.T("pdfl_other_organ"))+": "+strings.Join(others, ", "))
	}
	invalid, modified := false, false
	for i, s := range sigs {
		if s.Valid {
			modified = modified || a.Signatures[i].ModifiedAfterSigning
			continue
		}
		invalid = true
		head := m.T("pdfl_sig_invalid")
		if len(sigs) > 1 {
			// Which one, when there are several.
			head = fmt.Sprintf(m.T("pdfl_sig_of_invalid"), s.Who)
		}
		clauses = append(clauses, esc(head+": "+pdfWhy(m, a.Signatures[i])))
	}
	// A seal of the sender's that a later change voids is said by the
	// change, not as a missing seal.
	missing := a.Main && !a.OrganSigned && len(issuers) == 0
	if missing {
		clauses = append(clauses, esc(m.T("pdfl_organ_missing")))
	}
	// Changes after signing, judged on the valid signatures: the last
	// one covering the whole file covers what was added between earlier
	// ones too.
	last := -1
	for i, s := range sigs {
		if s.Valid {
			last = i
		}
	}
	switch {
	case last < 0:
	case modified:
		clauses = append(clauses, esc(m.T("pdfl_modified")))
	case a.Signatures[last].CoversWholeFile:
		clauses = append(clauses, esc(m.T("pdfl_unchanged")))
	default:
		clauses = append(clauses, esc(m.T("pdfl_signatures")))
	}
	line = template.HTML(sentence(strings.Join(clauses, "; "))) //nolint:gosec // every part escaped above
	switch {
	case invalid:
		return line, m.T("badge_invalid"), false
	case modified:
		return line, m.T("badge_pdf_modified"), false
	case missing:
		return line, m.T("badge_pdf_no_organ"), false
	}
	return line, m.T("badge_valid"), true
}
