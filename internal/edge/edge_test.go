package edge_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/internal/edge"
	"github.com/lienthong/lienthong/internal/pki"
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
		// The rightmost value is the trusted proxy's; a client writes the left.
		{"trusted proxy appends https", "10.1.2.3:5000", "http, HTTPS", false, true},
		{"client says https, trusted proxy appends http", "10.1.2.3:5000", "https, http", false, false},
		{"two lines, the proxy's last", "10.1.2.3:5000", "https\nhttp", false, false},
		{"trusted proxy says http", "10.1.2.3:5000", "http", false, false},
		{"direct TLS", "198.51.100.1:5000", "", true, true},
	}
	p := proxies(t)
	h := edge.HSTS(p, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tt.remote
			for v := range strings.SplitSeq(tt.proto, "\n") {
				if v != "" {
					r.Header.Add("X-Forwarded-Proto", v)
				}
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

// A client certificate forwarded in X-Client-Cert counts only from a
// proxy named for it and only when it chains to the client CAs, never on a
// direct TLS connection.
func TestClientCert(t *testing.T) {
	ca, err := pki.Init(filepath.Join(t.TempDir(), "pki"), pki.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	clientAuth := pki.IssueOptions{ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	iss, err := ca.Issue("000.00.00.H29", "HCM DMS", clientAuth)
	if err != nil {
		t.Fatal(err)
	}
	signing, err := ca.Issue("000.00.00.H29", "HCM DMS", pki.IssueOptions{ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}})
	if err != nil {
		t.Fatal(err)
	}
	// The same organ's certificate from another CA: what anyone can make.
	forger, err := pki.Init(filepath.Join(t.TempDir(), "forger"), pki.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	forged, err := forger.Issue("000.00.00.H29", "HCM DMS", clientAuth)
	if err != nil {
		t.Fatal(err)
	}
	escape := func(c *x509.Certificate) string {
		return url.QueryEscape(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})))
	}
	forwarded := escape(iss.Cert)
	tests := []struct {
		name   string
		remote string
		header string
		tls    *tls.ConnectionState
		want   bool
	}{
		{"from a trusted proxy", "10.1.2.3:5000", forwarded, nil, true},
		{"from anyone else", "198.51.100.1:5000", forwarded, nil, false},
		{"garbage from a trusted proxy", "10.1.2.3:5000", "not a certificate", nil, false},
		{"another CA's certificate from a trusted proxy", "10.1.2.3:5000", escape(forged.Cert), nil, false},
		{"a certificate not for client authentication", "10.1.2.3:5000", escape(signing.Cert), nil, false},
		{"direct TLS without a certificate, header sent", "10.1.2.3:5000", forwarded, &tls.ConnectionState{}, false},
		{"direct TLS with a verified certificate", "198.51.100.1:5000", "", &tls.ConnectionState{
			PeerCertificates: []*x509.Certificate{iss.Cert}, VerifiedChains: [][]*x509.Certificate{{iss.Cert}}}, true},
		{"direct TLS with an unverified certificate", "198.51.100.1:5000", "", &tls.ConnectionState{
			PeerCertificates: []*x509.Certificate{iss.Cert}}, false},
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Root())
	inter := x509.NewCertPool()
	inter.AddCert(ca.Intermediate())
	p := edge.CertProxies{Proxies: proxies(t), Roots: roots, Intermediates: inter}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr, r.TLS = tt.remote, tt.tls
			if tt.header != "" {
				r.Header.Set(edge.ClientCertHeader, tt.header)
			}
			c := p.ClientCert(r)
			if got := c != nil; got != tt.want || got && !c.Equal(iss.Cert) {
				t.Errorf("got the certificate: %v, want %v", got, tt.want)
			}
		})
	}
}
