package cli

import (
	"bufio"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/internal/pki"
	"github.com/lienthong/lienthong/internal/testwait"
	"github.com/lienthong/lienthong/internal/trust"
	"github.com/lienthong/lienthong/internal/vdxp"
)

// --check-config refuses a federation peer over plain http to another
// machine, and says why; loopback stays allowed for local tests.
func TestCheckConfigPeerHTTP(t *testing.T) {
	tests := []struct {
		give     string
		wantCode int
	}{
		{give: "http://north.example.vn", wantCode: ExitInvalid},
		{give: "http://127.0.0.1:9000", wantCode: ExitOK},
		{give: "https://north.example.vn", wantCode: ExitOK},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			dir := t.TempDir()
			yaml := "hub:\n  dataDir: " + filepath.Join(dir, "data") + "\npeers:\n  - name: north\n    url: " + tt.give + "\n    token: north-token-0123456789\n"
			path := filepath.Join(dir, "lienthong.yaml")
			if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			code, _, errOut := run(t, "serve", "--check-config", path)
			if code != tt.wantCode {
				t.Fatalf("--check-config = %d, want %d: %s", code, tt.wantCode, errOut)
			}
			if tt.wantCode != ExitOK && (!strings.Contains(errOut, "peers[0].url") || !strings.Contains(errOut, "loopback")) {
				t.Errorf("the refusal does not say why: %s", errOut)
			}
		})
	}
}

// edgeServer serves /healthz with the hub's server and listener under h.
func edgeServer(t *testing.T, h func(*config.Hub)) string {
	t.Helper()
	cfg := config.Default()
	cfg.Hub.Addr = "127.0.0.1:0"
	h(&cfg.Hub)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	srv := newHTTPServer(cfg.Hub, mux, slog.New(slog.DiscardHandler))
	ln, err := listen(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// healthz asks for /healthz on the keep-alive connection c.
func healthz(t *testing.T, c net.Conn, br *bufio.Reader) error {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: hub\r\n\r\n"); err != nil {
		return err
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || string(body) != "ok" {
		return fmt.Errorf("healthz: %d %q: %w", resp.StatusCode, body, err)
	}
	return nil
}

// closedByServer waits up to 10 s for the server to close c.
func closedByServer(c net.Conn, br *bufio.Reader) error {
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := br.ReadByte()
	var ne net.Error
	switch {
	case err == nil:
		return errors.New("the server sent data")
	case errors.As(err, &ne) && ne.Timeout():
		return errors.New("still open after 10 s")
	}
	return nil // EOF or reset: closed
}

func dial(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, bufio.NewReader(c)
}

// An idle keep-alive connection is closed after hub.idleTimeout (without
// one, net/http would keep it for readTimeout, 10 minutes by default).
func TestIdleConnectionClosed(t *testing.T) {
	addr := edgeServer(t, func(h *config.Hub) { h.IdleTimeout = 200 * time.Millisecond })
	c, br := dial(t, addr)
	if err := healthz(t, c, br); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := closedByServer(c, br); err != nil {
		t.Fatalf("idle connection: %v", err)
	}
	t.Logf("closed after %s idle", time.Since(start))
}

// Beyond hub.maxConnections a new connection is closed at once, while
// /healthz keeps answering on a connection already open; a slot freed is
// used again.
func TestConnectionCap(t *testing.T) {
	addr := edgeServer(t, func(h *config.Hub) { h.MaxConnections = 2 })
	a, abr := dial(t, addr)
	b, bbr := dial(t, addr)
	for _, x := range []struct {
		c  net.Conn
		br *bufio.Reader
	}{{a, abr}, {b, bbr}} {
		if err := healthz(t, x.c, x.br); err != nil {
			t.Fatal(err)
		}
	}
	over, obr := dial(t, addr)
	if err := healthz(t, over, obr); err == nil {
		t.Fatal("a third connection was served with a cap of 2")
	}
	if err := healthz(t, a, abr); err != nil {
		t.Fatalf("healthz on an open connection at the cap: %v", err)
	}
	_ = b.Close()
	testwait.Eventually(t, "the slot of a closed connection to be freed", func() bool {
		c, br := dial(t, addr)
		return healthz(t, c, br) == nil
	})
}

// A national-axis system with a pinned client certificate must present it
// on every /vdxp/ request, whatever its HMAC; vdxp.freshness, when set,
// refuses stale timestamps. Other systems are as before.
func TestServeVDXPClientCertificate(t *testing.T) {
	dir := t.TempDir()
	ca, err := pki.Init(filepath.Join(dir, "pki"), pki.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	clientAuth := pki.IssueOptions{ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	hcmSystem, err := ca.Issue("000.00.00.H29", "HCM DMS", clientAuth)
	if err != nil {
		t.Fatal(err)
	}
	other, err := ca.Issue("000.00.00.H29", "another program", clientAuth)
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
vdxp:
  freshness: 1m
agencies:
  - organId: "000.00.00.H29"
    name: UBND TP HCM
    vdxpSystemId: hcm-dms
    vdxpSecret: hcm-dms-secret-0123456789
    vdxpCertSha256: ["` + strings.ToUpper(trust.Fingerprint(hcmSystem.Cert)) + `"]
  - organId: "000.00.00.G22"
    name: VPCP
    vdxpSystemId: vpcp-dms
    vdxpSecret: vpcp-dms-secret-0123456789
`
	path := filepath.Join(dir, "hub.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := run(t, "serve", "--check-config", path); code != ExitOK {
		t.Fatalf("--check-config: %s", errOut)
	}
	addr := serveConfig(t, path, io.Discard)
	httpClient := func(iss *pki.Issued) *http.Client { return tlsClient(serverPool, iss) }
	if err := waitReady("https://"+addr, httpClient(nil)); err != nil {
		t.Fatalf("not ready: %v", err)
	}
	tests := []struct {
		name     string
		system   string
		cert     *pki.Issued
		age      time.Duration // of the signed timestamp
		wantCode string        // "" for success
	}{
		{"pinned system with its certificate", "hcm-dms", hcmSystem, 0, ""},
		{"pinned system without a certificate", "hcm-dms", nil, 0, "auth.required"},
		{"pinned system with another valid certificate", "hcm-dms", other, 0, "auth.forbidden"},
		{"pinned system, stale timestamp", "hcm-dms", hcmSystem, time.Hour, "auth.required"},
		{"system without pins", "vpcp-dms", nil, 0, ""},
		{"system without pins, timestamp within the window", "vpcp-dms", nil, 30 * time.Second, ""},
		{"system without pins, stale timestamp", "vpcp-dms", nil, 2 * time.Minute, "auth.required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			secret := map[string]string{"hcm-dms": "hcm-dms-secret-0123456789", "vpcp-dms": "vpcp-dms-secret-0123456789"}[tt.system]
			c := &vdxp.Client{BaseURL: "https://" + addr + "/vdxp", SystemID: tt.system, Secret: vdxp.Secret(secret), HTTP: httpClient(tt.cert)}
			if tt.age > 0 {
				c.Timestamp = time.Now().Add(-tt.age)
			}
			_, err := c.CountReceiveEdoc(t.Context())
			var re *vdxp.ReplyError
			switch {
			case tt.wantCode == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.wantCode != "" && (!errors.As(err, &re) || re.Code != tt.wantCode):
				t.Fatalf("got %v, want %s", err, tt.wantCode)
			}
		})
	}
}
