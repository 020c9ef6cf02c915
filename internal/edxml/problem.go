package edxml

import (
	"errors"
	"fmt"
)

// Stable error and warning codes (docs/contracts.md). Never rename one.
const (
	CodeMalformed          = "xml.malformed"
	CodeDTDForbidden       = "xml.dtd_forbidden"
	CodeTooDeep            = "xml.too_deep"
	CodeTooLarge           = "xml.too_large"
	CodeNamespace          = "edxml.namespace"
	CodeMissingField       = "edxml.missing_field"
	CodeBadOrganID         = "edxml.bad_organ_id"
	CodeBadDate            = "edxml.bad_date"
	CodeBadStatusCode      = "edxml.bad_status_code"
	CodeBadBusinessType    = "edxml.bad_business_type"
	CodeDuplicateRecipient = "edxml.duplicate_recipient"
	CodeAttachmentMissing  = "edxml.attachment_missing"
	CodeAttachmentEncoding = "edxml.attachment_encoding"
	CodeAttachmentTooLarge = "edxml.attachment_too_large"
	CodeDuplicateElement   = "edxml.duplicate_element"
	CodeDuplicateContentID = "edxml.duplicate_content_id"
	CodeKindMismatch       = "edxml.kind_mismatch"

	// Warnings.
	CodeStatusAlias         = "edxml.status_alias"
	CodeDateFormat          = "edxml.date_format"
	CodeUnknownElement      = "edxml.unknown_element"
	CodeUnreferenced        = "edxml.attachment_unreferenced"
	CodeContentTypeMismatch = "edxml.content_type_mismatch"
	CodeFieldLength         = "edxml.field_length"
	CodeEmptyReason         = "edxml.empty_reason"
	CodeTraceOrganID        = "edxml.trace_organ_id"
)

// Problem is one error or warning found in a packet.
type Problem struct {
	Code    string `json:"code"`
	Path    string `json:"path"`
	Message string `json:"message"`
}

func (p Problem) String() string { return p.Code + " at " + p.Path + ": " + p.Message }

// Error is a fatal problem: the packet could not be read, so no other
// problem is reported with it.
type Error struct {
	Problem
	Err error // the underlying cause, if any
}

func (e *Error) Error() string { return e.Problem.String() }

func (e *Error) Unwrap() error { return e.Err }

func fatal(code, path, format string, args ...any) *Error {
	return &Error{Problem: Problem{Code: code, Path: path, Message: fmt.Sprintf(format, args...)}}
}

// CodeOf returns the stable code of err, or "" when err carries none.
func CodeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
