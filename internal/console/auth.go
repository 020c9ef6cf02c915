package console

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net/http"
	"runtime"
	"runtime/debug"
	"strconv"
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
	return hashWith(pw, phc{memory: argonMemory, time: argonTime, threads: argonThreads, key: make([]byte, argonKeyLen)})
}

// hashWith hashes pw with p's memory, time, threads and key length.
func hashWith(pw string, p phc) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, p.time, p.memory, p.threads, uint32(len(p.key)))
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.memory, p.time, p.threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// cost is what one check of a hash with p's parameters takes, roughly:
// argon2 fills memory time times, threads sharing the work.
func (p phc) cost() uint64 { return uint64(p.memory) * uint64(p.time) * 16 / uint64(p.threads) }

// dummyFor is the hash unknown user names are checked against: the
// parameters of the costliest account's hash (the defaults without
// accounts), so an unknown name takes as long as that account. Accounts
// hashed with other, cheaper parameters still answer faster: the reason
// to keep every hash at the same parameters (lienthong secret password).
func dummyFor(hashes []string) (string, error) {
	costliest := phc{memory: argonMemory, time: argonTime, threads: argonThreads, key: make([]byte, argonKeyLen)}
	found := false
	for _, h := range hashes {
		p, err := parsePHC(h)
		if err != nil {
			continue
		}
		if !found || p.cost() > costliest.cost() {
			costliest, found = p, true
		}
	}
	return hashWith("dummy password", costliest)
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

// passwordCheck is CheckPassword; tests count the checks running at once
// and see the hashes they run against.
var passwordCheck = CheckPassword

// Revocations are the sessions signed out before they expire. Sessions
// themselves live in their signed cookies, so any replica with the session
// key can check one; a sign-out must reach every replica too, which a
// shared list does (lienthong serve keeps it on a Kafka topic,
// internal/logouts).
type Revocations interface {
	// Revoke ends session id for good; until is when it would have
	// expired anyway, after which it may be forgotten.
	Revoke(ctx context.Context, id string, until time.Time) error
	// Revoked tells whether id was signed out. A list that is not read
	// up to date yet answers true: a signed-out session must not slip in.
	Revoked(id string) bool
}

// memRevocations is the list of a single process.
type memRevocations struct {
	mu  sync.Mutex
	ids map[string]time.Time
	now func() time.Time
}

func (m *memRevocations) Revoke(_ context.Context, id string, until time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	for k, t := range m.ids {
		if !now.Before(t) {
			delete(m.ids, k)
		}
	}
	m.ids[id] = until
	return nil
}

func (m *memRevocations) Revoked(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.ids[id]
	return ok
}

// session is what a session cookie says, once its HMAC holds.
type session struct {
	id      string
	user    string
	csrf    string
	expires time.Time
}

// sessions signs and checks session cookies. A cookie is
// "s1.<base64url user>.<id>.<expiry, Unix seconds>.<HMAC>": self-contained,
// so every replica sharing console.sessionKey accepts it and no replica's
// loss signs anyone out; the CSRF token is an HMAC of the id, the same on
// every replica.
type sessions struct {
	key     []byte // console.sessionKey: only derive uses it
	cookies []byte // signs cookie values (sign, verify)
	csrfKey []byte // makes a session's CSRF token
	ttl     time.Duration
	revoked Revocations
	aead    cipher.AEAD // seals what a page shows once (onceValue)
}

func newSessions(key []byte, ttl time.Duration, revoked Revocations) *sessions {
	s := &sessions{key: key, ttl: ttl, revoked: revoked}
	s.cookies, s.csrfKey = s.derive("cookie v1"), s.derive("csrf v1")
	block, _ := aes.NewCipher(s.derive("once v1")) // 32 bytes: AES-256
	s.aead, _ = cipher.NewGCM(block)
	return s
}

func randomToken() string { return rand.Text() }

// derive is a key for purpose. Every use of the session key goes through
// a label, as the credentials' and sign-outs' record keys do (HMAC of the
// key and "lienthong … v1", internal/cli): no cookie MAC ever equals one
// of those keys, nor a key of another purpose here.
func (s *sessions) derive(purpose string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

func macWith(key []byte, v string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(v))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s *sessions) mac(v string) string { return macWith(s.cookies, v) }

// csrf is the CSRF token of session id.
func (s *sessions) csrf(id string) string { return macWith(s.csrfKey, id) }

// sign returns v.mac(v), the form of signed cookie values.
func (s *sessions) sign(v string) string { return v + "." + s.mac(v) }

// verify returns v from a signed value.
func (s *sessions) verify(signed string) (string, bool) {
	i := strings.LastIndexByte(signed, '.')
	if i <= 0 {
		return "", false
	}
	v, m := signed[:i], signed[i+1:]
	return v, hmac.Equal([]byte(m), []byte(s.mac(v)))
}

// seal signs "version.fields….expiry" as a cookie value; no field may
// hold a dot (they are base64url or rand.Text).
func (s *sessions) seal(version string, exp time.Time, fields ...string) string {
	parts := append(append([]string{version}, fields...), strconv.FormatInt(exp.Unix(), 10))
	return s.sign(strings.Join(parts, "."))
}

// open returns the n fields of a value seal made under version, and its
// expiry, when its HMAC holds and it has not expired at now.
func (s *sessions) open(signed, version string, n int, now time.Time) ([]string, time.Time, bool) {
	v, ok := s.verify(signed)
	if !ok {
		return nil, time.Time{}, false
	}
	parts := strings.Split(v, ".")
	if len(parts) != n+2 || parts[0] != version {
		return nil, time.Time{}, false
	}
	exp, err := strconv.ParseInt(parts[n+1], 10, 64)
	if err != nil || !now.Before(time.Unix(exp, 0)) {
		return nil, time.Time{}, false
	}
	return parts[1 : n+1], time.Unix(exp, 0), true
}

const sessionVersion = "s1"

// create starts a session for user and returns the cookie value.
func (s *sessions) create(user string, now time.Time) (string, *session) {
	ss := &session{id: randomToken(), user: user, expires: now.Add(s.ttl).Truncate(time.Second)}
	ss.csrf = s.csrf(ss.id)
	return s.seal(sessionVersion, ss.expires, base64.RawURLEncoding.EncodeToString([]byte(user)), ss.id), ss
}

// parse checks a cookie's HMAC and expiry, not whether it was revoked.
func (s *sessions) parse(cookie string, now time.Time) (*session, bool) {
	f, exp, ok := s.open(cookie, sessionVersion, 2, now)
	if !ok || f[1] == "" {
		return nil, false
	}
	user, err := base64.RawURLEncoding.DecodeString(f[0])
	if err != nil {
		return nil, false
	}
	return &session{id: f[1], user: string(user), csrf: s.csrf(f[1]), expires: exp}, true
}

func (s *sessions) get(cookie string, now time.Time) (*session, bool) {
	ss, ok := s.parse(cookie, now)
	if !ok || s.revoked.Revoked(ss.id) {
		return nil, false
	}
	return ss, true
}

// remove signs a session out on every replica.
func (s *sessions) remove(ctx context.Context, cookie string, now time.Time) error {
	ss, ok := s.parse(cookie, now)
	if !ok {
		return nil // forged or expired: nothing to end
	}
	return s.revoked.Revoke(ctx, ss.id, ss.expires)
}

// onceValue is shown on the next page only (a token just issued), so it
// never travels in a URL and a reload does not issue another. It travels
// in a short-lived cookie sealed with AES-GCM and bound to the session,
// so the page that shows it may be served by any replica.
type onceValue struct{ organ, value string }

const (
	onceCookie = "lt_once"
	oncePath   = "/ops/directory"
	onceMaxAge = 120
)

func (s *sessions) sealOnce(ss *session, v onceValue) string {
	nonce := make([]byte, s.aead.NonceSize())
	_, _ = rand.Read(nonce)
	plain := ss.id + "\n" + v.organ + "\n" + v.value
	return base64.RawURLEncoding.EncodeToString(s.aead.Seal(nonce, nonce, []byte(plain), []byte(onceCookie)))
}

func (s *sessions) openOnce(ss *session, sealed string) (onceValue, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil || len(raw) < s.aead.NonceSize() {
		return onceValue{}, false
	}
	plain, err := s.aead.Open(nil, raw[:s.aead.NonceSize()], raw[s.aead.NonceSize():], []byte(onceCookie))
	if err != nil {
		return onceValue{}, false
	}
	parts := strings.SplitN(string(plain), "\n", 3)
	if len(parts) != 3 || parts[0] != ss.id {
		return onceValue{}, false
	}
	return onceValue{organ: parts[1], value: parts[2]}, true
}

// stash keeps v for ss's next page.
func (s *server) stash(w http.ResponseWriter, r *http.Request, ss *session, v onceValue) {
	c := s.cookie(r, onceCookie, s.sess.sealOnce(ss, v), onceMaxAge)
	c.Path = oncePath
	http.SetCookie(w, c)
}

// take returns and forgets what stash kept.
func (s *server) take(w http.ResponseWriter, r *http.Request, ss *session) onceValue {
	c, err := r.Cookie(onceCookie)
	if err != nil {
		return onceValue{}
	}
	gone := s.cookie(r, onceCookie, "", -1)
	gone.Path = oncePath
	http.SetCookie(w, gone)
	v, _ := s.sess.openOnce(ss, c.Value)
	return v
}

func sameToken(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// Sign-in bounds. Each password check runs argon2id with its 19 MiB, so
// parallel sign-ins could take the process's memory (150 of them took
// 1.8 GB, issue 12): checks run in a few slots, a sign-in waits a little
// for one and is then told to come back (503), and one client address may
// try only so often (429). Failures delay the next try of that user name
// from that address only, so nobody can lock a clerk out from elsewhere.
const (
	freeFailures = 5                // failures of a name from an address before delays
	firstDelay   = 30 * time.Second // after the fifth, doubling
	maxDelay     = 15 * time.Minute
	maxTracked   = 100_000 // addresses and name-address pairs remembered
)

type bucket struct {
	tokens float64
	at     time.Time
}

type failState struct {
	count int
	until time.Time // no try before this
	last  time.Time
}

// loginGuard holds the sign-in bounds of one process.
type loginGuard struct {
	slots     chan struct{}
	wait      time.Duration
	perMinute int

	mu    sync.Mutex
	addrs map[string]*bucket
	fails map[string]*failState
}

func newLoginGuard(slots int, wait time.Duration, perMinute int) *loginGuard {
	return &loginGuard{slots: make(chan struct{}, slots), wait: wait, perMinute: perMinute,
		addrs: map[string]*bucket{}, fails: map[string]*failState{}}
}

// loginSlots sizes the password-check slots: a quarter of the memory
// limit (GOMEMLIMIT) at memKiB each, at most two per CPU, at least one.
func loginSlots(memKiB uint32) int {
	cpus := runtime.GOMAXPROCS(0)
	limit := debug.SetMemoryLimit(-1)
	if limit == math.MaxInt64 || memKiB == 0 {
		return cpus
	}
	n := int(limit / 4 / (int64(memKiB) * 1024))
	return max(1, min(n, 2*cpus))
}

// allowAddr takes one attempt from addr's bucket (perMinute a minute,
// as many at once); when empty it tells how long until the next.
func (g *loginGuard) allowAddr(addr string, now time.Time) (bool, time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	b := g.addrs[addr]
	if b == nil {
		if len(g.addrs) >= maxTracked {
			g.sweep(now)
		}
		b = &bucket{tokens: float64(g.perMinute), at: now}
		g.addrs[addr] = b
	}
	rate := float64(g.perMinute) / float64(time.Minute)
	b.tokens = min(float64(g.perMinute), b.tokens+rate*float64(now.Sub(b.at)))
	b.at = now
	if b.tokens < 1 {
		return false, time.Duration((1 - b.tokens) / rate)
	}
	b.tokens--
	return true, 0
}

// maxUserLen bounds a user name: a longer one is no account's (New
// refuses such accounts).
const maxUserLen = 128

// failKey keys failures by a digest of the name, so a name of any length
// (a form may carry 64 KiB) takes 32 bytes in the map.
func failKey(user, addr string) string {
	sum := sha256.Sum256([]byte(user))
	return string(sum[:]) + "\x00" + addr
}

// logName is user as the log shows it: a name too long to be an
// account's shows as its length and digest.
func logName(user string) string {
	if len(user) <= maxUserLen {
		return user
	}
	sum := sha256.Sum256([]byte(user))
	return fmt.Sprintf("(%d bytes, sha256 %x…)", len(user), sum[:8])
}

// delayed tells how long user must wait before trying again from addr.
func (g *loginGuard) delayed(user, addr string, now time.Time) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	if f := g.fails[failKey(user, addr)]; f != nil && now.Before(f.until) {
		return f.until.Sub(now)
	}
	return 0
}

// failed counts a failure of user from addr and returns the delay it
// now imposes (0 for the first few).
func (g *loginGuard) failed(user, addr string, now time.Time) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	k := failKey(user, addr)
	f := g.fails[k]
	if f == nil {
		if len(g.fails) >= maxTracked {
			g.sweep(now)
		}
		f = &failState{}
		g.fails[k] = f
	} else if now.Sub(f.last) > maxDelay+firstDelay {
		*f = failState{} // quiet long enough: start over
	}
	f.count++
	f.last = now
	if f.count < freeFailures {
		return 0
	}
	d := maxDelay
	if shift := f.count - freeFailures; shift < 10 {
		d = min(maxDelay, firstDelay<<shift)
	}
	f.until = now.Add(d)
	return d
}

func (g *loginGuard) succeeded(user, addr string) {
	g.mu.Lock()
	delete(g.fails, failKey(user, addr))
	g.mu.Unlock()
}

// sweep forgets full buckets and stale failures; if that is not enough
// (a flood of addresses or names), whatever the map order gives, so the
// memory stays bounded. g.mu is held.
func (g *loginGuard) sweep(now time.Time) {
	for k, b := range g.addrs {
		if now.Sub(b.at) > time.Minute {
			delete(g.addrs, k)
		}
	}
	for k, f := range g.fails {
		if now.After(f.until) && now.Sub(f.last) > maxDelay+firstDelay {
			delete(g.fails, k)
		}
	}
	for k := range g.addrs {
		if len(g.addrs) < maxTracked*3/4 {
			break
		}
		delete(g.addrs, k)
	}
	for k := range g.fails {
		if len(g.fails) < maxTracked*3/4 {
			break
		}
		delete(g.fails, k)
	}
}

// errBusy: no password-check slot came free in time.
var errBusy = errors.New("console: sign-in busy")

// check runs the password check in a slot, waiting at most g.wait.
func (g *loginGuard) check(ctx context.Context, hash, pw string) (bool, error) {
	t := time.NewTimer(g.wait)
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
	case <-t.C:
		return false, errBusy
	case <-ctx.Done():
		return false, errBusy
	}
	defer func() { <-g.slots }()
	return passwordCheck(hash, pw), nil
}

// retryAfter is d as a Retry-After value: whole seconds, at least 1.
func retryAfter(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}
