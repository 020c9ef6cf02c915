package console

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lienthong/lienthong/internal/agencies"
	"github.com/lienthong/lienthong/internal/creds"
	"github.com/lienthong/lienthong/internal/organ"
	"github.com/lienthong/lienthong/internal/push"
	"github.com/lienthong/lienthong/internal/track"
)

// The operators' pages besides the dashboard: packet search and trace,
// the dead letters with replay, and the directory.

type searchView struct {
	Q         searchForm
	Agencies  []organ.Agency // offered in the sender and recipient fields
	Searched  bool
	Results   []track.Packet
	Truncated bool
}

type searchForm struct {
	ID, DocumentID, From, To, Since, Until string
}

func (s *server) search(w http.ResponseWriter, r *http.Request, u *Account, ss *session) {
	p := s.page(w, r, u, ss)
	p.Title = p.M.T("ops_search")
	q := r.URL.Query()
	v := &searchView{Q: searchForm{ID: strings.TrimSpace(q.Get("id")), DocumentID: strings.TrimSpace(q.Get("doc")),
		From: strings.TrimSpace(q.Get("from")), To: strings.TrimSpace(q.Get("to")), Since: q.Get("since"), Until: q.Get("until")}}
	p.Search = v
	if s.o.Directory != nil {
		v.Agencies = s.o.Directory.Agencies()
	}
	if v.Q == (searchForm{}) {
		s.render(w, http.StatusOK, "search", p)
		return
	}
	tq := track.Query{ID: v.Q.ID, DocumentID: v.Q.DocumentID, From: v.Q.From, To: v.Q.To}
	for _, f := range []struct {
		in   string
		out  *time.Time
		days int
	}{{v.Q.Since, &tq.Since, 0}, {v.Q.Until, &tq.Until, 1}} {
		if f.in == "" {
			continue
		}
		d, ok := parseListDay(strings.TrimSpace(f.in), s.o.Zone)
		if !ok {
			p.Error = p.M.T("bad_date")
			s.render(w, http.StatusBadRequest, "search", p)
			return
		}
		*f.out = d.AddDate(0, 0, f.days) // "until" includes its day
	}
	// A name the directory lists stands for its agency (the fields
	// suggest names).
	tq.From, tq.To = s.organByName(tq.From), s.organByName(tq.To)
	for _, id := range []string{tq.From, tq.To} {
		if id == "" {
			continue
		}
		if _, err := organ.Parse(id); err != nil {
			p.Error = p.M.T("bad_organ") + " (" + id + ")"
			s.render(w, http.StatusBadRequest, "search", p)
			return
		}
	}
	res, cut, err := s.o.Hub.Search(tq)
	if err != nil {
		s.failHub(w, r, u, ss, err)
		return
	}
	v.Searched, v.Results, v.Truncated = true, res, cut
	s.render(w, http.StatusOK, "search", p)
}

// organByName is the OrganId of the agency the directory names v (any
// case), else v.
func (s *server) organByName(v string) string {
	if v == "" || s.o.Directory == nil {
		return v
	}
	if _, err := organ.Parse(v); err == nil {
		return v
	}
	for _, a := range s.o.Directory.Agencies() {
		if sameName(a.Name, v) {
			return string(a.ID)
		}
	}
	return v
}

type traceView struct {
	Packet   track.Packet
	Timeline track.Timeline
}

func (s *server) trace(w http.ResponseWriter, r *http.Request, u *Account, ss *session) {
	pk, tl, err := s.o.Hub.Trace(r.PathValue("id"))
	if err != nil {
		s.failHub(w, r, u, ss, err)
		return
	}
	p := s.page(w, r, u, ss)
	p.Title = p.M.T("ops_packet")
	p.Trace = &traceView{Packet: pk, Timeline: tl}
	s.render(w, http.StatusOK, "trace", p)
}

type deadLetterView struct {
	Entries []deadLetterRow
}

type deadLetterRow struct {
	Ref, Topic, Endpoint, Key, Error string
	// Channel names the original topic in the page's words, Organ the
	// agency whose inbox it is; Cause says which stage failed.
	Channel, Organ, Cause string
	FailedAt              time.Time
	Replays               []push.Replayed
	Replayable            bool
}

// errNoDeadLetters: the console was given no Options.DeadLetters.
var errNoDeadLetters = errors.New("console: no dead-letter topic configured")

// maxDeadLetters bounds the entries the page lists, newest first.
const maxDeadLetters = 500

func (s *server) deadLetters(w http.ResponseWriter, r *http.Request, u *Account, ss *session) {
	p := s.page(w, r, u, ss)
	p.Title = p.M.T("ops_dead_letters")
	v := &deadLetterView{}
	p.DeadLetters = v
	ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
	defer cancel()
	var all []push.DeadLetter
	err := errNoDeadLetters
	if s.o.DeadLetters != nil {
		all, err = s.o.DeadLetters.Newest(ctx, maxDeadLetters)
	}
	if err != nil {
		s.o.Log.Warn("console: dead letters", "err", err)
		p.Error = p.M.T("unavailable")
		s.render(w, http.StatusServiceUnavailable, "deadletters", p)
		return
	}
	for _, d := range all {
		row := deadLetterRow{Ref: d.Ref(), Topic: d.OriginalTopic, Endpoint: d.Endpoint, Key: string(d.Key),
			Error: d.Error, FailedAt: d.FailedAt, Replays: d.Replays, Replayable: s.o.DeadLetters.Replayable(d)}
		row.Channel, row.Organ = s.channel(p.M, d.OriginalTopic)
		// The router reads the accepted topic; an inbox is read by the
		// webhook pusher (with an endpoint) or the forwarder.
		switch {
		case d.Endpoint != "":
			row.Cause = p.M.T("dl_cause_push")
		case row.Organ != "":
			row.Cause = p.M.T("dl_cause_forward")
		case strings.HasSuffix(d.OriginalTopic, "accepted"):
			row.Cause = p.M.T("dl_cause_route")
		default:
			row.Cause = p.M.T("dl_cause_other")
		}
		v.Entries = append(v.Entries, row)
	}
	if n, err := strconv.Atoi(r.URL.Query().Get("replayed")); err == nil && n >= 0 {
		p.Flash = p.M.T("replayed") + ": " + strconv.Itoa(n)
	}
	s.render(w, http.StatusOK, "deadletters", p)
}

func (s *server) replay(w http.ResponseWriter, r *http.Request, u *Account, ss *session) {
	refs := r.PostForm["ref"]
	if len(refs) == 0 || len(refs) > maxDeadLetters {
		s.fail(w, r, u, ss, http.StatusBadRequest, "need_dead_letter", "")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	var done []push.Replayed
	err := errNoDeadLetters
	if s.o.DeadLetters != nil {
		done, err = s.o.DeadLetters.Replay(ctx, refs, maxDeadLetters, "console:"+u.Username)
	}
	if err != nil {
		s.o.Log.Warn("console: replay", "user", u.Username, "refs", refs, "replayed", len(done), "err", err)
		switch {
		case errors.Is(err, push.ErrNoSuchDeadLetter):
			s.fail(w, r, u, ss, http.StatusNotFound, "no_dead_letter", "")
		case errors.Is(err, push.ErrNotReplayable):
			s.fail(w, r, u, ss, http.StatusBadRequest, "not_replayable", "")
		default:
			s.fail(w, r, u, ss, http.StatusServiceUnavailable, "unavailable", "")
		}
		return
	}
	s.o.Log.Info("console: dead letters replayed", "user", u.Username, "refs", refs)
	http.Redirect(w, r, "/ops/dead-letters?replayed="+url.QueryEscape(strconv.Itoa(len(done))), http.StatusSeeOther)
}

type directoryView struct {
	Agencies []directoryRow
	CanEdit  bool // an admin may issue and revoke tokens
	// CanManage: an admin may add, change and retire agencies here;
	// Live: agencies change at run time (an admin's doing).
	CanManage, Live bool
	// NewToken is a token just issued, shown this once.
	NewToken, NewTokenOrgan string
}

// TokenAdmin issues and revokes bearer tokens at run time (creds.Store).
type TokenAdmin interface {
	Tokens(organ string) []creds.Token
	Issue(ctx context.Context, organ, by string) (string, error)
	Revoke(ctx context.Context, organ, fingerprint, by string) error
}

type directoryRow struct {
	organ.Agency
	Parent      string
	Mode        string // pull, webhook, hub
	Credentials []string
	Tokens      []creds.Token
	Hosted      *certView
	Changed     *agencies.Change // the run-time change in effect, if one
}

type certView struct {
	Subject, SHA256 string
	NotAfter        time.Time
	ExpiresSoon     bool
}

// AgencyCredentials says which credentials an agency has, never their
// values: the console's directory page lists them.
type AgencyCredentials struct {
	Tokens  int
	VDXP    bool // a national-axis system id and secret
	Webhook bool // a webhook secret
	Kafka   bool // a Kafka user of its own, to read its inbox directly
}

// credentialsByOrgan says which credentials each agency has: as the
// run-time changes make them when agencies change at run time, else as
// the configuration had them at start.
func (s *server) credentialsByOrgan() map[string]AgencyCredentials {
	if s.o.Agencies == nil {
		return s.o.Credentials
	}
	out := map[string]AgencyCredentials{}
	for _, a := range s.o.Agencies.Credentials() {
		out[a.OrganID] = AgencyCredentials{Tokens: len(a.Tokens), VDXP: a.VDXPSystemID != "", Webhook: a.WebhookSecret != "", Kafka: a.Kafka.User != ""}
	}
	return out
}

func (s *server) directory(w http.ResponseWriter, r *http.Request, u *Account, ss *session) {
	issued := s.take(w, r, ss)
	p := s.page(w, r, u, ss)
	p.Title = p.M.T("ops_directory")
	v := &directoryView{CanEdit: u.Role == RoleAdmin && s.o.Tokens != nil, CanManage: u.Role == RoleAdmin && s.o.Agencies != nil && s.o.Directory != nil,
		Live: s.o.Agencies != nil, NewToken: issued.value, NewTokenOrgan: issued.organ}
	p.Directory = v
	switch ok := r.URL.Query().Get("ok"); ok {
	case "revoked":
		p.Flash = p.M.T("token_revoked")
	case "agency_added", "agency_changed", "agency_retired":
		p.Flash = p.M.T(ok)
	}
	if issued.value != "" {
		p.Flash = p.M.T("token_issued")
	}
	if s.o.Directory == nil {
		s.render(w, http.StatusOK, "directory", p)
		return
	}
	now := s.o.Now()
	credentials := s.credentialsByOrgan()
	changes := map[string]agencies.Change{}
	if s.o.Agencies != nil {
		for _, c := range s.o.Agencies.Changes() {
			changes[c.OrganID] = c
		}
	}
	for _, a := range s.o.Directory.Agencies() {
		row := directoryRow{Agency: a, Mode: "pull"}
		if parent, ok := s.o.Directory.ParentOf(a.ID); ok {
			row.Parent = string(parent)
		}
		switch {
		case strings.HasPrefix(a.Endpoint, organ.HubPrefix):
			row.Mode = "hub"
		case organ.IsWebhook(a.Endpoint):
			row.Mode = "webhook"
		}
		if s.o.Tokens != nil {
			row.Tokens = s.o.Tokens.Tokens(string(a.ID))
		}
		if c, ok := changes[string(a.ID)]; ok {
			row.Changed = &c
		}
		if c, ok := credentials[string(a.ID)]; ok {
			if c.Tokens > 0 && s.o.Tokens == nil {
				row.Credentials = append(row.Credentials, p.M.T("cred_tokens")+": "+strconv.Itoa(c.Tokens))
			}
			if c.VDXP {
				row.Credentials = append(row.Credentials, p.M.T("cred_vdxp"))
			}
			if c.Webhook {
				row.Credentials = append(row.Credentials, p.M.T("cred_webhook"))
			}
			if c.Kafka {
				row.Credentials = append(row.Credentials, p.M.T("cred_kafka"))
			}
		}
		if sg, ok := s.o.Signers[string(a.ID)]; ok {
			row.Hosted = newCertView(sg.Cert, now)
		}
		v.Agencies = append(v.Agencies, row)
	}
	s.render(w, http.StatusOK, "directory", p)
}

// admin wraps an operator handler for admins only.
func (s *server) admin(w http.ResponseWriter, r *http.Request, u *Account, ss *session) bool {
	if u.Role != RoleAdmin || s.o.Tokens == nil {
		s.fail(w, r, u, ss, http.StatusForbidden, "admins_only", "")
		return false
	}
	if s.o.Directory != nil {
		a, ok := s.o.Directory.Lookup(organ.ID(r.PathValue("organ")))
		if !ok {
			s.fail(w, r, u, ss, http.StatusNotFound, "not_found", "")
			return false
		}
		// An old code (alias) acts on the agency itself.
		r.SetPathValue("organ", string(a.ID))
	}
	return true
}

// issueToken makes a new token for an agency and shows it once, on the
// page the POST redirects to (never in a URL or a log).
func (s *server) issueToken(w http.ResponseWriter, r *http.Request, u *Account, ss *session) {
	if !s.admin(w, r, u, ss) {
		return
	}
	o := r.PathValue("organ")
	tok, err := s.o.Tokens.Issue(r.Context(), o, "console:"+u.Username)
	if err != nil {
		s.o.Log.Warn("console: issue token", "organ", o, "user", u.Username, "err", err)
		s.fail(w, r, u, ss, http.StatusServiceUnavailable, "unavailable", "")
		return
	}
	s.o.Log.Info("console: token issued", "organ", o, "user", u.Username)
	s.stash(w, r, ss, onceValue{organ: o, value: tok})
	http.Redirect(w, r, "/ops/directory", http.StatusSeeOther)
}

func (s *server) revokeToken(w http.ResponseWriter, r *http.Request, u *Account, ss *session) {
	if !s.admin(w, r, u, ss) {
		return
	}
	o, fp := r.PathValue("organ"), r.PathValue("fp")
	if err := s.o.Tokens.Revoke(r.Context(), o, fp, "console:"+u.Username); err != nil {
		s.o.Log.Warn("console: revoke token", "organ", o, "fingerprint", fp, "user", u.Username, "err", err)
		if errors.Is(err, creds.ErrUnknown) {
			s.fail(w, r, u, ss, http.StatusNotFound, "no_token", "")
			return
		}
		s.fail(w, r, u, ss, http.StatusServiceUnavailable, "unavailable", "")
		return
	}
	s.o.Log.Info("console: token revoked", "organ", o, "fingerprint", fp, "user", u.Username)
	http.Redirect(w, r, "/ops/directory?ok=revoked", http.StatusSeeOther)
}

// soon is how long before a certificate's end the directory warns.
const soon = 30 * 24 * time.Hour

func newCertView(c *x509.Certificate, now time.Time) *certView {
	sum := sha256.Sum256(c.Raw)
	return &certView{Subject: c.Subject.CommonName, SHA256: hex.EncodeToString(sum[:]), NotAfter: c.NotAfter,
		ExpiresSoon: c.NotAfter.Sub(now) < soon}
}
