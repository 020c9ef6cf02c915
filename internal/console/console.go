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
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"lienthong/internal/client"
	"lienthong/internal/edge"
	"lienthong/internal/edxml"
	"lienthong/internal/hub"
	"lienthong/internal/organ"
	"lienthong/internal/pki"
	"lienthong/internal/push"
	"lienthong/internal/track"
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
	Hub *hub.Hub
	// DeadLetters lists and replays the webhook dead letters (/ops/dead-letters).
	DeadLetters *push.DeadLetters
	Accounts    []Account
	// Signers are the hosted signing keys by OrganId; an agency without
	// one sends its statuses unsigned (the hub's policy may refuse them).
	Signers map[string]Signer
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
	Now        func() time.Time
	Log        *slog.Logger
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
	if o.SessionTTL <= 0 {
		o.SessionTTL = 8 * time.Hour
	}
	if o.Revocations == nil {
		o.Revocations = &memRevocations{ids: map[string]time.Time{}, now: o.Now}
	}
	s := &server{o: o, accounts: map[string]Account{}, sess: newSessions(o.SessionKey, o.SessionTTL, o.Revocations)}
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
	if s.tmpl, err = template.ParseFS(files, "templates/*.html"); err != nil {
		return nil, err
	}
	s.static = map[string]staticFile{}
	for name, typ := range map[string]string{"console.css": "text/css; charset=utf-8", "console.js": "text/javascript; charset=utf-8"} {
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
	mux.HandleFunc("GET /compose", s.clerk(s.composeGet))
	mux.HandleFunc("POST /compose", s.clerkUpload(s.composePost))
	mux.HandleFunc("GET /ops", s.operator(s.ops))
	mux.HandleFunc("GET /ops/search", s.operator(s.search))
	mux.HandleFunc("GET /ops/packet/{id}", s.operator(s.trace))
	mux.HandleFunc("GET /ops/dead-letters", s.operator(s.deadLetters))
	mux.HandleFunc("POST /ops/dead-letters/replay", s.operator(s.replay))
	mux.HandleFunc("GET /ops/directory", s.operator(s.directory))
	mux.HandleFunc("POST /ops/directory/{organ}/tokens", s.operator(s.issueToken))
	mux.HandleFunc("POST /ops/directory/{organ}/tokens/{fp}/revoke", s.operator(s.revokeToken))
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
	Flash  string
	Error  string
	Status int

	Inbox   []inboxRow
	Outbox  []outboxRow
	Doc     *docView
	Compose *composeView
	Ops     *opsView

	Search      *searchView
	Trace       *traceView
	DeadLetters *deadLetterView
	Directory   *directoryView
}

func (s *server) page(w http.ResponseWriter, r *http.Request, u *Account, ss *session) *page {
	l := lang(w, r, s.secure(r))
	p := &page{M: messages[l], Lang: l, User: u}
	if ss != nil {
		p.CSRF = ss.csrf
	}
	return p
}

func (s *server) render(w http.ResponseWriter, status int, name string, p *page) {
	var b bytes.Buffer
	if err := s.tmpl.ExecuteTemplate(&b, name, p); err != nil {
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

type inboxRow struct {
	track.Item
	Unread  bool
	Due     string
	Overdue bool
}

// maxList bounds the rows of a list page.
const maxList = 500

func (s *server) inbox(w http.ResponseWriter, r *http.Request, u *Account, ss *session) {
	var items []track.Item
	cursor := ""
	for len(items) < 5*maxList {
		batch, next, err := s.o.Hub.Inbox(u.OrganID, "", 1000, cursor)
		if err != nil {
			s.failHub(w, r, u, ss, err)
			return
		}
		items = append(items, batch...)
		if next == "" || len(batch) == 0 {
			break
		}
		cursor = next
	}
	// Newest first for a person (the hub's inbox order, urgent then
	// oldest, is for machines draining it); priority shows as a column.
	slices.SortStableFunc(items, func(a, b track.Item) int { return b.AcceptedAt.Compare(a.AcceptedAt) })
	if len(items) > maxList {
		items = items[:maxList]
	}
	p := s.page(w, r, u, ss)
	p.Title = p.M.T("inbox")
	p.Inbox = make([]inboxRow, 0, len(items))
	for _, it := range items {
		row := inboxRow{Item: it, Unread: true}
		if tl, err := s.o.Hub.Timeline(u.OrganID, it.ID); err == nil {
			row.Due = tl.DueDate
			row.Unread = !seen(tl)
			for _, rc := range tl.Recipients {
				row.Overdue = row.Overdue || rc.Overdue
			}
		}
		p.Inbox = append(p.Inbox, row)
	}
	s.render(w, http.StatusOK, "inbox", p)
}

// seen tells whether the caller's part of a timeline (a recipient sees
// only its own) shows the packet fetched or answered.
func seen(tl track.Timeline) bool {
	for _, rc := range tl.Recipients {
		for _, e := range rc.Events {
			if e.Type == track.EventFetched || e.Type == track.EventStatus || e.Type == track.EventAcked {
				return true
			}
		}
	}
	return false
}

// owes01 tells whether the caller owes the automatic 01 on a timeline:
// it has a part it may answer for (its own, or one it is a unit under, as
// route.Permitted lets it) and none of its statuses (any but the sender's
// 13) is on such a part yet. A fetch does not settle it: a fetch recorded
// before a 01 that was never accepted (a crash between them, an outage)
// leaves it owed, and the next opening sends it.
func owes01(tl track.Timeline, caller string) bool {
	owes := false
	for _, rc := range tl.Recipients {
		if rc.OrganID != caller && !organ.ID(caller).IsUnder(organ.ID(rc.OrganID)) {
			continue
		}
		for _, e := range rc.Events {
			if e.Type == track.EventStatus && !e.Code.FromSender() {
				return false
			}
		}
		owes = true
	}
	return owes
}

type outboxRow struct {
	track.Packet
	Recipients []track.Recipient
	TakeBack   []string // recipients it may still be taken back from
	Revocable  bool     // some recipient's copy is not revoked or replaced yet
	New        bool     // just sent from the compose page
}

func (s *server) outbox(w http.ResponseWriter, r *http.Request, u *Account, ss *session) {
	now := s.o.Now()
	ps, err := s.o.Hub.Sent(u.OrganID, now.AddDate(-1, 0, 0), now.Add(time.Minute), 0)
	if err != nil {
		s.failHub(w, r, u, ss, err)
		return
	}
	slices.Reverse(ps)
	p := s.page(w, r, u, ss)
	p.Title = p.M.T("outbox")
	fresh := r.URL.Query().Get("new")
	if fresh != "" {
		p.Flash = p.M.T("sent_ok")
	}
	p.flashStatus(r.URL.Query())
	for _, pk := range ps {
		// A revoke shows as the state of the document it revokes.
		if pk.Kind != string(edxml.KindEdoc) || pk.BusinessType == edxml.BusinessRevoke {
			continue
		}
		if len(p.Outbox) == maxList {
			break
		}
		row := outboxRow{Packet: pk, New: fresh != "" && pk.ID == fresh}
		if tl, err := s.o.Hub.Timeline(u.OrganID, pk.ID); err == nil {
			row.Recipients = tl.Recipients
			row.TakeBack = takeBackable(tl)
			row.Revocable = len(revocable(tl)) > 0
		}
		p.Outbox = append(p.Outbox, row)
	}
	s.render(w, http.StatusOK, "outbox", p)
}

type docView struct {
	ID          string
	Header      *edxml.Header
	Status      *edxml.Status
	Attachments []edxml.Attachment
	Priority    string
	Timeline    track.Timeline
	CanAnswer   bool
	Hosted      bool
	// Business is what the packet does to a document when it is not a
	// new one: a revoke, an update or a replacement.
	Business *edxml.Business
	Codes    []edxml.StatusCode
	// AnswerID is the document a pending take-back request (13) is
	// answered on, with 15 or 16; empty when none is pending.
	AnswerID string
	// TakeBack lists the recipients the sender may take the document back
	// from (13).
	TakeBack []string
	Report   *reportView
}

// answerCodes are the business statuses a clerk sends from a document.
var answerCodes = []edxml.StatusCode{edxml.StatusAccepted, edxml.StatusRejected, edxml.StatusAssigned, edxml.StatusProcessing, edxml.StatusCompleted}

// load fetches and parses a packet as the caller; the hub authorises.
func (s *server) load(ctx context.Context, organ, id string) (*edxml.Packet, error) {
	rc, _, err := s.o.Hub.Fetch(ctx, organ, id)
	if err != nil {
		return nil, err
	}
	defer rc.Close() //nolint:errcheck // read only
	p, err := edxml.Parse(rc, edxml.Options{NoZipCheck: true})
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, rc)
	return p, nil
}

func (s *server) doc(w http.ResponseWriter, r *http.Request, u *Account, ss *session) {
	id := r.PathValue("id")
	tl, tlErr := s.o.Hub.Timeline(u.OrganID, id)
	pk, err := s.load(r.Context(), u.OrganID, id)
	switch {
	case err != nil:
		s.failHub(w, r, u, ss, err)
		return
	case tlErr != nil && pk.Kind != edxml.KindStatus: // a status has no timeline
		s.failHub(w, r, u, ss, tlErr)
		return
	}
	recipient := tl.From != u.OrganID && len(tl.Recipients) > 0
	p := s.page(w, r, u, ss)
	_, hosted := s.o.Signers[u.OrganID]
	if recipient && owes01(tl, u.OrganID) && hosted && pk.Kind == edxml.KindEdoc {
		if err := s.send(r.Context(), u, pk, edxml.StatusArrived, "", ""); err != nil {
			s.o.Log.Warn("console: automatic 01", "packet", id, "organ", u.OrganID, "err", err)
			p.Error = p.M.T("auto01_failed") + ": " + errCode(err)
		} else if tl2, err := s.o.Hub.Timeline(u.OrganID, id); err == nil {
			tl = tl2 // with the 01 just sent
		}
	}
	d := &docView{ID: id, Header: pk.Header, Status: pk.Status, Attachments: pk.Attachments, Timeline: tl,
		CanAnswer: recipient && pk.Kind == edxml.KindEdoc, Hosted: hosted, Codes: answerCodes}
	if pk.Trace != nil && pk.Trace.Business != nil && pk.Trace.Business.DocType != edxml.BusinessNew {
		d.Business = pk.Trace.Business
	}
	switch {
	case d.CanAnswer && pendingFor(tl, u.OrganID):
		d.AnswerID = id
	case pk.Kind == edxml.KindStatus:
		if doc := s.requested(u, pk.Status); doc != "" {
			if dtl, err := s.o.Hub.Timeline(u.OrganID, doc); err == nil && pendingFor(dtl, u.OrganID) {
				d.AnswerID = doc
			}
		}
	case tl.From == u.OrganID && pk.Kind == edxml.KindEdoc:
		d.TakeBack = takeBackable(tl)
	}
	if rep, err := s.o.Hub.Report(r.Context(), u.OrganID, id); err == nil {
		d.Report = newReportView(p.M, rep)
	} else {
		s.o.Log.Warn("console: verification report", "packet", id, "organ", u.OrganID, "err", err, "cause", errors.Unwrap(err))
	}
	if pk.Header != nil {
		p.Title = pk.Header.Subject
		if pr := pk.Header.OtherInfo.Priority; pr != "" {
			d.Priority = p.M.T("prio" + pr)
		}
	}
	p.Doc = d
	p.flashStatus(r.URL.Query())
	s.render(w, http.StatusOK, "doc", p)
}

// flashStatus shows the outcome of a status sent, from the redirect's
// query.
func (p *page) flashStatus(q url.Values) {
	switch q.Get("err") {
	case "reason_required", "bad_code", "takeback_reason", "refuse_reason", "bad_takeback", "no_takeback", "revoke_reason", "bad_revoke":
		p.Error = p.M.T(q.Get("err"))
		return
	case "status_failed":
		p.Error = p.M.T("status_failed") + ": " + q.Get("detail")
		return
	}
	if q.Get("ok") == "revoked" {
		p.Flash = p.M.T("revoked_ok")
		return
	}
	if ok := q.Get("ok"); edxml.StatusCode(ok).Valid() {
		p.Flash = p.M.T("status_sent") + ": " + p.M.State(ok)
	}
}

func (s *server) status(w http.ResponseWriter, r *http.Request, u *Account, ss *session) {
	id := r.PathValue("id")
	back := "/doc/" + id
	code, reason := edxml.StatusCode(r.PostForm.Get("code")), strings.TrimSpace(r.PostForm.Get("reason"))
	if !slices.Contains(answerCodes, code) && !slices.Contains(takeBackCodes, code) {
		http.Redirect(w, r, back+"?err=bad_code", http.StatusSeeOther)
		return
	}
	if code.NeedsReason() && reason == "" {
		http.Redirect(w, r, back+"?err=reason_required", http.StatusSeeOther)
		return
	}
	if code == edxml.StatusChangeRejected && reason == "" {
		http.Redirect(w, r, back+"?err=refuse_reason", http.StatusSeeOther)
		return
	}
	if len(reason) > maxReason {
		reason = reason[:maxReason]
	}
	tl, err := s.o.Hub.Timeline(u.OrganID, id)
	if err != nil {
		s.failHub(w, r, u, ss, err)
		return
	}
	if tl.From == u.OrganID || len(tl.Recipients) == 0 {
		s.fail(w, r, u, ss, http.StatusForbidden, "forbidden", "")
		return
	}
	if slices.Contains(takeBackCodes, code) && !pendingFor(tl, u.OrganID) {
		http.Redirect(w, r, back+"?err=no_takeback", http.StatusSeeOther)
		return
	}
	pk, err := s.load(r.Context(), u.OrganID, id)
	if err != nil {
		s.failHub(w, r, u, ss, err)
		return
	}
	if err := s.send(r.Context(), u, pk, code, reason, ""); err != nil {
		s.o.Log.Warn("console: status", "packet", id, "organ", u.OrganID, "code", code, "err", err)
		http.Redirect(w, r, back+"?err=status_failed&detail="+url.QueryEscape(errCode(err)), http.StatusSeeOther)
		return
	}
	s.o.Log.Info("console: status sent", "packet", id, "organ", u.OrganID, "code", code, "user", u.Username)
	http.Redirect(w, r, back+"?ok="+string(code), http.StatusSeeOther)
}

// send builds a status answering doc from the clerk's agency (to names
// the recipient of a 13), signs it with the hosted key when there is one,
// and submits it.
func (s *server) send(ctx context.Context, u *Account, doc *edxml.Packet, code edxml.StatusCode, reason, to string) error {
	b, err := client.BuildStatus(doc, client.StatusInput{From: edxml.Organization{OrganID: u.OrganID}, Code: code,
		Description: reason, To: to, Time: s.o.Now()})
	if err != nil {
		return err
	}
	return s.submit(ctx, u, edxml.KindStatus, b)
}

// submit signs packet b with the agency's hosted key when the hub holds
// one and submits it on the console's channel.
func (s *server) submit(ctx context.Context, u *Account, kind edxml.Kind, b []byte) error {
	sub := hub.Submission{Caller: u.OrganID, Packet: bytes.NewReader(b), Channel: "console", Kind: kind}
	if sg, ok := s.o.Signers[u.OrganID]; ok {
		sig, err := pki.SignDetached(bytes.NewReader(b), sg.Cert, sg.Key, sg.Chain, pki.SignOptions{Time: s.o.Now()})
		if err != nil {
			return err
		}
		sub.Signature = sig
	}
	_, _, err := s.o.Hub.Submit(ctx, sub)
	return err
}

// errCode is a short form of err for the page: a hub error's code.
func errCode(err error) string {
	var he *hub.Error
	if errors.As(err, &he) {
		return he.Code
	}
	if errors.Is(err, client.ErrStatus) {
		return err.Error()
	}
	return "internal"
}
