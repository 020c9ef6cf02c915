package edxml

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/lienthong/lienthong/internal/organ"
)

// Code returns the status code with its aliases resolved (StatusCode.Resolve).
func (s *Status) Code() StatusCode { return s.StatusCode.Resolve() }

func (ps *parser) problem(code, path, format string, args ...any) {
	ps.p.Errors = append(ps.p.Errors, Problem{Code: code, Path: path, Message: fmt.Sprintf(format, args...)})
}

func (ps *parser) warn(code, path, format string, args ...any) {
	ps.p.Warnings = append(ps.p.Warnings, Problem{Code: code, Path: path, Message: fmt.Sprintf(format, args...)})
}

func (ps *parser) required(v, path string) bool {
	if v == "" {
		name := path[strings.LastIndexByte(path, '/')+1:]
		ps.problem(CodeMissingField, path, "%s is required", name)
		return false
	}
	return true
}

// organID checks an OrganId that is present.
func (ps *parser) organID(v, path string) {
	if v == "" {
		return
	}
	if _, err := (organ.Policy{AllowLowercase: ps.opts.AllowLowercaseIDs}).Parse(v); err != nil {
		ps.problem(CodeBadOrganID, path, "%q is not an agency identifier: %v", v, err)
	}
}

func (ps *parser) date(v, path string) {
	if v == "" {
		return
	}
	_, canonical, err := ParseDate(v)
	switch {
	case err != nil:
		ps.problem(CodeBadDate, path, "%q is not a date (want yyyy/MM/dd)", v)
	case !canonical:
		ps.warn(CodeDateFormat, path, "%q read as a date; the canonical form is yyyy/MM/dd", v)
	}
}

func (ps *parser) timestamp(v, path string) {
	if v == "" {
		return
	}
	_, canonical, err := ParseTimestamp(v)
	switch {
	case err != nil:
		ps.problem(CodeBadDate, path, "%q is not a timestamp (want yyyy/MM/dd HH:mm:ss)", v)
	case !canonical:
		ps.warn(CodeDateFormat, path, "%q read as a timestamp; the canonical form is yyyy/MM/dd HH:mm:ss", v)
	}
}

// length warns when a field is longer than the probable maximum of FORMAT.md
// §3; the official tables are not known, so it is never an error.
func (ps *parser) length(v, path string, limit int) {
	if n := utf8.RuneCountInString(v); n > limit {
		ps.warn(CodeFieldLength, path, "%d characters, more than the probable maximum of %d", n, limit)
	}
}

func (ps *parser) validate() {
	p := ps.p
	if ps.opts.Kind != "" && ps.opts.Kind != p.Kind {
		ps.problem(CodeKindMismatch, pathMessage, "declared %s, but the packet is a %s", ps.opts.Kind, p.Kind)
	}
	switch p.Kind {
	case KindEdoc:
		ps.validateEdoc()
	case KindStatus:
		ps.validateStatus()
	}
}

func (ps *parser) organization(o Organization, path string, needName bool) {
	if ps.required(o.OrganID, path+"/OrganId") {
		ps.organID(o.OrganID, path+"/OrganId")
	}
	if needName {
		ps.required(o.OrganName, path+"/OrganName")
	}
	ps.length(o.OrganName, path+"/OrganName", 200)
	ps.length(o.OrganizationInCharge, path+"/OrganizationInCharge", 500)
	ps.length(o.OrganAdd, path+"/OrganAdd", 500)
}

func (ps *parser) validateEdoc() {
	p, h := ps.p, ps.p.Header
	ps.organization(h.From, pathMessage+"/From", true)
	if len(h.To) == 0 {
		ps.problem(CodeMissingField, pathMessage+"/To", "at least one To is required")
	}
	seen := map[string]int{}
	for i, to := range h.To {
		path := fmt.Sprintf("%s/To[%d]", pathMessage, i+1)
		ps.organization(to, path, false)
		if to.OrganName == "" {
			ps.warn(CodeMissingField, path+"/OrganName", "OrganName is missing")
		}
		if to.OrganID == "" {
			continue
		}
		if first, dup := seen[to.OrganID]; dup {
			ps.problem(CodeDuplicateRecipient, path+"/OrganId", "%s is already a recipient in To[%d]", to.OrganID, first)
			continue
		}
		seen[to.OrganID] = i + 1
	}
	ps.required(h.DocumentID, pathMessage+"/DocumentId")
	ps.required(h.Subject, pathMessage+"/Subject")
	ps.length(h.Subject, pathMessage+"/Subject", 500)
	ps.length(h.Content, pathMessage+"/Content", 500)
	if ps.required(h.Promulgation.Date, pathMessage+"/PromulgationInfo/PromulgationDate") {
		ps.date(h.Promulgation.Date, pathMessage+"/PromulgationInfo/PromulgationDate")
	}
	if ps.required(h.DocumentType.Type, pathMessage+"/DocumentType/Type") {
		ps.integer(h.DocumentType.Type, pathMessage+"/DocumentType/Type", 0, 1<<31-1)
	}
	ps.date(h.DueDate, pathMessage+"/DueDate")
	ps.integer(h.OtherInfo.Priority, pathMessage+"/OtherInfo/Priority", 0, 4)
	for i, r := range h.ResponseFor {
		path := fmt.Sprintf("%s/ResponseFor[%d]", pathMessage, i+1)
		ps.organID(r.OrganID, path+"/OrganId")
		ps.date(r.PromulgationDate, path+"/PromulgationDate")
	}
	ps.validateTrace()
	ps.validateFiles(p.BusinessType() == BusinessNew || p.BusinessType() == BusinessReplace)
}

// integer warns about a number outside its known range: no code lists are
// published, so unknown values are not errors.
func (ps *parser) integer(v, path string, lo, hi int) {
	if v == "" {
		return
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		ps.warn(CodeUnknownElement, path, "%q is not a known value (%d to %d)", v, lo, hi)
	}
}

func (ps *parser) validateTrace() {
	t := ps.p.Trace
	for i, th := range t.Headers {
		path := fmt.Sprintf("%s/TraceHeader[%d]", pathTrace, i+1)
		// The trace list is informational: odd OrganIds only warn.
		if th.OrganID == "" {
			ps.warn(CodeTraceOrganID, path+"/OrganId", "OrganId is empty")
		} else if _, err := (organ.Policy{AllowLowercase: true}).Parse(th.OrganID); err != nil {
			ps.warn(CodeTraceOrganID, path+"/OrganId", "%q is not an agency identifier", th.OrganID)
		}
		ps.timestamp(th.Timestamp, path+"/Timestamp")
	}
	b := t.Business
	if b == nil {
		ps.problem(CodeMissingField, pathBusiness, "Bussiness (the business type) is required")
		return
	}
	if !ps.required(b.DocType, pathBusiness+"/BussinessDocType") {
		return
	}
	switch b.DocType {
	case BusinessNew:
	case BusinessRevoke:
		ps.required(b.DocumentID, pathBusiness+"/DocumentId")
	case BusinessUpdate:
		if b.DocumentInfo == nil {
			ps.problem(CodeMissingField, pathBusiness+"/BussinessDocumentInfo", "an update needs BussinessDocumentInfo")
			break
		}
		for i, r := range b.DocumentInfo.Receivers {
			path := fmt.Sprintf("%s/BussinessDocumentInfo/ReceiverList/Receiver[%d]/OrganId", pathBusiness, i+1)
			if ps.required(r.OrganID, path) {
				ps.organID(r.OrganID, path)
			}
		}
	case BusinessReplace:
		if len(b.Replacements) == 0 {
			ps.problem(CodeMissingField, pathBusiness+"/ReplacementInfoList", "a replacement needs ReplacementInfoList with the replaced documents")
		}
		for i, r := range b.Replacements {
			path := fmt.Sprintf("%s/ReplacementInfoList/ReplacementInfo[%d]", pathBusiness, i+1)
			ps.required(r.DocumentID, path+"/DocumentId")
			for j, id := range r.OrganIDs {
				ps.organID(id, fmt.Sprintf("%s/OrganIdList/OrganId[%d]", path, j+1))
			}
		}
	default:
		ps.problem(CodeBadBusinessType, pathBusiness+"/BussinessDocType", "%q is not a business type (0 new, 1 revoke, 2 update, 3 replace)", b.DocType)
	}
}

func (ps *parser) validateFiles(needFile bool) {
	p := ps.p
	refs := map[string]int{}
	for i, r := range p.References {
		path := fmt.Sprintf("%s/Reference[%d]/ContentId", pathManifest, i+1)
		if !ps.required(r.ContentID, path) {
			continue
		}
		if first, dup := refs[r.ContentID]; dup {
			ps.problem(CodeDuplicateContentID, path, "ContentId %q is already used by Reference[%d]", r.ContentID, first)
			continue
		}
		refs[r.ContentID] = i + 1
	}
	atts := map[string]int{}
	for i, a := range p.Attachments {
		path := fmt.Sprintf("%s/Attachment[%d]", pathAttached, i+1)
		var st *attachmentState
		if i < len(ps.atts) {
			st = ps.atts[i]
		}
		switch {
		case st == nil || !st.started:
			ps.problem(CodeAttachmentMissing, path+"/ContentTransferEncoded", "the attachment has no content")
		case st.problem != nil:
			ps.p.Errors = append(ps.p.Errors, *st.problem)
		case st.chars == 0:
			ps.problem(CodeAttachmentMissing, path+"/ContentTransferEncoded", "the attachment's content is empty")
		}
		ps.contentType(a, path)
		if !ps.required(a.ContentID, path+"/ContentId") {
			continue
		}
		if first, dup := atts[a.ContentID]; dup {
			ps.problem(CodeDuplicateContentID, path+"/ContentId", "ContentId %q is already used by Attachment[%d]", a.ContentID, first)
			continue
		}
		atts[a.ContentID] = i + 1
		if _, ok := refs[a.ContentID]; !ok && len(p.References) > 0 {
			ps.warn(CodeUnreferenced, path+"/ContentId", "no manifest Reference names %q", a.ContentID)
		}
	}
	for i, r := range p.References {
		if _, ok := atts[r.ContentID]; r.ContentID != "" && !ok {
			ps.problem(CodeAttachmentMissing, fmt.Sprintf("%s/Reference[%d]", pathManifest, i+1), "no Attachment has ContentId %q", r.ContentID)
		}
	}
	if needFile && len(p.Attachments) == 0 && len(p.References) == 0 {
		ps.problem(CodeAttachmentMissing, pathAttached, "a new or replacing document needs its file")
	}
}

var formatTypes = map[string][]string{
	"pdf": {"application/pdf"},
	"zip": {"application/zip", "application/x-zip-compressed", "application/x-zip"},
}

func (ps *parser) contentType(a Attachment, path string) {
	want, known := formatTypes[a.Format]
	if !known || a.ContentType == "" {
		return
	}
	ct := strings.ToLower(strings.TrimSpace(strings.Split(a.ContentType, ";")[0]))
	if index(want, ct) < 0 {
		ps.warn(CodeContentTypeMismatch, path+"/ContentType", "ContentType %q, but the content is %s", a.ContentType, a.Format)
	}
}

func (ps *parser) validateStatus() {
	s := ps.p.Status
	ps.organization(s.From, pathMessage+"/From", false)
	rf := pathMessage + "/ResponseFor"
	ps.required(s.ResponseFor.DocumentID, rf+"/DocumentId")
	ps.required(s.ResponseFor.Code, rf+"/Code")
	ps.organID(s.ResponseFor.OrganID, rf+"/OrganId")
	ps.date(s.ResponseFor.PromulgationDate, rf+"/PromulgationDate")
	if ps.required(string(s.StatusCode), pathMessage+"/StatusCode") {
		code := s.Code()
		switch {
		case !code.Valid():
			ps.problem(CodeBadStatusCode, pathMessage+"/StatusCode", "%q is not a status code (01-06, 13, 15, 16)", s.StatusCode)
		case code != s.StatusCode:
			ps.warn(CodeStatusAlias, pathMessage+"/StatusCode", "%q read as %s", s.StatusCode, code)
		}
		if code.NeedsReason() && s.Description == "" {
			ps.warn(CodeEmptyReason, pathMessage+"/Description", "status %s should give its reason in Description", code)
		}
	}
	if ps.required(s.Timestamp, pathMessage+"/Timestamp") {
		ps.timestamp(s.Timestamp, pathMessage+"/Timestamp")
	}
}
