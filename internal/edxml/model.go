package edxml

import (
	"github.com/beevik/etree"
)

// Namespace is the edXML namespace of QCVN 102:2016.
const Namespace = "http://www.mic.gov.vn/TBT/QCVN_102_2016"

// LegacyNamespace is the pre-2016 SOAP generation's namespace, refused.
const LegacyNamespace = "http://www.e-doc.vn/Schema/"

// DSigNamespace is the XML-DSig namespace.
const DSigNamespace = "http://www.w3.org/2000/09/xmldsig#"

// Kind tells the two packet kinds apart.
type Kind string

// The packet kinds.
const (
	KindEdoc   Kind = "edoc"
	KindStatus Kind = "status"
)

// Text in the model is trimmed and in Unicode NFC; dates and numbers keep the
// text the sender wrote, so a packet re-built from its model reads the same.
// Use the accessor methods for typed values.

// Organization is the organisation block shared by From and To.
type Organization struct {
	OrganID              string
	OrganizationInCharge string
	OrganName            string
	OrganAdd             string
	Email                string
	Telephone            string
	Fax                  string
	Website              string
}

// Code is "số, ký hiệu": CodeNumber/CodeNotation.
type Code struct {
	Number   string
	Notation string
}

// String gives the usual written form, e.g. 7816/VPCP-TTĐT.
func (c Code) String() string {
	switch {
	case c.Number == "":
		return c.Notation
	case c.Notation == "":
		return c.Number
	}
	return c.Number + "/" + c.Notation
}

// Promulgation is the place and date of issue.
type Promulgation struct {
	Place string
	Date  string
}

// DocumentType is the document's type code and name.
type DocumentType struct {
	Type       string
	TypeDetail string
	TypeName   string
}

// Signer names who signed the document.
type Signer struct {
	Competence string
	Position   string
	FullName   string
}

// OtherInfo holds priority and the printing details.
type OtherInfo struct {
	Priority             string
	SphereOfPromulgation string
	TyperNotation        string
	PromulgationAmount   string
	PageAmount           string
	Direction            string
	Appendixes           []string
}

// ResponseFor names an earlier document this one answers.
type ResponseFor struct {
	OrganID          string
	Code             string
	PromulgationDate string
	DocumentID       string
}

// IsZero reports whether r names nothing (an empty <ResponseFor/>).
func (r ResponseFor) IsZero() bool { return r == ResponseFor{} }

// StaffInfo names the clerk who sent a packet.
type StaffInfo struct {
	Department string
	Staff      string
	Email      string
	Mobile     string
}

// Header is the MessageHeader of an edoc packet.
type Header struct {
	From         Organization
	To           []Organization
	DocumentID   string
	Code         Code
	Promulgation Promulgation
	DocumentType DocumentType
	Subject      string
	Content      string
	Signer       Signer
	DueDate      string
	ToPlaces     []string
	OtherInfo    OtherInfo
	ResponseFor  []ResponseFor
	SteeringType string
}

// TraceHeader is one hop in TraceHeaderList.
type TraceHeader struct {
	OrganID   string
	Timestamp string
}

// Receiver is one entry of an update's ReceiverList.
type Receiver struct {
	OrganID      string
	ReceiverType string
}

// DocumentInfo says what an update (business type 2) changes.
type DocumentInfo struct {
	DocumentInfo     string
	DocumentReceiver string
	Receivers        []Receiver
}

// Replacement names a document that a replace (business type 3) supersedes.
type Replacement struct {
	DocumentID string
	OrganIDs   []string
}

// Business types (BussinessDocType).
const (
	BusinessNew     = "0"
	BusinessRevoke  = "1"
	BusinessUpdate  = "2"
	BusinessReplace = "3"
)

// Business is the Bussiness element: what the packet does to a document.
type Business struct {
	DocumentID   string
	DocType      string
	DocReason    string
	Paper        string
	Staff        StaffInfo
	DocumentInfo *DocumentInfo
	Replacements []Replacement
}

// Trace is the TraceHeaderList of an edoc packet.
type Trace struct {
	Headers  []TraceHeader
	Business *Business
}

// Reference is a manifest entry naming an attachment.
type Reference struct {
	ContentID      string // without the cid: prefix
	ContentType    string
	Description    string
	AttachmentName string
}

// ZipEntry is one entry of a zip attachment, as checked.
type ZipEntry struct {
	Name string `json:"name"` // a label, never a path
	Size int64  `json:"size"`
}

// Attachment is an attached file; its content went to the sink.
type Attachment struct {
	ContentID      string // without the cid: prefix
	AttachmentName string
	Description    string
	ContentType    string
	Size           int64      // decoded bytes
	SHA256         string     // of the decoded bytes, lowercase hex
	Format         string     // "pdf", "zip" or "" by the content's magic bytes
	Zip            []ZipEntry // entries, when Format is "zip" and the zip was checked
}

// Status is the MessageHeader of a status packet.
type Status struct {
	From        Organization
	ResponseFor ResponseFor
	Staff       StaffInfo
	StatusCode  StatusCode
	Description string
	Timestamp   string
}

// Packet is a parsed packet. Exactly one of Header and Status is set.
type Packet struct {
	Kind        Kind
	Header      *Header // edoc
	Trace       *Trace  // edoc
	Status      *Status // status
	References  []Reference
	Attachments []Attachment
	// Signature is the enveloped Signature element as XML, with the
	// namespace declarations it inherits; nil when there is none.
	Signature []byte
	// SignatureNamespace is the namespace the Signature element is in; real
	// producers often leave it in the edXML namespace, unseen by verifiers.
	SignatureNamespace string

	Errors   []Problem
	Warnings []Problem

	// Doc is the packet's markup with attachment content left out.
	Doc *etree.Document

	// traceAt is the byte offset where a hub TraceHeader goes; -1 if none.
	traceAt int64
	// tracePrefix is the prefix the sender used on TraceHeaderList.
	tracePrefix string
	// size is the number of bytes read.
	size int64
}

// Valid reports whether the packet has no errors.
func (p *Packet) Valid() bool { return len(p.Errors) == 0 }

// Size is the number of packet bytes read.
func (p *Packet) Size() int64 { return p.size }

// From returns the sender's OrganId.
func (p *Packet) From() string {
	if p.Header != nil {
		return p.Header.From.OrganID
	}
	if p.Status != nil {
		return p.Status.From.OrganID
	}
	return ""
}

// To returns the recipients' OrganIds of an edoc, in packet order.
func (p *Packet) To() []string {
	if p.Header == nil {
		return nil
	}
	out := make([]string, 0, len(p.Header.To))
	for _, o := range p.Header.To {
		out = append(out, o.OrganID)
	}
	return out
}

// DocumentID returns the edoc's DocumentId, or the document a status is about.
func (p *Packet) DocumentID() string {
	if p.Header != nil {
		return p.Header.DocumentID
	}
	if p.Status != nil {
		return p.Status.ResponseFor.DocumentID
	}
	return ""
}

// BusinessType returns BussinessDocType of an edoc ("" if absent).
func (p *Packet) BusinessType() string {
	if p.Trace == nil || p.Trace.Business == nil {
		return ""
	}
	return p.Trace.Business.DocType
}
