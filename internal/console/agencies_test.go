package console_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/agencies"
	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/bus/bustest"
	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/internal/console"
	"github.com/lienthong/lienthong/internal/hubtest"
	"github.com/lienthong/lienthong/internal/organ"
)

const agenciesTopic = "lienthong.agencies"

var agenciesKey = bytes.Repeat([]byte{5}, 32)

// startAgencies runs a run-time agencies store over dir, whose entries
// are the configuration's agencies base, on the test hub's broker, as
// serve starts it.
func startAgencies(t *testing.T, h *hubtest.Hub, dir *organ.Directory, base []config.Agency) *agencies.Store {
	t.Helper()
	s, err := agencies.New(t.Context(), agencies.Config{Bus: bus.Config{Brokers: h.Broker.Addrs()}, Topic: agenciesTopic, Key: agenciesKey,
		Directory: dir, Base: base, Validate: (&config.Config{}).ValidateAgencies,
		Inbox: func(id string) string { return bus.AgencyInbox("lienthong.", id) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() }) // after Run stops: cleanups run last first
	bustest.Run(t, "agencies", s.Run)
	wctx, wcancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer wcancel()
	if err := s.WaitReady(wctx); err != nil {
		t.Fatal(err)
	}
	return s
}

// audited is the audit trail of the agencies topic: what was published.
func audited(t *testing.T, h *hubtest.Hub) []agencies.Change {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	cs, err := agencies.Audit(ctx, bus.Config{Brokers: h.Broker.Addrs()}, agenciesTopic, agenciesKey)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// An admin adds an agency, changes it with a new secret, and retires it
// through the console's forms; the directory lists its credentials as
// they are now; others may not; a bad entry publishes nothing; no secret
// is ever on a page.
func TestAgencyForms(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	dir := testDirectory(t)
	var base []config.Agency
	for _, a := range dir.Agencies() {
		base = append(base, config.Agency{OrganID: string(a.ID), Name: a.Name})
	}
	store := startAgencies(t, h, dir, base)
	hash, err := console.HashPassword("mật khẩu đúng")
	if err != nil {
		t.Fatal(err)
	}
	o := console.Options{
		Hub: h.Hub,
		Accounts: []console.Account{
			{Username: "quantri", PasswordHash: hash, Role: console.RoleAdmin},
			{Username: "vanhanh", PasswordHash: hash, Role: console.RoleOperator},
			{Username: "vanthu.h29", PasswordHash: hash, Role: console.RoleClerk, OrganID: h29},
		},
		Directory: dir,
		// What the configuration had at start: run-time changes must show
		// instead.
		Credentials: map[string]console.AgencyCredentials{g12: {Webhook: true}},
		Agencies:    store,
	}
	consoleURL := serveConsole(t, o)
	const (
		h99         = "000.00.00.H99"
		hookSecret  = "webhook-secret-of-h99-0123456789"
		vdxpSecret  = "national-axis-secret-of-h99-42"
		hookSecret2 = "a-second-webhook-secret-9876543210"
	)
	secrets := []string{hookSecret, vdxpSecret, hookSecret2}
	var seen []string // every page the admin was shown
	admin := newBrowser(t, consoleURL)
	if code, _ := admin.login("quantri", "mật khẩu đúng"); code != http.StatusSeeOther {
		t.Fatalf("admin sign in: %d", code)
	}
	get := func(path string) string {
		t.Helper()
		body := admin.page(path)
		seen = append(seen, body)
		return body
	}
	post := func(path string, form url.Values) (int, string, http.Header) {
		t.Helper()
		body := get(path)
		form.Set("csrf", csrf(t, body))
		code, resp, hdr := admin.do(http.MethodPost, path, form)
		seen = append(seen, resp)
		return code, resp, hdr
	}

	body := get("/ops/directory")
	for _, want := range []string{`href="/ops/agencies/new"`, `href="/ops/agencies/` + g22 + `/edit"`, `href="/ops/agencies/` + g22 + `/retire"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the admin's directory lacks %s", want)
		}
	}
	if strings.Contains(body, "Khóa bí mật để đẩy gói tin") {
		t.Error("the directory lists G12's webhook secret from the static map, not the store's credentials")
	}

	// Bad entries: the reason in plain Vietnamese, nothing published.
	tests := []struct {
		name string
		give url.Values
		want string
	}{
		{"webhook without secret", url.Values{"id": {h99}, "name": {"Sở Thử nghiệm"}, "mode": {"webhook"}, "webhook_url": {"https://h99.example/hook"}},
			"cần khóa bí mật dài ít nhất 16 ký tự"},
		{"bad id", url.Values{"id": {"h99"}, "name": {"Sở Thử nghiệm"}, "mode": {"pull"}}, "Mã định danh không hợp lệ"},
		{"alias taken", url.Values{"id": {h99}, "name": {"Sở Thử nghiệm"}, "mode": {"pull"}, "aliases": {h29}}, "đã thuộc về cơ quan khác"},
		{"existing", url.Values{"id": {g22}, "name": {"Sở Thử nghiệm"}, "mode": {"pull"}}, "Danh bạ đã có cơ quan"},
		{"bad endpoint", url.Values{"id": {h99}, "name": {"Sở Thử nghiệm"}, "mode": {"webhook"}, "webhook_url": {"ftp://h99.example/"}, "webhook_secret": {hookSecret}},
			"Địa chỉ nhận không hợp lệ"},
		{"short national-axis secret", url.Values{"id": {h99}, "name": {"Sở Thử nghiệm"}, "mode": {"pull"}, "vdxp_system": {"h99-dms"}, "vdxp_secret": {"short"}},
			"phải dài ít nhất 16 ký tự"},
		{"no name", url.Values{"id": {h99}, "mode": {"pull"}}, "Nhập tên cơ quan."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, resp, _ := post("/ops/agencies/new", tt.give)
			if code != http.StatusBadRequest || !strings.Contains(resp, tt.want) {
				t.Errorf("POST: %d, want 400 with %q: %s", code, tt.want, resp)
			}
			if !strings.Contains(resp, `id="agency-errors"`) || !strings.Contains(resp, `<form method="post" action="/ops/agencies/new"`) {
				t.Error("the error is not shown with the form")
			}
			checkPlainVietnamese(t, "/ops/agencies/new "+tt.name, resp)
		})
	}
	if cs := audited(t, h); len(cs) != 0 {
		t.Fatalf("bad entries published %d changes: %+v", len(cs), cs)
	}

	// Add.
	code, _, hdr := post("/ops/agencies/new", url.Values{"id": {h99}, "name": {"Sở Thử nghiệm"}, "mode": {"webhook"},
		"webhook_url": {"https://h99.example/hook"}, "webhook_secret": {hookSecret}, "aliases": {"000.00.00.H98"}})
	if code != http.StatusSeeOther || !strings.HasPrefix(hdr.Get("Location"), "/ops/directory?ok=agency_added") {
		t.Fatalf("add: %d %s", code, hdr.Get("Location"))
	}
	if a, ok := dir.Lookup(h99); !ok || a.Name != "Sở Thử nghiệm" || a.Endpoint != "https://h99.example/hook" {
		t.Fatalf("the directory after adding: %+v %v", a, ok)
	}
	body = get(hdr.Get("Location"))
	row := rowOf(t, body, h99)
	for _, want := range []string{"Sở Thử nghiệm", "Khóa bí mật để đẩy gói tin", "Sửa tại bảng điều khiển lúc", "console:quantri"} {
		if !strings.Contains(row, want) {
			t.Errorf("H99's row lacks %q: %s", want, row)
		}
	}
	if !strings.Contains(body, "Đã thêm cơ quan") {
		t.Error("no flash after adding")
	}

	// Change: a national-axis account; the webhook secret left blank is
	// kept.
	body = get("/ops/agencies/" + h99 + "/edit")
	for _, want := range []string{`value="Sở Thử nghiệm"`, `value="https://h99.example/hook"`, `value="000.00.00.H98"`, `name="webhook_secret" type="password"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the edit form lacks %s", want)
		}
	}
	code, _, hdr = post("/ops/agencies/"+h99+"/edit", url.Values{"name": {"Sở Thử nghiệm mới"}, "mode": {"webhook"}, "webhook_url": {"https://h99.example/hook"},
		"vdxp_system": {"h99-dms"}, "vdxp_secret": {vdxpSecret}})
	if code != http.StatusSeeOther || !strings.HasPrefix(hdr.Get("Location"), "/ops/directory?ok=agency_changed") {
		t.Fatalf("change: %d %s", code, hdr.Get("Location"))
	}
	c := credentialsOf(store, h99)
	if c.Name != "Sở Thử nghiệm mới" || c.WebhookSecret.Reveal() != hookSecret || c.VDXPSystemID != "h99-dms" || c.VDXPSecret.Reveal() != vdxpSecret {
		t.Errorf("after the change: %+v", c)
	}
	if row := rowOf(t, get("/ops/directory"), h99); !strings.Contains(row, "Tài khoản trục quốc gia") || !strings.Contains(row, "Sở Thử nghiệm mới") {
		t.Errorf("H99's row after the change: %s", row)
	}
	// A new webhook secret replaces the old; the account stays.
	code, _, _ = post("/ops/agencies/"+h99+"/edit", url.Values{"name": {"Sở Thử nghiệm mới"}, "mode": {"webhook"}, "webhook_url": {"https://h99.example/hook"},
		"vdxp_system": {"h99-dms"}, "webhook_secret": {hookSecret2}})
	if c := credentialsOf(store, h99); code != http.StatusSeeOther || c.WebhookSecret.Reveal() != hookSecret2 || c.VDXPSecret.Reveal() != vdxpSecret {
		t.Errorf("new webhook secret: %d %+v", code, c)
	}
	for _, ch := range store.Changes() {
		if ch.By != "console:quantri" {
			t.Errorf("change of %s by %q", ch.OrganID, ch.By)
		}
	}

	// Others may not.
	for _, who := range []string{"vanhanh", "vanthu.h29"} {
		b := newBrowser(t, consoleURL)
		if code, _ := b.login(who, "mật khẩu đúng"); code != http.StatusSeeOther {
			t.Fatalf("%s sign in: %d", who, code)
		}
		for _, path := range []string{"/ops/agencies/new", "/ops/agencies/" + h99 + "/edit", "/ops/agencies/" + h99 + "/retire"} {
			if code, _, _ := b.do(http.MethodGet, path, nil); code != http.StatusForbidden {
				t.Errorf("%s GET %s: %d, want 403", who, path, code)
			}
		}
		_, page, hdr := b.do(http.MethodGet, "/", nil)
		if loc := hdr.Get("Location"); loc != "" {
			_, page, _ = b.do(http.MethodGet, loc, nil)
		}
		tok := csrfRE.FindStringSubmatch(page)
		if tok == nil {
			t.Fatalf("%s: no CSRF token on /", who)
		}
		if code, _, _ := b.do(http.MethodPost, "/ops/agencies/"+h99+"/retire", url.Values{"csrf": {tok[1]}, "confirm": {h99}}); code != http.StatusForbidden {
			t.Errorf("%s retires: %d, want 403", who, code)
		}
		if who == "vanhanh" {
			if body := b.page("/ops/directory"); strings.Contains(body, "/ops/agencies/") || !strings.Contains(body, "chỉ quản trị viên được thêm, sửa, gỡ cơ quan") {
				t.Error("an operator's directory links the admins' forms, or does not say who may change it")
			}
		}
	}
	if _, ok := dir.Lookup(h99); !ok {
		t.Fatal("H99 retired by a non-admin")
	}

	// Retire, after typing the OrganId.
	body = get("/ops/agencies/" + h99 + "/retire")
	if !strings.Contains(body, `name="confirm"`) || !strings.Contains(body, "Để xác nhận, gõ mã định danh") {
		t.Errorf("the retire page asks for no confirmation: %s", body)
	}
	checkPlainVietnamese(t, "/ops/agencies/"+h99+"/retire", body)
	code, resp, _ := post("/ops/agencies/"+h99+"/retire", url.Values{"confirm": {g22}})
	if _, ok := dir.Lookup(h99); code != http.StatusBadRequest || !ok || !strings.Contains(resp, "không khớp") {
		t.Errorf("retire with the wrong OrganId typed: %d, retired %v", code, !ok)
	}
	code, _, hdr = post("/ops/agencies/"+h99+"/retire", url.Values{"confirm": {h99}})
	if code != http.StatusSeeOther || !strings.HasPrefix(hdr.Get("Location"), "/ops/directory?ok=agency_retired") {
		t.Fatalf("retire: %d %s", code, hdr.Get("Location"))
	}
	if _, ok := dir.Lookup(h99); ok {
		t.Error("H99 still in the directory")
	}
	if body := get(hdr.Get("Location")); strings.Contains(body, `data-organ="`+h99+`"`) || !strings.Contains(body, "Đã gỡ cơ quan khỏi danh bạ") {
		t.Error("the directory after retiring")
	}
	if code, _, _ := admin.do(http.MethodGet, "/ops/agencies/"+h99+"/edit", nil); code != http.StatusNotFound {
		t.Errorf("edit a retired agency: %d, want 404", code)
	}
	if cs := audited(t, h); len(cs) != 4 || cs[3].Action != agencies.ActionRetire || cs[3].By != "console:quantri" {
		t.Errorf("audit trail: %+v", cs)
	}

	for _, page := range seen {
		for _, s := range secrets {
			if strings.Contains(page, s) {
				t.Fatalf("a page shows a secret: %s", page)
			}
		}
	}

	// Without run-time agencies the forms do not exist.
	o.Agencies = nil
	off := newBrowser(t, serveConsole(t, o))
	if code, _ := off.login("quantri", "mật khẩu đúng"); code != http.StatusSeeOther {
		t.Fatalf("admin sign in: %d", code)
	}
	if code, _, _ := off.do(http.MethodGet, "/ops/agencies/new", nil); code != http.StatusNotFound {
		t.Errorf("GET /ops/agencies/new without the store: %d, want 404", code)
	}
	body = off.page("/ops/directory")
	if strings.Contains(body, "/ops/agencies/") {
		t.Error("the directory links the forms without the store")
	}
	if !strings.Contains(rowOf(t, body, g12), "Khóa bí mật để đẩy gói tin") {
		t.Error("without the store, the directory does not list the configuration's credentials")
	}
}

func credentialsOf(s *agencies.Store, id string) config.Agency {
	for _, c := range s.Credentials() {
		if c.OrganID == id {
			return c
		}
	}
	return config.Agency{}
}

// rowOf is the directory's row of agency id.
func rowOf(t *testing.T, body, id string) string {
	t.Helper()
	i := strings.Index(body, `<tr data-organ="`+id+`">`)
	if i < 0 {
		t.Fatalf("no row of %s in the directory", id)
	}
	j := strings.Index(body[i:], "</tr>")
	return body[i : i+j]
}
