package console

import (
	"net/http"
	"strings"
)

// msgs is one language's message table; T falls back to the key.
type msgs map[string]string

// T returns the message for key.
func (m msgs) T(key string) string {
	if s, ok := m[key]; ok {
		return s
	}
	return key
}

const langCookie = "lt_lang"

// lang picks the language: ?lang=vi|en (remembered in a cookie), else the
// cookie, else Vietnamese.
func lang(w http.ResponseWriter, r *http.Request, secure bool) string {
	if l := r.URL.Query().Get("lang"); l == "vi" || l == "en" {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l, Path: "/", MaxAge: 365 * 24 * 3600,
			HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode})
		return l
	}
	if c, err := r.Cookie(langCookie); err == nil && c.Value == "en" {
		return "en"
	}
	return "vi"
}

var messages = map[string]msgs{
	"vi": {
		"title":           "Liên thông văn bản",
		"signin":          "Đăng nhập",
		"signout":         "Đăng xuất",
		"username":        "Tên đăng nhập",
		"password":        "Mật khẩu",
		"bad_login":       "Tên đăng nhập hoặc mật khẩu không đúng.",
		"locked":          "Tài khoản tạm khóa 15 phút do đăng nhập sai quá 5 lần.",
		"inbox":           "Văn bản đến",
		"outbox":          "Văn bản đi",
		"empty":           "Không có văn bản.",
		"subject":         "Trích yếu",
		"from":            "Nơi gửi",
		"to":              "Nơi nhận",
		"received":        "Thời gian nhận",
		"sent_at":         "Thời gian gửi",
		"priority":        "Độ khẩn",
		"due":             "Hạn xử lý",
		"unread":          "Chưa đọc",
		"kind":            "Loại",
		"kind_edoc":       "Văn bản",
		"kind_status":     "Trạng thái",
		"code":            "Số, ký hiệu",
		"doc_id":          "Mã định danh văn bản",
		"promulgation":    "Nơi, ngày ban hành",
		"doc_type":        "Loại văn bản",
		"signer":          "Người ký",
		"attachments":     "Tệp đính kèm",
		"no_attachments":  "Không có tệp đính kèm.",
		"timeline":        "Quá trình xử lý",
		"recipient":       "Đơn vị nhận",
		"state":           "Trạng thái",
		"events":          "Sự kiện",
		"overdue":         "Quá hạn",
		"actions":         "Cập nhật trạng thái",
		"reason":          "Lý do",
		"reason_required": "Từ chối văn bản phải nêu lý do.",
		"bad_code":        "Mã trạng thái không hợp lệ.",
		"status_sent":     "Đã gửi trạng thái",
		"status_failed":   "Không gửi được trạng thái",
		"auto01_failed":   "Không gửi được trạng thái 01 (đã nhận) tự động",
		"hosted":          "Trạng thái được ký bằng khóa ký số của đơn vị do trục liên thông lưu giữ (ký hộ).",
		"not_hosted":      "Trục liên thông không giữ khóa ký số của đơn vị: trạng thái gửi đi không có chữ ký.",
		"forbidden":       "Bạn không có quyền truy cập trang này.",
		"not_found":       "Không tìm thấy văn bản.",
		"bad_request":     "Yêu cầu không hợp lệ.",
		"csrf":            "Phiên làm việc không hợp lệ hoặc đã hết hạn; hãy tải lại trang.",
		"unavailable":     "Hệ thống tạm thời không phục vụ được; hãy thử lại sau.",
		"error":           "Lỗi",
		"back":            "Quay lại",
		"status_of":       "Trạng thái cho văn bản",
		"status_code":     "Mã trạng thái",
		"description":     "Mô tả",
		"open":            "Mở",
		"clerks_only":     "Trang này dành cho văn thư của một cơ quan.",
		"s01":             "01 Đã nhận",
		"s02":             "02 Từ chối",
		"s03":             "03 Đã tiếp nhận",
		"s04":             "04 Phân công",
		"s05":             "05 Đang xử lý",
		"s06":             "06 Hoàn thành",
		"s13":             "13 Lấy lại",
		"s15":             "15 Đồng ý cho lấy lại",
		"s16":             "16 Từ chối cho lấy lại",
		"btn02":           "Từ chối",
		"btn03":           "Tiếp nhận",
		"btn04":           "Phân công",
		"btn05":           "Đang xử lý",
		"btn06":           "Hoàn thành",
		"ev_accepted":     "trục đã nhận",
		"ev_routed":       "đã định tuyến",
		"ev_delivered":    "đã chuyển đến",
		"ev_fetched":      "đã tải về",
		"ev_acked":        "đã xác nhận",
		"ev_status":       "trạng thái",
		"ev_forwarded":    "chuyển tiếp",
		"prio0":           "Thường",
		"prio1":           "Khẩn",
		"prio2":           "Thượng khẩn",
		"prio3":           "Hỏa tốc",
		"prio4":           "Hỏa tốc hẹn giờ",
	},
	"en": {
		"title":           "Document exchange",
		"signin":          "Sign in",
		"signout":         "Sign out",
		"username":        "Username",
		"password":        "Password",
		"bad_login":       "Wrong username or password.",
		"locked":          "This account is locked for 15 minutes after 5 failed sign-ins.",
		"inbox":           "Inbox",
		"outbox":          "Outbox",
		"empty":           "No documents.",
		"subject":         "Subject",
		"from":            "From",
		"to":              "To",
		"received":        "Received",
		"sent_at":         "Sent",
		"priority":        "Priority",
		"due":             "Due date",
		"unread":          "Unread",
		"kind":            "Kind",
		"kind_edoc":       "Document",
		"kind_status":     "Status",
		"code":            "Number/notation",
		"doc_id":          "Document id",
		"promulgation":    "Place, date of issue",
		"doc_type":        "Document type",
		"signer":          "Signed by",
		"attachments":     "Attachments",
		"no_attachments":  "No attachments.",
		"timeline":        "Timeline",
		"recipient":       "Recipient",
		"state":           "State",
		"events":          "Events",
		"overdue":         "Overdue",
		"actions":         "Update the status",
		"reason":          "Reason",
		"reason_required": "A rejection needs a reason.",
		"bad_code":        "Not a valid status code.",
		"status_sent":     "Status sent",
		"status_failed":   "The status could not be sent",
		"auto01_failed":   "The automatic 01 (received) status could not be sent",
		"hosted":          "Statuses are signed with the agency's signing key, which the hub holds (hosted signing).",
		"not_hosted":      "The hub does not hold this agency's signing key: statuses are sent unsigned.",
		"forbidden":       "You may not see this page.",
		"not_found":       "No such document.",
		"bad_request":     "Bad request.",
		"csrf":            "Your session is invalid or expired; reload the page.",
		"unavailable":     "The service is unavailable for now; try again later.",
		"error":           "Error",
		"back":            "Back",
		"status_of":       "Status for document",
		"status_code":     "Status code",
		"description":     "Description",
		"open":            "Open",
		"clerks_only":     "This page is for an agency's clerks.",
		"s01":             "01 Received",
		"s02":             "02 Rejected",
		"s03":             "03 Accepted",
		"s04":             "04 Assigned",
		"s05":             "05 Processing",
		"s06":             "06 Completed",
		"s13":             "13 Take back",
		"s15":             "15 Take-back agreed",
		"s16":             "16 Take-back refused",
		"btn02":           "Reject",
		"btn03":           "Accept",
		"btn04":           "Assign",
		"btn05":           "Processing",
		"btn06":           "Completed",
		"ev_accepted":     "accepted by the hub",
		"ev_routed":       "routed",
		"ev_delivered":    "delivered",
		"ev_fetched":      "fetched",
		"ev_acked":        "acknowledged",
		"ev_status":       "status",
		"ev_forwarded":    "forwarded",
		"prio0":           "Normal",
		"prio1":           "Urgent",
		"prio2":           "Very urgent",
		"prio3":           "Express",
		"prio4":           "Express, timed",
	},
}

// State labels a recipient's state or a status code: "03", "fetched",
// "acked:done".
func (m msgs) State(s string) string {
	if len(s) == 2 && s[0] >= '0' && s[0] <= '9' {
		if l, ok := m["s"+s]; ok {
			return l
		}
		return s
	}
	typ, result, _ := strings.Cut(s, ":")
	l := m.T("ev_" + typ)
	if result != "" {
		l += " (" + result + ")"
	}
	return l
}
