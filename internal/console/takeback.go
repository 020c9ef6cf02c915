package console

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/lienthong/lienthong/internal/edxml"
	"github.com/lienthong/lienthong/internal/track"
)

// takeBackCodes are the answers to a pending take-back request (13): the
// recipient agrees (15) or refuses, with a reason (16).
var takeBackCodes = []edxml.StatusCode{edxml.StatusChangeAccepted, edxml.StatusChangeRejected}

// maxReason bounds a status's description.
const maxReason = 2000

// canTakeBack tells whether the sender may still ask a recipient in state
// to give the document back: not after a rejection, a pending or agreed
// take-back, a revocation or a replacement.
func canTakeBack(state string) bool {
	c := edxml.StatusCode(state)
	return !c.Withdraws() && c != edxml.StatusTakeBack && state != track.EventRevoked && state != track.EventReplaced
}

// takeBackPending tells whether the recipient's part of a timeline shows a
// 13 not yet answered by a 15 or 16.
func takeBackPending(rc track.Recipient) bool {
	pending := false
	for _, e := range rc.Events {
		if e.Type != track.EventStatus {
			continue
		}
		switch {
		case e.Code == edxml.StatusTakeBack:
			pending = true
		case e.Code.AnswersChange():
			pending = false
		}
	}
	return pending
}

// pendingFor tells whether the timeline shows a take-back request for
// organ awaiting its answer.
func pendingFor(tl track.Timeline, organ string) bool {
	for _, rc := range tl.Recipients {
		if rc.OrganID == organ && takeBackPending(rc) {
			return true
		}
	}
	return false
}

// takeBackable lists the recipients of the sender's timeline it may still
// take the document back from.
func takeBackable(tl track.Timeline) []string {
	var ids []string
	for _, rc := range tl.Recipients {
		if canTakeBack(rc.State) {
			ids = append(ids, rc.OrganID)
		}
	}
	return ids
}

// requested finds, in the clerk's inbox, the document a 13 status asks
// back: the newest edoc from the status's sender with its DocumentId.
func (s *server) requested(u *Account, st *edxml.Status) string {
	if st == nil || st.StatusCode != edxml.StatusTakeBack || st.ResponseFor.OrganID != u.OrganID {
		return ""
	}
	return s.newest(s.o.Hub.Received(u.OrganID, track.MailQuery{Party: st.From.OrganID, DocumentID: st.ResponseFor.DocumentID, Limit: 1}))
}

// newest is the id of the first letter of a page, newest first; "" when
// there is none or the lookup failed (the page then offers no link).
func (s *server) newest(ls []track.Letter, _ string, err error) string {
	if err != nil || len(ls) == 0 {
		return ""
	}
	return ls[0].ID
}

// takeBack sends a 13 from the document's sender for one recipient, with
// a required reason.
func (s *server) takeBack(w http.ResponseWriter, r *http.Request, u *Account, ss *session) {
	id := r.PathValue("id")
	back := "/doc/" + id
	if r.PostForm.Get("from") == "outbox" {
		back = "/outbox"
	}
	to := strings.TrimSpace(r.PostForm.Get("to"))
	tl, reason, ok := s.senderAction(w, r, u, ss, id, back+"?err=takeback_reason")
	if !ok {
		return
	}
	if !slices.Contains(takeBackable(tl), to) {
		http.Redirect(w, r, back+"?err=bad_takeback", http.StatusSeeOther)
		return
	}
	pk, err := s.load(r.Context(), u.OrganID, id)
	if err != nil {
		s.failHub(w, r, u, ss, err)
		return
	}
	if err := s.send(r.Context(), u, pk, edxml.StatusTakeBack, reason, to); err != nil {
		s.o.Log.Warn("console: take-back", "packet", id, "organ", u.OrganID, "to", to, "err", err)
		http.Redirect(w, r, back+"?err=status_failed&detail="+url.QueryEscape(errCode(err)), http.StatusSeeOther)
		return
	}
	s.o.Log.Info("console: take-back sent", "packet", id, "organ", u.OrganID, "to", to, "user", u.Username)
	http.Redirect(w, r, back+"?ok="+string(edxml.StatusTakeBack), http.StatusSeeOther)
}

// senderAction starts an action of a document's sender (take back,
// revoke): the caller's agency must have sent it, and the form must give a
// reason, else the clerk is sent to noReason. It returns the timeline and
// the reason, cut to maxReason.
func (s *server) senderAction(w http.ResponseWriter, r *http.Request, u *Account, ss *session, id, noReason string) (track.Timeline, string, bool) {
	reason := strings.TrimSpace(r.PostForm.Get("reason"))
	tl, err := s.o.Hub.Timeline(u.OrganID, id)
	if err != nil {
		s.failHub(w, r, u, ss, err)
		return tl, "", false
	}
	if tl.From != u.OrganID {
		s.fail(w, r, u, ss, http.StatusForbidden, "forbidden", "")
		return tl, "", false
	}
	if reason == "" {
		http.Redirect(w, r, noReason, http.StatusSeeOther)
		return tl, "", false
	}
	if len(reason) > maxReason {
		reason = reason[:maxReason]
	}
	return tl, reason, true
}
