package console_test

import (
	"bytes"
	"html"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/internal/console"
	"github.com/lienthong/lienthong/internal/hubtest"
	"github.com/lienthong/lienthong/internal/testwait"
)

// multipart posts a form: fields first (csrf among them), then files.
func (b *browser) multipart(path string, fields [][2]string, files map[string][]byte) (int, string, http.Header) {
	b.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, f := range fields {
		_ = mw.WriteField(f[0], f[1])
	}
	for name, content := range files {
		w, _ := mw.CreateFormFile("files", name)
		_, _ = w.Write(content)
	}
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, b.base+path, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, html.UnescapeString(string(raw)), resp.Header
}

// raw gets path and returns the exact body.
func (b *browser) raw(path string) (int, []byte, http.Header) {
	b.t.Helper()
	resp, err := b.c.Get(b.base + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, resp.Header
}

func TestComposeAndDownload(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	hash, err := console.HashPassword("mật khẩu đúng")
	if err != nil {
		t.Fatal(err)
	}
	dir := testDirectory(t)
	signers := hosted(h, g22, h29)
	base := serveConsole(t, console.Options{
		Hub: h.Hub,
		Accounts: []console.Account{
			{Username: "vanthu.h29", PasswordHash: hash, Role: console.RoleClerk, OrganID: h29},
			{Username: "vanthu.g12", PasswordHash: hash, Role: console.RoleClerk, OrganID: g12},
			{Username: "vanthu.g22", PasswordHash: hash, Role: console.RoleClerk, OrganID: g22},
		},
		Signers:   signers,
		Directory: dir,
	})

	sender := newBrowser(t, base)
	if code, _ := sender.login("vanthu.g22", "mật khẩu đúng"); code != http.StatusSeeOther {
		t.Fatalf("G22 sign in: %d", code)
	}
	form := sender.page("/compose")
	for _, want := range []string{"Soạn văn bản", "do trục liên thông lưu giữ", `value="` + h29 + `"`, "Hỏa tốc", `enctype="multipart/form-data"`} {
		if !strings.Contains(form, want) {
			t.Fatalf("compose page lacks %q: %s", want, form)
		}
	}
	if strings.Contains(form, `value="`+g22+`"`) {
		t.Fatalf("the sender is offered as a recipient: %s", form)
	}
	checkComposeForm(t, form)
	token := csrf(t, form)
	const subj = "V/v thử nghiệm soạn văn bản trên giao diện web"
	fields := [][2]string{{"csrf", token}, {"to", h29}, {"number", "42"}, {"notation", "VPCP-TTĐT"},
		{"subject", subj}, {"type_name", "Tờ trình"}, {"priority", "1"}, {"due", "15/1/2030"},
		{"signer_name", "Nguyễn Văn A"}, {"signer_position", "Phó Chủ nhiệm"}}
	pdf := []byte("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
	const pdfName = "Công văn số 42.pdf"

	// A non-PDF is refused, with a message in Vietnamese.
	code, body, _ := sender.multipart("/compose", fields, map[string][]byte{"ghi-chu.txt": []byte("không phải PDF")})
	if code != http.StatusBadRequest || !strings.Contains(body, "không phải là tệp PDF") {
		t.Fatalf("non-PDF upload: %d %s", code, body)
	}
	// Without the token: 403.
	if code, _, _ := sender.multipart("/compose", fields[1:], map[string][]byte{pdfName: pdf}); code != http.StatusForbidden {
		t.Fatalf("compose without CSRF: %d", code)
	}

	code, body, hdr := sender.multipart("/compose", fields, map[string][]byte{pdfName: pdf})
	loc := hdr.Get("Location")
	if code != http.StatusSeeOther || !strings.HasPrefix(loc, "/outbox?new=") {
		t.Fatalf("compose: %d %q %s", code, loc, body)
	}
	id := strings.TrimPrefix(loc, "/outbox?new=")
	if body := sender.page(loc); !strings.Contains(body, subj) || !strings.Contains(body, "Đã gửi văn bản") || !strings.Contains(body, `class="new"`) {
		t.Fatalf("outbox after compose: %s", body)
	}

	clerk := newBrowser(t, base)
	if code, _ := clerk.login("vanthu.h29", "mật khẩu đúng"); code != http.StatusSeeOther {
		t.Fatalf("H29 sign in: %d", code)
	}
	testwait.Eventually(t, "the composed letter in H29's inbox", func() bool {
		body := clerk.page("/inbox")
		return strings.Contains(body, subj) && strings.Contains(body, "/doc/"+id)
	})
	body = clerk.page("/doc/" + id)
	for _, want := range []string{subj, "42/VPCP-TTĐT", "Cơ quan " + g22, "Nguyễn Văn A", "15/01/2030", "Tờ trình", "/doc/" + id + "/file/0", pdfName} {
		if !strings.Contains(body, want) {
			t.Fatalf("document page lacks %q: %s", want, body)
		}
	}
	code, got, hdr := clerk.raw("/doc/" + id + "/file/0")
	if code != http.StatusOK || !bytes.Equal(got, pdf) {
		t.Fatalf("download: %d %q", code, got)
	}
	if hdr.Get("Content-Type") != "application/pdf" || hdr.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("download headers: %v", hdr)
	}
	cd := hdr.Get("Content-Disposition")
	_, params, err := mime.ParseMediaType(cd)
	if err != nil || !strings.Contains(cd, "filename*=UTF-8''") || params["filename"] != pdfName {
		t.Fatalf("Content-Disposition %q: %v %v", cd, params, err)
	}
	if code, _, _ := clerk.raw("/doc/" + id + "/file/1"); code != http.StatusNotFound {
		t.Fatalf("a missing attachment: %d", code)
	}

	// Another agency's clerk may not download it.
	stranger := newBrowser(t, base)
	if code, _ := stranger.login("vanthu.g12", "mật khẩu đúng"); code != http.StatusSeeOther {
		t.Fatalf("G12 sign in: %d", code)
	}
	// Answered as an unknown id, so the id does not tell it the packet exists.
	if code, raw, _ := stranger.raw("/doc/" + id + "/file/0"); code != http.StatusNotFound || bytes.Contains(raw, pdf) {
		t.Fatalf("G12 downloads H29's attachment: %d", code)
	}
}

// checkComposeForm checks the compose page a clerk of G22 gets: agencies
// picked by name from ticked boxes, the document type by name from the
// list of Nghị định 30/2020, no type code field, sizes in MB, a due date
// read as dd/MM/yyyy, and the upload bar hidden until a send starts.
func checkComposeForm(t *testing.T, form string) {
	t.Helper()
	for _, want := range []string{
		`<input type="checkbox" name="to" value="` + h29 + `"> <span class="name">Cơ quan ` + h29 + `</span> <small class="code">` + h29 + `</small>`,
		`<select name="type_name" required>`,
		`<option selected>Công văn</option>`,
		`<option>Thư công</option>`,
		`<option>Giấy nghỉ phép</option>`,
		`50 MB.`,
		`<progress id="upload-progress" max="1" value="0" hidden>`,
		`<span class="hint" id="due-hint">ngày/tháng/năm`,
		`<button type="submit" class="primary">Ký và gửi</button>`,
		`<a href="/compose" aria-current="page">`,
		`Cơ quan ` + g22,
	} {
		if !strings.Contains(form, want) {
			t.Errorf("compose page lacks %q", want)
		}
	}
	for _, bad := range []string{"MiB", `name="type"`, "Mã loại văn bản", `<select name="to"`, `type="date"`, `aria-current="page">Văn bản đến`} {
		if strings.Contains(form, bad) {
			t.Errorf("compose page has %q", bad)
		}
	}
	if n := strings.Count(form, "<option>") + strings.Count(form, "<option selected>"); n != 29 {
		t.Errorf("compose page offers %d document types, want the 29 of Nghị định 30/2020", n)
	}
	if n := strings.Count(form, `class="primary"`); n != 1 {
		t.Errorf("compose page has %d primary buttons, want 1", n)
	}
}

// The form's document type and due date are checked on the server, and
// the stylesheet hides what is hidden (the upload bar showed, empty,
// because a display rule beat the hidden attribute).
func TestComposeFormChecks(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	hash, err := console.HashPassword("mật khẩu đúng")
	if err != nil {
		t.Fatal(err)
	}
	base := serveConsole(t, console.Options{
		Hub:      h.Hub,
		Accounts: []console.Account{{Username: "vanthu.g22", PasswordHash: hash, Role: console.RoleClerk, OrganID: g22}},
		Signers:  hosted(h, g22), Directory: testDirectory(t),
	})
	sender := newBrowser(t, base)
	if code, _ := sender.login("vanthu.g22", "mật khẩu đúng"); code != http.StatusSeeOther {
		t.Fatalf("G22 sign in: %d", code)
	}
	token := csrf(t, sender.page("/compose"))
	tests := []struct {
		name     string
		typeName string
		due      string
		want     string
	}{
		{name: "a type not in the list", typeName: "Công văn hỏa tốc", want: "Hãy chọn loại văn bản trong danh sách."},
		{name: "no type", typeName: "", want: "Hãy chọn loại văn bản trong danh sách."},
		{name: "a day that does not exist", typeName: "Công văn", due: "31/02/2030", want: "Hạn xử lý không phải là ngày hợp lệ"},
		{name: "month first", typeName: "Công văn", due: "01/15/2030", want: "Hạn xử lý không phải là ngày hợp lệ"},
		// A valid date goes on to the next check, the missing file, and is
		// shown back as dd/MM/yyyy.
		{name: "ISO date", typeName: "Quyết định", due: "2030-01-15", want: `value="15/01/2030"`},
		{name: "short day and month", typeName: "Quyết định", due: "5/1/2030", want: `value="05/01/2030"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fields := [][2]string{{"csrf", token}, {"to", h29}, {"number", "1"}, {"notation", "VPCP"},
				{"subject", "V/v thử"}, {"type_name", tt.typeName}, {"priority", "0"}, {"due", tt.due}}
			code, body, _ := sender.multipart("/compose", fields, nil)
			if code != http.StatusBadRequest || !strings.Contains(body, tt.want) {
				t.Fatalf("got %d, want 400 with %q: %s", code, tt.want, body)
			}
			if tt.typeName != "" && !strings.Contains(body, "<option selected>"+tt.typeName+"</option>") && strings.Contains(tt.want, "value=") {
				t.Errorf("the chosen type %q is not kept", tt.typeName)
			}
		})
	}
	_, css, _ := sender.raw("/static/console.css")
	if !strings.Contains(string(css), "[hidden]{display:none!important}") {
		t.Error("console.css does not make the hidden attribute win over display rules")
	}
}

// A local write failure while composing is the server's fault: 503 with
// Retry-After, never a 4xx that tells the clerk the letter is wrong.
func TestComposeLocalFailureIs503(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	hash, err := console.HashPassword("mật khẩu đúng")
	if err != nil {
		t.Fatal(err)
	}
	// A spool directory that cannot be written: its parent is a file.
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	base := serveConsole(t, console.Options{
		Hub:      h.Hub,
		Accounts: []console.Account{{Username: "vanthu.g22", PasswordHash: hash, Role: console.RoleClerk, OrganID: g22}},
		Signers:  hosted(h, g22), Directory: testDirectory(t), SpoolDir: filepath.Join(notDir, "spool"),
	})
	sender := newBrowser(t, base)
	if code, _ := sender.login("vanthu.g22", "mật khẩu đúng"); code != http.StatusSeeOther {
		t.Fatalf("G22 sign in: %d", code)
	}
	fields := [][2]string{{"csrf", csrf(t, sender.page("/compose"))}, {"to", h29}, {"number", "1"}, {"notation", "VPCP"},
		{"subject", "V/v thử"}, {"type_name", "Công văn"}, {"priority", "0"},
		{"signer_name", "Nguyễn Văn A"}, {"signer_position", "Phó Chủ nhiệm"}}
	code, _, hdr := sender.multipart("/compose", fields, map[string][]byte{"a.pdf": []byte("%PDF-1.4\n%%EOF\n")})
	if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" {
		t.Fatalf("compose with an unwritable spool: %d, Retry-After %q; want 503 with Retry-After", code, hdr.Get("Retry-After"))
	}
}
