package console

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/lienthong/lienthong/internal/edxml"
	"github.com/lienthong/lienthong/internal/track"
)

// Revoking (thu hồi, business type 1) cancels a document the agency sent:
// a new edoc repeating the original header, whose Bussiness names the
// original and gives the reason (edxml/FORMAT.md §5). Unlike a take-back
// request (13) it needs no answer; the recipients' timelines turn
// "revoked".

// revocable lists the recipients a document may still be revoked for.
func revocable(tl track.Timeline) []string {
	var ids []string
	for _, rc := range tl.Recipients {
		if rc.State != track.EventRevoked && rc.State != track.EventReplaced {
			ids = append(ids, rc.OrganID)
		}
	}
	return ids
}

// buildRevoke makes the revoke packet of orig for the recipients to.
func buildRevoke(orig *edxml.Packet, u *Account, to []string, reason string, now time.Time) *edxml.Packet {
	h := *orig.Header
	h.To = slices.DeleteFunc(slices.Clone(orig.Header.To), func(o edxml.Organization) bool { return !slices.Contains(to, o.OrganID) })
	return &edxml.Packet{Kind: edxml.KindEdoc, Header: &h, Trace: &edxml.Trace{
		Headers: []edxml.TraceHeader{{OrganID: u.OrganID, Timestamp: edxml.FormatTimestamp(now)}},
		Business: &edxml.Business{DocumentID: h.DocumentID, DocType: edxml.BusinessRevoke, DocReason: reason, Paper: "0",
			Staff: edxml.StaffInfo{Staff: u.Username}},
	}}
}

func (s *server) revoke(w http.ResponseWriter, r *http.Request, u *Account, ss *session) {
	id := r.PathValue("id")
	tl, reason, ok := s.senderAction(w, r, u, ss, id, "/outbox?err=revoke_reason")
	if !ok {
		return
	}
	to := revocable(tl)
	if len(to) == 0 {
		http.Redirect(w, r, "/outbox?err=bad_revoke", http.StatusSeeOther)
		return
	}
	orig, err := s.load(r.Context(), u.OrganID, id)
	if err != nil {
		s.failHub(w, r, u, ss, err)
		return
	}
	if orig.Kind != edxml.KindEdoc || orig.Header == nil {
		s.fail(w, r, u, ss, http.StatusBadRequest, "bad_revoke", "")
		return
	}
	if err := s.submitEdoc(r.Context(), u, buildRevoke(orig, u, to, reason, s.o.Now())); err != nil {
		s.o.Log.Warn("console: revoke", "packet", id, "organ", u.OrganID, "err", err)
		http.Redirect(w, r, "/outbox?err=status_failed&detail="+url.QueryEscape(errCode(err)), http.StatusSeeOther)
		return
	}
	s.o.Log.Info("console: document revoked", "packet", id, "organ", u.OrganID, "to", to, "user", u.Username)
	http.Redirect(w, r, "/outbox?ok=revoked", http.StatusSeeOther)
}

// submitEdoc writes an edoc without attachments, signs it with the
// agency's hosted key when the hub holds one, and submits it.
func (s *server) submitEdoc(ctx context.Context, u *Account, pk *edxml.Packet) error {
	var b bytes.Buffer
	if err := edxml.Write(&b, pk, nil); err != nil {
		return err
	}
	_, err := s.submit(ctx, u, edxml.KindEdoc, bytes.NewReader(b.Bytes()))
	return err
}
