package console

// Messages of the shared layout, the sign-in page and the compose form.
func init() {
	addMessages(msgs{
		"skip_to_main":     "Chuyển đến nội dung chính",
		"files_pick":       "Chọn tệp…",
		"files_none":       "Chưa chọn tệp nào",
		"nav_main":         "Chức năng chính",
		"signed_in_as":     "Đang đăng nhập:",
		"lang_switch":      "Ngôn ngữ",
		"recipients_count": "Số nơi nhận đã chọn:",
		"recipients_hint":  "Chọn các cơ quan nhận văn bản.",
		"recipients_typed": "Mã định danh cơ quan nhận, cách nhau bởi dấu phẩy",
		"due_hint":         "ngày/tháng/năm, ví dụ 31/12/2026",
		"size_unit":        "MB",
		"refresh_pause":    "Tạm dừng tự cập nhật",
		"refresh_resume":   "Tiếp tục tự cập nhật",
	}, msgs{
		"skip_to_main":     "Skip to main content",
		"files_pick":       "Choose files…",
		"files_none":       "No file chosen",
		"nav_main":         "Main functions",
		"signed_in_as":     "Signed in as",
		"lang_switch":      "Language",
		"recipients_count": "Recipients selected:",
		"recipients_hint":  "Tick the agencies that receive the document.",
		"recipients_typed": "Recipients' agency identifiers, separated by commas",
		"due_hint":         "day/month/year, e.g. 31/12/2026",
		"size_unit":        "MB",
		"refresh_pause":    "Pause the refresh",
		"refresh_resume":   "Resume the refresh",
	})
}
