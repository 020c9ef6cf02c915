package vdxp

import (
	"fmt"
	"time"
)

// TimeLayout is how replies write times: the edXML timestamp form
// (FORMAT.md §7.1), in the handler's Location (Asia/Ho_Chi_Minh).
const TimeLayout = "2006/01/02 15:04:05"

// FormatTime writes t for a reply; the zero time is "".
func FormatTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(loc).Format(TimeLayout)
}

// dateLayouts are the fromDate/toDate forms accepted, date-only ones
// first. FORMAT.md does not fix one; these are the forms axis clients and
// edXML use (day first in slashed dates, never month first).
var dateLayouts = []struct {
	layout   string
	dateOnly bool
}{
	{"2006/01/02", true},
	{"2006-01-02", true},
	{"02/01/2006", true},
	{"02-01-2006", true},
	{"20060102", true},
	{"2006/01/02 15:04:05", false},
	{"2006-01-02 15:04:05", false},
	{"2006-01-02T15:04:05", false},
	{"02/01/2006 15:04:05", false},
	{"02-01-2006 15:04:05", false},
	{TimestampLayout, false},
}

// ParseDate reads a fromDate or toDate in loc: the forms of dateLayouts,
// RFC 3339 (with its own offset) or the XroadVnpt-timestamp form.
// dateOnly tells a bare date, which as toDate includes the whole day.
func ParseDate(v string, loc *time.Location) (t time.Time, dateOnly bool, err error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, false, nil
	}
	for _, l := range dateLayouts {
		if t, err := time.ParseInLocation(l.layout, v, loc); err == nil {
			return t, l.dateOnly, nil
		}
	}
	if t, err := ParseTimestamp(v, loc); err == nil {
		return t, false, nil
	}
	return time.Time{}, false, fmt.Errorf("%q is not a date (yyyy/MM/dd, dd/MM/yyyy, yyyy-MM-dd, with or without HH:mm:ss, or RFC 3339)", v)
}
