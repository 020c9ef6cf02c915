package console_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"lienthong/internal/bus"
	"lienthong/internal/console"
	"lienthong/internal/hubtest"
	"lienthong/internal/logouts"
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
		<-done
		_ = signedOut.Close()
	})
	eventually(t, "the sessions topic read", signedOut.IsReady)
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
	eventually(t, "the sign-out on A reaching B", func() bool { return inboxOnB() == http.StatusSeeOther })
}
