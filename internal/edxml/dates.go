package edxml

import (
	"errors"
	"time"
)

// Zone is the zone edXML dates are read in: Asia/Ho_Chi_Minh, UTC+07:00
// with no daylight saving. A fixed zone keeps minimal containers working.
var Zone = time.FixedZone("ICT", 7*60*60)

// Canonical layouts (FORMAT.md §7.1).
const (
	DateLayout      = "2006/01/02"
	TimestampLayout = "2006/01/02 15:04:05"
)

var errBadDate = errors.New("not a date in any accepted form")

// Lenient forms, accepted with a warning. dd/MM/yyyy is always day first.
var (
	lenientDates      = []string{"02/01/2006", "2006-01-02"}
	lenientTimestamps = []string{"2006-01-02T15:04:05", "02/01/2006 15:04:05"}
	offsetTimestamps  = []string{time.RFC3339Nano}
)

// ParseDate reads a date; canonical reports whether it was yyyy/MM/dd.
func ParseDate(s string) (t time.Time, canonical bool, err error) {
	if t, err := time.ParseInLocation(DateLayout, s, Zone); err == nil {
		return t, true, nil
	}
	for _, l := range lenientDates {
		if t, err := time.ParseInLocation(l, s, Zone); err == nil {
			return t, false, nil
		}
	}
	return time.Time{}, false, errBadDate
}

// ParseTimestamp reads a timestamp; canonical reports whether it was
// yyyy/MM/dd HH:mm:ss. A bare date reads as midnight.
func ParseTimestamp(s string) (t time.Time, canonical bool, err error) {
	if t, err := time.ParseInLocation(TimestampLayout, s, Zone); err == nil {
		return t, true, nil
	}
	for _, l := range lenientTimestamps {
		if t, err := time.ParseInLocation(l, s, Zone); err == nil {
			return t, false, nil
		}
	}
	for _, l := range offsetTimestamps {
		if t, err := time.Parse(l, s); err == nil {
			return t.In(Zone), false, nil
		}
	}
	if t, _, err := ParseDate(s); err == nil {
		return t, false, nil
	}
	return time.Time{}, false, errBadDate
}

// FormatDate writes t in the canonical date form, in Zone.
func FormatDate(t time.Time) string { return t.In(Zone).Format(DateLayout) }

// FormatTimestamp writes t in the canonical timestamp form, in Zone.
func FormatTimestamp(t time.Time) string { return t.In(Zone).Format(TimestampLayout) }
