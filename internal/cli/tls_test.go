package cli

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/pki"
	"github.com/lienthong/lienthong/internal/tlstest"
)

// serverCert writes a TLS server certificate for 127.0.0.1 and the CA
// that issued it, which pool holds alone.
func serverCert(t *testing.T, dir string) (certPath, keyPath string, pool *x509.CertPool) {
	t.Helper()
	s := tlstest.New(t, dir)
	return s.CertFile, s.KeyFile, s.Pool
}

// tlsClient trusts the servers pool trusts and, when iss is set, presents
// its certificate and chain.
func tlsClient(pool *x509.CertPool, iss *pki.Issued) *http.Client {
	tc := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if iss != nil {
		c := tls.Certificate{PrivateKey: iss.Key, Leaf: iss.Cert, Certificate: [][]byte{iss.Cert.Raw}}
		for _, ch := range iss.Chain {
			c.Certificate = append(c.Certificate, ch.Raw)
		}
		tc.Certificates = []tls.Certificate{c}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: tc}, Timeout: 10 * time.Second}
}

// An agency may authenticate with a TLS client certificate instead of a
// token: its UID must name a registered agency.
func TestServeClientCertificates(t *testing.T) {
	dir := t.TempDir()
	ca, err := pki.Init(filepath.Join(dir, "pki"), pki.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	clientAuth := pki.IssueOptions{ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageEmailProtection}}
	h29, err := ca.Issue("000.00.00.H29", "UBND TP HCM", clientAuth)
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := ca.Issue("000.00.00.K01", "not registered", clientAuth)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath, serverPool := serverCert(t, dir)
	yaml := `hub:
  organId: "000.00.00.G01"
  addr: ` + anyAddr + `
  dataDir: ` + filepath.Join(dir, "data") + `
tls:
  certFile: ` + certPath + `
  keyFile: ` + keyPath + `
  clientCaFile: ` + ca.RootPath() + `
  clientAuth: optional
trust:
  roots: [` + ca.RootPath() + `]
agencies:
  - organId: "000.00.00.H29"
    name: UBND TP HCM
    tokens: ["h29-token-0123456789"]
`
	path := filepath.Join(dir, "hub.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := serveConfig(t, path, io.Discard)

	client := func(iss *pki.Issued) *http.Client { return tlsClient(serverPool, iss) }
	get := func(c *http.Client, path string) int {
		resp, err := c.Get("https://" + addr + path)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if err := waitReady("https://"+addr, client(nil)); err != nil {
		t.Fatalf("not ready: %v", err)
	}
	tests := []struct {
		name string
		give *pki.Issued
		want int
	}{
		{"registered agency's certificate", h29, 200},
		{"no certificate, no token", nil, 401},
		{"certificate of an unregistered organ", stranger, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := get(client(tt.give), "/v1/inbox"); got != tt.want {
				t.Errorf("status %d, want %d", got, tt.want)
			}
		})
	}
}

// Behind a TLS proxy that verified the client's certificate, the hub takes
// it from X-Client-Cert, but only from a proxy named for it
// (hub.clientCertProxies, not merely a trusted one) and only when it
// chains to the client CAs: the header would otherwise be a credential
// anyone could forge.
func TestServeClientCertificateFromProxy(t *testing.T) {
	dir := t.TempDir()
	ca, err := pki.Init(filepath.Join(dir, "pki"), pki.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	clientAuth := pki.IssueOptions{ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	h29, err := ca.Issue("000.00.00.H29", "UBND TP HCM", clientAuth)
	if err != nil {
		t.Fatal(err)
	}
	other, err := pki.Init(filepath.Join(dir, "other"), pki.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	forged, err := other.Issue("000.00.00.H29", "UBND TP HCM", clientAuth)
	if err != nil {
		t.Fatal(err)
	}
	// The client CAs: the root and the intermediate that issues.
	clientCAs := filepath.Join(dir, "client-cas.pem")
	pems := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Root().Raw}), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Intermediate().Raw})...)
	if err := os.WriteFile(clientCAs, pems, 0o600); err != nil {
		t.Fatal(err)
	}
	header := func(c *x509.Certificate) string {
		return url.QueryEscape(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})))
	}
	tests := []struct {
		name  string
		proxy string // the hub section's proxy lines
		give  *x509.Certificate
		want  int
	}{
		{"from a proxy named for certificates", "clientCertProxies: [127.0.0.0/8]", h29.Cert, http.StatusOK},
		{"from a proxy trusted for addresses only", "trustedProxies: [127.0.0.0/8]", h29.Cert, http.StatusUnauthorized},
		{"another CA's certificate of the same organ", "clientCertProxies: [127.0.0.0/8]", forged.Cert, http.StatusUnauthorized},
		{"from an address not named", "clientCertProxies: [192.0.2.1]", h29.Cert, http.StatusUnauthorized},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			yaml := `hub:
  organId: "000.00.00.G01"
  addr: ` + anyAddr + `
  dataDir: ` + filepath.Join(dir, fmt.Sprint("data", i)) + `
  ` + tt.proxy + `
tls:
  clientCaFile: ` + clientCAs + `
trust:
  roots: [` + ca.RootPath() + `]
agencies:
  - organId: "000.00.00.H29"
    name: UBND TP HCM
    tokens: ["h29-token-0123456789"]
`
			if !strings.Contains(tt.proxy, "clientCertProxies") {
				yaml = strings.Replace(yaml, "tls:\n  clientCaFile: "+clientCAs+"\n", "", 1)
			}
			path := filepath.Join(dir, fmt.Sprint("hub", i, ".yaml"))
			if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			addr := serveConfig(t, path, io.Discard)
			if err := waitReady("http://"+addr, http.DefaultClient); err != nil {
				t.Fatalf("not ready: %v", err)
			}
			req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/v1/inbox", nil)
			req.Header.Set("X-Client-Cert", header(tt.give))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
}
