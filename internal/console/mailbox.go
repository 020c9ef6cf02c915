package console

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/collate"
	"golang.org/x/text/language"

	"github.com/lienthong/lienthong/internal/edxml"
	"github.com/lienthong/lienthong/internal/hub"
	"github.com/lienthong/lienthong/internal/organ"
	"github.com/lienthong/lienthong/internal/track"
)

// listPageSize is the rows of a list page (a test lowers it).
var listPageSize = 50

// maxFilterLen bounds a typed filter (số, ký hiệu; trích yếu; a code).
const maxFilterLen = 200

// mailView is what a list page (incoming or outgoing) shows besides its
// rows: the views, the filter form as typed, and the pager.
type mailView struct {
	Path     string // "/inbox" or "/outbox"
	Incoming bool
	Form     mailForm
	Views    []viewTab
	Parties  []option // the directory's agencies, by name; nil: a code field
	Prios    []option
	Filtered bool   // some filter is set
	Next     string // the next page's URL, "" on the last
	First    string // the first page's URL, when not on it
	Cut      bool   // the page stopped reading before it was full
}

// mailForm is the filter form as the clerk typed it, kept on every link.
type mailForm struct {
	View, Since, Until, Party, Priority, Code, Text, Cursor string
}

type viewTab struct {
	Label, URL string
	Current    bool
}

// partState is one recipient's part of a document, for a row.
type partState struct {
	OrganID string
	Name    string // the directory's name, else the id
	State   string
	Label   string // the state by the standard's name
	At      time.Time
	Overdue bool
}

type inboxRow struct {
	track.Letter
	SenderName string
	// NameDiffers: the packet names its sender otherwise than the
	// directory (FromName is what it says).
	NameDiffers bool
	Parts       []partState
	Unread      bool
	Overdue     bool
}

type outboxRow struct {
	track.Letter
	Recipients []partState
	TakeBack   []string // recipients it may still be taken back from
	Revocable  bool     // some recipient's copy is not revoked or replaced yet
	New        bool     // just sent from the compose page
}

// values encodes the form for a link; view and cursor as given.
func (f mailForm) values(view, cursor string) url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"view": view, "since": f.Since, "until": f.Until, "party": f.Party,
		"priority": f.Priority, "code": f.Code, "q": f.Text, "cursor": cursor} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

func link(path string, v url.Values) string {
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

// mailQuery reads a list's query string: the form as typed, the hub's
// query, and the keys of what is wrong with it.
func (s *server) mailQuery(q url.Values, incoming bool) (mailForm, track.MailQuery, []string) {
	f := mailForm{
		View: q.Get("view"), Since: strings.TrimSpace(q.Get("since")), Until: strings.TrimSpace(q.Get("until")),
		Party: strings.TrimSpace(q.Get("party")), Priority: strings.TrimSpace(q.Get("priority")),
		Code: strings.TrimSpace(q.Get("code")), Text: strings.TrimSpace(q.Get("q")), Cursor: q.Get("cursor"),
	}
	var bad []string
	switch f.View {
	case track.ViewPending, track.ViewHandled, track.ViewAll:
	case "":
		f.View = track.ViewPending
		if q.Get("ok") == "revoked" {
			// A revoked document is no longer pending: after revoking,
			// the clerk sees it among all.
			f.View = track.ViewAll
		}
	default:
		bad = append(bad, "mail_bad_view")
		f.View = track.ViewPending
	}
	mq := track.MailQuery{View: f.View, Cursor: f.Cursor, Limit: listPageSize, Code: f.Code, Text: f.Text}
	if f.Since != "" {
		d, ok := parseListDay(f.Since, s.o.Zone)
		if !ok {
			bad = append(bad, "mail_bad_since")
		} else {
			mq.Since, f.Since = d, d.Format(dateLayout)
		}
	}
	if f.Until != "" {
		d, ok := parseListDay(f.Until, s.o.Zone)
		if !ok {
			bad = append(bad, "mail_bad_until")
		} else {
			// The day named is included.
			mq.Until, f.Until = d.AddDate(0, 0, 1), d.Format(dateLayout)
		}
	}
	if !mq.Since.IsZero() && !mq.Until.IsZero() && !mq.Since.Before(mq.Until) {
		bad = append(bad, "mail_bad_range")
	}
	if f.Priority != "" {
		n, err := strconv.Atoi(f.Priority)
		if err != nil || n < 0 || n > 4 {
			bad = append(bad, "mail_bad_priority")
		} else {
			mq.Priority = &n
		}
	}
	if f.Party != "" {
		id, err := organ.Parse(f.Party)
		switch {
		case err != nil:
			bad = append(bad, "mail_bad_party")
		case s.o.Directory != nil:
			c, ok := s.o.Directory.Canonical(id)
			if !ok {
				bad = append(bad, "mail_unknown_party")
			}
			mq.Party = string(c)
		default:
			mq.Party = string(id)
		}
	}
	if len(f.Code) > maxFilterLen || len(f.Text) > maxFilterLen {
		bad = append(bad, "mail_too_long")
	}
	if !incoming {
		// A revoke shows as the state of the document it revokes.
		mq.Business = []string{"", edxml.BusinessNew, edxml.BusinessUpdate, edxml.BusinessReplace}
	}
	return f, mq, bad
}

// parseListDay reads a day as a clerk types it (dd/mm/yyyy, d/m/yyyy) or as
// a date field sends it (yyyy-mm-dd): its start in the console's zone.
func parseListDay(v string, zone *time.Location) (time.Time, bool) {
	for _, layout := range []string{"2/1/2006", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, zone); err == nil && t.Year() >= 2000 && t.Year() <= 2100 {
			return t, true
		}
	}
	return time.Time{}, false
}

// mailPage lists a page of the clerk's incoming or outgoing documents.
func (s *server) mailPage(w http.ResponseWriter, r *http.Request, u *Account, ss *session, incoming bool) {
	p := s.page(w, r, u, ss)
	path, list := "/outbox", s.o.Hub.Outgoing
	p.Title = p.M.T("outbox")
	if incoming {
		path, list = "/inbox", s.o.Hub.Received
		p.Title = p.M.T("inbox")
	}
	f, q, bad := s.mailQuery(r.URL.Query(), incoming)
	v := &mailView{Path: path, Incoming: incoming, Form: f}
	p.Mail = v
	v.Filtered = f.Since != "" || f.Until != "" || f.Party != "" || f.Priority != "" || f.Code != "" || f.Text != ""
	for _, view := range []string{track.ViewPending, track.ViewHandled, track.ViewAll} {
		v.Views = append(v.Views, viewTab{Label: p.M.T("mail_view_" + view), URL: link(path, f.values(view, "")), Current: view == f.View})
	}
	s.filterOptions(p, v)
	if !incoming {
		p.flashStatus(r.URL.Query())
	}
	if len(bad) > 0 {
		msgs := make([]string, len(bad))
		for i, k := range bad {
			msgs[i] = p.M.T(k)
		}
		p.Error = strings.Join(msgs, " ")
		s.render(w, http.StatusBadRequest, map[bool]string{true: "inbox", false: "outbox"}[incoming], p)
		return
	}
	letters, next, err := list(u.OrganID, q)
	var he *hub.Error
	if errors.As(err, &he) && errors.Is(he.Err, track.ErrBadCursor) {
		// A link kept from another listing: start over, and say so.
		p.Error = p.M.T("mail_bad_cursor")
		q.Cursor, f.Cursor, v.Form.Cursor = "", "", ""
		letters, next, err = list(u.OrganID, q)
	}
	if err != nil {
		s.failHub(w, r, u, ss, err)
		return
	}
	if next != "" {
		v.Next = link(path, f.values(f.View, next))
		v.Cut = len(letters) < listPageSize
	}
	if f.Cursor != "" {
		v.First = link(path, f.values(f.View, ""))
	}
	if incoming {
		p.Inbox = make([]inboxRow, 0, len(letters))
		for _, l := range letters {
			p.Inbox = append(p.Inbox, s.inboxRow(p.M, l))
		}
		s.render(w, http.StatusOK, "inbox", p)
		return
	}
	fresh := r.URL.Query().Get("new")
	if fresh != "" {
		p.Flash = p.M.T("sent_ok")
	}
	p.Outbox = make([]outboxRow, 0, len(letters))
	for _, l := range letters {
		tl := track.Timeline{Recipients: l.Parts}
		p.Outbox = append(p.Outbox, outboxRow{Letter: l, Recipients: s.parts(p.M, l.Parts),
			TakeBack: takeBackable(tl), Revocable: len(revocable(tl)) > 0, New: fresh != "" && l.ID == fresh})
	}
	s.render(w, http.StatusOK, "outbox", p)
}

// filterOptions fills the form's choices: agencies by name (the clerk's
// own left out), urgencies by name.
func (s *server) filterOptions(p *page, v *mailView) {
	for i := range 5 {
		n := strconv.Itoa(i)
		v.Prios = append(v.Prios, option{Value: n, Label: p.M.T("prio" + n), Selected: v.Form.Priority == n})
	}
	if s.o.Directory == nil {
		return
	}
	as := s.o.Directory.Agencies()
	// Vietnamese order: by bytes "Ủy ban" would come after "Văn phòng".
	c := collate.New(language.Vietnamese)
	slices.SortStableFunc(as, func(a, b organ.Agency) int { return c.CompareString(a.Name, b.Name) })
	v.Parties = []option{}
	for _, a := range as {
		if p.User != nil && string(a.ID) == p.User.OrganID {
			continue
		}
		label := a.Name
		if label == "" {
			label = string(a.ID)
		}
		v.Parties = append(v.Parties, option{Value: string(a.ID), Label: label, Selected: v.Form.Party == string(a.ID)})
	}
}

func (s *server) inbox(w http.ResponseWriter, r *http.Request, u *Account, ss *session) {
	s.mailPage(w, r, u, ss, true)
}

func (s *server) outbox(w http.ResponseWriter, r *http.Request, u *Account, ss *session) {
	s.mailPage(w, r, u, ss, false)
}

func (s *server) inboxRow(m msgs, l track.Letter) inboxRow {
	row := inboxRow{Letter: l, SenderName: s.organName(l.From), Parts: s.parts(m, l.Parts)}
	row.NameDiffers = row.SenderName != "" && l.FromName != "" && !sameName(row.SenderName, l.FromName)
	row.Unread = !seen(track.Timeline{Recipients: l.Parts})
	for _, rc := range l.Parts {
		row.Overdue = row.Overdue || rc.Overdue
	}
	return row
}

func (s *server) parts(m msgs, rcs []track.Recipient) []partState {
	out := make([]partState, 0, len(rcs))
	for _, rc := range rcs {
		out = append(out, partState{OrganID: rc.OrganID, Name: s.organLabel(rc.OrganID), State: rc.State,
			Label: stateLabel(m, rc.State), At: stateTime(rc), Overdue: rc.Overdue})
	}
	return out
}

// stateLabel names a recipient's state for a clerk: a status by the
// standard's name, the hub's own steps in plain words.
func stateLabel(m msgs, state string) string {
	if l, ok := m["mail_st_"+state]; ok {
		return l
	}
	return m.State(state)
}

// stateTime is when a recipient reached its state: the last event that
// set it (a status of its code, or an event of its type and result).
func stateTime(rc track.Recipient) time.Time {
	for i := len(rc.Events) - 1; i >= 0; i-- {
		e := rc.Events[i]
		st := e.Type
		if e.Type == track.EventStatus {
			st = string(e.Code)
		} else if e.Result != "" {
			st += ":" + e.Result
		}
		if st == rc.State {
			return e.At
		}
	}
	if n := len(rc.Events); n > 0 {
		return rc.Events[n-1].At
	}
	return time.Time{}
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
