package console

import (
	"fmt"
	"html/template"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"

	"github.com/lienthong/lienthong/internal/edxml"
	"github.com/lienthong/lienthong/internal/organ"
)

// Date layouts of every page: one format, day first (dd/MM/yyyy, HH:mm).
const (
	dateLayout     = "02/01/2006"
	dateTimeLayout = "02/01/2006 15:04"
)

// funcs are the template functions that show times and agencies the one
// way every page shows them: in the console's zone, and by directory name.
func (s *server) funcs() template.FuncMap {
	return template.FuncMap{
		"datetime": s.datetime,
		"date":     s.date,
		// pdate and ptime read a packet's date or timestamp (yyyy/MM/dd,
		// lenient forms too) and show it as every other date; a value
		// that is not a date is shown as written.
		"pdate":      s.pdate,
		"ptime":      s.ptime,
		"docRef":     docRef,
		"organName":  s.organName,
		"organLabel": s.organLabel,
	}
}

func (s *server) datetime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(s.o.Zone).Format(dateTimeLayout)
}

func (s *server) date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(s.o.Zone).Format(dateLayout)
}

func (s *server) pdate(v string) string {
	if t, _, err := edxml.ParseDate(strings.TrimSpace(v)); err == nil {
		return t.Format(dateLayout) // a calendar date: no zone to convert
	}
	return s.ptime(v)
}

func (s *server) ptime(v string) string {
	v = strings.TrimSpace(v)
	if v == "" {
		return ""
	}
	t, _, err := edxml.ParseTimestamp(v)
	if err != nil {
		return v
	}
	return s.datetime(t)
}

// organName is the directory's name of an agency, "" when the directory
// does not list it.
func (s *server) organName(id string) string {
	if s.o.Directory == nil || id == "" {
		return ""
	}
	if a, ok := s.o.Directory.Lookup(organ.ID(id)); ok {
		return a.Name
	}
	return ""
}

// organLabel names an agency for a page: its directory name, else its id.
func (s *server) organLabel(id string) string {
	if n := s.organName(id); n != "" {
		return n
	}
	return id
}

// zoneLabel names the console's zone once, for the page footer:
// "Asia/Ho_Chi_Minh (UTC+07:00)".
func zoneLabel(z *time.Location, now time.Time) string {
	_, off := now.In(z).Zone()
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	return fmt.Sprintf("%s (UTC%c%02d:%02d)", z, sign, off/3600, off%3600/60)
}

// sameName compares agency names as a reader would: spacing, case and
// Unicode composition aside.
func sameName(a, b string) bool {
	fold := func(s string) string { return strings.Join(strings.Fields(norm.NFC.String(s)), " ") }
	return strings.EqualFold(fold(a), fold(b))
}

// docRef names a document by its DocumentId the way a clerk cites it:
// "OrganId,yyyy/MM/dd,1234/VPCP-KSTT" reads "1234/VPCP-KSTT, 20/11/2025"
// (the sender is named beside it by the page). Another form is shown as
// written.
func docRef(documentID string) string {
	_, rest, ok := strings.Cut(documentID, ",")
	if !ok {
		return documentID
	}
	day, code, ok := strings.Cut(rest, ",")
	t, _, err := edxml.ParseDate(day)
	if !ok || err != nil || code == "" {
		return documentID
	}
	return code + ", " + t.Format(dateLayout)
}
