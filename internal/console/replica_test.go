package console_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/console"
	"github.com/lienthong/lienthong/internal/hubtest"
	"github.com/lienthong/lienthong/internal/logouts"
	"github.com/lienthong/lienthong/internal/testwait"
)

// replica serves a console as one hub replica would: the shared session
// key, and sign-outs on the shared topic of the test hub's broker.
func replica(t *testing.T, h *hubtest.Hub, accounts []console.Account) string {
	t.Helper()
	key := bytes.Repeat([]byte{7}, 32)
	signedOut, err := logouts.New(t.Context(), logouts.Config{Bus: bus.Config{Brokers: h.Broker.Addrs()}, Topic: "lienthong.sessions",
		Key: bytes.Repeat([]byte{9}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- signedOut.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("run: %v", err)
		}
		_ = signedOut.Close()
	})
	testwait.Eventually(t, "the sessions topic read", signedOut.IsReady)
	handler, err := console.New(console.Options{Hub: h.Hub, Accounts: accounts, SessionKey: key, Revocations: signedOut})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	return srv.URL
}

// A session signed in on one replica works on another (no affinity
// needed, and it survives the first's loss), with the same CSRF token;
// signing out on one ends it on the other.
func TestSessionsAcrossReplicas(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	hash, err := console.HashPassword(goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	accounts := []console.Account{{Username: "vanthu.h29", PasswordHash: hash, Role: console.RoleClerk, OrganID: h29}}
	a, b := replica(t, h, accounts), replica(t, h, accounts)
	// Cookies are per host, not per port: one jar serves both replicas,
	// as one browser does behind a proxy.
	clerk := newBrowser(t, a)
	if code, _ := clerk.login("vanthu.h29", goodPassword); code != http.StatusSeeOther {
		t.Fatalf("sign in on A: %d", code)
	}
	tokenA := csrf(t, clerk.page("/inbox"))
	clerk.base = b
	tokenB := csrf(t, clerk.page("/inbox"))
	if tokenA != tokenB {
		t.Fatalf("the CSRF token differs between replicas")
	}
	// A POST on B with A's page's token passes B's CSRF check (the
	// language switch would not need it; a status on a missing document
	// gets past CSRF to the hub's 404).
	if code, _, _ := clerk.do(http.MethodPost, "/doc/no-such-packet/status", url.Values{"csrf": {tokenA}, "code": {"03"}}); code == http.StatusForbidden {
		t.Fatalf("B refuses A's CSRF token")
	}
	// Keep the cookie as an attacker who copied it would.
	u, _ := url.Parse(a)
	var kept *http.Cookie
	for _, c := range clerk.c.Jar.Cookies(u) {
		if c.Name == "lt_session" {
			kept = c
		}
	}
	if kept == nil {
		t.Fatal("no session cookie")
	}
	clerk.base = a
	if code, _, _ := clerk.do(http.MethodPost, "/logout", url.Values{"csrf": {tokenA}}); code != http.StatusSeeOther {
		t.Fatalf("sign out on A: %d", code)
	}
	inboxOnB := func() int {
		req, _ := http.NewRequest(http.MethodGet, b+"/inbox", nil)
		req.AddCookie(kept)
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	testwait.Eventually(t, "the sign-out on A reaching B", func() bool { return inboxOnB() == http.StatusSeeOther })
}

// With the broker gone, a sign-out still answers (the write to the
// sessions topic is bounded, logouts.Config.WriteWait): the cookie is
// cleared, this replica refuses the session, and the page says the other
// replicas could not be told. A stopped broker refuses connections; a hung
// one (its address taken by a listener that never answers) is what hung
// sign-outs until the write was bounded.
func TestSignOutWithBrokerDown(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	hash, err := console.HashPassword(goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	for _, hung := range []bool{false, true} {
		name := map[bool]string{false: "stopped", true: "hung"}[hung]
		t.Run(name, func(t *testing.T) {
			broker, err := bus.StartBroker(t.Context(), bus.BrokerConfig{DataDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			defer broker.Close()
			// Generous bus timeouts, as a deployment may set: the sign-out's
			// own bound (WriteWait, 2 s) must hold whatever they are.
			cfg := bus.Config{Brokers: broker.Addrs(), WriteTimeout: time.Minute, DialTimeout: time.Minute}
			signedOut, err := logouts.New(t.Context(), logouts.Config{Bus: cfg, Topic: "lienthong.sessions", Key: bytes.Repeat([]byte{9}, 32)})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				defer close(done)
				_ = signedOut.Run(ctx) // the broker is gone: its error says nothing here
			}()
			defer func() {
				cancel()
				<-done
				_ = signedOut.Close()
			}()
			testwait.Eventually(t, "the sessions topic read", signedOut.IsReady)
			base := serveConsole(t, console.Options{Hub: h.Hub, Revocations: signedOut,
				Accounts: []console.Account{{Username: "vanthu.h29", PasswordHash: hash, Role: console.RoleClerk, OrganID: h29}}})
			clerk := newBrowser(t, base)
			if code, _ := clerk.login("vanthu.h29", goodPassword); code != http.StatusSeeOther {
				t.Fatalf("sign in: %d", code)
			}
			token := csrf(t, clerk.page("/inbox"))
			u, _ := url.Parse(base)
			var kept *http.Cookie
			for _, c := range clerk.c.Jar.Cookies(u) {
				if c.Name == "lt_session" {
					kept = c
				}
			}
			if kept == nil {
				t.Fatal("no session cookie")
			}
			if err := broker.Close(); err != nil {
				t.Fatal(err)
			}
			if hung {
				silent(t, broker.Addrs()[0])
			}

			clerk.c.Timeout = 30 * time.Second // a generous bound: it is no timing test
			req, _ := http.NewRequest(http.MethodPost, base+"/logout?lang=en", strings.NewReader(url.Values{"csrf": {token}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := clerk.c.Do(req)
			if err != nil {
				t.Fatalf("sign-out with the broker %s: %v", name, err)
			}
			raw, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			cleared := false
			for _, c := range resp.Cookies() {
				cleared = cleared || c.Name == "lt_session" && c.MaxAge < 0
			}
			if resp.StatusCode != http.StatusOK || !cleared || !strings.Contains(string(raw), "other servers could not be told") {
				t.Fatalf("sign-out with the broker %s: %d, cookie cleared %v: %s", name, resp.StatusCode, cleared, raw)
			}
			req, _ = http.NewRequest(http.MethodGet, base+"/inbox", nil)
			req.AddCookie(kept)
			resp, err = http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther {
				t.Errorf("the signed-out cookie on the same replica: %d, want 303 to the sign-in page", resp.StatusCode)
			}
		})
	}
}

// silent listens on addr (a stopped broker's) and accepts connections
// without ever answering, as a hung broker or a black-holed route does.
func silent(t *testing.T, addr string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("taking the stopped broker's address: %v", err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go func() { _, _ = io.Copy(io.Discard, c) }()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
}
