package console_test

import (
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lienthong/lienthong/internal/console"
	"github.com/lienthong/lienthong/internal/hubtest"
	"github.com/lienthong/lienthong/internal/metrics"
	"github.com/lienthong/lienthong/internal/testwait"
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
	// The backlog names the agency, its code secondary.
	pending := `<tr data-organ="` + h29 + `"><td>Cơ quan ` + h29 + ` <span class="secondary">` + h29 + `</span></td><td class="num">1</td>`
	var body string
	testwait.Eventually(t, "accepted 1 and H29 pending 1 on /ops", func() bool {
		body = op.page("/ops")
		return strings.Contains(body, accepted) && strings.Contains(body, pending)
	})
	for _, want := range []string{`<body data-refresh="10">`, `<script src="/static/console.js" defer>`, "Bảng điều khiển vận hành", "Tồn đọng theo cơ quan",
		"Trang tự làm mới sau mỗi 10 giây.", "Một nửa số gói tin trong vòng", "99% số gói tin trong vòng"} {
		if !strings.Contains(body, want) {
			t.Fatalf("/ops lacks %q: %s", want, body)
		}
	}
	// Health and the stages' backlog come from the hub's probe, in plain
	// words; Kafka's names stay in the technical details.
	for _, want := range []string{
		`<tr data-key="broker"><td>Hệ thống chuyển thông điệp</td><td><span class="badge ok">Hoạt động</span>`,
		`<tr data-key="store"><td>Kho lưu trữ gói tin</td><td><span class="badge ok">Hoạt động</span>`,
		`<tr data-group="router" data-topic="lienthong.accepted"><td>Định tuyến</td><td>Gói tin đã tiếp nhận</td>`,
		`<tr data-group="view" data-topic="lienthong.inbox.` + h29 + `"><td>Cập nhật sổ theo dõi</td><td>Hộp thư của Cơ quan ` + h29 + ` <span class="secondary">` + h29 + `</span></td>`,
		"<td><code>router</code></td><td><code>lienthong.accepted</code></td>",
		`<tr data-key="ok"><td>Thành công</td><td class="num">0</td>`,
		`<tr data-key="error"><td>Lỗi</td><td class="num">0</td>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/ops lacks %q", want)
		}
	}
	if strings.Index(body, `<tr data-key="ok">`) > strings.Index(body, `<tr data-key="error">`) {
		t.Error("webhook failures listed before successes")
	}
	// H29's row comes first: the backlog is sorted by pending.
	if i := strings.Index(body, `<tr data-organ="`+h29+`">`); i < 0 || i > strings.Index(body, `<tr data-organ="`+g22+`">`) {
		t.Fatalf("backlog order: %s", body)
	}
	checkChart(t, body, "hour", "gói tin/phút", "Gói tin trong 60 phút qua", 60)
	day := op.page("/ops?chart=day")
	checkChart(t, day, "day", "gói tin/15 phút", "Gói tin trong 24 giờ qua", 96)
	if !strings.Contains(day, `<a href="/ops?chart=day" aria-current="page">`) || strings.Contains(day, `<a href="/ops?chart=hour" aria-current="page">`) {
		t.Error("the day view is not the current tab")
	}
	for path, page := range map[string]string{"/ops": body, "/ops?chart=day": day, "/ops/glossary": op.page("/ops/glossary")} {
		checkPlainVietnamese(t, path, page)
	}
	// The glossary explains each word and names it as Kafka and
	// Prometheus do; every operator page links to it.
	glossary := op.page("/ops/glossary")
	for _, want := range []string{"<h1>Thuật ngữ</h1>", `<tr id="gl_channel"><th scope="row">Kênh thông điệp</th>`, "Kafka topic",
		`<tr id="gl_stage"><th scope="row">Khâu xử lý (nhóm xử lý)</th>`, "Kafka consumer group", `<th scope="row">Tồn đọng</th>`,
		`<th scope="row">Thông điệp lỗi</th>`, "dead letter", `<th scope="row">Tự lấy</th>`, "pull: GET /v1/inbox",
		`<th scope="row">Định tuyến</th>`, "router", `<th scope="row">Cập nhật sổ theo dõi</th>`, "view (group"} {
		if !strings.Contains(glossary, want) {
			t.Errorf("the glossary lacks %q", want)
		}
	}
	if !strings.Contains(body, `<a href="/ops/glossary">Giải thích thuật ngữ</a>`) {
		t.Error("/ops does not link the glossary")
	}
	if body := op.page("/ops?lang=en"); !strings.Contains(body, "Operations dashboard") || !strings.Contains(body, "Backlog per agency") ||
		!strings.Contains(body, "packets/min") || !strings.Contains(body, "<td>Routing</td>") {
		t.Fatalf("English /ops: %s", body)
	}
	if body := op.page("/ops/glossary?lang=en"); !strings.Contains(body, `<th scope="row">Channel</th>`) {
		t.Errorf("English glossary: %s", body)
	}
	op.page("/ops?lang=vi")
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
	for _, path := range []string{"/ops", "/ops/glossary"} {
		if code, body, _ := clerk.do(http.MethodGet, path, nil); code != http.StatusForbidden || !strings.Contains(body, "người vận hành") {
			t.Fatalf("clerk's %s: %d %s", path, code, body)
		}
	}
}

// checkChart checks the dashboard's chart of a range: an accessible SVG
// (role, title, description) with the unit, labelled axes, a legend of the
// three series, and its numbers as a table, one row a bucket.
func checkChart(t *testing.T, body, rng, unit, title string, buckets int) {
	t.Helper()
	svg := regexp.MustCompile(`(?s)<svg class="chart" data-range="` + rng + `".*?</svg>`).FindString(body)
	if svg == "" {
		t.Fatalf("no %s chart: %s", rng, body)
	}
	for _, want := range []string{`role="img"`, `aria-labelledby="chart-title chart-desc"`, `<title id="chart-title">` + title + ` (` + unit + `)</title>`,
		`<desc id="chart-desc">`, `viewBox="0 0 `, `width="min(100%, 600px)"`, `<text class="unit" x="4" y="38">` + unit + `</text>`,
		`<g class="legend">`, ">Đã tiếp nhận</text>", ">Đã chuyển đến</text>", ">Bị từ chối</text>"} {
		if !strings.Contains(svg, want) {
			t.Errorf("%s chart lacks %q: %s", rng, want, svg)
		}
	}
	// The count axis reads 0 up, the time axis HH:mm.
	if !regexp.MustCompile(`<g class="y-axis">.*text-anchor="end">0</text>.*text-anchor="end">4</text>`).MatchString(svg) {
		t.Errorf("%s chart: no count axis 0–4: %s", rng, svg)
	}
	if n := len(regexp.MustCompile(`text-anchor="middle">\d\d:\d\d</text>`).FindAllString(svg, -1)); n < 4 {
		t.Errorf("%s chart: %d time labels: %s", rng, n, svg)
	}
	for _, key := range []string{"accepted", "delivered", "rejected"} {
		if !strings.Contains(body, `<tr data-key="`+key+`"><td><svg width="24"`) {
			t.Errorf("%s chart: no legend row %s", rng, key)
		}
	}
	table := regexp.MustCompile(`(?s)<table class="list" id="chart-data">.*?</table>`).FindString(body)
	if n := strings.Count(table, "<tr><td>"); n != buckets {
		t.Errorf("%s chart's table has %d rows, want %d", rng, n, buckets)
	}
}

// jargon are the English and technical words an operator page in
// Vietnamese shows only inside "Chi tiết kỹ thuật" or the glossary's
// technical column.
var jargon = regexp.MustCompile(`(?i)\b(histogram|topic|router|view|error|ok|pull|push|webhook|token|consumer|lag|group|kafka|s3|metrics|dead|letter|replay|p50|p99|ms|pinned|vdxp)\b|docs/|\.md\b`)

// checkPlainVietnamese fails on jargon in a Vietnamese page's visible
// text outside its technical details.
func checkPlainVietnamese(t *testing.T, path, body string) {
	t.Helper()
	text := regexp.MustCompile(`(?s)<details class="tech">.*?</details>|<code class="tech">.*?</code>|<head>.*?</head>`).ReplaceAllString(body, " ")
	text = html.UnescapeString(regexp.MustCompile(`(?s)<[^>]*>`).ReplaceAllString(text, " "))
	// A message key shown as itself has no message.
	if m := regexp.MustCompile(`\b[a-z0-9]+_[a-z0-9_.]+\b`).FindAllString(text, -1); len(m) > 0 {
		t.Errorf("%s shows message keys %q", path, m)
	}
	if m := jargon.FindAllString(text, -1); len(m) > 0 {
		t.Errorf("%s shows %q outside the technical details: %s", path, m, strings.Join(strings.Fields(text), " "))
	}
}
