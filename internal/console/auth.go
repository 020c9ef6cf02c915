package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters for new hashes (OWASP's second recommendation:
// 19 MiB, 2 passes, 1 lane).
const (
	argonMemory  = 19 * 1024
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// HashPassword returns an argon2id hash of pw in the PHC string format
// ($argon2id$v=19$m=…,t=…,p=…$salt$hash, unpadded standard base64), the
// form Account.PasswordHash takes.
func HashPassword(pw string) (string, error) {
	if pw == "" {
		return "", errors.New("console: empty password")
	}
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

type phc struct {
	memory  uint32
	time    uint32
	threads uint8
	salt    []byte
	key     []byte
}

var errBadHash = errors.New("console: not an argon2id PHC string")

func parsePHC(s string) (phc, error) {
	var h phc
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return h, errBadHash
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return h, errBadHash
	}
	var p uint32
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &h.memory, &h.time, &p); err != nil {
		return h, errBadHash
	}
	// Bounds keep a bad configuration from exhausting the machine.
	if h.memory < 8 || h.memory > 1<<20 || h.time < 1 || h.time > 16 || p < 1 || p > 16 {
		return h, errBadHash
	}
	h.threads = uint8(p)
	var err error
	if h.salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil || len(h.salt) < 8 {
		return h, errBadHash
	}
	if h.key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(h.key) < 16 || len(h.key) > 64 {
		return h, errBadHash
	}
	return h, nil
}

// CheckPassword compares pw with an argon2id PHC hash in constant time.
func CheckPassword(hash, pw string) bool {
	h, err := parsePHC(hash)
	if err != nil {
		return false
	}
	key := argon2.IDKey([]byte(pw), h.salt, h.time, h.memory, h.threads, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(key, h.key) == 1
}

// Lock-out: this many failures in a row lock an account for lockFor.
const (
	maxFailures = 5
	lockFor     = 15 * time.Minute
)

type session struct {
	user    string
	csrf    string
	expires time.Time
	// once is shown on the next page only (a token just issued), so it
	// never travels in a URL and a reload does not issue another.
	once onceValue
}

type onceValue struct{ organ, value string }

// stash keeps v for ss's next page.
func (s *sessions) stash(ss *session, v onceValue) {
	s.mu.Lock()
	ss.once = v
	s.mu.Unlock()
}

// take returns and forgets what stash kept.
func (s *sessions) take(ss *session) onceValue {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := ss.once
	ss.once = onceValue{}
	return v
}

type failures struct {
	count       int
	lockedUntil time.Time
}

// sessions is the server-side session map. The cookie carries the id with
// an HMAC over it, so a forged or truncated cookie is refused before the
// map is consulted.
type sessions struct {
	key []byte
	ttl time.Duration

	mu    sync.Mutex
	byID  map[string]*session
	fails map[string]*failures
}

func newSessions(key []byte, ttl time.Duration) *sessions {
	return &sessions{key: key, ttl: ttl, byID: map[string]*session{}, fails: map[string]*failures{}}
}

func randomToken() string { return rand.Text() }

func (s *sessions) mac(v string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(v))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// sign returns v.mac(v), the form of signed cookie values.
func (s *sessions) sign(v string) string { return v + "." + s.mac(v) }

// verify returns v from a signed value.
func (s *sessions) verify(signed string) (string, bool) {
	v, m, ok := strings.Cut(signed, ".")
	if !ok || v == "" {
		return "", false
	}
	return v, hmac.Equal([]byte(m), []byte(s.mac(v)))
}

// create starts a session for user and returns the cookie value.
func (s *sessions) create(user string, now time.Time) (string, *session) {
	id := randomToken()
	ss := &session{user: user, csrf: randomToken(), expires: now.Add(s.ttl)}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range s.byID { // sweep expired sessions
		if !now.Before(v.expires) {
			delete(s.byID, k)
		}
	}
	s.byID[id] = ss
	return s.sign(id), ss
}

func (s *sessions) get(cookie string, now time.Time) (*session, bool) {
	id, ok := s.verify(cookie)
	if !ok {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.byID[id]
	if !ok {
		return nil, false
	}
	if !now.Before(ss.expires) {
		delete(s.byID, id)
		return nil, false
	}
	return ss, true
}

func (s *sessions) remove(cookie string) {
	if id, ok := s.verify(cookie); ok {
		s.mu.Lock()
		delete(s.byID, id)
		s.mu.Unlock()
	}
}

// locked tells whether user is locked out at now.
func (s *sessions) locked(user string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.fails[user]
	return f != nil && now.Before(f.lockedUntil)
}

// failed counts a failure and reports whether the account is now locked.
func (s *sessions) failed(user string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.fails[user]
	if f == nil {
		f = &failures{}
		s.fails[user] = f
	}
	if !f.lockedUntil.IsZero() && !now.Before(f.lockedUntil) {
		f.count, f.lockedUntil = 0, time.Time{} // the lock ran out
	}
	f.count++
	if f.count >= maxFailures {
		f.lockedUntil = now.Add(lockFor)
		return true
	}
	return false
}

func (s *sessions) succeeded(user string) {
	s.mu.Lock()
	delete(s.fails, user)
	s.mu.Unlock()
}

func sameToken(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
