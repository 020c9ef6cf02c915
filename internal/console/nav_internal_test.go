package console

import "testing"

func TestNavEntry(t *testing.T) {
	tests := []struct {
		give, want string
	}{
		{give: "/inbox", want: "/inbox"},
		{give: "/outbox", want: "/outbox"},
		{give: "/compose", want: "/compose"},
		{give: "/registers", want: "/registers"},
		{give: "/registers/in/2026", want: "/registers"},
		{give: "/ops", want: "/ops"},
		{give: "/ops/search", want: "/ops/search"},
		{give: "/ops/packet/abc", want: "/ops/search"},
		{give: "/ops/dead-letters", want: "/ops/dead-letters"},
		{give: "/ops/directory/000.00.00.H29/tokens", want: "/ops/directory"},
		{give: "/ops/agencies/000.00.00.H29/edit", want: "/ops/directory"},
		{give: "/ops/agencies/new", want: "/ops/directory"},
		{give: "/ops/log", want: "/ops/log"},
		{give: "/doc/abc", want: ""},
		{give: "/", want: ""},
		{give: "/inboxes", want: ""},
	}
	for _, tt := range tests {
		if got := navEntry(tt.give); got != tt.want {
			t.Errorf("navEntry(%q) = %q, want %q", tt.give, got, tt.want)
		}
	}
}
