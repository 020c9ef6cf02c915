package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"lienthong/internal/tooltest"
)

// screenshotDir is where the browser tests leave a PNG of each page they
// visit, for a person to look at (git-ignored).
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("LIENTHONG_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// newChromium starts headless Chromium (Debian's, installed by
// scripts/install-test-tools.sh) for the test.
func newChromium(t *testing.T) context.Context {
	t.Helper()
	path := tooltest.Require(t, "chromium")
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		// This machine has no internet: no update, sync or QUIC probes.
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true),
		chromedp.WindowSize(1280, 900),
	)
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return browser
}

// tab is one signed-in person: a tab in its own browser context, so its
// cookies are its own.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string
	shot string // screenshot folder
	name string
}

func newTab(browser context.Context, t *testing.T, base, name string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	// The first run opens the tab for the life of ctx; later runs may
	// have timeouts.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	return &tab{t: t, ctx: ctx, base: base, shot: screenshotDir(t), name: name}
}

func (b *tab) run(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.fail(what, err)
	}
}

// get runs one action that returns a value.
func get[T any](b *tab, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.fail(what, err)
	}
	return v
}

// text is the visible text of the first element matching a CSS selector.
func (b *tab) text(what, css string) string {
	b.t.Helper()
	return get(b, what, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%q)?.innerText ?? ""`, css)))
}

// fail ends the test with where the tab is and what it shows.
func (b *tab) fail(what string, err error) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	html, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("main")?.outerHTML ?? ""`))
	b.t.Fatalf("%s, %s: %v\nat %s: %s", b.name, what, err, loc, html)
}

// screenshot saves the whole page as NAME-page.png.
func (b *tab) screenshot(page string) {
	b.t.Helper()
	png := get(b, "screenshot "+page, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(b.shot, b.name+"-"+page+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

func (b *tab) signIn(user, password string) {
	b.t.Helper()
	b.run("sign in",
		chromedp.Navigate(b.base+"/"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
	)
	title := b.text("read the sign-in page", "h1")
	if title != "Đăng nhập" {
		b.t.Errorf("sign-in page title %q, want Đăng nhập", title)
	}
	b.screenshot("signin")
	b.run("sign in",
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), user),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
		chromedp.Click(chromedp.CSS(`form.login button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`header nav`)),
	)
}

// reloadUntil reloads path until the expression is true, for 20 s.
func (b *tab) reloadUntil(what, path, js string) {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		b.run(what, chromedp.Navigate(b.base+path), chromedp.WaitReady(chromedp.CSS("body")))
		if get(b, what, chromedp.Evaluate[bool](js)) {
			return
		}
		if time.Now().After(deadline) {
			html := b.text("the page", "main")
			b.t.Fatalf("%s: timed out waiting for %s on %s: %s", b.name, what, path, html)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// opsCount reads the accepted count of a kind on the dashboard.
func (b *tab) opsCount(table, kind string) float64 {
	b.t.Helper()
	b.run("dashboard", chromedp.Navigate(b.base+"/ops"))
	s := b.text("dashboard", fmt.Sprintf(`#%s tr[data-key=%q] td.num`, table, kind))
	n, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		b.t.Fatalf("dashboard %s %s: %q", table, kind, s)
	}
	return n
}

// TestBrowser drives the console in headless Chromium on `lienthong dev`:
// a clerk of G22 composes and sends a letter with a PDF to H29; H29's
// clerk sees it, opens it and accepts it (03); G22's outbox shows 01, then
// 03; the operator's dashboard counts move.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	browser := newChromium(t)
	data := t.TempDir()
	addr, _ := startDev(t, data, nil)
	base := "http://" + addr

	raw, err := os.ReadFile(filepath.Join(data, "dev", "agencies.json"))
	if err != nil {
		t.Fatal(err)
	}
	var agencies []map[string]string
	if err := json.Unmarshal(raw, &agencies); err != nil {
		t.Fatal(err)
	}
	by := map[string]map[string]string{}
	for _, a := range agencies {
		by[a["organId"]] = a
	}
	g22, h29 := by["000.00.00.G22"], by["000.00.00.H29"]
	var op map[string]string
	if b, err := os.ReadFile(filepath.Join(data, "dev", "operator.json")); err != nil || json.Unmarshal(b, &op) != nil {
		t.Fatalf("operator.json: %v", err)
	}

	operator := newTab(browser, t, base, "operator")
	operator.signIn(op["username"], op["password"])
	acceptedBefore := operator.opsCount("accepted", "edoc")
	statusBefore := operator.opsCount("accepted", "status")
	operator.screenshot("ops")

	// G22's clerk composes a letter to H29 with a PDF.
	pdf := filepath.Join(t.TempDir(), "Công văn 42.pdf")
	if err := os.WriteFile(pdf, []byte("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const subject = "V/v thử nghiệm trục liên thông trên trình duyệt"
	sender := newTab(browser, t, base, "g22")
	sender.signIn(g22["consoleUser"], g22["consolePassword"])
	sender.run("open compose", chromedp.Navigate(base+"/compose"), chromedp.WaitVisible(chromedp.CSS(`#to-filter`)))
	// The filter finds H29 by its code, diacritics and case aside, and
	// hides the other agencies.
	sender.run("filter recipients", chromedp.SendKeys(chromedp.CSS(`#to-filter`), "h29"))
	visible := get(sender, "visible recipients", chromedp.Evaluate[[]string](`[...document.querySelectorAll("select[name=to] option")].filter(o => !o.hidden).map(o => o.value)`))
	if len(visible) != 1 || visible[0] != h29["organId"] {
		t.Fatalf("filtering for h29 leaves %v", visible)
	}
	sender.run("fill the letter",
		chromedp.SetAttributeValue(chromedp.CSS(`select[name=to] option[value="000.00.00.H29"]`), "selected", ""),
		chromedp.SendKeys(chromedp.CSS(`input[name=number]`), "42"),
		chromedp.SendKeys(chromedp.CSS(`input[name=notation]`), "VPCP-TTĐT"),
		chromedp.SendKeys(chromedp.CSS(`textarea[name=subject]`), subject),
		chromedp.SendKeys(chromedp.CSS(`input[name=signer_name]`), "Nguyễn Văn A"),
	)
	// A file over the limit is refused before it is sent, in Vietnamese.
	big := filepath.Join(t.TempDir(), "quá lớn.pdf")
	if err := os.WriteFile(big, nil, 0o644); err != nil || os.Truncate(big, 51<<20) != nil {
		t.Fatal("cannot make a large file")
	}
	sender.run("send a file too large",
		chromedp.SetUploadFiles(chromedp.CSS(`input[name=files]`), []string{big}),
		chromedp.Click(chromedp.CSS(`form.compose button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#upload-msg.error`)),
	)
	if msg := sender.text("the refusal", "#upload-msg"); !strings.Contains(msg, "vượt quá giới hạn") {
		t.Errorf("a file over the limit says %q", msg)
	}
	sender.screenshot("compose-too-large")
	sender.run("attach the PDF", chromedp.SetUploadFiles(chromedp.CSS(`input[name=files]`), []string{pdf}))
	sender.screenshot("compose")
	sender.run("send",
		chromedp.Click(chromedp.CSS(`form.compose button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.flash`)),
	)
	loc := get(sender, "where", chromedp.Location())
	if !strings.Contains(loc, "/outbox") {
		t.Fatalf("after sending the browser is at %s", loc)
	}
	sender.screenshot("outbox-sent")

	// H29's clerk sees it in the inbox, unread, and opens it.
	recipient := newTab(browser, t, base, "h29")
	recipient.signIn(h29["consoleUser"], h29["consolePassword"])
	recipient.reloadUntil("the letter in the inbox", "/inbox",
		fmt.Sprintf(`[...document.querySelectorAll("tr.unread a")].some(a => a.textContent === %q)`, subject))
	recipient.screenshot("inbox")
	recipient.run("open the letter",
		chromedp.Click(fmt.Sprintf(`//tr[contains(@class,"unread")]//a[text()=%q]`, subject)),
		chromedp.WaitVisible(chromedp.CSS(`button[name=action][value="03"]`)),
	)
	page := recipient.text("read the letter", "main")
	for _, want := range []string{subject, "42/VPCP-TTĐT", "Nguyễn Văn A", "Công văn 42.pdf"} {
		if !strings.Contains(page, want) {
			t.Errorf("the document page lacks %q", want)
		}
	}
	recipient.screenshot("doc")

	// Opening sent 01: the sender's outbox shows it.
	stateIs := func(code string) string {
		return fmt.Sprintf(`[...document.querySelectorAll("tr")].some(r => r.textContent.includes(%q) && r.querySelector('li[data-organ="000.00.00.H29"] .state[data-state=%q]'))`, subject, code)
	}
	sender.reloadUntil("01 in the outbox", "/outbox", stateIs("01"))
	sender.screenshot("outbox-01")

	recipient.run("accept",
		chromedp.Click(chromedp.CSS(`button[name=action][value="03"]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.flash`)),
	)
	recipient.screenshot("doc-accepted")
	sender.reloadUntil("03 in the outbox", "/outbox", stateIs("03"))
	sender.screenshot("outbox-03")

	// The operator sees the letter and the two statuses counted.
	operator.reloadUntil("the counts move", "/ops", fmt.Sprintf(
		`Number(document.querySelector('#accepted tr[data-key="edoc"] td.num').textContent) >= %v && Number(document.querySelector('#accepted tr[data-key="status"] td.num').textContent) >= %v`,
		acceptedBefore+1, statusBefore+2))
	operator.screenshot("ops-after")

	// The operator finds the letter by its recipient and traces it.
	operator.run("search", chromedp.Navigate(base+"/ops/search"),
		chromedp.SendKeys(chromedp.CSS(`input[name=to]`), h29["organId"]),
		chromedp.Click(chromedp.CSS(`form.search button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#results`)),
	)
	operator.screenshot("search")
	operator.run("trace", chromedp.Click(chromedp.CSS(`#results tr:first-child a`)), chromedp.WaitVisible(chromedp.CSS(`table.timeline`)))
	if trace := operator.text("the trace", "main"); !strings.Contains(trace, h29["organId"]) || !strings.Contains(trace, "03") {
		t.Errorf("the trace of the newest packet to H29 lacks its recipient or status: %s", trace)
	}
	operator.screenshot("trace")
	operator.run("dead letters", chromedp.Navigate(base+"/ops/dead-letters"), chromedp.WaitVisible(chromedp.CSS("h1")))
	operator.screenshot("dead-letters")

	// The operator (an admin in dev) rotates H29's token: a new one works
	// at once over the REST API, and the old one is refused once revoked.
	inbox := func(tok string) int {
		req, _ := http.NewRequest(http.MethodGet, base+"/v1/inbox", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	operator.run("issue a token", chromedp.Navigate(base+"/ops/directory"),
		chromedp.Click(chromedp.CSS(`form[action="/ops/directory/000.00.00.H29/tokens"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`#new-token`)),
	)
	operator.screenshot("directory-new-token")
	newTok := operator.text("the new token", "#new-token")
	if code := inbox(newTok); code != http.StatusOK {
		t.Fatalf("the new token: GET /v1/inbox %d", code)
	}
	operator.run("revoke the old token",
		chromedp.Click(chromedp.CSS(`td[id="000.00.00.H29"] .token details summary`)),
		chromedp.WaitVisible(chromedp.CSS(`td[id="000.00.00.H29"] .token details form button`)),
		chromedp.Click(chromedp.CSS(`td[id="000.00.00.H29"] .token details form button`)),
		chromedp.WaitVisible(chromedp.CSS(`td[id="000.00.00.H29"] .token.revoked`)),
	)
	operator.screenshot("directory")
	if code := inbox(h29["token"]); code != http.StatusUnauthorized {
		t.Errorf("the revoked token: GET /v1/inbox %d, want 401", code)
	}
	if code := inbox(newTok); code != http.StatusOK {
		t.Errorf("the new token after revoking the old: %d", code)
	}
}
