// Package console is the hub's web console for clerks (văn thư) of an
// agency: sign-in, the inbox, a document with its timeline and one-click
// business statuses, and the outbox. Pages are server-rendered
// (html/template), Vietnamese by default and English with ?lang=en.
//
// Statuses a clerk sends are built like the client library builds them,
// signed with the agency's key when the hub holds it (hosted signing; the
// pages say so) and submitted through hub.Submit on the "console" channel,
// the same path as the REST API.
package console

import (
	"bytes"
	"cmp"
	"context"
	"crypto"
	"crypto/x509"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lienthong/lienthong/internal/edge"
	"github.com/lienthong/lienthong/internal/hub"
	"github.com/lienthong/lienthong/internal/organ"
	"github.com/lienthong/lienthong/internal/pdfsig"
)

//go:embed templates
var files embed.FS

// Roles of an account.
const (
	RoleClerk    = "clerk"
	RoleOperator = "operator"
	RoleAdmin    = "admin"
)

// Account is a console user.
type Account struct {
	Username     string
	PasswordHash string // argon2id, PHC string format (HashPassword)
	Role         string // RoleClerk, RoleOperator or RoleAdmin
	OrganID      string // the agency of a clerk
}

// Signer is an agency's signing key held by the hub (hosted signing).
type Signer struct {
	Cert  *x509.Certificate
	Chain []*x509.Certificate
	Key   crypto.Signer
}

// Options configure the console.
type Options struct {
	Hub Hub
	// DeadLetters lists and replays the webhook dead letters (/ops/dead-letters).
	DeadLetters DeadLetterQueue
	Accounts    []Account
	// Signers are the hosted signing keys by OrganId; an agency without
	// one sends its statuses unsigned (the hub's policy may refuse them).
	Signers map[string]Signer
	// PDF, when set, seals the PDFs a clerk composes with the agency's
	// hosted key (the hub's engine: pdfium reads, digitorus/pdfsign signs).
	PDF *pdfsig.Checker
	// Gatherer, when set, is the registry the hub's metrics are on
	// (metrics.NewHub); the operators' dashboard at /ops reads it.
	Gatherer prometheus.Gatherer
	// Totals, when set, is what the per-minute chart samples every 10 s
	// (metrics.Hub.Totals); without it the chart samples Gatherer, whose
	// gather also runs the health probes and inbox scans. Run samples.
	Totals prometheus.Gatherer
	// Directory, when set, lists the agencies a clerk may write to and
	// names them in composed documents; without it the compose form takes
	// OrganIds typed in. The operators' dashboard names agencies from it.
	Directory *organ.Directory
	// Credentials say which credentials each agency has, by OrganId, for
	// the operators' directory page; never their values.
	Credentials map[string]AgencyCredentials
	// Tokens, when set, lists agencies' tokens on the directory page and
	// lets an admin issue and revoke them (creds.Store).
	Tokens TokenAdmin
	// Agencies, when set, lets admins add, change and retire agencies at
	// run time (agencies.Store), and the directory page lists credentials
	// from it, Credentials then unused; nil when run-time agencies are off.
	Agencies AgencyAdmin
	// Evidence, when set, is the hub's verifiable log, whose latest
	// checkpoint /ops/log shows; nil when the hub keeps none.
	Evidence Evidence
	// MaxUpload bounds the total size of the files of one composed
	// document; zero means 50 MiB.
	MaxUpload int64
	// SessionKey signs session cookies (at least 32 bytes).
	SessionKey []byte
	// Secure marks cookies Secure (the console is served over HTTPS).
	Secure bool
	// Proxies may tell the client's address and scheme (X-Forwarded-For,
	// X-Forwarded-Proto): behind a TLS proxy among them, cookies are Secure
	// and responses carry HSTS; sign-in limits count the client's address.
	Proxies edge.Proxies
	// Revocations list the sessions signed out, shared by the replicas
	// (internal/logouts); nil keeps them in this process.
	Revocations Revocations
	// LoginConcurrency bounds the password checks running at once; zero
	// sizes it from the memory limit. LoginWait is how long a sign-in
	// waits for one (zero: 2 s), LoginPerMinute the attempts per client
	// address and minute (zero: 20).
	LoginConcurrency int
	LoginWait        time.Duration
	LoginPerMinute   int
	// SpoolDir holds composed letters while they are signed and submitted
	// (the hub's spool directory; "" is the system's temporary directory).
	SpoolDir string
	// SessionTTL is how long a session lasts; zero means 8 hours.
	SessionTTL time.Duration
	// RegisterSettle is how old a letter is before the registers number
	// it (config.Console.RegisterSettle); 0 numbers it at once.
	RegisterSettle time.Duration
	// Zone is the zone every time is shown in; nil means Asia/Ho_Chi_Minh.
	Zone *time.Location
	Now  func() time.Time
	Log  *slog.Logger
}

// Names of the cookies.
const (
	sessionCookie = "lt_session"
	loginCookie   = "lt_login" // the sign-in form's CSRF token, signed
)

// unavailableRetry is the Retry-After of a 503, as the API's.
const unavailableRetry = 2 * time.Second

// Body limit of a form.
const maxForm = 64 << 10

type server struct {
	o        Options
	accounts map[string]Account
	sess     *sessions
	guard    *loginGuard
	dummy    string // the hash unknown user names are checked against (dummyFor)
	tmpl     *template.Template
	static   map[string]staticFile
	history  history
	xlsx     chan struct{} // a slot per register workbook being built
}

type staticFile struct {
	typ  string
	body []byte
}

// Console is the console's handler, to be served at "/", and the sampler
// behind the dashboard's per-minute chart, which Run runs.
type Console struct {
	http.Handler
	s *server
}

// Run samples the chart's counters (with a Gatherer) until ctx ends; New
// starts nothing.
func (c *Console) Run(ctx context.Context) error {
	o := c.s.o
	if o.Gatherer == nil {
		<-ctx.Done()
		return nil
	}
	sampled := o.Gatherer
	if o.Totals != nil {
		sampled = o.Totals
	}
	c.s.history.runSampler(ctx, sampled, o.Now)
	return nil
}

// New returns the console; Run runs its sampler.
func New(o Options) (*Console, error) {
	if o.Hub == nil {
		return nil, errors.New("console: no hub")
	}
	if len(o.SessionKey) < 32 {
		return nil, errors.New("console: the session key must have at least 32 bytes")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Zone == nil {
		o.Zone = defaultZone()
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 8 * time.Hour
	}
	if o.Revocations == nil {
		o.Revocations = &memRevocations{ids: map[string]time.Time{}, now: o.Now}
	}
	s := &server{o: o, accounts: map[string]Account{}, sess: newSessions(o.SessionKey, o.SessionTTL, o.Revocations),
		xlsx: make(chan struct{}, xlsxExports)}
	for _, a := range o.Accounts {
		if a.Username == "" {
			return nil, errors.New("console: an account without a username")
		}
		if len(a.Username) > maxUserLen {
			return nil, fmt.Errorf("console: account %.20q…: a username has at most %d bytes", a.Username, maxUserLen)
		}
		if _, dup := s.accounts[a.Username]; dup {
			return nil, fmt.Errorf("console: account %q twice", a.Username)
		}
		if _, err := parsePHC(a.PasswordHash); err != nil {
			return nil, fmt.Errorf("console: account %q: %w", a.Username, err)
		}
		switch a.Role {
		case RoleClerk:
			if a.OrganID == "" {
				return nil, fmt.Errorf("console: clerk %q without an OrganId", a.Username)
			}
		case RoleOperator, RoleAdmin:
		default:
			return nil, fmt.Errorf("console: account %q: unknown role %q", a.Username, a.Role)
		}
		s.accounts[a.Username] = a
	}
	var hashes []string
	for _, a := range o.Accounts {
		hashes = append(hashes, a.PasswordHash)
	}
	var err error
	if s.dummy, err = dummyFor(hashes); err != nil {
		return nil, err
	}
	s.guard = newLoginGuard(s.loginSlots(), cmp.Or(o.LoginWait, 2*time.Second), cmp.Or(o.LoginPerMinute, 20))
	for id, sg := range o.Signers {
		if sg.Cert == nil || sg.Key == nil {
			return nil, fmt.Errorf("console: signer of %s without a certificate or key", id)
		}
	}
	if s.tmpl, err = template.New("").Funcs(s.funcs()).ParseFS(files, "templates/*.html"); err != nil {
		return nil, err
	}
	s.static = map[string]staticFile{}
	for name, typ := range map[string]string{"console.css": "text/css; charset=utf-8", "console.js": "text/javascript; charset=utf-8", "print.css": "text/css; charset=utf-8"} {
		b, err := files.ReadFile("templates/" + name)
		if err != nil {
			return nil, err
		}
		s.static[name] = staticFile{typ, b}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.home)
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("POST /logout", s.logout)
	mux.HandleFunc("GET /inbox", s.clerk(s.inbox))
	mux.HandleFunc("GET /outbox", s.clerk(s.outbox))
	mux.HandleFunc("GET /doc/{id}", s.clerk(s.doc))
	mux.HandleFunc("POST /doc/{id}/status", s.clerk(s.status))
	mux.HandleFunc("POST /doc/{id}/takeback", s.clerk(s.takeBack))
	mux.HandleFunc("POST /doc/{id}/revoke", s.clerk(s.revoke))
	mux.HandleFunc("GET /doc/{id}/file/{n}", s.clerk(s.file))
	mux.HandleFunc("GET /registers", s.clerk(s.registers))
	mux.HandleFunc("GET /registers/{book}/{year}", s.clerk(s.register))
	mux.HandleFunc("GET /compose", s.clerk(s.composeGet))
	mux.HandleFunc("POST /compose", s.clerkUpload(s.composePost))
	mux.HandleFunc("GET /ops", s.operator(s.ops))
	mux.HandleFunc("GET /ops/glossary", s.operator(s.glossary))
	mux.HandleFunc("GET /ops/search", s.operator(s.search))
	mux.HandleFunc("GET /ops/packet/{id}", s.operator(s.trace))
	mux.HandleFunc("GET /ops/dead-letters", s.operator(s.deadLetters))
	mux.HandleFunc("POST /ops/dead-letters/replay", s.operator(s.replay))
	mux.HandleFunc("GET /ops/directory", s.operator(s.directory))
	mux.HandleFunc("GET /ops/log", s.operator(s.evidenceLog))
	mux.HandleFunc("POST /ops/directory/{organ}/tokens", s.operator(s.issueToken))
	mux.HandleFunc("POST /ops/directory/{organ}/tokens/{fp}/revoke", s.operator(s.revokeToken))
	mux.HandleFunc("GET /ops/agencies/new", s.operator(s.agencyNew))
	mux.HandleFunc("POST /ops/agencies/new", s.operator(s.agencySave))
	mux.HandleFunc("GET /ops/agencies/{organ}/edit", s.operator(s.agencyEdit))
	mux.HandleFunc("POST /ops/agencies/{organ}/edit", s.operator(s.agencySave))
	mux.HandleFunc("GET /ops/agencies/{organ}/retire", s.operator(s.agencyRetireGet))
	mux.HandleFunc("POST /ops/agencies/{organ}/retire", s.operator(s.agencyRetire))
	mux.HandleFunc("GET /static/{name}", func(w http.ResponseWriter, r *http.Request) {
		f, ok := s.static[r.PathValue("name")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", f.typ)
		w.Header().Set("Cache-Control", "max-age=3600")
		_, _ = w.Write(f.body)
	})
	if onNew != nil {
		onNew(s)
	}
	return &Console{Handler: edge.HSTS(o.Proxies, headers(mux)), s: s}, nil
}

// defaultZone is Asia/Ho_Chi_Minh from the zone database (the binary
// embeds time/tzdata), else the same fixed offset under that name.
func defaultZone() *time.Location {
	if z, err := time.LoadLocation("Asia/Ho_Chi_Minh"); err == nil {
		return z
	}
	return time.FixedZone("Asia/Ho_Chi_Minh", 7*60*60)
}

// onNew, when set, is given each server New builds (tests look behind
// the handler).
var onNew func(*server)

func headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// page is what every template gets.
type page struct {
	M      msgs
	Lang   string
	User   *Account
	CSRF   string
	Title  string
	Nav    string // the navigation entry of the page, marked aria-current (navEntry)
	Zone   string // the zone the page's times are in, named once in its footer
	Flash  string
	Error  string
	Status int

	Inbox   []inboxRow
	Outbox  []outboxRow
	Mail    *mailView // the lists' views, filters and pager
	Doc     *docView
	Compose *composeView
	Ops     *opsView

	Search      *searchView
	Trace       *traceView
	DeadLetters *deadLetterView
	Directory   *directoryView
	Agency      *agencyView
	Log         *logView
}

func (s *server) page(w http.ResponseWriter, r *http.Request, u *Account, ss *session) *page {
	l := lang(w, r, s.secure(r))
	p := &page{M: messages[l], Lang: l, User: u, Nav: navEntry(r.URL.Path), Zone: zoneLabel(s.o.Zone, s.o.Now())}
	if ss != nil {
		p.CSRF = ss.csrf
	}
	return p
}

// render executes a template with data: a *page, or a page type of its
// own that embeds one (the registers').
func (s *server) render(w http.ResponseWriter, status int, name string, data any) {
	var b bytes.Buffer
	if err := s.tmpl.ExecuteTemplate(&b, name, data); err != nil {
		s.o.Log.Error("console: template", "name", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

func (s *server) fail(w http.ResponseWriter, r *http.Request, u *Account, ss *session, status int, key, detail string) {
	if status == http.StatusServiceUnavailable {
		// A fault of the server's, never the clerk's: try again.
		w.Header().Set("Retry-After", retryAfter(unavailableRetry))
	}
	p := s.page(w, r, u, ss)
	p.Status, p.Title = status, p.M.T("error")
	p.Error = p.M.T(key)
	if detail != "" {
		p.Error += " (" + detail + ")"
	}
	s.render(w, status, "error", p)
}

// failHub answers a hub error with its status.
func (s *server) failHub(w http.ResponseWriter, r *http.Request, u *Account, ss *session, err error) {
	var he *hub.Error
	if !errors.As(err, &he) {
		// Storage or broker I/O, not a refusal: 503 with Retry-After, as
		// the API answers it.
		s.o.Log.Error("console: hub", "err", err)
		s.fail(w, r, u, ss, http.StatusServiceUnavailable, "unavailable", "")
		return
	}
	if he.Status >= 500 {
		// The hub returns its failures unlogged: their cause is logged
		// here, once, as the API logs it.
		s.o.Log.Error("console: hub", "code", he.Code, "err", he.Err)
	}
	key := "bad_request"
	switch he.Status {
	case http.StatusForbidden:
		key = "forbidden"
	case http.StatusNotFound:
		key = "not_found"
	case http.StatusServiceUnavailable:
		key = "unavailable"
	}
	s.fail(w, r, u, ss, he.Status, key, he.Code)
}
