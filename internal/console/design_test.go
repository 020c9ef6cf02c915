package console_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/internal/console"
	"github.com/lienthong/lienthong/internal/hubtest"
)

// The shared layout and the sign-in page: a skip link to the main content,
// labels tied to their fields, one primary button, the language switch
// naming the current language, and for a signed-in clerk the agency by its
// directory name and the current page marked in the navigation.
func TestLayoutAndSignIn(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	hash, err := console.HashPassword("mật khẩu đúng")
	if err != nil {
		t.Fatal(err)
	}
	base := serveConsole(t, console.Options{
		Hub:       h.Hub,
		Accounts:  []console.Account{{Username: "vanthu.h29", PasswordHash: hash, Role: console.RoleClerk, OrganID: h29}},
		Directory: testDirectory(t),
	})
	b := newBrowser(t, base)
	signIn := b.page("/")
	for _, want := range []string{
		`<a class="skip" href="#main">Chuyển đến nội dung chính</a>`,
		`<main id="main" tabindex="-1" class="narrow">`,
		`<label for="username">Tên đăng nhập</label>`,
		`<input id="username" name="username"`,
		`<label for="password">Mật khẩu</label>`,
		`<input id="password" name="password" type="password"`,
		`<button type="submit" class="primary">Đăng nhập</button>`,
		`<nav class="lang" aria-label="Ngôn ngữ"><a href="?lang=vi" lang="vi" hreflang="vi" aria-current="true">Tiếng Việt</a>`,
		`<footer>`,
	} {
		if !strings.Contains(signIn, want) {
			t.Errorf("the sign-in page lacks %q", want)
		}
	}
	if n := strings.Count(signIn, `class="primary"`); n != 1 {
		t.Errorf("the sign-in page has %d primary buttons, want 1", n)
	}
	if code, _ := b.login("vanthu.h29", "mật khẩu đúng"); code != http.StatusSeeOther {
		t.Fatalf("sign in: %d", code)
	}
	inbox := b.page("/inbox")
	for _, want := range []string{
		`<a href="/inbox" aria-current="page">Văn bản đến</a>`,
		`<a href="/outbox">Văn bản đi</a>`,
		`<strong>vanthu.h29</strong> · Cơ quan ` + h29 + `</span>`,
	} {
		if !strings.Contains(inbox, want) {
			t.Errorf("the inbox lacks %q", want)
		}
	}
	header, _, _ := strings.Cut(inbox, "<main")
	if n := strings.Count(header, `aria-current="page"`); n != 1 {
		t.Errorf("the inbox's navigation marks %d pages current, want 1", n)
	}
	en := b.page("/inbox?lang=en")
	if !strings.Contains(en, `<a class="skip" href="#main">Skip to main content</a>`) || !strings.Contains(en, `hreflang="en" aria-current="true">English</a>`) {
		t.Errorf("the English inbox lacks its skip link or language mark")
	}
}
