package edxml

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"time"
)

// StatusInput is what BuildStatus needs beyond the document answered.
type StatusInput struct {
	// From is the agency sending the status: the one whose certificate
	// signs it. Only OrganID is required; the other fields, when empty, are
	// taken from the document's From or To block for the same agency.
	From        Organization
	Code        StatusCode // one of StatusCodes
	Description string     // the reason, for 02 and 13 especially
	Staff       StaffInfo
	// To names the recipient a 13 (take back) is about; the sender of the
	// document sends it. Unused by the other codes.
	To string
	// Time is the status's Timestamp; zero means now. The packet id depends
	// on it to the second.
	Time time.Time
}

// ErrStatus reports a status that cannot answer the document.
var ErrStatus = errors.New("cannot build this status")

// BuildStatus builds a status packet answering doc, a received edoc:
// ResponseFor names the document (its sender's OrganId, Code,
// PromulgationDate and DocumentId). A 13 (take back) is sent by the
// document's sender, and its ResponseFor/OrganId is instead the recipient
// in.To. It returns the packet's exact bytes, to be signed and sent.
//
// It lives here, not in the client library, so that a clerk's console and
// an integrator's client build byte-identical packets.
func BuildStatus(doc *Packet, in StatusInput) ([]byte, error) {
	p, err := NewStatus(doc, in)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := Write(&b, p, nil); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// NewStatus is BuildStatus returning the packet's model.
func NewStatus(doc *Packet, in StatusInput) (*Packet, error) {
	if doc == nil || doc.Kind != KindEdoc || doc.Header == nil {
		return nil, fmt.Errorf("%w: a status answers an edoc", ErrStatus)
	}
	if !in.Code.Valid() {
		return nil, fmt.Errorf("%w: %q is not a status code (01-06, 13, 15, 16)", ErrStatus, in.Code)
	}
	if in.From.OrganID == "" {
		return nil, fmt.Errorf("%w: no sending agency", ErrStatus)
	}
	h := doc.Header
	rf := ResponseFor{OrganID: h.From.OrganID, Code: h.Code.String(), PromulgationDate: h.Promulgation.Date, DocumentID: h.DocumentID}
	if in.Code.FromSender() {
		if in.From.OrganID != h.From.OrganID {
			return nil, fmt.Errorf("%w: only the document's sender %s takes it back, not %s", ErrStatus, h.From.OrganID, in.From.OrganID)
		}
		if in.To == "" {
			return nil, fmt.Errorf("%w: a 13 names the recipient it takes the document back from", ErrStatus)
		}
		if !slices.Contains(doc.To(), in.To) {
			return nil, fmt.Errorf("%w: %s is not a recipient of the document (%v)", ErrStatus, in.To, doc.To())
		}
		rf.OrganID = in.To
	}
	from := in.From
	known := append([]Organization{h.From}, h.To...)
	if i := slices.IndexFunc(known, func(o Organization) bool { return o.OrganID == from.OrganID }); i >= 0 {
		fillOrg(&from, known[i])
	}
	at := in.Time
	if at.IsZero() {
		at = time.Now()
	}
	return &Packet{Kind: KindStatus, Status: &Status{
		From: from, ResponseFor: rf, Staff: in.Staff, StatusCode: in.Code, Description: in.Description,
		Timestamp: FormatTimestamp(at),
	}}, nil
}

// fillOrg sets the empty fields of o from d.
func fillOrg(o *Organization, d Organization) {
	set := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	set(&o.OrganizationInCharge, d.OrganizationInCharge)
	set(&o.OrganName, d.OrganName)
	set(&o.OrganAdd, d.OrganAdd)
	set(&o.Email, d.Email)
	set(&o.Telephone, d.Telephone)
	set(&o.Fax, d.Fax)
	set(&o.Website, d.Website)
}
