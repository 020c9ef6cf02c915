package console

import (
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/trust"
)

func TestHumanSize(t *testing.T) {
	tests := []struct {
		lang string
		give int64
		want string
	}{
		{"vi", 706, "706 B"},
		{"vi", 1258291, "1,2 MB"},
		{"en", 1258291, "1.2 MB"},
		{"vi", 50 << 20, "50 MB"},
		{"vi", 1536, "1,5 KB"},
		{"vi", 3 << 30, "3 GB"},
	}
	for _, tt := range tests {
		if got := humanSize(tt.lang, tt.give); got != tt.want {
			t.Errorf("humanSize(%s, %d) = %q, want %q", tt.lang, tt.give, got, tt.want)
		}
	}
}

// Timeline states read as words: no "(done)", no bare result or key.
func TestEventWords(t *testing.T) {
	vi := messages["vi"]
	tests := []struct {
		give string
		want string
	}{
		{"acked:done", "Hệ thống của đơn vị nhận xác nhận đã nhận văn bản"},
		{"acked:fail", "Hệ thống của đơn vị nhận báo không xử lý được văn bản"},
		{"acked:other", "Hệ thống của đơn vị nhận đã trả lời"},
		{"forwarded:hub-b", "Đã chuyển tiếp sang trục liên thông hub-b"},
		{"fetched", "Đơn vị nhận đã tải văn bản về"},
		{"revoked", "Văn bản đã bị thu hồi"},
		{"03", "Đã tiếp nhận"},
		{"nonsense", "Sự kiện khác"},
	}
	for _, tt := range tests {
		if got := vi.State(tt.give); got != tt.want {
			t.Errorf("State(%q) = %q, want %q", tt.give, got, tt.want)
		}
	}
}

// Every code the trust package reports has a plain sentence in both
// languages; an unknown one a generic sentence, never the code.
func TestProblemSentences(t *testing.T) {
	codes := []string{trust.CodeMissing, trust.CodeMalformed, trust.CodeInvalid, trust.CodeDigestMismatch, trust.CodeUntrusted,
		trust.CodeExpired, trust.CodeNotYetValid, trust.CodeRevoked, trust.CodeSignerMismatch, trust.CodeUnsigned,
		trust.CodeRevocationUnknown, trust.CodeWeakAlgorithm, trust.CodeSigningTimeOutside}
	for _, lang := range []string{"vi", "en"} {
		m := messages[lang]
		for _, c := range codes {
			if _, ok := m["sigc_"+c]; !ok {
				t.Errorf("%s: no sentence for %s", lang, c)
			}
		}
		if got := sigClause(m, trust.Problem{Code: "sig.new_thing", Message: "x"}); got != m["sigc_other"] {
			t.Errorf("%s: unknown code reads %q", lang, got)
		}
	}
	now := time.Now()
	r := &trust.Report{Valid: false, Signatures: []trust.Signature{{Type: trust.TypeCMS, SignedAt: &now,
		Errors: []trust.Problem{{Code: trust.CodeDigestMismatch, Message: "digest differs"}}}}}
	v := newReportView(messages["vi"], "vi", r)
	if want := "Chữ ký số không hợp lệ: nội dung văn bản đã bị thay đổi sau khi ký."; v.Verdict != want {
		t.Errorf("verdict %q, want %q", v.Verdict, want)
	}
	if strings.Contains(v.Signatures[0].Errors[0].Message, "digest") {
		t.Errorf("an English message on a Vietnamese page: %+v", v.Signatures[0].Errors[0])
	}
	// Each problem names its certificate, readable, in any language.
	msg := `revocation status of "CN=Cơ quan G22,0.9.2342.19200300.100.1.1=#130d3030302e30302e30302e473232" is unknown: no CRL for its issuer`
	ps := problems(messages["vi"], "vi", []trust.Problem{{Code: trust.CodeRevocationUnknown, Message: msg}})
	if want := "CN=Cơ quan G22, UID=000.00.00.G22"; ps[0].Cert != want || ps[0].Message != "" {
		t.Errorf("problem %+v, want the certificate %q and no English", ps[0], want)
	}
}
