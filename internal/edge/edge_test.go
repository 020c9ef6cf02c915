package edge_test

import (
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"lienthong/internal/edge"
)

func proxies(t *testing.T) edge.Proxies {
	t.Helper()
	p, err := edge.ParseProxies([]string{"10.0.0.0/8", "192.0.2.7"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseProxies(t *testing.T) {
	if _, err := edge.ParseProxies([]string{"proxy.local"}); !errors.Is(err, edge.ErrBadProxy) {
		t.Errorf("a host name: %v, want ErrBadProxy", err)
	}
}

func TestClientAddr(t *testing.T) {
	tests := []struct {
		name   string
		remote string
		xff    []string
		want   string
	}{
		{"direct", "198.51.100.1:5000", nil, "198.51.100.1"},
		{"direct with a forged header", "198.51.100.1:5000", []string{"203.0.113.9"}, "198.51.100.1"},
		{"through a trusted proxy", "10.1.2.3:5000", []string{"203.0.113.9"}, "203.0.113.9"},
		{"client-written hops left of the proxy's", "10.1.2.3:5000", []string{"1.2.3.4, 203.0.113.9"}, "203.0.113.9"},
		{"two trusted proxies", "10.1.2.3:5000", []string{"203.0.113.9, 192.0.2.7"}, "203.0.113.9"},
		{"header lines", "10.1.2.3:5000", []string{"1.2.3.4", "203.0.113.9"}, "203.0.113.9"},
		{"mangled", "10.1.2.3:5000", []string{"203.0.113.9, nonsense"}, "10.1.2.3"},
		{"no header from the proxy", "10.1.2.3:5000", nil, "10.1.2.3"},
		{"IPv4 in IPv6", "[::ffff:10.1.2.3]:5000", []string{"203.0.113.9"}, "203.0.113.9"},
	}
	p := proxies(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := p.ClientAddr(r).String(); got != tt.want {
				t.Errorf("ClientAddr = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestIsTLSAndHSTS(t *testing.T) {
	tests := []struct {
		name   string
		remote string
		proto  string
		direct bool
		want   bool
	}{
		{"plain, no header", "198.51.100.1:5000", "", false, false},
		{"untrusted peer says https", "198.51.100.1:5000", "https", false, false},
		{"trusted proxy says https", "10.1.2.3:5000", "https", false, true},
		{"trusted proxy says HTTPS, http", "10.1.2.3:5000", "HTTPS, http", false, true},
		{"trusted proxy says http", "10.1.2.3:5000", "http", false, false},
		{"direct TLS", "198.51.100.1:5000", "", true, true},
	}
	p := proxies(t)
	h := edge.HSTS(p, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tt.remote
			if tt.proto != "" {
				r.Header.Set("X-Forwarded-Proto", tt.proto)
			}
			if tt.direct {
				r.TLS = &tls.ConnectionState{}
			}
			if got := p.IsTLS(r); got != tt.want {
				t.Errorf("IsTLS = %v, want %v", got, tt.want)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if got := w.Header().Get("Strict-Transport-Security") == edge.HSTSValue; got != tt.want {
				t.Errorf("HSTS = %v, want %v", got, tt.want)
			}
		})
	}
}
