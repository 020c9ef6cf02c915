package console_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"lienthong/internal/console"
	"lienthong/internal/hubtest"
	"lienthong/internal/metrics"
	"lienthong/internal/testwait"
)

func TestOperatorDashboard(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := metrics.NewHub(reg, hubtest.Agencies)
	if err != nil {
		t.Fatal(err)
	}
	h := hubtest.Start(t, hubtest.Options{Metrics: m})
	dir := testDirectory(t)
	hash, err := console.HashPassword("mật khẩu đúng")
	if err != nil {
		t.Fatal(err)
	}
	base := serveConsole(t, console.Options{
		Hub: h.Hub,
		Accounts: []console.Account{
			{Username: "vanhanh", PasswordHash: hash, Role: console.RoleOperator},
			{Username: "quantri", PasswordHash: hash, Role: console.RoleAdmin},
			{Username: "vanthu.h29", PasswordHash: hash, Role: console.RoleClerk, OrganID: h29},
		},
		Gatherer:  reg,
		Directory: dir,
	})

	if code, _, hdr := newBrowser(t, base).do(http.MethodGet, "/ops", nil); code != http.StatusSeeOther || hdr.Get("Location") != "/" {
		t.Fatalf("/ops signed out: %d %q", code, hdr.Get("Location"))
	}

	sendREST(t, h)

	op := newBrowser(t, base)
	code, _ := op.login("vanhanh", "mật khẩu đúng")
	if code != http.StatusSeeOther {
		t.Fatalf("operator sign in: %d", code)
	}
	if _, _, hdr := op.do(http.MethodGet, "/", nil); hdr.Get("Location") != "/ops" {
		t.Fatalf("operator's home: %q", hdr.Get("Location"))
	}
	accepted := `<tr data-key="edoc"><td>Văn bản</td><td class="num">1</td>`
	pending := "<td>" + h29 + "</td><td>Cơ quan " + h29 + "</td><td class=\"num\">1</td>"
	var body string
	testwait.Eventually(t, "accepted 1 and H29 pending 1 on /ops", func() bool {
		body = op.page("/ops")
		return strings.Contains(body, accepted) && strings.Contains(body, pending)
	})
	for _, want := range []string{`<body data-refresh="10">`, `<script src="/static/console.js" defer>`, "Bảng điều khiển vận hành", "Tồn đọng theo cơ quan", "p99"} {
		if !strings.Contains(body, want) {
			t.Fatalf("/ops lacks %q: %s", want, body)
		}
	}
	// Health and the consumers' lag come from the hub's probe; the chart
	// is drawn (its minutes fill as the sampler runs).
	for _, want := range []string{
		`<tr data-key="broker"><td>Kafka (trục thông điệp)</td><td><span class="badge ok">Hoạt động</span>`,
		`<tr data-key="store"><td>Kho lưu trữ (S3)</td><td><span class="badge ok">Hoạt động</span>`,
		"<td>router</td><td>lienthong.accepted</td>",
		"<td>view</td><td>lienthong.inbox." + h29 + "</td>",
		`<svg class="chart"`, `<tr data-key="accepted"><td>`, "Gói tin mỗi phút",
		`<tr data-key="ok"><td>ok</td><td class="num">0</td>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/ops lacks %q", want)
		}
	}
	// H29's row comes first: the backlog is sorted by pending.
	if i := strings.Index(body, "<td>"+h29+"</td>"); i < 0 || i > strings.Index(body, "<td>"+g22+"</td>") {
		t.Fatalf("backlog order: %s", body)
	}
	if body := op.page("/ops?lang=en"); !strings.Contains(body, "Operations dashboard") || !strings.Contains(body, "Backlog per agency") {
		t.Fatalf("English /ops: %s", body)
	}
	// Operators are not clerks.
	if code, _, _ := op.do(http.MethodGet, "/inbox", nil); code != http.StatusForbidden {
		t.Fatalf("operator's /inbox: %d", code)
	}

	admin := newBrowser(t, base)
	if code, _ := admin.login("quantri", "mật khẩu đúng"); code != http.StatusSeeOther {
		t.Fatalf("admin sign in: %d", code)
	}
	admin.page("/ops")

	clerk := newBrowser(t, base)
	code, _ = clerk.login("vanthu.h29", "mật khẩu đúng")
	if code != http.StatusSeeOther {
		t.Fatalf("clerk sign in: %d", code)
	}
	if code, body, _ := clerk.do(http.MethodGet, "/ops", nil); code != http.StatusForbidden || !strings.Contains(body, "người vận hành") {
		t.Fatalf("clerk's /ops: %d %s", code, body)
	}
}
