package cli

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/internal/testwait"
)

// The tests give a hub hub.addr 127.0.0.1:0 and learn the port it got from
// serve's ready callback: no test picks a free port, frees it and hopes
// nobody takes it before the hub listens.

// anyAddr is hub.addr for a hub whose port the kernel picks.
const anyAddr = "127.0.0.1:0"

// serveConfig runs serve on the configuration file at path, as `lienthong
// serve --config path` does, until the test ends, and returns the address
// its API listens on.
func serveConfig(t *testing.T, path string, stderr io.Writer) string {
	t.Helper()
	addr, _ := startServe(t, path, stderr)
	return addr
}

// startServe is serveConfig for a test that stops the hub itself (to
// restart it): stop waits for serve to return, and runs at the end of the
// test if the test did not call it.
func startServe(t *testing.T, path string, stderr io.Writer) (addr string, stop func()) {
	t.Helper()
	cfg, err := config.Load(path, nil)
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, newLogger(stderr, cfg.Log), func(a net.Addr) { ready <- a }) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
				t.Logf("serve %s: %v", path, err)
			}
		})
	}
	t.Cleanup(stop)
	select {
	case a := <-ready:
		return a.String(), stop
	case err := <-done:
		done <- err // for stop
		t.Fatalf("serve %s: %v", path, err)
	case <-time.After(testwait.Deadline):
		t.Fatalf("serve %s: not listening after %v", path, testwait.Deadline)
	}
	return "", stop
}

// logAddr waits for the slog text line msg in logs, after its first from
// bytes, and returns the line's addr: where a broker started on port 0 (by
// serve, dev or broker) listens.
func logAddr(tb testing.TB, logs interface{ String() string }, from int, msg string) string {
	tb.Helper()
	re := regexp.MustCompile(`msg="?` + regexp.QuoteMeta(msg) + `"? (?:.* )?addr=(\S+)`)
	var addr string
	testwait.Eventually(tb, "the log line "+msg, func() bool {
		m := re.FindStringSubmatch(logs.String()[from:])
		if m != nil {
			addr = m[1]
		}
		return m != nil
	})
	return addr
}

// lateProxy is a reverse proxy listening from the start whose target is set
// later: two hubs that name each other as peers get the proxies' URLs,
// which exist before either hub knows its own port.
type lateProxy struct {
	URL    string
	target atomic.Pointer[url.URL]
}

func newLateProxy(t *testing.T) *lateProxy {
	t.Helper()
	p := &lateProxy{}
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(p.target.Load())
	}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.target.Load() == nil {
			http.Error(w, "no target yet", http.StatusServiceUnavailable)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// to points the proxy at the hub listening on addr.
func (p *lateProxy) to(addr string) { p.target.Store(&url.URL{Scheme: "http", Host: addr}) }
