package console

import (
	"lienthong/internal/edxml"
	"lienthong/internal/organ"
	"lienthong/internal/track"
	"net/http"
	"slices"
	"time"
)

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
