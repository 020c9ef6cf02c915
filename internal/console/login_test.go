package console_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/console"
	"github.com/lienthong/lienthong/internal/edge"
	"github.com/lienthong/lienthong/internal/hubtest"
)

const goodPassword = "mật khẩu đúng"

// signInConsole serves a console with one clerk (unless o has accounts),
// behind a trusted proxy on loopback, so a test can speak from any address
// (X-Forwarded-For).
func signInConsole(t *testing.T, o console.Options) string {
	t.Helper()
	if o.Accounts == nil {
		hash, err := console.HashPassword(goodPassword)
		if err != nil {
			t.Fatal(err)
		}
		o.Accounts = []console.Account{{Username: "vanthu.h29", PasswordHash: hash, Role: console.RoleClerk, OrganID: h29}}
	}
	if o.Hub == nil {
		o.Hub = hubtest.Start(t, hubtest.Options{}).Hub
	}
	if o.Proxies == nil {
		o.Proxies, _ = edge.ParseProxies([]string{"127.0.0.0/8", "::1"})
	}
	return serveConsole(t, o)
}

// loginForm is a sign-in form's CSRF pair: the cookie and its token.
type loginForm struct {
	cookie *http.Cookie
	token  string
}

func getLoginForm(t *testing.T, base string) loginForm {
	t.Helper()
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, c := range resp.Cookies() {
		if c.Name == "lt_login" {
			return loginForm{cookie: c, token: csrf(t, string(body))}
		}
	}
	t.Fatal("no sign-in cookie")
	return loginForm{}
}

type answer struct {
	code       int
	body       string
	retryAfter string
}

// postLogin signs in from addr with the form f, without following the
// redirect.
func postLogin(t *testing.T, base string, f loginForm, addr, user, pw string) answer {
	t.Helper()
	form := url.Values{"csrf": {f.token}, "username": {user}, "password": {pw}}
	req, _ := http.NewRequest(http.MethodPost, base+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", addr)
	req.AddCookie(f.cookie)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Error(err)
		return answer{}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, string(body), resp.Header.Get("Retry-After")}
}

// Many parallel sign-ins with one reused CSRF pair (issue 12's flood):
// no more password checks run at once than the slots, and the sign-ins
// that find none free within the wait get 503 with Retry-After instead
// of queueing without bound.
func TestSignInFlood(t *testing.T) {
	const slots, flood = 2, 60
	var running, most, checks atomic.Int64
	undo := console.SetPasswordCheck(func(_, _ string) bool {
		n := running.Add(1)
		defer running.Add(-1)
		for m := most.Load(); n > m; m = most.Load() {
			if most.CompareAndSwap(m, n) {
				break
			}
		}
		checks.Add(1)
		time.Sleep(20 * time.Millisecond) // argon2id's time, without its memory
		return false
	})
	defer undo()
	base := signInConsole(t, console.Options{LoginConcurrency: slots, LoginWait: 50 * time.Millisecond, LoginPerMinute: 10_000})
	f := getLoginForm(t, base)
	answers := make([]answer, flood)
	var wg sync.WaitGroup
	for i := range flood {
		wg.Go(func() {
			// Each from its own address, so only the slots bound them.
			answers[i] = postLogin(t, base, f, fmt.Sprintf("203.0.113.%d", i+1), "vanthu.h29", "sai")
		})
	}
	wg.Wait()
	if m := most.Load(); m > slots {
		t.Errorf("%d password checks ran at once, want at most %d", m, slots)
	}
	var busy, refused int
	for _, a := range answers {
		switch a.code {
		case http.StatusServiceUnavailable:
			busy++
			if a.retryAfter == "" {
				t.Errorf("503 without Retry-After")
			}
		case http.StatusUnauthorized:
			refused++
		default:
			t.Errorf("sign-in answered %d", a.code)
		}
	}
	if busy == 0 {
		t.Errorf("no sign-in was turned away: %d checked with %d slots", refused, slots)
	}
	if int64(refused) != checks.Load() {
		t.Errorf("%d answered 401 but %d checked", refused, checks.Load())
	}
	t.Logf("%d checked, %d told to retry, at most %d at once", refused, busy, most.Load())
}

var csrfValueRE = regexp.MustCompile(`name="csrf" value="[^"]+"`)

// Unknown and known user names take the same path: argon2 runs for both,
// and the answers are the same, the delay after repeated failures too.
func TestSignInSameForUnknownUsers(t *testing.T) {
	hash, err := console.HashPassword(goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	var dummyChecks atomic.Int64
	undo := console.SetPasswordCheck(func(h, pw string) bool {
		if h != hash {
			dummyChecks.Add(1)
		}
		return console.CheckPassword(h, pw)
	})
	defer undo()
	base := signInConsole(t, console.Options{LoginPerMinute: 10_000,
		Accounts: []console.Account{{Username: "vanthu.h29", PasswordHash: hash, Role: console.RoleClerk, OrganID: h29}}})
	f := getLoginForm(t, base)
	for i := 1; i <= 6; i++ {
		known := postLogin(t, base, f, "198.51.100.1", "vanthu.h29", "sai")
		unknown := postLogin(t, base, f, "198.51.100.2", "khong.co.ai", "sai")
		known.body = csrfValueRE.ReplaceAllString(known.body, "")
		unknown.body = csrfValueRE.ReplaceAllString(unknown.body, "")
		if known != unknown {
			t.Fatalf("attempt %d: known %d %q %q, unknown %d %q %q", i, known.code, known.retryAfter, known.body,
				unknown.code, unknown.retryAfter, unknown.body)
		}
	}
	// Five failures ran five checks; the sixth was refused before any.
	if n := dummyChecks.Load(); n != 5 {
		t.Errorf("%d checks against the dummy hash for an unknown name, want 5", n)
	}
}

// Failures delay only the user name from the address they came from: an
// attacker hammering a clerk's name does not keep the clerk out, and the
// attacker's delays grow.
func TestSignInDelaysPerAddress(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC).UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	base := signInConsole(t, console.Options{LoginPerMinute: 10_000, Now: now})
	f := getLoginForm(t, base)
	const attacker, clerk = "203.0.113.66", "198.51.100.7"
	var delays []string
	for i := 1; i <= 8; i++ {
		a := postLogin(t, base, f, attacker, "vanthu.h29", "sai")
		want := http.StatusUnauthorized
		if i >= 5 {
			want = http.StatusTooManyRequests
		}
		if a.code != want {
			t.Fatalf("attacker's attempt %d: %d, want %d", i, a.code, want)
		}
		if a.code == http.StatusTooManyRequests {
			if a.retryAfter == "" {
				t.Fatalf("attempt %d: 429 without Retry-After", i)
			}
			delays = append(delays, a.retryAfter)
		}
	}
	// The right password from the attacker's address waits too.
	if a := postLogin(t, base, f, attacker, "vanthu.h29", goodPassword); a.code != http.StatusTooManyRequests {
		t.Fatalf("the attacker's address with the right password: %d", a.code)
	}
	if a := postLogin(t, base, f, clerk, "vanthu.h29", goodPassword); a.code != http.StatusSeeOther {
		t.Fatalf("the clerk from her own address: %d %s", a.code, a.body)
	}
	// The delay grows with each failure after it: 30 s, then 60 s.
	if delays[0] != "30" {
		t.Errorf("first delay %s s, want 30", delays[0])
	}
	clock.Add(int64(31 * time.Second))
	if a := postLogin(t, base, f, attacker, "vanthu.h29", "sai"); a.code != http.StatusTooManyRequests || a.retryAfter != "60" {
		t.Errorf("after the first delay, a failure: %d Retry-After %q, want 429 and 60", a.code, a.retryAfter)
	}
}

// One address may try only so often, whatever the names; others are not
// affected.
func TestSignInRatePerAddress(t *testing.T) {
	base := signInConsole(t, console.Options{LoginPerMinute: 3})
	f := getLoginForm(t, base)
	for i := range 3 {
		if a := postLogin(t, base, f, "203.0.113.9", fmt.Sprintf("user%d", i), "sai"); a.code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i+1, a.code)
		}
	}
	a := postLogin(t, base, f, "203.0.113.9", "vanthu.h29", goodPassword)
	if a.code != http.StatusTooManyRequests || a.retryAfter == "" {
		t.Fatalf("fourth attempt from one address: %d Retry-After %q", a.code, a.retryAfter)
	}
	if a := postLogin(t, base, f, "198.51.100.7", "vanthu.h29", goodPassword); a.code != http.StatusSeeOther {
		t.Fatalf("another address: %d", a.code)
	}
}

// Behind a trusted TLS proxy (X-Forwarded-Proto: https) cookies are
// Secure and responses carry HSTS; the same header from an untrusted peer
// changes nothing.
func TestSecureBehindTrustedProxy(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	tests := []struct {
		name    string
		proxies []string
		proto   string
		want    bool
	}{
		{"trusted proxy says https", []string{"127.0.0.0/8", "::1"}, "https", true},
		{"trusted proxy says http", []string{"127.0.0.0/8", "::1"}, "http", false},
		{"untrusted peer says https", []string{"10.0.0.0/8"}, "https", false},
		{"no proxies", nil, "https", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proxies, err := edge.ParseProxies(tt.proxies)
			if err != nil {
				t.Fatal(err)
			}
			base := serveConsole(t, console.Options{Hub: h.Hub, Proxies: proxies})
			req, _ := http.NewRequest(http.MethodGet, base+"/?lang=en", nil)
			req.Header.Set("X-Forwarded-Proto", tt.proto)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if len(resp.Cookies()) == 0 {
				t.Fatal("no cookies")
			}
			for _, c := range resp.Cookies() {
				if c.Secure != tt.want {
					t.Errorf("cookie %s Secure = %v, want %v", c.Name, c.Secure, tt.want)
				}
			}
			if got := resp.Header.Get("Strict-Transport-Security") != ""; got != tt.want {
				t.Errorf("HSTS sent = %v, want %v", got, tt.want)
			}
		})
	}
}

// Direct TLS marks cookies Secure and sends HSTS without any proxy.
func TestSecureOverDirectTLS(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	handler, err := console.New(console.Options{Hub: h.Hub, SessionKey: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(handler)
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	c := srv.Client()
	c.Jar = jar
	resp, err := c.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.Header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS over TLS")
	}
	for _, ck := range resp.Cookies() {
		if !ck.Secure {
			t.Errorf("cookie %s not Secure over TLS", ck.Name)
		}
	}
}

// A sign-in form's CSRF pair expires with the form: one captured pair
// cannot be replayed for ever (issue 12's flood reused one).
func TestSignInFormExpires(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC).Unix())
	clock := func() time.Time { return time.Unix(now.Load(), 0) }
	base := signInConsole(t, console.Options{Now: clock})
	f := getLoginForm(t, base)
	tests := []struct {
		give time.Duration
		want int
	}{
		{59 * time.Minute, http.StatusSeeOther},
		{61 * time.Minute, http.StatusForbidden},
	}
	start := now.Load()
	for _, tt := range tests {
		now.Store(start + int64(tt.give/time.Second))
		if got := postLogin(t, base, f, "203.0.113.7", "vanthu.h29", goodPassword); got.code != tt.want {
			t.Errorf("signing in %v after the form was served: %d, want %d", tt.give, got.code, tt.want)
		}
	}
}

// A user name of tens of KiB (a form may carry 64) is answered as an
// unknown name is, the same answers and delays, but neither kept nor
// logged whole: the failures it leaves take a few dozen bytes each, so
// 100,000 of them cannot take gigabytes.
func TestSignInLongUserName(t *testing.T) {
	keys, undo := console.FailKeys()
	defer undo()
	var logs strings.Builder
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))
	base := signInConsole(t, console.Options{LoginPerMinute: 10_000, Log: log})
	f := getLoginForm(t, base)
	long := strings.Repeat("a", 60<<10)
	for i := 1; i <= 6; i++ {
		unknown := postLogin(t, base, f, "198.51.100.1", "khong.co.ai", "sai")
		tooLong := postLogin(t, base, f, "198.51.100.2", long, "sai")
		unknown.body = csrfValueRE.ReplaceAllString(unknown.body, "")
		tooLong.body = csrfValueRE.ReplaceAllString(tooLong.body, "")
		if unknown != tooLong {
			t.Fatalf("attempt %d: unknown %d %q, too long %d %q", i, unknown.code, unknown.retryAfter, tooLong.code, tooLong.retryAfter)
		}
	}
	ks := keys()
	if len(ks) != 2 {
		t.Fatalf("%d failure keys tracked, want 2", len(ks))
	}
	for _, k := range ks {
		if len(k) > 100 {
			t.Errorf("a failure key of %d bytes", len(k))
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), "delayed") {
		t.Fatalf("no delay logged: %s", logs.String())
	}
	if strings.Contains(logs.String(), long[:200]) {
		t.Errorf("the long name is logged whole")
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

var phcParamsRE = regexp.MustCompile(`\$m=\d+,t=\d+,p=\d+\$`)

// An unknown name is checked against a hash with the parameters of the
// costliest account's hash, cheaper or dearer than the defaults, so it
// costs what that account costs (a timing test would be flaky; the
// parameters decide argon2's time).
func TestDummyHashHasAccountsParameters(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	type params struct {
		m, t uint32
		p    uint8
	}
	tests := []struct {
		name string
		give []params
		want string
	}{
		{"one cheaper account", []params{{4096, 3, 2}}, "$m=4096,t=3,p=2$"},
		{"the costliest of two", []params{{19 * 1024, 2, 1}, {32 * 1024, 3, 1}}, "$m=32768,t=3,p=1$"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var accounts []console.Account
			for i, p := range tt.give {
				hash, err := console.HashPasswordWith(goodPassword, p.m, p.t, p.p)
				if err != nil {
					t.Fatal(err)
				}
				accounts = append(accounts, console.Account{Username: fmt.Sprintf("vanthu%d", i), PasswordHash: hash, Role: console.RoleClerk, OrganID: h29})
			}
			var mu sync.Mutex
			var checked []string
			undo := console.SetPasswordCheck(func(hash, _ string) bool {
				mu.Lock()
				checked = append(checked, hash)
				mu.Unlock()
				return false
			})
			defer undo()
			base := signInConsole(t, console.Options{Hub: h.Hub, Accounts: accounts, LoginPerMinute: 10_000})
			if a := postLogin(t, base, getLoginForm(t, base), "198.51.100.1", "khong.co.ai", "sai"); a.code != http.StatusUnauthorized {
				t.Fatalf("unknown name: %d", a.code)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(checked) != 1 {
				t.Fatalf("%d checks, want 1", len(checked))
			}
			if got := phcParamsRE.FindString(checked[0]); got != tt.want {
				t.Errorf("the unknown name was checked against %s, want %s", got, tt.want)
			}
		})
	}
}

// Cookie values are MACed under a key derived from the session key
// ("cookie v1"), not under the session key itself, whose other derived
// keys (the sign-outs' and credentials' record keys) are HMACs of it too:
// a value MACed with the raw key, as before, is no session.
func TestSessionCookieKeyIsDerived(t *testing.T) {
	base := signInConsole(t, console.Options{})
	raw := bytes.Repeat([]byte{7}, 32) // serveConsole's session key
	derived := hmacSHA256(raw, []byte("cookie v1"))
	v := strings.Join([]string{"s1", base64.RawURLEncoding.EncodeToString([]byte("vanthu.h29")), "id1",
		strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)}, ".")
	tests := []struct {
		name string
		give []byte
		want int
	}{
		{"the derived key", derived, http.StatusOK},
		{"the raw session key", raw, http.StatusSeeOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, base+"/inbox", nil)
			req.AddCookie(&http.Cookie{Name: "lt_session", Value: v + "." + base64.RawURLEncoding.EncodeToString(hmacSHA256(tt.give, []byte(v)))})
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("/inbox with a cookie MACed with %s: %d, want %d", tt.name, resp.StatusCode, tt.want)
			}
		})
	}
}

func hmacSHA256(key, v []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(v)
	return m.Sum(nil)
}

// An account's username has at most 128 bytes: a longer name in the form
// can then be no account's.
func TestLongAccountNameRefused(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	hash, err := console.HashPassword(goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		give    int
		wantErr bool
	}{
		{128, false},
		{129, true},
	}
	for _, tt := range tests {
		_, err := console.New(console.Options{Hub: h.Hub, SessionKey: make([]byte, 32),
			Accounts: []console.Account{{Username: strings.Repeat("a", tt.give), PasswordHash: hash, Role: console.RoleOperator}}})
		if (err != nil) != tt.wantErr {
			t.Errorf("a username of %d bytes: New error %v, want an error: %v", tt.give, err, tt.wantErr)
		}
	}
}
