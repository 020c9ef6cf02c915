package console

import (
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// secure tells whether r's client is on TLS: the console is configured
// so, or the request came directly over TLS or from a trusted TLS proxy.
func (s *server) secure(r *http.Request) bool { return s.o.Secure || s.o.Proxies.IsTLS(r) }

func (s *server) cookie(r *http.Request, name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true, Secure: s.secure(r), SameSite: http.SameSiteLaxMode}
}

// home is the sign-in page, or the inbox for a signed-in user.
func (s *server) home(w http.ResponseWriter, r *http.Request) {
	if u, _ := s.current(r); u != nil {
		http.Redirect(w, r, landing(u), http.StatusSeeOther)
		return
	}
	s.loginPage(w, r, http.StatusOK, "")
}

// loginFormTTL is how long a sign-in form's CSRF pair is good for. The
// expiry is inside the signed value: a captured pair cannot be replayed
// for ever, whatever the client does with the cookie's Max-Age.
const loginFormTTL = time.Hour

func (s *server) loginPage(w http.ResponseWriter, r *http.Request, status int, errKey string) {
	tok := randomToken()
	sealed := s.sess.seal(loginFormVersion, s.o.Now().Add(loginFormTTL), tok)
	http.SetCookie(w, s.cookie(r, loginCookie, sealed, int(loginFormTTL/time.Second)))
	p := s.page(w, r, nil, nil)
	p.CSRF, p.Title = tok, p.M.T("signin")
	if errKey != "" {
		p.Error = p.M.T(errKey)
	}
	s.render(w, status, "login", p)
}

const loginFormVersion = "l1"

// loginFormToken is the CSRF token of a sign-in form's cookie, or "" when
// the cookie is forged, of another kind, or expired.
func (s *server) loginFormToken(cookie string) string {
	f, _, ok := s.sess.open(cookie, loginFormVersion, 1, s.o.Now())
	if !ok {
		return ""
	}
	return f[0]
}

// loginSlots is LoginConcurrency, or sized from memory for the largest
// argon2 memory among the accounts' hashes.
func (s *server) loginSlots() int {
	if s.o.LoginConcurrency > 0 {
		return s.o.LoginConcurrency
	}
	var mem uint32 = argonMemory
	for _, a := range s.accounts {
		if h, err := parsePHC(a.PasswordHash); err == nil {
			mem = max(mem, h.memory)
		}
	}
	return loginSlots(mem)
}

// login checks a sign-in within the bounds of loginGuard. Known and
// unknown user names take the same path: the same checks, argon2 against
// a dummy hash, the same answers.
func (s *server) login(w http.ResponseWriter, r *http.Request) {
	var want string
	if c, err := r.Cookie(loginCookie); err == nil {
		want = s.loginFormToken(c.Value)
	}
	if want == "" || !s.checkCSRF(w, r, want) {
		s.fail(w, r, nil, nil, http.StatusForbidden, "csrf", "")
		return
	}
	now := s.o.Now()
	addr := clientKey(s.o.Proxies.ClientAddr(r))
	if ok, wait := s.guard.allowAddr(addr, now); !ok {
		s.o.Log.Warn("console: sign-in rate limited", "addr", addr)
		s.tryLater(w, r, http.StatusTooManyRequests, "too_many", wait)
		return
	}
	name, pw := strings.TrimSpace(r.PostForm.Get("username")), r.PostForm.Get("password")
	if wait := s.guard.delayed(name, addr, now); wait > 0 {
		s.o.Log.Warn("console: sign-in while delayed", "user", logName(name), "addr", addr)
		s.tryLater(w, r, http.StatusTooManyRequests, "locked", wait)
		return
	}
	// A name over maxUserLen is no account's: it goes the unknown names'
	// way, argon2 against the dummy and the same answers and delays.
	a, known := s.accounts[name]
	known = known && len(name) <= maxUserLen
	hash := s.dummy
	if known {
		hash = a.PasswordHash
	}
	ok, err := s.guard.check(r.Context(), hash, pw)
	if err != nil {
		s.o.Log.Warn("console: sign-in refused, password checks busy", "addr", addr)
		s.tryLater(w, r, http.StatusServiceUnavailable, "busy", time.Second)
		return
	}
	if !ok || !known {
		if wait := s.guard.failed(name, addr, now); wait > 0 {
			s.o.Log.Warn("console: sign-in delayed after failures", "user", logName(name), "addr", addr, "delay", wait)
			s.tryLater(w, r, http.StatusTooManyRequests, "locked", wait)
			return
		}
		s.loginPage(w, r, http.StatusUnauthorized, "bad_login")
		return
	}
	s.guard.succeeded(name, addr)
	if old, err := r.Cookie(sessionCookie); err == nil {
		if err := s.sess.remove(r.Context(), old.Value, now); err != nil {
			s.o.Log.Warn("console: ending the previous session", "err", err)
		}
	}
	v, _ := s.sess.create(name, now)
	http.SetCookie(w, s.cookie(r, sessionCookie, v, 0))
	http.SetCookie(w, s.cookie(r, loginCookie, "", -1))
	s.o.Log.Info("console: signed in", "user", name, "organ", a.OrganID)
	http.Redirect(w, r, landing(&a), http.StatusSeeOther)
}

// clientKey is what sign-in limits count by: an IPv4 address, or an
// IPv6 /64, which one client usually holds whole.
func clientKey(a netip.Addr) string {
	if a.Is6() && !a.Is4In6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// tryLater answers the sign-in page with status and Retry-After.
func (s *server) tryLater(w http.ResponseWriter, r *http.Request, status int, key string, wait time.Duration) {
	w.Header().Set("Retry-After", retryAfter(wait))
	s.loginPage(w, r, status, key)
}

func (s *server) logout(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	now := s.o.Now()
	ss, ok := s.sess.get(c.Value, now)
	if !ok {
		http.SetCookie(w, s.cookie(r, sessionCookie, "", -1))
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	if !s.checkCSRF(w, r, ss.csrf) {
		s.fail(w, r, nil, nil, http.StatusForbidden, "csrf", "")
		return
	}
	err = s.sess.remove(r.Context(), c.Value, now)
	http.SetCookie(w, s.cookie(r, sessionCookie, "", -1))
	if err != nil {
		// Signed out in this browser (and on this replica), but a copy of
		// the cookie would still open the session on the others: say so,
		// rather than keep the clerk waiting on the broker.
		s.o.Log.Error("console: sign-out not shared with the other replicas", "user", ss.user, "err", err)
		s.loginPage(w, r, http.StatusOK, "logout_unshared")
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
