// Package events holds the Go types of the messages the hub writes to
// Kafka, one per JSON Schema in this directory (schemas/README.md):
// Accepted (accepted.schema.json, topic <prefix>accepted), Delivery
// (delivery.schema.json, topic <prefix>inbox.<OrganId>) and Transport
// (transport.schema.json, topic <prefix>events). Every message is keyed by
// the packet id, which is also its ID.
//
// The hub produces its messages through these types, and a test holds them
// to the schemas field by field, so an agency decoding its inbox topic with
// Delivery reads what the hub wrote. Fields are only added (the
// compatibility rule of schemas/README.md): decode with encoding/json,
// which ignores fields a newer hub adds.
package events

import "time"

// Version is the shape version the hub writes in V. It stays 1 while
// fields are only added; a message without v (earlier hubs' inbox
// messages) is version 1 too.
const Version = 1

// Packet kinds (Kind).
const (
	KindEdoc   = "edoc"   // an e-document
	KindStatus = "status" // a business status about an earlier edoc
)

// Transport event types (Transport.Type).
const (
	TypeFetched   = "fetched"
	TypeAcked     = "acked"
	TypeForwarded = "forwarded"
)

// Delivery is one message on an agency's inbox topic
// <prefix>inbox.<OrganId>: a packet the hub routed to that agency. It
// carries no packet bytes: fetch them with GET /v1/packets/{id} and check
// them against SHA256. Delivery is at least once: a repeat has the same key
// and the same value, so process by ID, idempotently. Reading the topic
// acknowledges nothing: post POST /v1/inbox/{id}/ack.
type Delivery struct {
	// V is the shape version, Version; 0 (absent) in messages of hubs that
	// did not write it yet, to be read as 1.
	V int `json:"v,omitempty"`
	// ID is the packet id (64 lowercase hex digits), equal to the key.
	ID string `json:"id"`
	// Endpoint is the agency whose inbox this is: the OrganId in the topic
	// name.
	Endpoint string `json:"endpoint"`
	// Organs are the addressees the agency receives the packet for: itself,
	// or units under it that have no registration of their own.
	Organs []string `json:"organs"`
	// Kind is KindEdoc (a document sent to this agency) or KindStatus (a
	// status about a document it sent, or a 13 take-back of one it
	// received).
	Kind string `json:"kind"`
	// From is the sender's OrganId, authenticated by the hub.
	From string `json:"from"`
	// DocumentID is an edoc's DocumentId; for a status the DocumentId of
	// the document it is about (ResponseFor/DocumentId).
	DocumentID string `json:"documentId"`
	// Subject is the edoc's Subject (trích yếu); "" for statuses.
	Subject string `json:"subject"`
	// Priority is OtherInfo/Priority (độ khẩn), 0 to 4 in QCVN 102:2016;
	// 0 when absent and for statuses.
	Priority int `json:"priority"`
	// AcceptedAt is when the hub accepted the packet (UTC).
	AcceptedAt time.Time `json:"acceptedAt"`
	// SHA256 is the lowercase hex SHA-256 of the exact packet bytes.
	SHA256 string `json:"sha256"`
	// Size is the packet's length in bytes.
	Size int64 `json:"size"`
	// BusinessType is an edoc's BussinessDocType: "0" new, "1" revocation,
	// "2" update, "3" replacement. "" (absent) for statuses.
	BusinessType string `json:"businessType,omitempty"`
	// StatusCode is a status's StatusCode, aliases resolved ("01" arrived …
	// "06" completed, "02" rejected, "13" taken back, "15"/"16" agrees to
	// or refuses a change). "" (absent) for edocs.
	StatusCode string `json:"statusCode,omitempty"`
	// StatusName is the standard's Vietnamese name of StatusCode ("Đã
	// đến"). "" (absent) for edocs.
	StatusName string `json:"statusName,omitempty"`
	// Attachments is the hub's verdict, in brief, on the signatures inside
	// an edoc's PDF attachments; absent when it did not check them.
	Attachments []AttachmentVerdict `json:"attachments,omitempty"`
}

// AttachmentVerdict is the hub's verdict in brief on the signatures inside
// one PDF attachment; the packet's verification report has the detail
// (docs/trust.md, PDF signatures).
type AttachmentVerdict struct {
	Index int    `json:"index"`          // among the packet's attachments, from 0
	Name  string `json:"name,omitempty"` // AttachmentName, a label
	// Entry is the PDF's name inside a zip attachment, when it came from one.
	Entry string `json:"entry,omitempty"`
	// Main marks the letter: the first attachment, or the first PDF of
	// a zip that is.
	Main bool `json:"main"`
	// OrganSigned: a valid signature of the sending organ, after which
	// nothing but further valid signatures was added.
	OrganSigned bool           `json:"organSigned"`
	Signatures  []PDFSignature `json:"signatures"`
	// Errors are the codes of why the file could not be read
	// (pdf.malformed, pdf.timeout, pdf.too_large).
	Errors []string `json:"errors,omitempty"`
}

// PDFSignature is one signature inside a PDF, in brief.
type PDFSignature struct {
	Signer   string     `json:"signer,omitempty"`   // the certificate's subject
	OrganID  string     `json:"organId,omitempty"`  // its UID: an organ's seal; absent for a person
	SignedAt *time.Time `json:"signedAt,omitempty"` // the signer's claim
	Valid    bool       `json:"valid"`
	// CoversWholeFile: nothing was added after it; ModifiedAfterSigning:
	// what was added is more than further valid signatures.
	CoversWholeFile      bool     `json:"coversWholeFile"`
	ModifiedAfterSigning bool     `json:"modifiedAfterSigning"`
	Errors               []string `json:"errors,omitempty"` // codes: pdf.sig_invalid, pdf.sig_untrusted, then sig.*
}

// Accepted is one message on <prefix>accepted: the claim check of a packet
// the hub accepted, written before the sender got its receipt. The topic
// holds every agency's traffic: it is for the hub, operators and auditors,
// not agencies.
type Accepted struct {
	V                   int                   `json:"v"`                             // Version
	ID                  string                `json:"id"`                            // the packet id, equal to the key
	Kind                string                `json:"kind"`                          // KindEdoc or KindStatus
	From                string                `json:"from"`                          // the sender's OrganId
	To                  []string              `json:"to,omitempty"`                  // an edoc's recipients, in packet order
	DocumentID          string                `json:"documentId"`                    // as Delivery.DocumentID
	Subject             string                `json:"subject,omitempty"`             // an edoc's Subject
	Priority            int                   `json:"priority"`                      // as Delivery.Priority
	BusinessType        string                `json:"businessType,omitempty"`        // as Delivery.BusinessType
	StatusCode          string                `json:"statusCode,omitempty"`          // as Delivery.StatusCode
	ResponseForOrgan    string                `json:"responseForOrgan,omitempty"`    // a status's ResponseFor/OrganId
	ResponseForDocument string                `json:"responseForDocument,omitempty"` // a status's ResponseFor/DocumentId
	BlobKey             string                `json:"blobKey"`                       // the packet's key in the hub's store
	SHA256              string                `json:"sha256"`                        // of the exact packet bytes
	Size                int64                 `json:"size"`                          // of the exact packet bytes
	AcceptedAt          time.Time             `json:"acceptedAt"`                    // UTC
	Deliveries          []AcceptedDestination `json:"deliveries"`                    // the routing decision: one per inbox
	Flags               []string              `json:"flags,omitempty"`               // warning codes recorded by routing
	Channel             string                `json:"channel"`                       // "v1" or "vdxp"
	DueDate             string                `json:"dueDate,omitempty"`             // an edoc's DueDate, yyyy/MM/dd
	Replaces            []string              `json:"replaces,omitempty"`            // DocumentIds a replacement supersedes
	Hops                []string              `json:"hops,omitempty"`                // hubs that relayed the packet, first first
	Code                string                `json:"code,omitempty"`                // an edoc's số, ký hiệu
	PromulgationDate    string                `json:"promulgationDate,omitempty"`    // an edoc's PromulgationDate as written
	TypeName            string                `json:"typeName,omitempty"`            // an edoc's DocumentType/TypeName
	Signer              string                `json:"signer,omitempty"`              // an edoc's SignerInfo
	FromName            string                `json:"fromName,omitempty"`            // the sender's OrganName as written
	Attachments         []AttachmentVerdict   `json:"attachments,omitempty"`         // an edoc's PDF signatures, in brief
}

// AcceptedDestination is one inbox an accepted packet goes to: the router
// turns it into one Delivery on <prefix>inbox.<Endpoint>.
type AcceptedDestination struct {
	Endpoint string   `json:"endpoint"` // the registered agency
	Organs   []string `json:"organs"`   // the addressees it receives for
}

// Transport is one message on <prefix>events: an agency fetched a packet
// from its inbox or acknowledged it, or the hub forwarded it to a peer hub.
// These are transport facts, not business statuses (which are packets).
type Transport struct {
	V        int    `json:"v"`        // Version
	Type     string `json:"type"`     // TypeFetched, TypeAcked or TypeForwarded
	ID       string `json:"id"`       // the packet id, equal to the key
	Endpoint string `json:"endpoint"` // the inbox that fetched, acknowledged or was forwarded
	// Result is, for acked, "done" or "fail"; for forwarded, the peer hub's
	// name; "" (absent) for fetched.
	Result string    `json:"result,omitempty"`
	Reason string    `json:"reason,omitempty"` // for acked: the agency's free text, if any
	At     time.Time `json:"at"`               // when the hub recorded it (UTC)
}
