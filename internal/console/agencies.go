package console

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/lienthong/lienthong/internal/agencies"
	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/internal/organ"
)

// The admins' pages that add, change and retire agencies at run time
// (internal/agencies): /ops/agencies/new, /ops/agencies/{organ}/edit and
// /ops/agencies/{organ}/retire, linked from the directory.

// AgencyAdmin adds, changes and retires agencies for every replica
// (agencies.Store).
type AgencyAdmin interface {
	Set(ctx context.Context, a organ.Agency, sec *agencies.Secrets, by string) error
	Retire(ctx context.Context, id, by string) error
	// Credentials are the agencies with their credentials as the changes
	// make them; the pages say which exist, never their values.
	Credentials() []config.Agency
	Changes() []agencies.Change
}

// Endpoint modes of the form.
const (
	modePull    = "pull"
	modeWebhook = "webhook"
	modeHub     = "hub"
)

// agencyForm is what the form shows and takes back. Secrets are never
// in it: their fields are write-only, Has* say whether one is set.
type agencyForm struct {
	ID, Name, Parent, Aliases, Certs string
	Mode, WebhookURL, HubName        string
	VDXPSystem, VDXPCerts, KafkaUser string

	HasWebhookSecret, HasVDXP, HasKafka bool
	DropWebhook, DropVDXP, DropKafka    bool
}

type agencyView struct {
	New    bool
	Form   agencyForm
	Errors []string // what to fix, in the page's words
	Detail string   // the hub's own words for a refusal, in the technical disclosure
	// Retire is the agency the confirmation page is about.
	Retire *organ.Agency
}

// agencyTimeout bounds a change: the inbox topic is created and the
// change published before the page answers.
const agencyTimeout = 30 * time.Second

// agencyAdmin lets admins through when run-time agencies are on: off,
// the pages do not exist.
func (s *server) agencyAdmin(w http.ResponseWriter, r *http.Request, u *Account, ss *session) bool {
	if s.o.Agencies == nil || s.o.Directory == nil {
		s.fail(w, r, u, ss, http.StatusNotFound, "page_not_found", "")
		return false
	}
	if u.Role != RoleAdmin {
		s.fail(w, r, u, ss, http.StatusForbidden, "admins_only", "")
		return false
	}
	return true
}

// agencyOf is the agency of the path's {organ}, an old code standing
// for the agency itself.
func (s *server) agencyOf(w http.ResponseWriter, r *http.Request, u *Account, ss *session) (organ.Agency, bool) {
	a, ok := s.o.Directory.Lookup(organ.ID(r.PathValue("organ")))
	if !ok {
		s.fail(w, r, u, ss, http.StatusNotFound, "no_agency", "")
	}
	return a, ok
}

// credentialsOf are id's credentials as they are now.
func (s *server) credentialsOf(id organ.ID) config.Agency {
	for _, c := range s.o.Agencies.Credentials() {
		if c.OrganID == string(id) {
			return c
		}
	}
	return config.Agency{}
}

func (s *server) agencyNew(w http.ResponseWriter, r *http.Request, u *Account, ss *session) {
	if !s.agencyAdmin(w, r, u, ss) {
		return
	}
	s.renderAgency(w, r, u, ss, http.StatusOK, &agencyView{New: true, Form: agencyForm{Mode: modePull}})
}

func (s *server) agencyEdit(w http.ResponseWriter, r *http.Request, u *Account, ss *session) {
	if !s.agencyAdmin(w, r, u, ss) {
		return
	}
	a, ok := s.agencyOf(w, r, u, ss)
	if !ok {
		return
	}
	f := agencyForm{ID: string(a.ID), Name: a.Name, Parent: string(a.Parent), Certs: strings.Join(a.CertSHA256, "\n"), Mode: modePull}
	var aliases []string
	for _, x := range a.Aliases {
		aliases = append(aliases, string(x))
	}
	f.Aliases = strings.Join(aliases, ", ")
	switch {
	case strings.HasPrefix(a.Endpoint, organ.HubPrefix):
		f.Mode, f.HubName = modeHub, strings.TrimPrefix(a.Endpoint, organ.HubPrefix)
	case organ.IsWebhook(a.Endpoint):
		f.Mode, f.WebhookURL = modeWebhook, a.Endpoint
	}
	c := s.credentialsOf(a.ID)
	f.VDXPSystem, f.VDXPCerts, f.KafkaUser = c.VDXPSystemID, strings.Join(c.VDXPCertSHA256, "\n"), c.Kafka.User
	f.HasWebhookSecret, f.HasVDXP, f.HasKafka = c.WebhookSecret != "", c.VDXPSecret != "", c.Kafka.Password != ""
	s.renderAgency(w, r, u, ss, http.StatusOK, &agencyView{Form: f})
}

func (s *server) renderAgency(w http.ResponseWriter, r *http.Request, u *Account, ss *session, status int, v *agencyView) {
	p := s.page(w, r, u, ss)
	p.Title = p.M.T("ag_edit_title")
	if v.New {
		p.Title = p.M.T("ag_new_title")
	}
	if v.Retire != nil {
		p.Title = p.M.T("ag_retire_title")
	}
	p.Agency = v
	name := "agency"
	if v.Retire != nil {
		name = "agencyretire"
	}
	s.render(w, status, name, p)
}

// agencySave adds an agency (no {organ} in the path) or changes one.
func (s *server) agencySave(w http.ResponseWriter, r *http.Request, u *Account, ss *session) {
	if !s.agencyAdmin(w, r, u, ss) {
		return
	}
	v := &agencyView{New: r.PathValue("organ") == ""}
	pf := r.PostForm
	f := agencyForm{ID: strings.TrimSpace(pf.Get("id")), Name: strings.TrimSpace(pf.Get("name")), Parent: strings.TrimSpace(pf.Get("parent")),
		Aliases: strings.TrimSpace(pf.Get("aliases")), Certs: strings.TrimSpace(pf.Get("certs")), Mode: pf.Get("mode"),
		WebhookURL: strings.TrimSpace(pf.Get("webhook_url")), HubName: strings.TrimSpace(pf.Get("hub_name")),
		VDXPSystem: strings.TrimSpace(pf.Get("vdxp_system")), VDXPCerts: strings.TrimSpace(pf.Get("vdxp_certs")),
		KafkaUser:   strings.TrimSpace(pf.Get("kafka_user")),
		DropWebhook: pf.Get("drop_webhook") != "", DropVDXP: pf.Get("drop_vdxp") != "", DropKafka: pf.Get("drop_kafka") != ""}
	// Secrets are taken as typed: a space may belong to one.
	hookSecret, vdxpSecret, kafkaPassword := pf.Get("webhook_secret"), pf.Get("vdxp_secret"), pf.Get("kafka_password")
	var cur organ.Agency
	if !v.New {
		var ok bool
		if cur, ok = s.agencyOf(w, r, u, ss); !ok {
			return
		}
		f.ID = string(cur.ID)
	}
	c := s.credentialsOf(organ.ID(f.ID))
	f.HasWebhookSecret, f.HasVDXP, f.HasKafka = c.WebhookSecret != "", c.VDXPSecret != "", c.Kafka.Password != ""
	v.Form = f
	p := s.page(w, r, u, ss)
	m := p.M
	switch {
	case v.New && f.ID == "":
		v.Errors = append(v.Errors, m.T("ag_err_need_id"))
	case v.New:
		if _, exists := s.o.Directory.Lookup(organ.ID(f.ID)); exists {
			v.Errors = append(v.Errors, m.T("ag_err_exists"))
		}
	}
	if f.Name == "" {
		v.Errors = append(v.Errors, m.T("ag_err_need_name"))
	}
	a := organ.Agency{ID: organ.ID(f.ID), Name: f.Name, Parent: organ.ID(f.Parent), CertSHA256: splitList(f.Certs)}
	for _, x := range splitList(f.Aliases) {
		a.Aliases = append(a.Aliases, organ.ID(x))
	}
	switch f.Mode {
	case modePull:
		a.Endpoint = organ.EndpointPull
	case modeWebhook:
		if f.WebhookURL == "" {
			v.Errors = append(v.Errors, m.T("ag_err_need_url"))
		}
		a.Endpoint = f.WebhookURL
	case modeHub:
		if f.HubName == "" {
			v.Errors = append(v.Errors, m.T("ag_err_need_hub"))
		}
		a.Endpoint = organ.HubPrefix + f.HubName
	default:
		v.Errors = append(v.Errors, m.T("ag_err_need_mode"))
	}
	if len(v.Errors) > 0 {
		s.renderAgency(w, r, u, ss, http.StatusBadRequest, v)
		return
	}
	sec := secretsOf(c, f, hookSecret, vdxpSecret, kafkaPassword)
	ctx, cancel := context.WithTimeout(r.Context(), agencyTimeout)
	defer cancel()
	by := "console:" + u.Username
	if err := s.o.Agencies.Set(ctx, a, sec, by); err != nil {
		s.o.Log.Warn("console: agency not saved", "organ", f.ID, "user", u.Username, "err", err)
		status := s.refused(m, v, err)
		s.renderAgency(w, r, u, ss, status, v)
		return
	}
	ok := "agency_changed"
	if v.New {
		ok = "agency_added"
	}
	s.o.Log.Info("console: agency saved", "organ", f.ID, "user", u.Username, "new", v.New, "secrets", sec != nil)
	http.Redirect(w, r, "/ops/directory?ok="+ok+"&organ="+url.QueryEscape(f.ID), http.StatusSeeOther)
}

// secretsOf are the credentials to set, nil to keep the current ones c:
// a blank secret keeps its own, a ticked box removes the group.
func secretsOf(c config.Agency, f agencyForm, hookSecret, vdxpSecret, kafkaPassword string) *agencies.Secrets {
	changed := hookSecret != "" || vdxpSecret != "" || kafkaPassword != "" || f.DropWebhook || f.DropVDXP || f.DropKafka ||
		f.VDXPSystem != c.VDXPSystemID || f.KafkaUser != c.Kafka.User || !slices.Equal(splitList(f.VDXPCerts), c.VDXPCertSHA256)
	if !changed {
		return nil
	}
	sec := agencies.SecretsOf(c)
	switch {
	case f.DropWebhook:
		sec.WebhookSecret = ""
	case hookSecret != "":
		sec.WebhookSecret = config.Secret(hookSecret)
	}
	if f.DropVDXP {
		sec.VDXPSystemID, sec.VDXPSecret, sec.VDXPCertSHA256 = "", "", nil
	} else {
		sec.VDXPSystemID, sec.VDXPCertSHA256 = f.VDXPSystem, splitList(f.VDXPCerts)
		if vdxpSecret != "" {
			sec.VDXPSecret = config.Secret(vdxpSecret)
		}
	}
	if f.DropKafka {
		sec.KafkaUser, sec.KafkaPassword = "", ""
	} else {
		sec.KafkaUser = f.KafkaUser
		if kafkaPassword != "" {
			sec.KafkaPassword = config.Secret(kafkaPassword)
		}
	}
	return sec
}

// refused puts a refusal of the store on the form and returns the
// page's status.
func (s *server) refused(m msgs, v *agencyView, err error) int {
	switch {
	case errors.Is(err, agencies.ErrInvalid):
		for _, e := range leaves(err) {
			if t := m.T(refusalKey(e)); !slices.Contains(v.Errors, t) {
				v.Errors = append(v.Errors, t)
			}
		}
		v.Detail = err.Error()
		return http.StatusBadRequest
	case errors.Is(err, agencies.ErrUnknown):
		v.Errors = append(v.Errors, m.T("no_agency"))
		return http.StatusNotFound
	case errors.Is(err, agencies.ErrNotReady):
		v.Errors = append(v.Errors, m.T("ag_err_not_ready"))
	default:
		v.Errors = append(v.Errors, m.T("ag_err_unavailable"))
	}
	return http.StatusServiceUnavailable
}

// leaves are the single problems of a refusal: the store wraps the
// directory's and the configuration's rules' joined errors.
func leaves(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			if e != agencies.ErrInvalid { //nolint:errorlint // the sentinel itself, not what wraps it
				out = append(out, leaves(e)...)
			}
		}
		return out
	}
	if u := errors.Unwrap(err); u != nil {
		if _, multi := u.(interface{ Unwrap() []error }); multi {
			return leaves(u)
		}
	}
	return []error{err}
}

// organEntry starts the directory's error about one entry.
var organEntry = regexp.MustCompile(`^agency \d+ \("(?:[^"\\]|\\.)*"\): `)

// refusalKey is the message saying what is wrong with one problem. The
// configuration's rules start with the field's key (agencies[i].FIELD),
// the directory's with the field's name after the entry.
func refusalKey(e error) string {
	msg := organEntry.ReplaceAllString(e.Error(), "")
	field := msg
	if i := strings.IndexAny(msg, ": "); i >= 0 {
		field = msg[:i]
	}
	is := func(name string) bool { return field == name || strings.HasSuffix(field, "."+name) }
	switch {
	case is("webhookSecret"):
		return "ag_err_webhook_secret"
	case is("vdxpSystemId") && errors.Is(e, config.ErrDuplicate):
		return "ag_err_vdxp_taken"
	case is("vdxpSecret") && errors.Is(e, config.ErrWeakSecret):
		return "ag_err_vdxp_weak"
	case is("vdxpSecret"), is("vdxpSystemId"):
		return "ag_err_vdxp_pair"
	case strings.HasSuffix(field, ".kafka.password"):
		return "ag_err_kafka_weak"
	case strings.HasSuffix(field, ".kafka.user") && errors.Is(e, config.ErrDuplicate), strings.HasSuffix(field, ".kafka.user") && errors.Is(e, config.ErrConflict):
		return "ag_err_kafka_taken"
	case strings.HasSuffix(field, ".kafka.user") && errors.Is(e, config.ErrRequired):
		return "ag_err_kafka_pair"
	case strings.HasSuffix(field, ".kafka.user"):
		return "ag_err_kafka_user"
	case strings.HasPrefix(field, "bus.sasl"):
		return "ag_err_kafka_off"
	case strings.Contains(field, "certSha256") && (errors.Is(e, config.ErrDuplicate) || strings.Contains(msg, "listed twice")):
		return "ag_err_cert_twice"
	case strings.Contains(field, "certSha256"):
		return "ag_err_cert"
	case errors.Is(e, organ.ErrDuplicate), errors.Is(e, config.ErrDuplicate):
		return "ag_err_taken"
	case errors.Is(e, organ.ErrCycle):
		return "ag_err_cycle"
	case is("parent"):
		return "ag_err_parent"
	case is("alias"), strings.Contains(field, ".aliases["):
		return "ag_err_alias"
	case is("endpoint"):
		return "ag_err_endpoint"
	case errors.Is(e, organ.ErrInvalid), errors.Is(e, organ.ErrEmpty):
		return "ag_err_id"
	}
	return "ag_err_other"
}

func (s *server) agencyRetireGet(w http.ResponseWriter, r *http.Request, u *Account, ss *session) {
	if !s.agencyAdmin(w, r, u, ss) {
		return
	}
	a, ok := s.agencyOf(w, r, u, ss)
	if !ok {
		return
	}
	s.renderAgency(w, r, u, ss, http.StatusOK, &agencyView{Retire: &a})
}

// agencyRetire retires an agency once the admin has typed its OrganId,
// as consoles confirm what cannot be undone with a click.
func (s *server) agencyRetire(w http.ResponseWriter, r *http.Request, u *Account, ss *session) {
	if !s.agencyAdmin(w, r, u, ss) {
		return
	}
	a, ok := s.agencyOf(w, r, u, ss)
	if !ok {
		return
	}
	v := &agencyView{Retire: &a}
	m := s.page(w, r, u, ss).M
	if strings.TrimSpace(r.PostForm.Get("confirm")) != string(a.ID) {
		v.Errors = append(v.Errors, m.T("ag_err_confirm"))
		s.renderAgency(w, r, u, ss, http.StatusBadRequest, v)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), agencyTimeout)
	defer cancel()
	if err := s.o.Agencies.Retire(ctx, string(a.ID), "console:"+u.Username); err != nil {
		s.o.Log.Warn("console: agency not retired", "organ", a.ID, "user", u.Username, "err", err)
		status := s.refused(m, v, err)
		s.renderAgency(w, r, u, ss, status, v)
		return
	}
	s.o.Log.Info("console: agency retired", "organ", a.ID, "user", u.Username)
	http.Redirect(w, r, "/ops/directory?ok=agency_retired&organ="+url.QueryEscape(string(a.ID)), http.StatusSeeOther)
}

// splitList splits a list typed one per line or comma-separated.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
}
