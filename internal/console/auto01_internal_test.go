package console

import (
	"testing"

	"github.com/lienthong/lienthong/internal/edxml"
	"github.com/lienthong/lienthong/internal/track"
)

func TestOwes01(t *testing.T) {
	const h29, unit = "000.00.00.H29", "000.00.01.H29"
	part := func(organ string, events ...track.Event) track.Recipient {
		return track.Recipient{OrganID: organ, Events: append([]track.Event{{Type: track.EventAccepted}}, events...)}
	}
	fetched := track.Event{Type: track.EventFetched}
	status := func(code edxml.StatusCode) track.Event { return track.Event{Type: track.EventStatus, Code: code} }
	tests := []struct {
		name string
		give []track.Recipient
		as   string
		want bool
	}{
		{"new", []track.Recipient{part(h29)}, h29, true},
		{"fetched, no status: still owed", []track.Recipient{part(h29, fetched)}, h29, true},
		{"01 sent", []track.Recipient{part(h29, fetched, status("01"))}, h29, false},
		{"answered otherwise", []track.Recipient{part(h29, status("03"))}, h29, false},
		{"only the sender's 13", []track.Recipient{part(h29, status("13"))}, h29, true},
		{"a unit answers for its agency's part", []track.Recipient{part(h29)}, unit, true},
		{"the agency may not answer for its unit", []track.Recipient{part(unit)}, h29, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := owes01(track.Timeline{Recipients: tt.give}, tt.as); got != tt.want {
				t.Errorf("owes01 = %v, want %v", got, tt.want)
			}
		})
	}
}
