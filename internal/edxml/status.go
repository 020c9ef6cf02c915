package edxml

// StatusCode is a status packet's code (FORMAT.md §6): a two-digit string,
// so it reads and writes as the standard's text in XML and JSON.
type StatusCode string

// Status codes (FORMAT.md §6).
const (
	StatusArrived        StatusCode = "01"
	StatusRejected       StatusCode = "02"
	StatusAccepted       StatusCode = "03"
	StatusAssigned       StatusCode = "04"
	StatusProcessing     StatusCode = "05"
	StatusCompleted      StatusCode = "06"
	StatusTakeBack       StatusCode = "13"
	StatusChangeAccepted StatusCode = "15"
	StatusChangeRejected StatusCode = "16"
	// statusAgreeUndocumented is sent by one SDK example for "agree"; it is
	// read as 15.
	statusAgreeUndocumented StatusCode = "14"
)

// StatusCodes are the codes a status packet may carry, in the standard's
// order.
var StatusCodes = []StatusCode{
	StatusArrived, StatusRejected, StatusAccepted, StatusAssigned, StatusProcessing, StatusCompleted,
	StatusTakeBack, StatusChangeAccepted, StatusChangeRejected,
}

type statusInfo struct {
	rank  int    // place on the main line, 0 off it
	name  string // the standard's Vietnamese name
	label string // the SDK's label
}

var statusInfos = map[StatusCode]statusInfo{
	StatusArrived:        {1, "Đã đến", "inbox"},
	StatusRejected:       {0, "Từ chối", "rejection"},
	StatusAccepted:       {2, "Đã tiếp nhận", "acceptance"},
	StatusAssigned:       {3, "Phân công", "assignment"},
	StatusProcessing:     {4, "Đang xử lý", "processing"},
	StatusCompleted:      {5, "Hoàn thành", "finish"},
	StatusTakeBack:       {0, "Lấy lại", "cancellation"},
	StatusChangeAccepted: {0, "Đồng ý cập nhật/lấy lại", "change-acceptance"},
	StatusChangeRejected: {0, "Từ chối cập nhật/lấy lại", "change-rejection"},
}

// Valid tells whether c is one of StatusCodes (aliases not resolved).
func (c StatusCode) Valid() bool {
	_, ok := statusInfos[c]
	return ok
}

// Resolve returns c with its aliases resolved: 1…6 read as 01…06 and the
// undocumented 14 as 15. An unknown code is returned as is.
func (c StatusCode) Resolve() StatusCode {
	if len(c) == 1 && c >= "1" && c <= "6" {
		return "0" + c
	}
	if c == statusAgreeUndocumented {
		return StatusChangeAccepted
	}
	return c
}

// Rank is c's place on the main line 01 < 03 < 04 < 05 < 06, from 1; 0 for
// a code off it.
func (c StatusCode) Rank() int { return statusInfos[c].rank }

// IsMainLine tells whether c is on the main line (01, 03, 04, 05, 06).
func (c StatusCode) IsMainLine() bool { return c.Rank() > 0 }

// Closes tells whether c ends the recipient's handling short of 06: a
// rejection (02), a take-back asked (13) or answered (15, 16). A transport
// event after it does not replace it, and it is never overdue.
func (c StatusCode) Closes() bool {
	switch c {
	case StatusRejected, StatusTakeBack, StatusChangeAccepted, StatusChangeRejected:
		return true
	}
	return false
}

// Withdraws tells whether c takes the recipient's copy out of the main
// line: a rejection (02) or an agreed take-back or update (15). A main-line
// code after it is out of order.
func (c StatusCode) Withdraws() bool { return c == StatusRejected || c == StatusChangeAccepted }

// FromSender tells whether c is sent by the document's original sender to
// its recipients (13, take back); every other code goes from a recipient
// to the original sender.
func (c StatusCode) FromSender() bool { return c == StatusTakeBack }

// AnswersChange tells whether c answers a take-back, an update or a revoke
// (15 agree, 16 refuse).
func (c StatusCode) AnswersChange() bool {
	return c == StatusChangeAccepted || c == StatusChangeRejected
}

// NeedsReason tells whether c should give its reason in Description (02,
// 13).
func (c StatusCode) NeedsReason() bool { return c == StatusRejected || c == StatusTakeBack }

// Name is the standard's Vietnamese name of c ("Đã đến"); "" for an
// unknown code.
func (c StatusCode) Name() string { return statusInfos[c].name }

// Label is the SDK's English label of c ("inbox"); "" for an unknown code.
func (c StatusCode) Label() string { return statusInfos[c].label }
