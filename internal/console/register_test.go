package console_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/lienthong/lienthong/internal/console"
	"github.com/lienthong/lienthong/internal/hub"
	"github.com/lienthong/lienthong/internal/hubtest"
	"github.com/lienthong/lienthong/internal/testwait"
	"github.com/lienthong/lienthong/internal/track"
)

var vnZone = time.FixedZone("ICT", 7*60*60)

// registerLetter is the edoc-new fixture as number n, from G22 to a recipient,
// with its own subject and signer's position.
func registerLetter(t *testing.T, n int, to, subject, position string) []byte {
	t.Helper()
	raw, err := os.ReadFile("../edxml/testdata/fixtures/edoc-new.xml")
	if err != nil {
		t.Fatal(err)
	}
	s := strings.ReplaceAll(string(raw), "1234", strconv.Itoa(n))
	s = strings.Replace(s, "<edXML:OrganId>"+h29+"</edXML:OrganId>", "<edXML:OrganId>"+to+"</edXML:OrganId>", 1)
	s = strings.Replace(s, ">V/v rà soát, đơn giản hóa thủ tục hành chính nội bộ năm 2025<", ">"+subject+"<", 1)
	s = strings.Replace(s, ">Phó Chủ nhiệm<", ">"+position+"<", 1)
	return []byte(s)
}

var (
	regCellRE = regexp.MustCompile(`(?s)<td[^>]*>(.*?)</td>`)
	regBodyRE = regexp.MustCompile(`(?s)<tbody>(.*?)</tbody>`)
	regTagRE  = regexp.MustCompile(`<[^>]+>`)
)

// htmlRows reads a register page's table.
func htmlRows(body string) [][]string {
	m := regBodyRE.FindStringSubmatch(body)
	if m == nil {
		return nil
	}
	var rows [][]string
	for _, tr := range strings.Split(m[1], "</tr>") {
		var cells []string
		for _, c := range regCellRE.FindAllStringSubmatch(tr, -1) {
			cells = append(cells, regTagRE.ReplaceAllString(c[1], ""))
		}
		if cells != nil {
			rows = append(rows, cells)
		}
	}
	return rows
}

func readCSV(t *testing.T, raw []byte) [][]string {
	t.Helper()
	if !bytes.HasPrefix(raw, []byte("\uFEFF")) {
		t.Fatalf("CSV without a UTF-8 BOM: %q", raw[:min(len(raw), 20)])
	}
	recs, err := csv.NewReader(bytes.NewReader(raw[3:])).ReadAll()
	if err != nil {
		t.Fatalf("CSV: %v\n%s", err, raw)
	}
	return recs
}

var (
	inHeader  = []string{"Ngày đến", "Số đến", "Tác giả", "Số, ký hiệu", "Ngày tháng", "Tên loại và trích yếu nội dung", "Đơn vị hoặc người nhận", "Ký nhận", "Ghi chú"}
	outHeader = []string{"Số, ký hiệu văn bản", "Ngày tháng văn bản", "Tên loại và trích yếu nội dung văn bản", "Người ký", "Nơi nhận văn bản", "Đơn vị, người nhận bản lưu", "Số lượng bản", "Ngày chuyển", "Ký nhận", "Ghi chú"}
)

func TestRegisters(t *testing.T) {
	var clock atomic.Pointer[time.Time]
	set := func(t time.Time) { clock.Store(&t) }
	now := func() time.Time { return *clock.Load() }
	set(time.Date(2025, 6, 1, 9, 0, 0, 0, vnZone))
	h := hubtest.Start(t, hubtest.Options{Policy: hub.PolicyUnsignedOK, Hub: func(o *hub.Options) { o.Now = now }})
	hash, err := console.HashPassword("mật khẩu đúng")
	if err != nil {
		t.Fatal(err)
	}
	base := serveConsole(t, console.Options{
		Hub:       h.Hub,
		Directory: testDirectory(t),
		// The console's today; the hub's clock moves over the year's end.
		Now:            func() time.Time { return time.Date(2026, 3, 2, 12, 0, 0, 0, vnZone) },
		RegisterSettle: 5 * time.Minute,
		Accounts: []console.Account{
			{Username: "vanthu.h29", PasswordHash: hash, Role: console.RoleClerk, OrganID: h29},
			{Username: "vanthu.g12", PasswordHash: hash, Role: console.RoleClerk, OrganID: g12},
			{Username: "vanthu.g22", PasswordHash: hash, Role: console.RoleClerk, OrganID: g22},
		},
	})
	clerks := map[string]*browser{}
	for _, id := range []string{h29, g12, g22} {
		b := newBrowser(t, base)
		if code, _ := b.login("vanthu."+strings.ToLower(id[len(id)-3:]), "mật khẩu đúng"); code != http.StatusSeeOther {
			t.Fatalf("%s sign in: %d", id, code)
		}
		clerks[id] = b
	}

	injection := `=HYPERLINK("http://evil.example","bấm vào")`
	sends := []struct {
		at       time.Time
		n        int
		to       string
		subject  string
		position string
	}{
		{time.Date(2025, 6, 1, 9, 0, 0, 0, vnZone), 101, h29, "V/v thứ nhất năm 2025", "Phó Chủ nhiệm"},
		// 16:30 UTC on 31 December: still 2025 in Vietnam.
		{time.Date(2025, 12, 31, 16, 30, 0, 0, time.UTC), 102, h29, "V/v cuối năm 2025", injection},
		// 17:10 UTC on 31 December: already 2026 in Vietnam.
		{time.Date(2025, 12, 31, 17, 10, 0, 0, time.UTC), 103, h29, "V/v đầu năm 2026", "Phó Chủ nhiệm"},
		{time.Date(2026, 3, 2, 8, 0, 0, 0, vnZone), 104, g12, "V/v gửi Cơ quan G12", "Phó Chủ nhiệm"},
		{time.Date(2026, 3, 2, 10, 0, 0, 0, vnZone), 105, h29, "V/v thứ hai năm 2026", "Phó Chủ nhiệm"},
		// Two minutes before the console's now: not numbered yet (registerSettle).
		{time.Date(2026, 3, 2, 11, 58, 0, 0, vnZone), 106, h29, "V/v vừa đến", "Phó Chủ nhiệm"},
	}
	for _, sd := range sends {
		set(sd.at)
		_, _, err := h.Hub.Submit(context.Background(), hub.Submission{Caller: g22, Channel: "v1",
			Packet: bytes.NewReader(registerLetter(t, sd.n, sd.to, sd.subject, sd.position))})
		if err != nil {
			t.Fatalf("send %d: %v", sd.n, err)
		}
	}
	set(time.Date(2026, 3, 2, 12, 0, 0, 0, vnZone))
	h29Clerk, g12Clerk, g22Clerk := clerks[h29], clerks[g12], clerks[g22]
	testwait.Eventually(t, "the letters routed", func() bool {
		return strings.Contains(h29Clerk.page("/registers/in/2026"), "V/v thứ hai năm 2026") &&
			strings.Contains(g12Clerk.page("/registers/in/2026"), "V/v gửi Cơ quan G12")
	})

	// The chooser opens this year's books, in the console's zone.
	if body := h29Clerk.page("/registers"); !strings.Contains(body, `href="/registers/in/2026"`) || !strings.Contains(body, `href="/registers/out/2026"`) {
		t.Fatalf("chooser: %s", body)
	}
	if code, _, hdr := h29Clerk.do(http.MethodGet, "/registers?book=out&year=2025", nil); code != http.StatusSeeOther || hdr.Get("Location") != "/registers/out/2025" {
		t.Fatalf("chooser form: %d %q", code, hdr.Get("Location"))
	}

	// The incoming book numbers by arrival, restarting on 1 January in
	// Vietnam time; the HTML table and the CSV are the same rows.
	agency := "Cơ quan " + h29
	tests := []struct {
		year int
		want [][]string
	}{
		{2025, [][]string{
			{"01/06/2025 09:00", "1", "Cơ quan " + g22, "101/VPCP-KSTT", "20/11/2025", "Công văn V/v thứ nhất năm 2025", agency, "", ""},
			{"31/12/2025 23:30", "2", "Cơ quan " + g22, "102/VPCP-KSTT", "20/11/2025", "Công văn V/v cuối năm 2025", agency, "", ""},
		}},
		{2026, [][]string{
			{"01/01/2026 00:10", "1", "Cơ quan " + g22, "103/VPCP-KSTT", "20/11/2025", "Công văn V/v đầu năm 2026", agency, "", ""},
			{"02/03/2026 10:00", "2", "Cơ quan " + g22, "105/VPCP-KSTT", "20/11/2025", "Công văn V/v thứ hai năm 2026", agency, "", ""},
		}},
		{2027, nil},
	}
	for _, tt := range tests {
		path := "/registers/in/" + strconv.Itoa(tt.year)
		body := h29Clerk.page(path)
		for _, want := range []string{"SỔ ĐĂNG KÝ VĂN BẢN ĐẾN — Năm " + strconv.Itoa(tt.year), agency, `href="/static/print.css" media="print"`, "đánh số 5 phút sau khi đến"} {
			if !strings.Contains(body, want) {
				t.Errorf("%s lacks %q", path, want)
			}
		}
		if got := htmlRows(body); !slices.EqualFunc(got, tt.want, slices.Equal) {
			t.Errorf("%s rows:\n got %q\nwant %q", path, got, tt.want)
		}
		code, raw, hdr := h29Clerk.raw(path + "?format=csv")
		if code != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/csv") {
			t.Fatalf("%s CSV: %d %s", path, code, hdr.Get("Content-Type"))
		}
		wantCD := `attachment; filename="so-den-` + strconv.Itoa(tt.year) + `.csv"; filename*=UTF-8''s%E1%BB%95-%C4%91%E1%BA%BFn-` + strconv.Itoa(tt.year) + ".csv"
		if got := hdr.Get("Content-Disposition"); got != wantCD {
			t.Errorf("%s CSV Content-Disposition %q, want %q", path, got, wantCD)
		}
		if got := readCSV(t, raw); !slices.Equal(got[0], inHeader) || !slices.EqualFunc(got[1:], tt.want, slices.Equal) {
			t.Errorf("%s CSV:\n got %q\nwant %q", path, got, append([][]string{inHeader}, tt.want...))
		}
	}

	// In English, the same book under English names.
	if body := h29Clerk.page("/registers/in/2026?lang=en"); !strings.Contains(body, "REGISTER OF INCOMING DOCUMENTS — Year 2026") || !strings.Contains(body, "Arrival number") {
		t.Errorf("English register: %s", body)
	}
	h29Clerk.page("/registers/in/2026?lang=vi")

	// Pages go on numbering: page 2 of one row each is Số đến 2.
	undo := console.SetRegisterRows(1)
	body := h29Clerk.page("/registers/in/2026?page=2")
	undo()
	if got := htmlRows(body); len(got) != 1 || !slices.Equal(got[0], tests[1].want[1]) {
		t.Errorf("page 2: %q", got)
	}
	if !strings.Contains(body, `href="/registers/in/2026?page=1"`) || strings.Contains(body, "?page=3") {
		t.Errorf("page 2's pager: %s", body)
	}

	// The outgoing book: a signer written as a formula is text in the CSV.
	code, raw, _ := g22Clerk.raw("/registers/out/2025?format=csv")
	if code != http.StatusOK {
		t.Fatalf("out CSV: %d %s", code, raw)
	}
	out := readCSV(t, raw)
	wantOut := [][]string{outHeader,
		{"101/VPCP-KSTT", "20/11/2025", "Công văn V/v thứ nhất năm 2025", "Phó Chủ nhiệm Nguyễn Văn A", agency, "", "", "01/06/2025 09:00", "", ""},
		{"102/VPCP-KSTT", "20/11/2025", "Công văn V/v cuối năm 2025", "'" + injection + " Nguyễn Văn A", agency, "", "", "31/12/2025 23:30", "", ""},
	}
	if !slices.EqualFunc(out, wantOut, slices.Equal) {
		t.Errorf("out CSV:\n got %q\nwant %q", out, wantOut)
	}

	// The workbook: title, agency, bold frozen header, the rows.
	code, raw, hdr := h29Clerk.raw("/registers/in/2026?format=xlsx")
	if code != http.StatusOK || !strings.Contains(hdr.Get("Content-Disposition"), `filename="so-den-2026.xlsx"`) {
		t.Fatalf("XLSX: %d %q", code, hdr.Get("Content-Disposition"))
	}
	f, err := excelize.OpenReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("open XLSX: %v", err)
	}
	defer f.Close()
	sheet := f.GetSheetName(0)
	rows, err := f.GetRows(sheet)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5 || rows[0][0] != "SỔ ĐĂNG KÝ VĂN BẢN ĐẾN — Năm 2026" || rows[1][0] != agency || !slices.Equal(rows[2], inHeader) {
		t.Fatalf("XLSX %q rows: %q", sheet, rows)
	}
	for i, want := range tests[1].want {
		got := rows[3+i]
		if len(got) < 7 || !slices.Equal(got[:7], want[:7]) {
			t.Errorf("XLSX row %d: %q, want %q", i+1, got, want)
		}
	}
	style, _ := f.GetCellStyle(sheet, "A3")
	if st, err := f.GetStyle(style); err != nil || st.Font == nil || !st.Font.Bold || st.Alignment == nil || !st.Alignment.WrapText {
		t.Errorf("XLSX header style: %+v %v", st, err)
	}
	if w, err := f.GetColWidth(sheet, "F"); err != nil || w < 40 {
		t.Errorf("XLSX width of the trích yếu: %v %v", w, err)
	}
	if panes, err := f.GetPanes(sheet); err != nil || !panes.Freeze || panes.YSplit != 3 {
		t.Errorf("XLSX panes: %+v %v", panes, err)
	}

	// Another agency's letters never appear.
	if body := g12Clerk.page("/registers/in/2026"); strings.Contains(body, "V/v thứ hai năm 2026") || strings.Contains(body, "V/v đầu năm 2026") {
		t.Errorf("G12's register shows H29's letters: %s", body)
	} else if got := htmlRows(body); len(got) != 1 || got[0][1] != "1" || got[0][6] != "Cơ quan "+g12 {
		t.Errorf("G12's register: %q", got)
	}
	_, raw, _ = h29Clerk.raw("/registers/out/2025?format=csv")
	if got := readCSV(t, raw); len(got) != 1 {
		t.Errorf("H29's outgoing register lists G22's letters: %q", got)
	}

	// A refusal (02) is noted in both books' Ghi chú.
	ids := regexp.MustCompile(`href="/doc/([^"]+)"`).FindAllStringSubmatch(h29Clerk.page("/registers/in/2026"), -1)
	if len(ids) != 2 {
		t.Fatalf("links to the documents: %q", ids)
	}
	refused := ids[1][1]
	doc := h29Clerk.page("/doc/" + refused)
	if code, _, _ := h29Clerk.do(http.MethodPost, "/doc/"+refused+"/status", url.Values{"csrf": {csrf(t, doc)}, "code": {"02"}, "reason": {"Không đúng thẩm quyền"}}); code != http.StatusSeeOther {
		t.Fatalf("refuse: %d", code)
	}
	testwait.EventuallyState(t, "the refusal noted", func() (bool, string) {
		in, out := htmlRows(h29Clerk.page("/registers/in/2026")), htmlRows(g22Clerk.page("/registers/out/2026"))
		state := fmt.Sprintf("%q %q", in, out)
		return len(in) == 2 && in[1][8] == "Từ chối" && in[0][8] == "" &&
			len(out) == 3 && out[2][9] == "Từ chối: Cơ quan "+h29 && out[1][9] == "", state
	})

	// Invalid years and books answer 400 (404), in Vietnamese.
	bad := []struct {
		give string
		code int
		want string
	}{
		{"/registers/in/abc", http.StatusBadRequest, "Năm không hợp lệ"},
		{"/registers/in/20261", http.StatusBadRequest, "Năm không hợp lệ"},
		{"/registers/out/0999", http.StatusBadRequest, "Năm không hợp lệ"},
		{"/registers?book=in&year=26", http.StatusBadRequest, "Năm không hợp lệ"},
		{"/registers/in/2026?format=pdf", http.StatusBadRequest, "Định dạng tải về không hợp lệ"},
		{"/registers/in/2026?page=0", http.StatusBadRequest, "Số trang không hợp lệ"},
		{"/registers/in/2026?page=9223372036854775807", http.StatusBadRequest, "Số trang không hợp lệ"},
		{"/registers/x/2026", http.StatusNotFound, "Không có loại sổ này"},
	}
	for _, tt := range bad {
		code, body, _ := h29Clerk.do(http.MethodGet, tt.give, nil)
		if code != tt.code || !strings.Contains(body, tt.want) {
			t.Errorf("GET %s: %d, want %d with %q", tt.give, code, tt.code, tt.want)
		}
	}
}

// failsAfter is a real hub whose listing of received letters gives the
// same page again and again, saying there is more, and fails at call n,
// as a view closed in the middle of an export would.
type failsAfter struct {
	*hub.Hub
	n, calls *atomic.Int32
}

func (h failsAfter) Received(caller string, q track.MailQuery) ([]track.Letter, string, error) {
	if h.calls.Add(1) >= h.n.Load() {
		return nil, "", errors.New("view closed")
	}
	q.Cursor = ""
	ls, _, err := h.Hub.Received(caller, q)
	return ls, "more", err
}

// An export that fails before anything went out is a 503 to try again;
// one that fails after is cut off, never served as a whole register.
func TestRegisterExportFailsMidway(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	hash, err := console.HashPassword("mật khẩu đúng")
	if err != nil {
		t.Fatal(err)
	}
	fails := failsAfter{Hub: h.Hub, n: &atomic.Int32{}, calls: &atomic.Int32{}}
	base := serveConsole(t, console.Options{Hub: fails,
		Accounts: []console.Account{{Username: "vanthu.h29", PasswordHash: hash, Role: console.RoleClerk, OrganID: h29}}})
	clerk := newBrowser(t, base)
	if code, _ := clerk.login("vanthu.h29", "mật khẩu đúng"); code != http.StatusSeeOther {
		t.Fatalf("sign in: %d", code)
	}
	sendREST(t, h)
	year := strconv.Itoa(time.Now().In(vnZone).Year())
	testwait.Eventually(t, "the letter received", func() bool {
		ls, _, err := h.Hub.Received(h29, track.MailQuery{})
		return err == nil && len(ls) == 1
	})

	// Failing on the second page: nothing went out yet.
	fails.n.Store(2)
	for _, path := range []string{"/registers/in/" + year + "?format=csv", "/registers/in/" + year + "?format=xlsx", "/registers/in/" + year} {
		fails.calls.Store(0)
		code, _, hdr := clerk.do(http.MethodGet, path, nil)
		if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" || hdr.Get("Content-Disposition") != "" {
			t.Errorf("GET %s with the view failing: %d Retry-After %q Content-Disposition %q, want 503", path, code, hdr.Get("Retry-After"), hdr.Get("Content-Disposition"))
		}
		// More calls: the client retried an answer cut off (GET is idempotent).
		if n := fails.calls.Load(); n != 2 {
			t.Errorf("GET %s: %d calls to the hub, want 2", path, n)
		}
	}

	// Failing after hundreds of rows went out: the download is cut off.
	fails.n.Store(1000)
	fails.calls.Store(0)
	resp, err := clerk.c.Get(base + "/registers/in/" + year + "?format=csv")
	if err != nil {
		t.Fatal(err)
	}
	raw, rerr := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || rerr == nil || len(raw) < 32<<10 {
		t.Errorf("a CSV cut off by a failure: %d, %d bytes, read error %v; want 200 and a read error", resp.StatusCode, len(raw), rerr)
	}
}
