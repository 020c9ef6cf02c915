package console

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/lienthong/lienthong/internal/edxml"
	"github.com/lienthong/lienthong/internal/track"
)

// The registers clerks keep by law (sổ đăng ký văn bản đến / đi, the
// sample registers of Phụ lục IV, Nghị định 30/2020/NĐ-CP): one book per
// year, read from the hub oldest first, shown as a table (printable) and
// exported as CSV and XLSX. The hub lists only the caller's own letters.

// book is the incoming (đến) or the outgoing (đi) register.
type book struct {
	slug  string   // in, out: the path segment
	file  string   // so-den, so-di: the ASCII filename
	utf8  string   // sổ-đến, sổ-đi: the filename in Vietnamese (filename*)
	title string   // message key of the printed title
	cols  []string // message keys of the columns
	link  int      // the column linked to the document page
}

var (
	bookIn = book{slug: "in", file: "so-den", utf8: "sổ-đến", title: "reg_title_in", link: 5,
		cols: []string{"rc_arrived", "rc_in_no", "rc_author", "rc_code", "rc_date", "rc_type_subject", "rc_receiver", "rc_sign", "rc_note"}}
	bookOut = book{slug: "out", file: "so-di", utf8: "sổ-đi", title: "reg_title_out", link: 2,
		cols: []string{"rc_out_code", "rc_out_date", "rc_out_type_subject", "rc_signer", "rc_to", "rc_keeper", "rc_copies", "rc_sent", "rc_sign", "rc_note"}}
)

func bookOf(slug string) (book, bool) {
	switch slug {
	case bookIn.slug:
		return bookIn, true
	case bookOut.slug:
		return bookOut, true
	}
	return book{}, false
}

// Years a register may be asked for: four digits, none before the Unix
// epoch (no hub accepted anything then).
const (
	minRegisterYear = 1970
	maxRegisterYear = 9999
)

// registerRows is one HTML page of a register: a year of tens of thousands
// of letters is paged, its numbers running on across pages (tests set
// it while a server runs, hence atomic).
var registerRows atomic.Int64

func init() { registerRows.Store(500) }

// maxRegisterPage bounds ?page= (no year has that many pages; the bound
// keeps the row arithmetic from overflowing).
const maxRegisterPage = 1_000_000

// registerPage is what the register templates get: the page and the book.
type registerPage struct {
	*page
	Reg *registerView
}

type registerView struct {
	Slug    string
	Year    int
	Heading string // SỔ ĐĂNG KÝ VĂN BẢN ĐẾN — Năm 2026
	Agency  string
	Cols    []string // the columns' names
	Keys    []string // and message keys, as classes (print widths)
	Link    int
	Settle  string // the note that recent letters are numbered later; "" when at once
	Rows    []registerRow
	Page    int
	Prev    string // links of the pager, "" when none
	Next    string
	// The chooser's defaults.
	ThisYear int
}

type registerRow struct {
	ID    string
	Cells []string
}

// registers is the chooser: a book and a year (this year by default, in
// the console's zone); a filled-in form goes on to the book.
func (s *server) registers(w http.ResponseWriter, r *http.Request, u *Account, ss *session) {
	q := r.URL.Query()
	if q.Has("book") || q.Has("year") {
		b, ok := bookOf(q.Get("book"))
		if !ok {
			s.fail(w, r, u, ss, http.StatusBadRequest, "reg_bad_book", "")
			return
		}
		y, ok := registerYear(q.Get("year"))
		if !ok {
			s.fail(w, r, u, ss, http.StatusBadRequest, "reg_bad_year", "")
			return
		}
		http.Redirect(w, r, fmt.Sprintf("/registers/%s/%d", b.slug, y), http.StatusSeeOther)
		return
	}
	p := s.page(w, r, u, ss)
	p.Title = p.M.T("registers")
	s.render(w, http.StatusOK, "registers", &registerPage{page: p, Reg: &registerView{
		ThisYear: s.o.Now().In(s.o.Zone).Year(),
	}})
}

func registerYear(v string) (int, bool) {
	if len(v) != 4 {
		return 0, false
	}
	y, err := strconv.Atoi(v)
	if err != nil || y < minRegisterYear || y > maxRegisterYear {
		return 0, false
	}
	return y, true
}

// register shows a book of a year, or exports it (?format=csv, xlsx).
func (s *server) register(w http.ResponseWriter, r *http.Request, u *Account, ss *session) {
	b, ok := bookOf(r.PathValue("book"))
	if !ok {
		s.fail(w, r, u, ss, http.StatusNotFound, "reg_bad_book", "")
		return
	}
	year, ok := registerYear(r.PathValue("year"))
	if !ok {
		s.fail(w, r, u, ss, http.StatusBadRequest, "reg_bad_year", "")
		return
	}
	m := messages[lang(w, r, s.secure(r))]
	switch f := r.URL.Query().Get("format"); f {
	case "":
	case "csv":
		s.registerCSV(w, r, u, ss, m, b, year)
		return
	case "xlsx":
		s.registerXLSX(w, r, u, ss, m, b, year)
		return
	default:
		s.fail(w, r, u, ss, http.StatusBadRequest, "reg_bad_format", "")
		return
	}
	pg := 1
	if v := r.URL.Query().Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxRegisterPage {
			s.fail(w, r, u, ss, http.StatusBadRequest, "reg_bad_page", "")
			return
		}
		pg = n
	}
	p := s.page(w, r, u, ss)
	v := &registerView{Slug: b.slug, Year: year, Heading: heading(p.M, b, year), Agency: s.organLabel(u.OrganID), Link: b.link, Page: pg}
	v.Keys = b.cols
	if d := s.o.RegisterSettle; d > 0 {
		v.Settle = fmt.Sprintf(p.M.T("reg_settle"), fmtAge(p.M, d.Seconds()))
	}
	for _, c := range b.cols {
		v.Cols = append(v.Cols, p.M.T(c))
	}
	size := int(registerRows.Load())
	first := (pg-1)*size + 1
	more := false
	err := s.eachEntry(u.OrganID, b, year, func(n int, l track.Letter) bool {
		if n < first {
			return true
		}
		if n >= first+size {
			more = true
			return false
		}
		v.Rows = append(v.Rows, registerRow{ID: l.ID, Cells: s.registerCells(p.M, b, v.Agency, n, l)})
		return true
	})
	if err != nil {
		s.failHub(w, r, u, ss, err)
		return
	}
	base := fmt.Sprintf("/registers/%s/%d", b.slug, year)
	if pg > 1 {
		v.Prev = fmt.Sprintf("%s?page=%d", base, pg-1)
	}
	if more {
		v.Next = fmt.Sprintf("%s?page=%d", base, pg+1)
	}
	p.Title = v.Heading
	s.render(w, http.StatusOK, "register", &registerPage{page: p, Reg: v})
}

func heading(m msgs, b book, year int) string {
	return fmt.Sprintf("%s — %s %d", m.T(b.title), m.T("reg_year"), year)
}

// xlsxExports bounds the workbooks being built at once.
const xlsxExports = 2

// eachEntry calls fn with each letter of a book's year, oldest first, and
// its number in the year (1 on the first letter from 1 January, 00:00 in
// the console's zone), until fn returns false.
func (s *server) eachEntry(caller string, b book, year int, fn func(n int, l track.Letter) bool) error {
	list := s.o.Hub.Received
	if b.slug == bookOut.slug {
		list = s.o.Hub.Outgoing
	}
	q := track.MailQuery{
		View:   track.ViewAll,
		Oldest: true,
		Since:  time.Date(year, time.January, 1, 0, 0, 0, 0, s.o.Zone),
		Until:  time.Date(year+1, time.January, 1, 0, 0, 0, 0, s.o.Zone),
		Limit:  1000,
	}
	// Numbers follow the order of arrival, which a replica learns from
	// the others moments later: a letter is entered once it is
	// RegisterSettle old, so the numbers a clerk prints do not move.
	if settled := s.o.Now().Add(-s.o.RegisterSettle); settled.Before(q.Until) {
		q.Until = settled
	}
	n := 0
	for {
		ls, next, err := list(caller, q)
		if err != nil {
			return err
		}
		for _, l := range ls {
			n++
			if !fn(n, l) {
				return nil
			}
		}
		// A page may be short and still go on (the hub bounds its scan).
		if next == "" {
			return nil
		}
		q.Cursor = next
	}
}

// registerCells are the cells of a letter's row, as every form of the
// register shows them.
func (s *server) registerCells(m msgs, b book, agency string, n int, l track.Letter) []string {
	typeSubject := strings.TrimSpace(l.TypeName + " " + l.Subject)
	if b.slug == bookIn.slug {
		receiver := agency
		if names := s.partNames(l.Parts); names != "" {
			receiver = names
		}
		return []string{
			s.datetime(l.AcceptedAt),
			strconv.Itoa(n),
			s.organLabel(l.From),
			l.Code,
			s.pdate(l.PromulgationDate),
			typeSubject,
			receiver,
			"", // ký nhận: signed on paper
			inNote(m, l),
		}
	}
	to := make([]string, 0, len(l.To))
	for _, id := range l.To {
		to = append(to, s.organLabel(id))
	}
	return []string{
		l.Code,
		s.pdate(l.PromulgationDate),
		typeSubject,
		l.Signer,
		strings.Join(to, "; "),
		"", // đơn vị, người nhận bản lưu
		"", // số lượng bản
		s.datetime(l.AcceptedAt),
		"", // ký nhận
		s.outNote(m, l),
	}
}

func (s *server) partNames(parts []track.Recipient) string {
	var names []string
	for _, p := range parts {
		names = append(names, s.organLabel(p.OrganID))
	}
	return strings.Join(names, "; ")
}

// businessNote names what a letter does to an earlier one (thu hồi, cập
// nhật, thay thế); "" for a new letter.
func businessNote(m msgs, bt string) string {
	switch bt {
	case edxml.BusinessRevoke:
		return m.T("rn_revoke")
	case edxml.BusinessUpdate:
		return m.T("rn_update")
	case edxml.BusinessReplace:
		return m.T("rn_replace")
	}
	return ""
}

// inNote is the Ghi chú of an incoming letter: its business type, and
// whether the agency refused it or saw it revoked or replaced.
func inNote(m msgs, l track.Letter) string {
	notes := []string{}
	if n := businessNote(m, l.BusinessType); n != "" {
		notes = append(notes, n)
	}
	for _, p := range l.Parts {
		if n := stateNote(m, p.State); n != "" {
			notes = append(notes, n)
			break
		}
	}
	return strings.Join(notes, "; ")
}

// outNote is the Ghi chú of an outgoing letter: its business type, and
// the recipients that refused it.
func (s *server) outNote(m msgs, l track.Letter) string {
	notes := []string{}
	if n := businessNote(m, l.BusinessType); n != "" {
		notes = append(notes, n)
	}
	for _, p := range l.Parts {
		if n := stateNote(m, p.State); n != "" {
			notes = append(notes, n+": "+s.organLabel(p.OrganID))
		}
	}
	return strings.Join(notes, "; ")
}

func stateNote(m msgs, state string) string {
	switch state {
	case string(edxml.StatusRejected):
		return m.State(state)
	case track.EventRevoked:
		return m.T("rn_revoked")
	case track.EventReplaced:
		return m.T("rn_replaced")
	}
	return ""
}

// attachment sets the headers of a download named name (ASCII) and
// utf8Name (RFC 6266: filename for old clients, filename* for the rest).
func attachment(w http.ResponseWriter, typ, name, utf8Name string) {
	h := w.Header()
	h.Set("Content-Type", typ)
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"; filename*=UTF-8''%s`, name, rfc5987(utf8Name)))
	h.Set("Cache-Control", "no-store")
}

// rfc5987 percent-encodes v as an ext-value (RFC 8187 attr-char kept).
func rfc5987(v string) string {
	var b strings.Builder
	for _, c := range []byte(v) {
		if c < 0x80 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0) {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// csvSafe neutralises a cell a spreadsheet would read as a formula
// (CSV injection): such a cell starts with a quote, shown as text.
func csvSafe(v string) string {
	if v != "" && strings.IndexByte("=+-@\t\r", v[0]) >= 0 {
		return "'" + v
	}
	return v
}

// registerCSV streams a year's book as CSV (RFC 4180, UTF-8 with a BOM,
// which Excel needs to read Vietnamese). Nothing is written before the
// hub answers the first page; a later failure aborts the response so the
// download is not taken for the whole book.
func (s *server) registerCSV(w http.ResponseWriter, r *http.Request, u *Account, ss *session, m msgs, b book, year int) {
	sent := &countWriter{w: w}
	bw := bufio.NewWriterSize(sent, 32<<10)
	cw := csv.NewWriter(bw)
	cw.UseCRLF = true
	started := false
	start := func() {
		started = true
		attachment(w, "text/csv; charset=utf-8", fmt.Sprintf("%s-%d.csv", b.file, year), fmt.Sprintf("%s-%d.csv", b.utf8, year))
		_, _ = bw.WriteString("\uFEFF")
		head := make([]string, len(b.cols))
		for i, c := range b.cols {
			head[i] = m.T(c)
		}
		_ = cw.Write(head)
	}
	agency := s.organLabel(u.OrganID)
	var werr error
	err := s.eachEntry(u.OrganID, b, year, func(n int, l track.Letter) bool {
		if !started {
			start()
		}
		cells := s.registerCells(m, b, agency, n, l)
		for i, c := range cells {
			cells[i] = csvSafe(c)
		}
		if werr = cw.Write(cells); werr != nil {
			return false
		}
		return true
	})
	switch {
	case err != nil && sent.n == 0:
		// Nothing went out yet: an error page instead of the file.
		w.Header().Del("Content-Disposition")
		s.failHub(w, r, u, ss, err)
		return
	case err != nil:
		s.o.Log.Error("console: register export", "book", b.slug, "year", year, "err", err)
		panic(http.ErrAbortHandler)
	case werr != nil:
		return // the client went away
	}
	if !started {
		start()
	}
	cw.Flush()
	_ = bw.Flush()
}

// countWriter counts what went out to the client.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// registerXLSX writes a year's book as a workbook: the title and the
// agency above a bold, frozen header row, columns sized, text wrapped.
// The rows go through excelize's StreamWriter, which spools them to disk,
// but excelize zips the workbook in memory (a few MB for a year of tens of
// thousands of letters), so at most xlsxExports run at once; the workbook
// is complete before the response starts.
func (s *server) registerXLSX(w http.ResponseWriter, r *http.Request, u *Account, ss *session, m msgs, b book, year int) {
	select {
	case s.xlsx <- struct{}{}:
		defer func() { <-s.xlsx }()
	default:
		s.fail(w, r, u, ss, http.StatusServiceUnavailable, "busy", "")
		return
	}
	f := excelize.NewFile(excelize.Options{TmpDir: s.o.SpoolDir})
	defer f.Close() //nolint:errcheck // removes the spooled rows
	agency := s.organLabel(u.OrganID)
	var werr, hubErr error
	write := func() error {
		sheet := fmt.Sprintf("%s %d", m.T("reg_sheet_"+b.slug), year)
		if err := f.SetSheetName("Sheet1", sheet); err != nil {
			return err
		}
		sw, err := f.NewStreamWriter(sheet)
		if err != nil {
			return err
		}
		title, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true, Size: 14}})
		if err != nil {
			return err
		}
		head, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true},
			Alignment: &excelize.Alignment{WrapText: true, Vertical: "center", Horizontal: "center"},
			Border:    xlsxBorder(), Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"E8EEF4"}}})
		if err != nil {
			return err
		}
		cell, err := f.NewStyle(&excelize.Style{Alignment: &excelize.Alignment{WrapText: true, Vertical: "top"}, Border: xlsxBorder()})
		if err != nil {
			return err
		}
		for i, c := range b.cols {
			if err := sw.SetColWidth(i+1, i+1, colWidth(c)); err != nil {
				return err
			}
		}
		if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 3, TopLeftCell: "A4", ActivePane: "bottomLeft"}); err != nil {
			return err
		}
		if err := sw.SetRow("A1", []any{excelize.Cell{StyleID: title, Value: heading(m, b, year)}}); err != nil {
			return err
		}
		if err := sw.SetRow("A2", []any{excelize.Cell{Value: agency}}); err != nil {
			return err
		}
		row := make([]any, len(b.cols))
		for i, c := range b.cols {
			row[i] = excelize.Cell{StyleID: head, Value: m.T(c)}
		}
		if err := sw.SetRow("A3", row, excelize.RowOpts{Height: 32}); err != nil {
			return err
		}
		line := 3
		hubErr = s.eachEntry(u.OrganID, b, year, func(n int, l track.Letter) bool {
			line++
			cells := s.registerCells(m, b, agency, n, l)
			row := make([]any, len(cells))
			for i, c := range cells {
				row[i] = excelize.Cell{StyleID: cell, Value: c}
			}
			if b.slug == bookIn.slug {
				row[1] = excelize.Cell{StyleID: cell, Value: n} // số đến: a number
			}
			werr = sw.SetRow("A"+strconv.Itoa(line), row)
			return werr == nil
		})
		if hubErr != nil {
			return hubErr
		}
		if werr != nil {
			return werr
		}
		return sw.Flush()
	}
	if err := write(); err != nil {
		if hubErr != nil {
			s.failHub(w, r, u, ss, err)
			return
		}
		s.o.Log.Error("console: register export", "book", b.slug, "year", year, "err", err)
		s.fail(w, r, u, ss, http.StatusInternalServerError, "reg_export_failed", "")
		return
	}
	attachment(w, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
		fmt.Sprintf("%s-%d.xlsx", b.file, year), fmt.Sprintf("%s-%d.xlsx", b.utf8, year))
	if _, err := f.WriteTo(w); err != nil {
		s.o.Log.Warn("console: register export", "book", b.slug, "year", year, "err", err)
	}
}

func xlsxBorder() []excelize.Border {
	var bs []excelize.Border
	for _, side := range []string{"left", "top", "right", "bottom"} {
		bs = append(bs, excelize.Border{Type: side, Color: "999999", Style: 1})
	}
	return bs
}

// colWidth is a column's width in characters: wide for the trích yếu and
// the names, narrow for numbers and dates.
func colWidth(key string) float64 {
	switch key {
	case "rc_type_subject", "rc_out_type_subject":
		return 50
	case "rc_author", "rc_receiver", "rc_to", "rc_keeper", "rc_note":
		return 28
	case "rc_in_no", "rc_copies":
		return 8
	case "rc_arrived", "rc_sent":
		return 17
	}
	return 14
}
