package console

import "net/http"

// current returns the signed-in account, if any.
func (s *server) current(r *http.Request) (*Account, *session) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, nil
	}
	ss, ok := s.sess.get(c.Value, s.o.Now())
	if !ok {
		return nil, nil
	}
	a, ok := s.accounts[ss.user]
	if !ok {
		return nil, nil
	}
	return &a, ss
}

// checkCSRF reads the form (bounded) and compares its token.
func (s *server) checkCSRF(w http.ResponseWriter, r *http.Request, want string) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		return false
	}
	return sameToken(r.PostForm.Get("csrf"), want)
}

// clerk wraps a handler for a signed-in clerk (signedIn).
func (s *server) clerk(next func(http.ResponseWriter, *http.Request, *Account, *session)) http.HandlerFunc {
	return s.signedIn(func(u *Account) bool { return u.Role == RoleClerk && u.OrganID != "" }, "clerks_only", next)
}

// signedIn wraps a handler for a signed-in account that may: anyone signed
// out is sent to the sign-in page (GET) or refused (POST), an account that
// may not is refused with refusal, and every POST must carry the
// session's CSRF token.
func (s *server) signedIn(may func(*Account) bool, refusal string, next func(http.ResponseWriter, *http.Request, *Account, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, ss := s.current(r)
		if u == nil {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, "/", http.StatusSeeOther)
				return
			}
			s.fail(w, r, nil, nil, http.StatusForbidden, "csrf", "")
			return
		}
		if r.Method == http.MethodPost && !s.checkCSRF(w, r, ss.csrf) {
			s.fail(w, r, u, ss, http.StatusForbidden, "csrf", "")
			return
		}
		if !may(u) {
			s.fail(w, r, u, ss, http.StatusForbidden, refusal, "")
			return
		}
		next(w, r, u, ss)
	}
}
