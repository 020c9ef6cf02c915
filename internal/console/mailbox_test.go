package console_test

import (
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/console"
	"github.com/lienthong/lienthong/internal/hubtest"
	"github.com/lienthong/lienthong/internal/organ"
	"github.com/lienthong/lienthong/internal/testwait"
	"github.com/lienthong/lienthong/internal/track"
)

// letter is a variation of the edoc-new fixture.
type letter struct {
	from, to, organName, number, notation, subject string
	priority                                       int
}

// sendLetter posts l through the REST API, signed by its sender, and
// returns its packet id.
func sendLetter(t *testing.T, h *hubtest.Hub, l letter) string {
	t.Helper()
	raw, err := os.ReadFile("../edxml/testdata/fixtures/edoc-new.xml")
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	s = strings.Replace(s, "<edXML:OrganName>Văn phòng Chính phủ</edXML:OrganName>", "<edXML:OrganName>"+l.organName+"</edXML:OrganName>", 1)
	s = strings.ReplaceAll(s, "<edXML:OrganId>"+h29+"</edXML:OrganId>", "<edXML:OrganId>"+l.to+"</edXML:OrganId>")
	s = strings.ReplaceAll(s, g22, l.from)
	s = strings.ReplaceAll(s, "1234/VPCP-KSTT", l.number+"/"+l.notation)
	s = strings.Replace(s, "<edXML:CodeNumber>1234<", "<edXML:CodeNumber>"+l.number+"<", 1)
	s = strings.Replace(s, "<edXML:CodeNotation>VPCP-KSTT<", "<edXML:CodeNotation>"+l.notation+"<", 1)
	s = strings.Replace(s, "<edXML:Subject>"+subject+"<", "<edXML:Subject>"+l.subject+"<", 1)
	s = strings.Replace(s, "<edXML:Priority>1<", "<edXML:Priority>"+strconv.Itoa(l.priority)+"<", 1)
	return sendPacket(t, h, l.from, []byte(s), time.Time{})
}

var rowRE = regexp.MustCompile(`(?s)<tr[ >].*?</tr>`)

// rows are the body rows of a list page.
func rows(body string) []string {
	var out []string
	for _, r := range rowRE.FindAllString(body, -1) {
		if strings.Contains(r, `href="/doc/`) {
			out = append(out, r)
		}
	}
	return out
}

// row is the row of the document id on a list page, "" when absent.
func row(body, id string) string {
	for _, r := range rows(body) {
		if strings.Contains(r, `href="/doc/`+id+`"`) {
			return r
		}
	}
	return ""
}

var docRE = regexp.MustCompile(`href="/doc/([^"]+)"`)

// listed are the documents a list page shows, in order.
func listed(body string) []string {
	var ids []string
	for _, r := range rows(body) {
		ids = append(ids, docRE.FindStringSubmatch(r)[1])
	}
	return ids
}

// keyRE finds a message key shown for want of its message.
var keyRE = regexp.MustCompile(`\b(mail_[a-z_]+|prio\d|mail_st_\w+)\b`)

var nextRE = regexp.MustCompile(`<a href="([^"]+)" rel="next">Trang sau</a>`)

// The incoming list keeps a letter after the agency's DMS acknowledged
// it, moves it to the handled view on the clerk's 03, never shows status
// packets, names agencies as the directory does (warning when the packet
// names its sender otherwise), filters and pages; another agency never
// sees it. The sender's outgoing list shows the recipient's state by
// name with its time.
func TestMailLists(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	dir, err := organ.NewDirectory([]organ.Agency{
		{ID: g22, Name: "Văn phòng Chính phủ"},
		{ID: h29, Name: "Ủy ban nhân dân Thành phố Hồ Chí Minh"},
		{ID: g12, Name: "Bộ Nội vụ"},
	})
	if err != nil {
		t.Fatal(err)
	}
	hash, err := console.HashPassword("mật khẩu đúng")
	if err != nil {
		t.Fatal(err)
	}
	zone, err := time.LoadLocation("Asia/Ho_Chi_Minh")
	if err != nil {
		t.Fatal(err)
	}
	base := serveConsole(t, console.Options{
		Hub: h.Hub,
		Accounts: []console.Account{
			{Username: "vanthu.h29", PasswordHash: hash, Role: console.RoleClerk, OrganID: h29},
			{Username: "vanthu.g22", PasswordHash: hash, Role: console.RoleClerk, OrganID: g22},
			{Username: "vanthu.g12", PasswordHash: hash, Role: console.RoleClerk, OrganID: g12},
		},
		Signers:   hosted(h, g22, h29),
		Directory: dir,
		Zone:      zone,
	})
	clerk := func(user string) *browser {
		b := newBrowser(t, base)
		if code, _ := b.login(user, "mật khẩu đúng"); code != http.StatusSeeOther {
			t.Fatalf("%s sign in: %d", user, code)
		}
		return b
	}
	h29c, g22c, g12c := clerk("vanthu.h29"), clerk("vanthu.g22"), clerk("vanthu.g12")

	a := sendREST(t, h) // G22 → H29: 1234/VPCP-KSTT, urgent (1)
	b := sendLetter(t, h, letter{from: g12, to: h29, organName: "Văn phòng Chính phủ", number: "77", notation: "BNV-VP",
		subject: "Báo cáo tình hình thực hiện nhiệm vụ quý IV"})
	c := sendLetter(t, h, letter{from: g22, to: g12, organName: "Văn phòng Chính phủ", number: "88", notation: "VPCP-TH",
		subject: "Thông báo lịch họp giao ban"})
	var body string
	testwait.Eventually(t, "both letters in H29's list", func() bool {
		body = h29c.page("/inbox?view=all")
		return row(body, a) != "" && row(body, b) != ""
	})

	// Names, not codes; the sender's code secondary; a warning where the
	// packet names its sender otherwise than the directory.
	ra, rb := row(body, a), row(body, b)
	for _, want := range []string{"Văn phòng Chính phủ <small class=\"code\">" + g22 + "</small>", "1234/VPCP-KSTT", "20/11/2025", "05/12/2025",
		`<span class="badge warn">Khẩn</span>`, "Chưa đọc"} {
		if !strings.Contains(ra, want) {
			t.Errorf("G22's letter's row lacks %q: %s", want, ra)
		}
	}
	if strings.Contains(ra, `class="warning"`) {
		t.Errorf("a warning on a letter that names its sender as the directory does: %s", ra)
	}
	if !strings.Contains(rb, "Bộ Nội vụ <small class=\"code\">"+g12+"</small>") ||
		!strings.Contains(rb, `<span class="warning">Văn bản ghi tên cơ quan gửi là “Văn phòng Chính phủ”, khác với tên trong danh bạ.</span>`) {
		t.Errorf("G12's letter naming itself Văn phòng Chính phủ: %s", rb)
	}
	if !strings.Contains(body, `<option value="`+g12+`">Bộ Nội vụ</option>`) {
		t.Errorf("the sender filter does not list agencies by name: %s", body)
	}

	// The DMS acknowledges A: it leaves the pending transport inbox but
	// stays in the clerk's lists, still to handle.
	if err := h.Hub.Ack(t.Context(), h29, a, "done", ""); err != nil {
		t.Fatal(err)
	}
	testwait.Eventually(t, "the acknowledgement", func() bool {
		items, _, err := h.Hub.Inbox(h29, "edoc", 100, "")
		return err == nil && !slices.ContainsFunc(items, func(it track.Item) bool { return it.ID == a })
	})
	if row(h29c.page("/inbox?view=all"), a) == "" || row(h29c.page("/inbox"), a) == "" {
		t.Error("an acknowledged letter left the lists")
	}
	if row(h29c.page("/inbox?view=handled"), a) != "" {
		t.Error("an acknowledged letter counts as handled")
	}

	// The clerk accepts it (03): it is handled.
	page := h29c.page("/doc/" + a)
	if code, _, hdr := h29c.do(http.MethodPost, "/doc/"+a+"/status", map[string][]string{"csrf": {csrf(t, page)}, "code": {"03"}}); code != http.StatusSeeOther {
		t.Fatalf("accept: %d %s", code, hdr.Get("Location"))
	}
	var tl track.Timeline
	testwait.Eventually(t, "the 03 on the timeline", func() bool {
		tl, err = h.Hub.Timeline(g22, a)
		return err == nil && len(tl.Recipients) == 1 && tl.Recipients[0].State == "03"
	})
	testwait.Eventually(t, "01 and 03 at G22", func() bool {
		items, _, err := h.Hub.Inbox(g22, "status", 100, "")
		return err == nil && len(items) == 2
	})
	if row(h29c.page("/inbox"), a) != "" {
		t.Error("an accepted letter is still pending")
	}
	if r := row(h29c.page("/inbox?view=handled"), a); !strings.Contains(r, `data-state="03">Đã tiếp nhận</span>`) {
		t.Errorf("the accepted letter among the handled: %q", r)
	}

	// Status packets are no rows of the sender's incoming list; their
	// state shows on its outgoing row, by the recipient's name, with time.
	statuses, _, err := h.Hub.Inbox(g22, "status", 100, "")
	if err != nil {
		t.Fatal(err)
	}
	gin := g22c.page("/inbox?view=all")
	for _, st := range statuses {
		if strings.Contains(gin, "/doc/"+st.ID) {
			t.Errorf("status packet %s is a row of G22's incoming list: %s", st.ID, gin)
		}
	}
	if n := len(rows(gin)); n != 0 {
		t.Errorf("G22's incoming list has %d rows, want none", n)
	}
	var at time.Time
	for _, e := range tl.Recipients[0].Events {
		if e.Type == track.EventStatus && e.Code == "03" {
			at = e.At
		}
	}
	want := `<li data-organ="` + h29 + `"><span class="organ" title="` + h29 + `">Ủy ban nhân dân Thành phố Hồ Chí Minh</span>: <span class="state" data-state="03">Đã tiếp nhận</span> <span class="when">` +
		at.In(zone).Format("02/01/2006 15:04") + `</span>`
	if r := row(g22c.page("/outbox"), a); !strings.Contains(r, want) {
		t.Errorf("G22's outgoing row lacks %s: %s", want, r)
	}

	// Filters: trích yếu without diacritics, số ký hiệu in any case, the
	// sender, the urgency, dates in dd/mm/yyyy.
	today := time.Now().In(zone)
	tests := []struct {
		give string
		want []string
	}{
		{give: "q=bao+cao+tinh+hinh", want: []string{b}},
		{give: "q=R%C3%80+SO%C3%81T", want: []string{a}},
		{give: "code=1234%2Fvpcp", want: []string{a}},
		{give: "party=" + g12, want: []string{b}},
		{give: "priority=1", want: []string{a}},
		{give: "priority=0&party=" + g12, want: []string{b}},
		{give: "since=" + today.Format("02/01/2006") + "&until=" + today.Format("2006-01-02"), want: []string{b, a}},
		{give: "until=" + today.AddDate(0, 0, -1).Format("02/01/2006"), want: nil},
	}
	for _, tt := range tests {
		if got := listed(h29c.page("/inbox?view=all&" + tt.give)); !slices.Equal(got, tt.want) {
			t.Errorf("filter %s: %v, want %v", tt.give, got, tt.want)
		}
	}
	// A date sent as yyyy-mm-dd comes back as every date is shown.
	if p := h29c.page("/inbox?since=" + today.Format("2006-01-02")); !strings.Contains(p, `name="since" value="`+today.Format("02/01/2006")+`"`) {
		t.Errorf("the date typed is not shown as dd/mm/yyyy: %s", p)
	}
	bad := []struct {
		give, want string
	}{
		{give: "since=32/13/2026", want: "“Từ ngày” không phải là ngày hợp lệ"},
		{give: "since=07/12/2026&until=01/12/2026", want: "“Từ ngày” phải trước hoặc trùng với “Đến ngày”."},
		{give: "priority=9", want: "Độ khẩn không hợp lệ."},
		{give: "party=khong-phai-ma", want: "Mã định danh cơ quan không hợp lệ."},
		{give: "cursor=zz", want: "Liên kết phân trang không còn dùng được"},
	}
	for _, tt := range bad {
		code, page, _ := h29c.do(http.MethodGet, "/inbox?"+tt.give, nil)
		if code >= 500 || !strings.Contains(page, `<p class="error" role="alert">`) || !strings.Contains(page, tt.want) {
			t.Errorf("%s: %d, want the page saying %q: %s", tt.give, code, tt.want, page)
		}
	}

	// Another agency never sees H29's letters, whatever it asks.
	testwait.Eventually(t, "G22's letter in G12's list", func() bool {
		return row(g12c.page("/inbox?view=all"), c) != ""
	})
	for _, q := range []string{"/inbox?view=all", "/inbox?view=all&q=ra+soat", "/inbox?view=handled", "/inbox?view=all&party=" + g22} {
		if got := listed(g12c.page(q)); slices.Contains(got, a) || slices.Contains(got, b) {
			t.Errorf("G12's %s lists H29's letters: %v", q, got)
		}
	}
	if row(g12c.page("/outbox?view=all"), b) == "" {
		t.Error("G12's outgoing list lacks its letter")
	}

	// Every string of the lists is in both languages.
	for _, q := range []string{"/inbox?view=all&lang=en", "/outbox?view=all&lang=en", "/inbox?view=all&lang=vi", "/outbox?view=all&since=x"} {
		_, page, _ := g12c.do(http.MethodGet, q, nil)
		if keyRE.MatchString(page) {
			t.Errorf("%s shows a message key: %s", q, page)
		}
	}
	if en := g12c.page("/inbox?lang=en"); !strings.Contains(en, ">To handle</a>") || !strings.Contains(en, "Filter") {
		t.Errorf("the English list: %s", en)
	}
	g12c.page("/inbox?lang=vi")

	// Pages: two a page over five letters, the filter kept on each link.
	defer console.SetListPageSize(2)()
	var more []string
	for i := range 3 {
		n := strconv.Itoa(100 + i)
		more = append(more, sendLetter(t, h, letter{from: g22, to: h29, organName: "Văn phòng Chính phủ", number: n, notation: "VPCP-TH",
			subject: "Công văn số " + n + " về công tác văn thư"}))
	}
	testwait.Eventually(t, "the five letters", func() bool {
		return len(listed(h29c.page("/inbox?view=all&code=VPCP-TH"))) == 2
	})
	var seen []string
	next, pages := "/inbox?view=all", 0
	for next != "" {
		body := h29c.page(next)
		ids := listed(body)
		if len(ids) > 2 {
			t.Fatalf("%d rows on a page of 2", len(ids))
		}
		seen = append(seen, ids...)
		if pages++; pages > 1 && !strings.Contains(body, ">Trang đầu</a>") {
			t.Errorf("page %d has no link to the first", pages)
		}
		next = ""
		if m := nextRE.FindStringSubmatch(body); m != nil {
			next = m[1] // the page's text is unescaped
		}
	}
	wantAll := []string{more[2], more[1], more[0], b, a} // newest first
	if !slices.Equal(seen, wantAll) || pages != 3 {
		t.Errorf("paging through all: %v in %d pages, want %v in 3", seen, pages, wantAll)
	}
	first := h29c.page("/inbox?view=all&q=cong+tac+van+thu")
	m := nextRE.FindStringSubmatch(first)
	if len(listed(first)) != 2 || m == nil || !strings.Contains(m[1], "q=cong+tac+van+thu") {
		t.Fatalf("the first filtered page: %v, next %v", listed(first), m)
	}
	if got := listed(h29c.page(m[1])); !slices.Equal(got, []string{more[0]}) {
		t.Errorf("the second filtered page: %v, want %v", got, more[:1])
	}
}
