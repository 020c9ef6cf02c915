package console

import (
	"net/netip"
	"testing"
)

func TestClientKey(t *testing.T) {
	tests := []struct{ give, want string }{
		{"203.0.113.9", "203.0.113.9"},
		{"2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:bbbb::7", "2001:db8:1:2::/64"},
		{"::1", "::/64"},
	}
	for _, tt := range tests {
		if got := clientKey(netip.MustParseAddr(tt.give)); got != tt.want {
			t.Errorf("clientKey(%s) = %s, want %s", tt.give, got, tt.want)
		}
	}
}
