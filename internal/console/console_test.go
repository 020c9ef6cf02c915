package console_test

import (
	"bytes"
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/console"
	"github.com/lienthong/lienthong/internal/hubtest"
	"github.com/lienthong/lienthong/internal/organ"
	"github.com/lienthong/lienthong/internal/testwait"
)

const (
	g22 = "000.00.00.G22"
	h29 = "000.00.00.H29"
	g12 = "000.00.00.G12"

	subject = "V/v rà soát, đơn giản hóa thủ tục hành chính nội bộ năm 2025"
)

type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

func (b *browser) do(method, path string, form url.Values) (int, string, http.Header) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, html.UnescapeString(string(raw)), resp.Header
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrf(t *testing.T, body string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token in %s", body)
	}
	return m[1]
}

func (b *browser) login(user, pw string) (int, string) {
	b.t.Helper()
	_, body, _ := b.do(http.MethodGet, "/", nil)
	code, body, _ := b.do(http.MethodPost, "/login", url.Values{"csrf": {csrf(b.t, body)}, "username": {user}, "password": {pw}})
	return code, body
}

// page gets path and fails unless it answers 200.
func (b *browser) page(path string) string {
	b.t.Helper()
	code, body, _ := b.do(http.MethodGet, path, nil)
	if code != http.StatusOK {
		b.t.Fatalf("GET %s: %d %s", path, code, body)
	}
	return body
}

// testDirectory is the test agencies, each named "Cơ quan <id>".
// serveConsole serves the console with o on a test server, signing sessions
// with a fixed key, and returns its base URL.
func serveConsole(t *testing.T, o console.Options) string {
	t.Helper()
	o.SessionKey = bytes.Repeat([]byte{7}, 32)
	c, err := console.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-ran; err != nil {
			t.Errorf("console.Run: %v", err)
		}
	})
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	return srv.URL
}

func testDirectory(t *testing.T) *organ.Directory {
	t.Helper()
	var list []organ.Agency
	for _, id := range hubtest.Agencies {
		list = append(list, organ.Agency{ID: organ.ID(id), Name: "Cơ quan " + id})
	}
	dir, err := organ.NewDirectory(list)
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// hosted gives the console the agencies' own keys (hosted signing).
func hosted(h *hubtest.Hub, ids ...string) map[string]console.Signer {
	signers := map[string]console.Signer{}
	for _, id := range ids {
		c := h.Agencies[id].Cert
		signers[id] = console.Signer{Cert: c.Cert, Chain: c.Chain, Key: c.Key}
	}
	return signers
}

// senderAndRecipient runs a console whose G22 and H29 clerks hold their
// agencies' keys, and signs each in.
func senderAndRecipient(t *testing.T, h *hubtest.Hub) (g22Clerk, h29Clerk *browser) {
	t.Helper()
	hash, err := console.HashPassword("mật khẩu đúng")
	if err != nil {
		t.Fatal(err)
	}
	base := serveConsole(t, console.Options{
		Hub: h.Hub,
		Accounts: []console.Account{
			{Username: "vanthu.h29", PasswordHash: hash, Role: console.RoleClerk, OrganID: h29},
			{Username: "vanthu.g22", PasswordHash: hash, Role: console.RoleClerk, OrganID: g22},
		},
		Signers: hosted(h, g22, h29),
	})
	g22Clerk, h29Clerk = newBrowser(t, base), newBrowser(t, base)
	if code, _ := g22Clerk.login("vanthu.g22", "mật khẩu đúng"); code != http.StatusSeeOther {
		t.Fatalf("G22 sign in: %d", code)
	}
	if code, _ := h29Clerk.login("vanthu.h29", "mật khẩu đúng"); code != http.StatusSeeOther {
		t.Fatalf("H29 sign in: %d", code)
	}
	return g22Clerk, h29Clerk
}

func TestClerks(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	hash, err := console.HashPassword("mật khẩu đúng")
	if err != nil {
		t.Fatal(err)
	}
	iss := h.Agencies[h29].Cert
	base := serveConsole(t, console.Options{
		Hub: h.Hub,
		Accounts: []console.Account{
			{Username: "vanthu.h29", PasswordHash: hash, Role: console.RoleClerk, OrganID: h29},
			{Username: "khac.h29", PasswordHash: hash, Role: console.RoleClerk, OrganID: h29},
			{Username: "vanthu.g12", PasswordHash: hash, Role: console.RoleClerk, OrganID: g12},
			{Username: "vanthu.g22", PasswordHash: hash, Role: console.RoleClerk, OrganID: g22},
		},
		Signers: map[string]console.Signer{h29: {Cert: iss.Cert, Chain: iss.Chain, Key: iss.Key}},
	})

	clerk := newBrowser(t, base)
	if code, _, hdr := clerk.do(http.MethodGet, "/inbox", nil); code != http.StatusSeeOther || hdr.Get("Location") != "/" {
		t.Fatalf("inbox before signing in: %d %q", code, hdr.Get("Location"))
	}
	if body := clerk.page("/"); !strings.Contains(body, "Đăng nhập") {
		t.Fatalf("sign-in page: %s", body)
	}
	if body := clerk.page("/?lang=en"); !strings.Contains(body, "Sign in") {
		t.Fatalf("English sign-in page: %s", body)
	}
	clerk.page("/?lang=vi")

	// Five wrong passwords lock the account, even against the right one.
	other := newBrowser(t, base)
	for i := 1; i <= 5; i++ {
		code, body := other.login("khac.h29", "sai")
		want := http.StatusUnauthorized
		if i == 5 {
			want = http.StatusTooManyRequests
		}
		if code != want {
			t.Fatalf("failure %d: %d %s", i, code, body)
		}
	}
	if code, body := other.login("khac.h29", "mật khẩu đúng"); code != http.StatusTooManyRequests || !strings.Contains(body, "tạm khóa") {
		t.Fatalf("locked account: %d %s", code, body)
	}
	// A sign-in without the form's token is refused.
	if code, _, _ := newBrowser(t, base).do(http.MethodPost, "/login", url.Values{"username": {"vanthu.h29"}, "password": {"mật khẩu đúng"}}); code != http.StatusForbidden {
		t.Fatalf("sign-in without CSRF: %d", code)
	}

	if code, _ := clerk.login("vanthu.h29", "mật khẩu đúng"); code != http.StatusSeeOther {
		t.Fatalf("sign in: %d", code)
	}

	// G22 sends a signed letter to H29 through the REST API.
	id := sendREST(t, h)
	testwait.Eventually(t, "the letter in H29's inbox page", func() bool {
		body := clerk.page("/inbox")
		return strings.Contains(body, subject) && strings.Contains(body, "/doc/"+id) && strings.Contains(body, "Chưa đọc")
	})

	body := clerk.page("/doc/" + id)
	for _, want := range []string{subject, "Quá trình xử lý", h29, "ký hộ", "Tiếp nhận"} {
		if !strings.Contains(body, want) {
			t.Fatalf("document page lacks %q: %s", want, body)
		}
	}
	// Only the rejection's form asks for a reason (edxml.StatusCode.NeedsReason).
	if n := strings.Count(body, `name="reason" required`); n != 1 || !strings.Contains(body, `value="02">
<label>`) {
		t.Fatalf("document page has %d reason fields, want one, in the 02 form: %s", n, body)
	}
	if body := clerk.page("/inbox"); strings.Contains(body, "Chưa đọc") {
		t.Fatalf("the opened letter is still unread: %s", body)
	}
	token := csrf(t, body)

	// Without the token: 403, and nothing is sent.
	if code, _, _ := clerk.do(http.MethodPost, "/doc/"+id+"/status", url.Values{"code": {"03"}}); code != http.StatusForbidden {
		t.Fatalf("status without CSRF: %d", code)
	}
	// A rejection needs a reason.
	if code, _, hdr := clerk.do(http.MethodPost, "/doc/"+id+"/status", url.Values{"csrf": {token}, "code": {"02"}}); code != http.StatusSeeOther ||
		!strings.Contains(hdr.Get("Location"), "reason_required") {
		t.Fatalf("02 without a reason: %d %s", code, hdr.Get("Location"))
	}
	// The 01 sent on opening reaches G22.
	testwait.Eventually(t, "the automatic 01 at G22", func() bool {
		items, _, err := h.Hub.Inbox(g22, "status", 100, "")
		return err == nil && len(items) == 1
	})
	code, _, hdr := clerk.do(http.MethodPost, "/doc/"+id+"/status", url.Values{"csrf": {token}, "code": {"03"}})
	if code != http.StatusSeeOther || hdr.Get("Location") != "/doc/"+id+"?ok=03" {
		t.Fatalf("accept: %d %s", code, hdr.Get("Location"))
	}
	testwait.Eventually(t, "the 03 at G22", func() bool {
		items, _, err := h.Hub.Inbox(g22, "status", 100, "")
		if err != nil || len(items) != 2 {
			return false
		}
		tl, err := h.Hub.Timeline(g22, id)
		return err == nil && len(tl.Recipients) == 1 && tl.Recipients[0].State == "03"
	})
	if body := clerk.page("/doc/" + id + "?ok=03"); !strings.Contains(body, "Đã gửi trạng thái") {
		t.Fatalf("no confirmation: %s", body)
	}

	// The sender's outbox shows the recipient's state.
	sender := newBrowser(t, base)
	if code, _ := sender.login("vanthu.g22", "mật khẩu đúng"); code != http.StatusSeeOther {
		t.Fatalf("G22 sign in: %d", code)
	}
	if body := sender.page("/outbox"); !strings.Contains(body, subject) || !strings.Contains(body, "Đã tiếp nhận") {
		t.Fatalf("outbox: %s", body)
	}
	// The sender may read its letter but not answer it.
	if body := sender.page("/doc/" + id); strings.Contains(body, `value="03"`) {
		t.Fatalf("the sender is offered the recipient's statuses: %s", body)
	}

	// Another agency's clerk cannot open it.
	stranger := newBrowser(t, base)
	if code, _ := stranger.login("vanthu.g12", "mật khẩu đúng"); code != http.StatusSeeOther {
		t.Fatalf("G12 sign in: %d", code)
	}
	// Another agency's clerk is answered as for an id that does not exist.
	unknown := strings.Repeat("0", len(id))
	code, page, _ := stranger.do(http.MethodGet, "/doc/"+id, nil)
	ucode, upage, _ := stranger.do(http.MethodGet, "/doc/"+unknown, nil)
	if code != http.StatusNotFound || code != ucode || strings.ReplaceAll(page, id, unknown) != upage {
		t.Fatalf("G12 opens H29's document: %d, an unknown one: %d; pages differ: %v", code, ucode, strings.ReplaceAll(page, id, unknown) != upage)
	}
	_, sbody, _ := stranger.do(http.MethodGet, "/inbox", nil)
	if code, _, _ := stranger.do(http.MethodPost, "/doc/"+id+"/status", url.Values{"csrf": {csrf(t, sbody)}, "code": {"03"}}); code != http.StatusNotFound {
		t.Fatalf("G12 answers H29's document: %d", code)
	}

	// Signing out ends the session.
	if code, _, _ := clerk.do(http.MethodPost, "/logout", url.Values{"csrf": {token}}); code != http.StatusSeeOther {
		t.Fatalf("logout: %d", code)
	}
	if code, _, _ := clerk.do(http.MethodGet, "/inbox", nil); code != http.StatusSeeOther {
		t.Fatalf("inbox after logout: %d", code)
	}
}

// sendREST posts the edoc-new fixture from G22 to H29, signed, and returns
// its packet id.
func sendREST(t *testing.T, h *hubtest.Hub) string {
	t.Helper()
	packet, err := os.ReadFile("../edxml/testdata/fixtures/edoc-new.xml")
	if err != nil {
		t.Fatal(err)
	}
	return sendPacket(t, h, g22, packet, time.Time{})
}
