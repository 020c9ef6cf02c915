package console

import (
	"net/netip"
	"testing"
	"time"
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

// A session's CSRF token has a key of its own ("csrf v1"): it is not the
// cookie MAC of anything a cookie could carry.
func TestCSRFTokenKeyIsItsOwn(t *testing.T) {
	key := make([]byte, 32)
	s := newSessions(key, time.Hour, &memRevocations{ids: map[string]time.Time{}, now: time.Now})
	_, ss := s.create("vanthu.h29", time.Now())
	for _, old := range []string{s.mac("csrf." + ss.id), s.mac(ss.id), macWith(key, "csrf."+ss.id)} {
		if ss.csrf == old {
			t.Errorf("the CSRF token is a cookie MAC or a MAC under the raw key")
		}
	}
	if want := macWith(s.derive("csrf v1"), ss.id); ss.csrf != want {
		t.Errorf("the CSRF token is not the HMAC of the id under the csrf key")
	}
}
