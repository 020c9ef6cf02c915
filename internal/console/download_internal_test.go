package console

import "testing"

func TestContentDisposition(t *testing.T) {
	for _, c := range []struct{ name, want string }{
		{"../../etc/passwd", `attachment; filename="passwd"; filename*=UTF-8''passwd`},
		{`C:\Users\vt\Tờ trình.pdf`, `attachment; filename="T_ tr_nh.pdf"; filename*=UTF-8''T%E1%BB%9D%20tr%C3%ACnh.pdf`},
		{"..", `attachment; filename="tep-dinh-kem-3"; filename*=UTF-8''tep-dinh-kem-3`},
		{"a\r\n\"b.pdf", `attachment; filename="ab.pdf"; filename*=UTF-8''ab.pdf`},
	} {
		if got := contentDisposition(c.name, 3); got != c.want {
			t.Errorf("%q: got %s, want %s", c.name, got, c.want)
		}
	}
	if got := attachmentType("text/html; <script>"); got != "application/octet-stream" {
		t.Errorf("bad media type: %s", got)
	}
}

func TestAttachmentTypeNeverActive(t *testing.T) {
	tests := []struct{ give, want string }{
		{"application/pdf", "application/pdf"},
		{"text/html", "application/octet-stream"},
		{"image/svg+xml", "application/octet-stream"},
		{"application/xhtml+xml", "application/octet-stream"},
		{"application/javascript", "application/octet-stream"},
		{"nonsense", "application/octet-stream"},
		{"", "application/octet-stream"},
	}
	for _, tt := range tests {
		if got := attachmentType(tt.give); got != tt.want {
			t.Errorf("attachmentType(%q) = %q, want %q", tt.give, got, tt.want)
		}
	}
}
