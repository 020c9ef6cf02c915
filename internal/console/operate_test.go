package console_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/internal/console"
	"github.com/lienthong/lienthong/internal/creds"
	"github.com/lienthong/lienthong/internal/hubtest"
	"github.com/lienthong/lienthong/internal/push"
	"github.com/lienthong/lienthong/internal/testwait"
)

// The operators' pages: packet search and trace, dead letters with
// replay, and the directory; clerks reach none of them.
func TestOperatorPages(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	dir := testDirectory(t)
	hash, err := console.HashPassword("mật khẩu đúng")
	if err != nil {
		t.Fatal(err)
	}
	iss := h.Agencies[h29].Cert
	agencies := []config.Agency{{OrganID: g22, Tokens: []config.Secret{config.Secret(h.Agencies[g22].Token)}}}
	tokens, err := creds.New(t.Context(), creds.Config{Bus: bus.Config{Brokers: h.Broker.Addrs()}, Topic: "lienthong.credentials",
		Key: bytes.Repeat([]byte{9}, 32), Base: baseTokens(agencies), Configured: func(o string) [][sha256.Size]byte {
			if o == g22 {
				return agencies[0].TokenDigests()
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	go func() { runDone <- tokens.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		if err := <-runDone; err != nil {
			t.Errorf("creds: %v", err)
		}
		_ = tokens.Close()
	})
	if err := tokens.WaitReady(t.Context()); err != nil {
		t.Fatal(err)
	}
	base := serveConsole(t, console.Options{
		Hub:         h.Hub,
		DeadLetters: &push.DeadLetters{Bus: bus.Config{Brokers: h.Broker.Addrs()}},
		Accounts: []console.Account{
			{Username: "vanhanh", PasswordHash: hash, Role: console.RoleOperator},
			{Username: "quantri", PasswordHash: hash, Role: console.RoleAdmin},
			{Username: "vanthu.h29", PasswordHash: hash, Role: console.RoleClerk, OrganID: h29},
		},
		Tokens:      tokens,
		Directory:   dir,
		Credentials: map[string]console.AgencyCredentials{g22: {Tokens: 2, VDXP: true}},
		Signers:     map[string]console.Signer{h29: {Cert: iss.Cert, Chain: iss.Chain, Key: iss.Key}},
	})
	id := sendREST(t, h)

	op := newBrowser(t, base)
	if code, _ := op.login("vanhanh", "mật khẩu đúng"); code != http.StatusSeeOther {
		t.Fatalf("operator sign in: %d", code)
	}
	row := `<tr data-id="` + id + `">`

	// Search by sender, recipient, part of the DocumentId, id and date.
	for _, q := range []string{"from=" + g22, "to=" + h29, "from=" + url.QueryEscape("CƠ QUAN  "+g22), "doc=vpcp-kstt", "id=" + id, "since=2020-01-01&until=2099-12-31", "since=01/01/2020&until=31/12/2099"} {
		if body := op.page("/ops/search?" + q); !strings.Contains(body, row) || !strings.Contains(body, `<a href="/ops/packet/`+id+`" title="`) {
			t.Errorf("search %s does not find the packet: %s", q, body)
		}
	}
	// Results name the agencies, their codes secondary; the fields offer
	// the directory's agencies by name.
	body := op.page("/ops/search?to=" + h29)
	for _, want := range []string{"<td>Cơ quan " + g22 + ` <span class="secondary">` + g22 + "</span></td>",
		"<td>Cơ quan " + h29 + ` <span class="secondary">` + h29 + "</span></td>", `<option value="` + h29 + `">Cơ quan ` + h29 + "</option>"} {
		if !strings.Contains(body, want) {
			t.Errorf("search results lack %q: %s", want, body)
		}
	}
	checkPlainVietnamese(t, "/ops/search", body)
	for _, q := range []string{"from=" + h29, "to=" + g22, "doc=nothing-like-it", "id=nope", "until=2020-01-01"} {
		if body := op.page("/ops/search?" + q); strings.Contains(body, row) || !strings.Contains(body, "Không có gói tin nào khớp.") {
			t.Errorf("search %s finds the packet", q)
		}
	}
	for q, msg := range map[string]string{"since=31/02/2026": "Ngày không hợp lệ.", "since=11-27-2026": "Ngày không hợp lệ.", "since=1900-01-01": "Ngày không hợp lệ.", "from=G22": "Mã định danh cơ quan không hợp lệ"} {
		if code, body, _ := op.do(http.MethodGet, "/ops/search?"+q, nil); code != http.StatusBadRequest || !strings.Contains(body, msg) {
			t.Errorf("search %s: %d, want 400 with %q", q, code, msg)
		}
	}

	// The trace shows routing and the timeline, not the letter.
	testwait.Eventually(t, "the trace shows H29 fetched or delivered", func() bool {
		body := op.page("/ops/packet/" + id)
		return strings.Contains(body, `<tr data-organ="`+h29+`">`+"\n<td>Cơ quan "+h29+` <span class="secondary">`+h29+"</span></td>") &&
			strings.Contains(body, "000.00.00.G22,2025/11/20,1234/VPCP-KSTT")
	})
	trace := op.page("/ops/packet/" + id)
	for _, want := range []string{"<dd>Cơ quan " + g22 + ` <span class="secondary">` + g22 + "</span></dd>", `<code class="id">` + id + "</code>"} {
		if !strings.Contains(trace, want) {
			t.Errorf("the trace lacks %q: %s", want, trace)
		}
	}
	checkPlainVietnamese(t, "/ops/packet/"+id, trace)
	if code, _, _ := op.do(http.MethodGet, "/ops/packet/no-such-packet", nil); code != http.StatusNotFound {
		t.Errorf("trace of an unknown packet: %d", code)
	}
	// H29's clerk opens the letter and its automatic 01 shows, labelled,
	// on the trace (the template's M.Code takes an edxml.StatusCode).
	clerk := newBrowser(t, base)
	if code, _ := clerk.login("vanthu.h29", "mật khẩu đúng"); code != http.StatusSeeOther {
		t.Fatalf("clerk sign in: %d", code)
	}
	clerk.page("/doc/" + id)
	testwait.Eventually(t, "the trace shows H29's 01", func() bool {
		return strings.Contains(op.page("/ops/packet/"+id), "Đã đến")
	})

	// A message the router cannot read ends in the dead letters; the
	// operator replays it, and the replay is recorded with who did it.
	p, err := bus.NewProducer(bus.Config{Brokers: h.Broker.Addrs()})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Produce(t.Context(), bus.Message{Topic: "lienthong.accepted", Key: []byte("garbage-1"), Value: []byte("{not json")}); err != nil {
		t.Fatal(err)
	}
	_ = p.Close()
	testwait.Eventually(t, "the dead letter listed", func() bool {
		body = op.page("/ops/dead-letters")
		return strings.Contains(body, `<a href="/ops/packet/garbage-1">garbage-1</a>`)
	})
	ref := regexpFind(t, body, `name="ref" value="([^"]+)"`)
	// The stage and the channel in words; the topic and Go's error in
	// the technical details.
	for _, want := range []string{"<td>Gói tin đã tiếp nhận</td>", "<td>Không định tuyến được\n<details class=\"tech\">", "<dt>topic</dt><dd><code>lienthong.accepted</code></dd>"} {
		if !strings.Contains(body, want) {
			t.Errorf("dead letters lack %q: %s", want, body)
		}
	}
	checkPlainVietnamese(t, "/ops/dead-letters", body)
	if code, _, _ := op.do(http.MethodPost, "/ops/dead-letters/replay", url.Values{"ref": {ref}}); code != http.StatusForbidden {
		t.Errorf("replay without the CSRF token: %d", code)
	}
	if code, body, _ := op.do(http.MethodPost, "/ops/dead-letters/replay", url.Values{"csrf": {csrf(t, body)}, "ref": {"lienthong.dead-letter/0/999999"}}); code != http.StatusNotFound || !strings.Contains(body, "Không tìm thấy thông điệp lỗi") {
		t.Errorf("replay of an unknown entry: %d", code)
	}
	code, _, hdr := op.do(http.MethodPost, "/ops/dead-letters/replay", url.Values{"csrf": {csrf(t, body)}, "ref": {ref}})
	if code != http.StatusSeeOther || hdr.Get("Location") != "/ops/dead-letters?replayed=1" {
		t.Fatalf("replay: %d %s", code, hdr.Get("Location"))
	}
	// It fails again: a second entry, and the first shows its replay.
	testwait.Eventually(t, "the replay recorded and failed again", func() bool {
		body = op.page("/ops/dead-letters?replayed=1")
		return strings.Count(body, `garbage-1</a>`) == 2 && strings.Contains(body, "console:vanhanh") && strings.Contains(body, "Đã gửi lại: 1")
	})

	// The directory lists agencies and their credentials, never a value.
	body = op.page("/ops/directory")
	gfp := hex.EncodeToString(agencies[0].TokenDigests()[0][:])[:12]
	for _, want := range []string{`<tr data-organ="` + g22 + `">`, `<div class="token" data-fp="` + gfp + `">`, "tệp cấu hình", "Tài khoản trục quốc gia", "<td>Tự lấy</td>", "Khóa ký hộ:",
		"<td>Cơ quan " + g22 + ` <span class="secondary">` + g22 + "</span></td>"} {
		if !strings.Contains(body, want) {
			t.Errorf("directory lacks %q", want)
		}
	}
	if strings.Contains(body, h.Agencies[g22].Token) {
		t.Error("the directory shows a token")
	}
	// An operator sees tokens but may not issue or revoke them.
	checkPlainVietnamese(t, "/ops/directory", body)
	if strings.Contains(body, "Cấp mã truy cập mới") || strings.Contains(body, "Thu hồi mã truy cập") {
		t.Error("an operator is offered token actions")
	}
	if code, _, _ := op.do(http.MethodPost, "/ops/directory/"+g22+"/tokens", url.Values{"csrf": {csrf(t, body)}}); code != http.StatusForbidden {
		t.Errorf("operator issuing a token: %d", code)
	}

	// An admin issues a token, shown once; it works at once; revoking the
	// configured one refuses that.
	admin := newBrowser(t, base)
	if code, _ := admin.login("quantri", "mật khẩu đúng"); code != http.StatusSeeOther {
		t.Fatalf("admin sign in: %d", code)
	}
	abody := admin.page("/ops/directory")
	checkPlainVietnamese(t, "/ops/directory (admin)", abody)
	if code, _, _ := admin.do(http.MethodPost, "/ops/directory/"+g22+"/tokens", url.Values{}); code != http.StatusForbidden {
		t.Errorf("issuing without the CSRF token: %d", code)
	}
	if code, _, _ := admin.do(http.MethodPost, "/ops/directory/000.00.00.Z99/tokens", url.Values{"csrf": {csrf(t, abody)}}); code != http.StatusNotFound {
		t.Errorf("issuing for an unknown agency: %d", code)
	}
	code, _, hdr = admin.do(http.MethodPost, "/ops/directory/"+g22+"/tokens", url.Values{"csrf": {csrf(t, abody)}})
	if code != http.StatusSeeOther || hdr.Get("Location") != "/ops/directory" {
		t.Fatalf("issue: %d %q", code, hdr.Get("Location"))
	}
	tok := regexpFind(t, admin.page("/ops/directory"), `<code id="new-token">([^<]+)</code>`)
	if o, ok := tokens.Organ(tok); !ok || o != g22 {
		t.Fatalf("the issued token authenticates as %q %v", o, ok)
	}
	// Shown once: the next page has it no more.
	if page := admin.page("/ops/directory"); strings.Contains(page, tok) || !strings.Contains(page, "cấp tại đây · console:quantri") {
		checkPlainVietnamese(t, "/ops/directory (token issued)", page)
		t.Errorf("after issuing, the directory shows the token again or not its origin")
	}
	if code, _, _ := admin.do(http.MethodPost, "/ops/directory/"+g22+"/tokens/ffffffffffff/revoke", url.Values{"csrf": {csrf(t, abody)}}); code != http.StatusNotFound {
		t.Errorf("revoking an unknown fingerprint: %d", code)
	}
	code, _, hdr = admin.do(http.MethodPost, "/ops/directory/"+g22+"/tokens/"+gfp+"/revoke", url.Values{"csrf": {csrf(t, abody)}})
	if code != http.StatusSeeOther || !strings.HasPrefix(hdr.Get("Location"), "/ops/directory?ok=revoked") {
		t.Fatalf("revoke: %d %s", code, hdr.Get("Location"))
	}
	if _, ok := tokens.Organ(h.Agencies[g22].Token); ok {
		t.Error("the revoked configured token still authenticates")
	}
	if _, ok := tokens.Organ(tok); !ok {
		t.Error("revoking the old token refused the new one")
	}
	if page := admin.page("/ops/directory?ok=revoked"); !strings.Contains(page, `<div class="token revoked" data-fp="`+gfp+`">`) || !strings.Contains(page, "Đã thu hồi mã truy cập") {
		t.Errorf("after revoking: %s", page)
	}

	// Clerks reach none of it, and a signed-out visitor cannot replay.
	if code, _, _ := clerk.do(http.MethodPost, "/ops/directory/"+h29+"/tokens", url.Values{"csrf": {csrf(t, clerk.page("/inbox"))}}); code != http.StatusForbidden {
		t.Errorf("clerk issuing a token: %d", code)
	}
	for _, path := range []string{"/ops/search?from=" + g22, "/ops/packet/" + id, "/ops/dead-letters", "/ops/directory"} {
		if code, _, _ := clerk.do(http.MethodGet, path, nil); code != http.StatusForbidden {
			t.Errorf("clerk's %s: %d", path, code)
		}
	}
	_, cbody, _ := clerk.do(http.MethodGet, "/inbox", nil)
	if code, _, _ := clerk.do(http.MethodPost, "/ops/dead-letters/replay", url.Values{"csrf": {csrf(t, cbody)}, "ref": {ref}}); code != http.StatusForbidden {
		t.Errorf("clerk's replay: %d", code)
	}
	if code, _, _ := newBrowser(t, base).do(http.MethodPost, "/ops/dead-letters/replay", url.Values{"ref": {ref}}); code != http.StatusForbidden {
		t.Errorf("signed-out replay: %d", code)
	}
}

// baseTokens authenticates the configured tokens.
type baseTokens []config.Agency

func (b baseTokens) Organ(tok string) (string, bool) {
	for _, a := range b {
		if a.MatchToken(tok) {
			return a.OrganID, true
		}
	}
	return "", false
}

// regexpFind returns the first group of re in s, failing without one.
func regexpFind(t *testing.T, s, re string) string {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no %s in %s", re, s)
	}
	return m[1]
}
