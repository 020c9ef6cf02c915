package vdxp

import "github.com/lienthong/lienthong/internal/hub"

// Reply values of the status field.
const (
	StatusOK   = "OK"
	StatusFail = "FAIL"
)

// CodeOK is ErrorCode on success.
const CodeOK = "0"

// Codes this package adds to the stable ones of docs/contracts.md
// (request.* codes, like the REST API's, are not packet errors).
const (
	// CodeHashMismatch: the uploaded file does not have the declared hash-file.
	CodeHashMismatch = "packet.hash_mismatch"
	// CodeMissingParameter: an operation's required parameter is absent.
	CodeMissingParameter = "request.missing_parameter"
	// CodeBadParameter: a parameter has a value the operation does not take.
	CodeBadParameter = "request.bad_parameter"
	// CodeMultipart: a multipart upload without a file_doc part, or broken.
	CodeMultipart = "request.multipart"
	// CodeUnknownOperation: no such operation under /vdxp/.
	CodeUnknownOperation = "request.unknown_operation"
)

// Reply is the envelope of every JSON answer: status "OK" with ErrorCode
// "0", or "FAIL" with a stable code (docs/contracts.md) in ErrorCode and
// a message in ErrorDesc.
type Reply struct {
	Status    string `json:"status"`
	ErrorCode string `json:"ErrorCode"`
	ErrorDesc string `json:"ErrorDesc"`
}

// OK reports whether the reply is a success.
func (r Reply) OK() bool { return r.Status == StatusOK && r.ErrorCode == CodeOK }

// Problem is a warning or error detail carried beside a reply.
type Problem struct {
	Code    string `json:"code"`
	Path    string `json:"path,omitempty"`
	Message string `json:"message"`
}

// SendReply answers sendEdoc. DocID is the packet id (the hub's transport
// id); Warnings lists the verification warnings (sig.unsigned for an
// unsigned packet) and Receipt is the hub-signed receipt of POST
// /v1/packets (docs/contracts.md).
// Errors lists every packet problem of a refusal.
type SendReply struct {
	Reply
	DocID    string       `json:"DocId"`
	Created  bool         `json:"created,omitempty"`
	Warnings []Problem    `json:"warnings,omitempty"`
	Errors   []Problem    `json:"errors,omitempty"`
	Receipt  *hub.Receipt `json:"receipt,omitempty"`
}

// ReceivedItem is one entry of getReceivedEdocList: a packet pending for
// one or more of the system's agencies. To names them, comma-separated
// (the SDK reads it as a string).
type ReceivedItem struct {
	DocID       string `json:"docId"`
	ServiceType string `json:"serviceType"`
	MessageType string `json:"messageType"`
	From        string `json:"from"`
	To          string `json:"to"`
	Status      string `json:"status"`
	StatusDesc  string `json:"status_desc"`
	CreatedTime string `json:"created_time"`
	UpdatedTime string `json:"updated_time"`
	// Extensions beyond the axis's fields.
	DocumentID string `json:"documentId"`
	Subject    string `json:"subject,omitempty"`
	Priority   int    `json:"priority"`
	SHA256     string `json:"sha256"`
	Size       int64  `json:"size"`
}

// ReceivedReply answers getReceivedEdocList.
type ReceivedReply struct {
	Reply
	Data []ReceivedItem `json:"data"`
}

// EdocReply answers getEdoc: the packet's exact bytes in standard base64.
type EdocReply struct {
	Reply
	Data string `json:"data"`
}

// CountReply answers countReceiveEdoc and countReceiveStatus.
type CountReply struct {
	Reply
	Count int `json:"count"`
}

// SentItem is one row of getSentEdocList: a sent packet and one recipient.
// SendStatus is the transport state at that recipient (accepted, routed,
// delivered, fetched, done, fail); ReceiveStatus the last business status
// (two digits, 01–16) the recipient returned, or "" when none.
type SentItem struct {
	SenderDocID       string `json:"senderDocId"`
	ReceiverDocID     string `json:"receiverDocId"`
	FromCode          string `json:"fromCode"`
	ToCode            string `json:"toCode"`
	Title             string `json:"title"`
	Notation          string `json:"notation"`
	MessageType       string `json:"messageType"`
	ServiceType       string `json:"serviceType"`
	SentTime          string `json:"sentTime"`
	ReceivedTime      string `json:"receivedTime"`
	SendStatus        string `json:"sendStatus"`
	SendStatusDesc    string `json:"sendStatusDesc"`
	ReceiveStatus     string `json:"receiveStatus"`
	ReceiveStatusDesc string `json:"receiveStatusDesc"`
	// Extension: the document's business key.
	DocumentID string `json:"documentId"`
}

// SentReply answers getSentEdocList.
type SentReply struct {
	Reply
	Data []SentItem `json:"data"`
}

// Agency is one entry of getAgenciesList, from the hub's directory. Id and
// code are the OrganId, pid its parent's; code102 is the OrganId when it
// has the QCVN 102:2016 form; oldCode lists the aliases, comma-separated;
// centerCode is the system serving the agency.
type Agency struct {
	ID         string `json:"id"`
	PID        string `json:"pid"`
	Code       string `json:"code"`
	Code102    string `json:"code102"`
	OldCode    string `json:"oldCode"`
	Name       string `json:"name"`
	Mail       string `json:"mail"`
	CenterCode string `json:"centerCode"`
	IsAgency   bool   `json:"isAgency"`
	Deleted    bool   `json:"deleted"`
	ModifyDate string `json:"modifyDate"`
	Version    int    `json:"version"`
	Status     int    `json:"status"`
}

// AgenciesReply answers getAgenciesList.
type AgenciesReply struct {
	Reply
	Data []Agency `json:"data"`
}
