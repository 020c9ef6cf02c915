package edxml_test

import (
	"encoding/json"
	"testing"

	"github.com/lienthong/lienthong/internal/edxml"
)

// TestStatusCodeRules pins the vocabulary of FORMAT.md §6 that hub, track,
// route, client, console and vdxp share.
func TestStatusCodeRules(t *testing.T) {
	type rules struct {
		valid, main, closes, withdraws, fromSender, answers, reason bool
		rank                                                        int
		name, label                                                 string
	}
	tests := []struct {
		give edxml.StatusCode
		want rules
	}{
		{"01", rules{valid: true, main: true, rank: 1, name: "Đã đến", label: "inbox"}},
		{"02", rules{valid: true, closes: true, withdraws: true, reason: true, name: "Từ chối", label: "rejection"}},
		{"03", rules{valid: true, main: true, rank: 2, name: "Đã tiếp nhận", label: "acceptance"}},
		{"04", rules{valid: true, main: true, rank: 3, name: "Phân công", label: "assignment"}},
		{"05", rules{valid: true, main: true, rank: 4, name: "Đang xử lý", label: "processing"}},
		{"06", rules{valid: true, main: true, rank: 5, name: "Hoàn thành", label: "finish"}},
		{"13", rules{valid: true, closes: true, fromSender: true, reason: true, name: "Lấy lại", label: "cancellation"}},
		{"15", rules{valid: true, closes: true, withdraws: true, answers: true, name: "Đồng ý cập nhật/lấy lại", label: "change-acceptance"}},
		{"16", rules{valid: true, closes: true, answers: true, name: "Từ chối cập nhật/lấy lại", label: "change-rejection"}},
		{"14", rules{}},
		{"3", rules{}},
		{"99", rules{}},
		{"", rules{}},
	}
	for _, tt := range tests {
		c := tt.give
		got := rules{c.Valid(), c.IsMainLine(), c.Closes(), c.Withdraws(), c.FromSender(), c.AnswersChange(), c.NeedsReason(), c.Rank(), c.Name(), c.Label()}
		if got != tt.want {
			t.Errorf("%q: %+v, want %+v", c, got, tt.want)
		}
	}
	if n := len(edxml.StatusCodes); n != 9 {
		t.Errorf("%d status codes, want 9", n)
	}
	for _, c := range edxml.StatusCodes {
		if !c.Valid() {
			t.Errorf("%q listed but not valid", c)
		}
	}
}

func TestStatusCodeResolve(t *testing.T) {
	tests := []struct {
		give, want edxml.StatusCode
	}{
		{"1", "01"}, {"6", "06"}, {"7", "7"}, {"14", "15"}, {"13", "13"}, {"99", "99"}, {"", ""},
	}
	for _, tt := range tests {
		if got := tt.give.Resolve(); got != tt.want {
			t.Errorf("Resolve(%q) = %q, want %q", tt.give, got, tt.want)
		}
	}
}

// TestStatusCodeJSON: the type is a string on the wire.
func TestStatusCodeJSON(t *testing.T) {
	b, err := json.Marshal(struct {
		C edxml.StatusCode `json:"c"`
	}{edxml.StatusTakeBack})
	if err != nil || string(b) != `{"c":"13"}` {
		t.Errorf("marshalled %s, %v", b, err)
	}
}
