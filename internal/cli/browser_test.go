package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"go/build"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/lienthong/lienthong/internal/pdfsig/pdfsigtest"
	"github.com/lienthong/lienthong/internal/tooltest"
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
		chromedp.WindowSize(desktopW, desktopH),
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
	axe  string // axe-core's script, "" to skip the accessibility checks
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
	return &tab{t: t, ctx: ctx, base: base, shot: screenshotDir(t), name: name, axe: axeSource(t)}
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

// Viewports the pages are checked at: a desktop and a 390-px phone.
const (
	desktopW, desktopH = 1280, 900
	phoneW, phoneH     = 390, 844
)

// screenshot saves the whole page as NAME-page.png and, at a phone's
// width, NAME-page-phone.png, and checks the page at both widths: axe-core
// finds no serious or critical violation, nothing overflows the phone's
// width, no badge wraps; and every control is reached by Tab with a
// visible focus outline.
func (b *tab) screenshot(page string) {
	b.t.Helper()
	// The dashboard must not reload itself in the middle of the checks.
	b.run("pause the refresh", evalVoid(`sessionStorage.setItem("lt-refresh-paused", "1")`))
	defer b.run("resume the refresh", evalVoid(`sessionStorage.removeItem("lt-refresh-paused")`))
	b.save(page)
	b.checkAxe(page)
	b.run("phone width", chromedp.EmulateViewport(phoneW, phoneH, chromedp.EmulateMobile, chromedp.EmulatePortrait))
	b.save(page + "-phone")
	b.checkAxe(page + "-phone")
	b.checkPhone(page)
	b.run("desktop width", chromedp.EmulateViewport(desktopW, desktopH))
	b.checkKeyboard(page)
}

func (b *tab) save(name string) {
	b.t.Helper()
	png := get(b, "screenshot "+name, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(b.shot, b.name+"-"+name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// axePath is axe-core's script: LIENTHONG_AXE, else where
// scripts/install-test-tools.sh puts it. Missing, it fails the test in
// CI and skips the accessibility checks elsewhere.
func axeSource(t *testing.T) string {
	t.Helper()
	p := os.Getenv("LIENTHONG_AXE")
	if p == "" {
		p = filepath.Join(build.Default.GOPATH, "lienthong-tools", "node_modules", "axe-core", "axe.min.js")
	}
	b, err := os.ReadFile(p)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("axe-core is missing (%v); CI must run the accessibility checks (scripts/install-test-tools.sh)", err)
		}
		t.Logf("axe-core is missing (%v): no accessibility checks (scripts/install-test-tools.sh installs it)", err)
		return ""
	}
	return string(b)
}

// axeViolation is what the test prints of an axe-core violation.
type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// checkAxe runs axe-core in the page, loaded by evaluation over CDP (the
// page's CSP stays as served: an evaluation is no script the page loads),
// and fails on any serious or critical violation.
func (b *tab) checkAxe(page string) {
	b.t.Helper()
	if b.axe == "" {
		return
	}
	b.run("load axe-core", evalVoid(`if (typeof axe === "undefined") {`+b.axe+"\n}"))
	found := get(b, "run axe-core on "+page, chromedp.Evaluate[[]axeViolation](`axe.run(document, {resultTypes: ["violations"]}).then(r =>
		r.violations.filter(v => v.impact === "serious" || v.impact === "critical").map(v => ({
			id: v.id, impact: v.impact, help: v.help,
			nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + ": " + n.html.slice(0, 200) + " — " + (n.failureSummary || "").replace(/\s+/g, " "))})))`,
		chromedp.EvalAwaitPromise))
	for _, v := range found {
		b.t.Errorf("%s-%s: axe %s (%s): %s\n\t%s", b.name, page, v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "\n\t"))
	}
}

// checkPhone checks the page at a phone's width: the page itself never
// scrolls sideways (lists scroll inside it) and badges stay on one line.
func (b *tab) checkPhone(page string) {
	b.t.Helper()
	wide := get(b, "page width", chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	if wide > phoneW {
		over := get(b, "what overflows", chromedp.Evaluate[[]string](`[...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > innerWidth + 1 && !e.closest("table.list, ul.picker, header nav ul")).slice(0, 5).map(e => e.tagName + "." + e.className + ": " + (e.textContent || "").trim().slice(0, 60))`))
		b.t.Errorf("%s-%s: the page is %d px wide on a %d px phone: %v", b.name, page, wide, phoneW, over)
	}
	wrapped := get(b, "badges", chromedp.Evaluate[[]string](`[...document.querySelectorAll(".badge")].filter(e => e.getClientRects().length > 1 || e.getBoundingClientRect().height > 1.8 * parseFloat(getComputedStyle(e).fontSize) * 1.6).map(e => e.textContent)`))
	if len(wrapped) > 0 {
		b.t.Errorf("%s-%s: badges wrap on a phone: %q", b.name, page, wrapped)
	}
}

// checkKeyboard presses Tab through the page from its start and checks
// that each link, button, field, radio group and disclosure shown is
// reached, each with a visible focus outline, the skip link first.
func (b *tab) checkKeyboard(page string) {
	b.t.Helper()
	n := get(b, "list the controls", chromedp.Evaluate[int](`(() => {
		const all = [...document.querySelectorAll("a[href], button, input:not([type=hidden]), select, textarea, summary")]
			.filter(e => !e.disabled && e.checkVisibility({contentVisibilityAuto: true, visibilityProperty: true}))
			// Tab stops once in a radio group, on its checked button (the
			// arrows move within it).
			.filter(e => {
				if (e.type !== "radio") return true;
				const group = (e.form ?? document).querySelectorAll('input[type=radio][name="' + CSS.escape(e.name) + '"]');
				return e === ([...group].find(r => r.checked) ?? group[0]);
			});
		all.forEach((e, i) => e.dataset.kb = String(i));
		// Tab starts from the top: from a focused element placed first.
		const start = document.createElement("span");
		start.id = "kb-start";
		start.tabIndex = -1;
		document.body.prepend(start);
		start.focus();
		return all.length;
	})()`))
	type stop struct {
		Key     string `json:"key"`
		What    string `json:"what"`
		Outline bool   `json:"outline"`
	}
	seen := map[string]bool{}
	var first string
	for i := 0; i < 2*n+5 && len(seen) < n; i++ {
		b.run("press Tab", chromedp.KeyEvent(kb.Tab))
		s := get(b, "the focused element", chromedp.Evaluate[stop](`(() => {
			const e = document.activeElement, cs = getComputedStyle(e);
			return {key: e.dataset?.kb ?? "", what: e.outerHTML.slice(0, 120),
				outline: e.matches(":focus-visible") && cs.outlineStyle !== "none" && parseFloat(cs.outlineWidth) >= 2};
		})()`))
		if i == 0 {
			first = s.What
		}
		if s.Key == "" {
			continue // the body, or something the list left out
		}
		if !s.Outline && !seen[s.Key] {
			b.t.Errorf("%s-%s: no visible focus outline on %s", b.name, page, s.What)
		}
		seen[s.Key] = true
	}
	if !strings.Contains(first, `class="skip"`) {
		b.t.Errorf("%s-%s: the first Tab reaches %s, not the skip link", b.name, page, first)
	}
	if len(seen) < n {
		missed := get(b, "the controls missed", chromedp.Evaluate[[]string](fmt.Sprintf(
			`[...document.querySelectorAll("[data-kb]")].filter(e => !%s.includes(e.dataset.kb)).slice(0, 10).map(e => e.outerHTML.slice(0, 120))`,
			jsList(seen))))
		b.t.Errorf("%s-%s: %d of %d controls not reached by Tab: %v", b.name, page, n-len(seen), n, missed)
	}
	b.run("leave the focus", evalVoid(`document.activeElement?.blur(); document.getElementById("kb-start")?.remove()`))
}

// evalVoid evaluates js in the page for its effect.
func evalVoid(js string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[bool](js+"\n;true")(ctx, t)
		return err
	})
}

func jsList(set map[string]bool) string {
	var keys []string
	for k := range set {
		keys = append(keys, strconv.Quote(k))
	}
	return "[" + strings.Join(keys, ",") + "]"
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
		chromedp.WaitVisible(chromedp.CSS(`header nav.main`)),
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
	// The dashboard's refresh can be paused (no <meta refresh>, which
	// cannot), and resumed.
	operator.run("pause the dashboard", chromedp.Click(chromedp.CSS(`#refresh-toggle`)))
	if got := get(operator, "the pause button", chromedp.Evaluate[string](`document.getElementById("refresh-toggle").getAttribute("aria-pressed") + " " + document.getElementById("refresh-toggle").textContent`)); got != "true Tiếp tục tự cập nhật" {
		t.Errorf("after pausing, the dashboard's button says %q", got)
	}
	operator.run("resume the dashboard", chromedp.Click(chromedp.CSS(`#refresh-toggle`)))

	// G22's clerk composes a letter to H29 with a PDF.
	pdf := filepath.Join(t.TempDir(), "Công văn 42.pdf")
	// A real letter: the console seals it with G22's hosted key (the
	// form's default), and H29's page then shows the seal.
	if err := os.WriteFile(pdf, pdfsigtest.Write(pdfsigtest.Page1, pdfsigtest.Page2), 0o644); err != nil {
		t.Fatal(err)
	}
	const subject = "V/v thử nghiệm trục liên thông trên trình duyệt"
	sender := newTab(browser, t, base, "g22")
	sender.signIn(g22["consoleUser"], g22["consolePassword"])
	sender.run("open compose", chromedp.Navigate(base+"/compose"), chromedp.WaitVisible(chromedp.CSS(`#to-filter`)))
	// The filter finds H29 by its code, diacritics and case aside, and
	// hides the other agencies.
	sender.run("filter recipients", chromedp.SendKeys(chromedp.CSS(`#to-filter`), "h29"))
	visible := get(sender, "visible recipients", chromedp.Evaluate[[]string](`[...document.querySelectorAll("ul.picker li")].filter(li => li.getClientRects().length > 0).map(li => li.querySelector("input").value)`))
	if len(visible) != 1 || visible[0] != h29["organId"] {
		t.Fatalf("filtering for h29 leaves %v", visible)
	}
	// The upload bar is not shown before a send.
	if get(sender, "the upload bar", chromedp.Evaluate[bool](`document.getElementById("upload-progress").getClientRects().length > 0`)) {
		t.Error("an empty upload bar is shown before sending")
	}
	sender.run("tick H29", chromedp.Click(chromedp.CSS(`input[name=to][value="000.00.00.H29"]`)))
	if n := sender.text("the count of recipients", "#to-count strong"); n != "1" {
		t.Errorf("after ticking H29 the count says %q, want 1", n)
	}
	if name := sender.text("H29's name", `li.checked .name`); name != h29["name"] {
		t.Errorf("the ticked recipient is named %q, want the directory's %q", name, h29["name"])
	}
	sender.run("fill the letter",
		chromedp.SetValue(chromedp.CSS(`select[name=type_name]`), "Tờ trình"),
		chromedp.SendKeys(chromedp.CSS(`input[name=due]`), "15/01/2030"),
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
	// The file field speaks the page's language, not the browser's.
	if pick, chosen := sender.text("the file button", ".filepick .button"), sender.text("the chosen file", ".filepick .chosen"); pick != "Chọn tệp…" || chosen != "Công văn 42.pdf" {
		t.Errorf("the file field reads %q, %q; want Chọn tệp… and the chosen file's name", pick, chosen)
	}
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
	for _, want := range []string{subject, "42/VPCP-TTĐT", "Nguyễn Văn A", "Công văn 42.pdf", "Tờ trình", "15/01/2030",
		"Chữ ký số trong tệp PDF", "cơ quan ban hành", "không bị sửa sau khi ký"} {
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

	// Handled, the letter moves to "Đã xử lý"; both registers list it,
	// and every page names the one time zone once.
	recipient.reloadUntil("the letter handled", "/inbox?view=handled",
		fmt.Sprintf(`[...document.querySelectorAll("tbody a")].some(a => a.textContent === %q)`, subject))
	recipient.screenshot("inbox-handled")
	year := time.Now().In(time.FixedZone("ICT", 7*60*60)).Format("2006") // the console's zone, Asia/Ho_Chi_Minh
	recipient.run("the incoming register", chromedp.Navigate(base+"/registers/in/"+year), chromedp.WaitVisible(chromedp.CSS("table")))
	if reg := recipient.text("the incoming register", "main"); !strings.Contains(reg, subject) || !strings.Contains(reg, "Văn phòng Chính phủ") {
		t.Errorf("the incoming register lacks the letter or its sender's name: %s", reg)
	}
	recipient.screenshot("register-in")
	sender.run("the outgoing register", chromedp.Navigate(base+"/registers/out/"+year), chromedp.WaitVisible(chromedp.CSS("table")))
	if reg := sender.text("the outgoing register", "main"); !strings.Contains(reg, subject) || !strings.Contains(reg, "42/VPCP-TTĐT") {
		t.Errorf("the outgoing register lacks the letter: %s", reg)
	}
	sender.screenshot("register-out")
	if foot := sender.text("the footer", "footer"); !strings.Contains(foot, "Asia/Ho_Chi_Minh") {
		t.Errorf("the footer does not name the zone: %q", foot)
	}

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
	if trace := operator.text("the trace", "main"); !strings.Contains(trace, h29["organId"]) || !strings.Contains(trace, "Đã tiếp nhận") {
		t.Errorf("the trace of the newest packet to H29 lacks its recipient or status: %s", trace)
	}
	operator.screenshot("trace")
	operator.run("dead letters", chromedp.Navigate(base+"/ops/dead-letters"), chromedp.WaitVisible(chromedp.CSS("h1")))
	operator.screenshot("dead-letters")
	operator.run("the day chart", chromedp.Navigate(base+"/ops?chart=day"), chromedp.WaitVisible(chromedp.CSS("svg")))
	operator.screenshot("ops-day")
	operator.run("glossary", chromedp.Navigate(base+"/ops/glossary"), chromedp.WaitVisible(chromedp.CSS("h1")))
	operator.screenshot("glossary")
	// dev keeps the verifiable log: the letters just sent are in it, and
	// the page names the log and its signer.
	operator.reloadUntil("the letters in the log", "/ops/log", `Number(document.querySelector("#log-size")?.textContent) >= 1`)
	if lg := operator.text("the verifiable log", "main"); !strings.Contains(lg, "lienthong-dev/log") || !strings.Contains(lg, "Chính trục này đã ký bản chốt.") {
		t.Errorf("the log's page lacks its name or signer: %s", lg)
	}
	operator.screenshot("log")

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

	// The admin adds an agency pushed to by webhook, first without its
	// secret (refused, said in Vietnamese beside the form), changes it,
	// and retires it once its OrganId is typed: no restart.
	const k01 = "000.00.00.K01"
	row := `tr[data-organ="` + k01 + `"]`
	operator.run("the new agency form", chromedp.Navigate(base+"/ops/directory"),
		chromedp.Click(chromedp.CSS(`#add-agency`)), chromedp.WaitVisible(chromedp.CSS(`form.agency`)))
	operator.screenshot("agency-new")
	operator.run("add an agency without its secret",
		chromedp.SendKeys(chromedp.CSS(`input[name=id]`), k01),
		chromedp.SendKeys(chromedp.CSS(`input[name=name]`), "Sở Khoa học và Công nghệ"),
		chromedp.Click(chromedp.CSS(`input[name=mode][value=webhook]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=webhook_url]`), "https://k01.example/hook"),
		chromedp.Click(chromedp.CSS(`form.agency button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#agency-errors`)),
	)
	if msg := operator.text("the refusal", "#agency-errors li"); !strings.Contains(msg, "khóa bí mật") {
		t.Errorf("refusal %q, want the missing webhook secret", msg)
	}
	operator.screenshot("agency-refused")
	operator.run("add it with its secret",
		chromedp.SendKeys(chromedp.CSS(`input[name=webhook_secret]`), "k01-webhook-secret-0123456789"),
		chromedp.Click(chromedp.CSS(`form.agency button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(row)),
	)
	operator.run("change it", chromedp.Click(chromedp.CSS(row+` .rowactions a[href$="/edit"]`)), chromedp.WaitVisible(chromedp.CSS(`form.agency`)))
	operator.screenshot("agency-edit")
	operator.run("save a national-axis account",
		chromedp.SendKeys(chromedp.CSS(`input[name=vdxp_system]`), "k01-dms"),
		chromedp.SendKeys(chromedp.CSS(`input[name=vdxp_secret]`), "k01-national-axis-secret-42"),
		chromedp.Click(chromedp.CSS(`form.agency button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(row)),
	)
	if creds := operator.text("K01's credentials", `td[id="`+k01+`"]`); !strings.Contains(creds, "Tài khoản trục quốc gia") || !strings.Contains(creds, "Khóa bí mật để đẩy gói tin") {
		t.Errorf("K01's credentials after the change: %q", creds)
	}
	operator.screenshot("directory-agencies")
	operator.run("retire it", chromedp.Click(chromedp.CSS(row+` .rowactions a.danger`)), chromedp.WaitVisible(chromedp.CSS(`input[name=confirm]`)))
	operator.screenshot("agency-retire")
	operator.run("confirm",
		chromedp.SendKeys(chromedp.CSS(`input[name=confirm]`), k01),
		chromedp.Click(chromedp.CSS(`form.agency button.danger`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)
	if n := get(operator, "K01's row", chromedp.Evaluate[int](`document.querySelectorAll('`+row+`').length`)); n != 0 {
		t.Error("K01 still listed after retiring it")
	}
}
