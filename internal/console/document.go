package console

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/lienthong/lienthong/internal/edxml"
	"github.com/lienthong/lienthong/internal/hub"
	"github.com/lienthong/lienthong/internal/pki"
	"github.com/lienthong/lienthong/internal/track"
	"github.com/lienthong/lienthong/internal/trust"
)

type docView struct {
	ID          string
	Header      *edxml.Header
	Status      *edxml.Status
	Attachments []attachmentView
	Priority    string
	Timeline    track.Timeline
	CanAnswer   bool
	Hosted      bool
	// From and To are the agencies by directory name, each with the name
	// the packet claims when the two differ.
	From organView
	To   []organView
	// BusinessType names what the packet does (Văn bản mới, Thu hồi, …).
	BusinessType string
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
	// Related is the document a status packet is about, when the clerk's
	// agency sent or received it: the page links to it.
	Related string
	// StatusLine says a status packet in one sentence: "<cơ quan> báo: Đã
	// tiếp nhận văn bản số … lúc …".
	StatusLine string
}

// organView is an agency on a document page.
type organView struct {
	ID string
	// Name is the directory's name, else the id; Listed tells which.
	Name   string
	Listed bool
	// Claimed is the OrganName the packet gives when it is not the
	// directory's: the page shows the directory's and Warning says so.
	Claimed, Warning string
}

// attachmentView is an attachment as the page lists it.
type attachmentView struct {
	N int
	// Name is safe to show; Kind is "PDF", "DOCX", …; Size is in human
	// units in the page's language.
	Name, Kind, Size string
	// ContentType and SHA256 are for the technical details only.
	ContentType, SHA256 string
	// PDF: the content starts with %PDF- (judged by its bytes), so the
	// page previews it inline.
	PDF bool
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
			// The cause is in the log; the clerk needs to know it is retried.
			p.Error = p.M.T("auto01_failed")
		} else if tl2, err := s.o.Hub.Timeline(u.OrganID, id); err == nil {
			tl = tl2 // with the 01 just sent
		}
	}
	d := &docView{ID: id, Header: pk.Header, Status: pk.Status, Timeline: tl,
		CanAnswer: recipient && pk.Kind == edxml.KindEdoc, Hosted: hosted, Codes: answerCodes}
	for i, a := range pk.Attachments {
		d.Attachments = append(d.Attachments, attachmentView{N: i, Name: fileName(a.AttachmentName, i),
			Kind: fileKind(p.M, a), Size: humanSize(p.Lang, a.Size), ContentType: a.ContentType, SHA256: a.SHA256, PDF: a.Format == "pdf"})
	}
	if h := pk.Header; h != nil {
		d.From = s.organView(p.M, h.From)
		for _, o := range h.To {
			d.To = append(d.To, s.organView(p.M, o))
		}
		d.BusinessType = p.M.T("btype_" + edxml.BusinessNew)
	}
	if pk.Trace != nil && pk.Trace.Business != nil {
		if l, ok := p.M["btype_"+pk.Trace.Business.DocType]; ok {
			d.BusinessType = l
		}
		if pk.Trace.Business.DocType != edxml.BusinessNew {
			d.Business = pk.Trace.Business
		}
	}
	if st := pk.Status; st != nil {
		d.From = s.organView(p.M, st.From)
		d.StatusLine = s.statusLine(p.M, st)
	}
	switch {
	case d.CanAnswer && pendingFor(tl, u.OrganID):
		d.AnswerID = id
	case pk.Kind == edxml.KindStatus:
		if doc := s.requested(u, pk.Status); doc != "" {
			d.Related = doc
			if dtl, err := s.o.Hub.Timeline(u.OrganID, doc); err == nil && pendingFor(dtl, u.OrganID) {
				d.AnswerID = doc
			}
		} else {
			d.Related = s.sentDoc(u, pk.Status)
		}
	case tl.From == u.OrganID && pk.Kind == edxml.KindEdoc:
		d.TakeBack = takeBackable(tl)
	}
	if rep, err := s.o.Hub.Report(r.Context(), u.OrganID, id); err == nil {
		d.Report = newReportView(p.M, p.Lang, rep)
		d.Report.PDFs = newPDFViews(p.M, p.Lang, rep.Attachments, s.organName)
		for i, sg := range d.Report.Signatures {
			// An agency's certificate names the agency: said once, as
			// the signing agency.
			if n := s.organName(sg.OrganID); n != "" && sameName(sg.Person, n) {
				d.Report.Signatures[i].Person = ""
			}
		}
	} else {
		s.o.Log.Warn("console: verification report", "packet", id, "organ", u.OrganID, "err", err, "cause", errors.Unwrap(err))
	}
	if pk.Header != nil {
		p.Title = pk.Header.Subject
		if l, ok := p.M["prio"+pk.Header.OtherInfo.Priority]; ok {
			d.Priority = l
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
		p.Error = p.M.T("status_failed")
		if d := q.Get("detail"); d != "" {
			p.Error += " (" + p.M.T("err_code") + ": " + d + ")"
		}
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
	b, err := s.statusPacket(u.OrganID, doc, code, reason, to)
	if err != nil {
		return err
	}
	_, err = s.submit(ctx, u, edxml.KindStatus, bytes.NewReader(b))
	return err
}

// statusPacket is the status organ sends answering doc, built by edxml as
// the client library builds it.
func (s *server) statusPacket(organ string, doc *edxml.Packet, code edxml.StatusCode, reason, to string) ([]byte, error) {
	return edxml.BuildStatus(doc, edxml.StatusInput{From: edxml.Organization{OrganID: organ}, Code: code,
		Description: reason, To: to, Time: s.o.Now()})
}

// submit signs the packet read from src with the agency's hosted key when
// the hub holds one and submits it on the console's channel: the one path
// for composed documents, statuses and revocations. When src is a file,
// the SHA-256 taken while signing is the hub's too: it reads the file as
// it is rather than spooling and hashing it again.
func (s *server) submit(ctx context.Context, u *Account, kind edxml.Kind, src io.ReadSeeker) (*hub.Receipt, error) {
	sub := hub.Submission{Caller: u.OrganID, Packet: src, Channel: "console", Kind: kind}
	if sg, ok := s.o.Signers[u.OrganID]; ok {
		dr := trust.NewDigestReader(src, crypto.SHA256)
		sig, err := pki.SignDetached(dr, sg.Cert, sg.Key, sg.Chain, pki.SignOptions{Time: s.o.Now()})
		if err != nil {
			return nil, fmt.Errorf("signing: %w", err)
		}
		if _, err := src.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
		sub.Signature = sig
		if f, ok := src.(*os.File); ok {
			sub.Packet, sub.Spooled = nil, &hub.Spooled{File: f, Digests: dr.Digests()}
		}
	}
	rc, _, err := s.o.Hub.Submit(ctx, sub)
	return rc, err
}

// errCode is a short form of err for the page: a hub error's code.
func errCode(err error) string {
	var he *hub.Error
	if errors.As(err, &he) {
		return he.Code
	}
	if errors.Is(err, edxml.ErrStatus) {
		return err.Error()
	}
	return "internal"
}

// sentDoc finds, among what the clerk's agency sent, the newest document
// a status answers (its DocumentId); "" when the status is not about one
// of the agency's documents.
func (s *server) sentDoc(u *Account, st *edxml.Status) string {
	if st == nil || st.ResponseFor.OrganID != u.OrganID || st.StatusCode == edxml.StatusTakeBack {
		return ""
	}
	return s.newest(s.o.Hub.Outgoing(u.OrganID, track.MailQuery{DocumentID: st.ResponseFor.DocumentID, Limit: 1}))
}

// organView names an agency of a packet by the directory, and keeps the
// packet's OrganName when it is not the directory's: a sender may write
// any name, the directory is the hub's.
func (s *server) organView(m msgs, o edxml.Organization) organView {
	v := organView{ID: o.OrganID, Name: s.organName(o.OrganID)}
	v.Listed = v.Name != ""
	if !v.Listed {
		v.Name = o.OrganID
		return v
	}
	if claimed := strings.TrimSpace(o.OrganName); claimed != "" && !sameName(claimed, v.Name) {
		v.Claimed, v.Warning = claimed, fmt.Sprintf(m.T("name_mismatch"), claimed)
	}
	return v
}

// statusLine says a status in one sentence, the agency by name: "Cơ
// quan X báo: Đã tiếp nhận văn bản số 12/UBND lúc 07/12/2026 09:30."
func (s *server) statusLine(m msgs, st *edxml.Status) string {
	code := strings.TrimSpace(st.ResponseFor.Code)
	if code == "" {
		code = m.T("sline_nocode")
	}
	who, at := s.organLabel(st.From.OrganID), s.ptime(st.Timestamp)
	if f, ok := m["sline_"+string(st.StatusCode)]; ok {
		return fmt.Sprintf(f, who, code, at)
	}
	// Parsing normalises the code (14 reads 15), so this is a fallback.
	return who + ": " + m.Code(st.StatusCode) + " — " + code + ", " + at
}

// fileKind names an attachment's format for a clerk: "PDF" when its bytes
// are a PDF, else its name's extension ("DOCX"), else a generic word.
func fileKind(m msgs, a edxml.Attachment) string {
	if a.Format == "pdf" {
		return "PDF"
	}
	if a.Format == "zip" && !strings.Contains(strings.ToLower(a.AttachmentName), ".") {
		return "ZIP"
	}
	ext := strings.TrimPrefix(path.Ext(fileName(a.AttachmentName, 0)), ".")
	// A .pdf that is not one by its bytes is not called PDF.
	if ext != "" && len(ext) <= 5 && !strings.EqualFold(ext, "pdf") && strings.IndexFunc(ext, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) < 0 {
		return strings.ToUpper(ext)
	}
	return m.T("file_other")
}

// humanSize is a size in bytes as a person reads it, with the language's
// decimal mark: "1,2 MB" in Vietnamese, "1.2 MB" in English.
func humanSize(lang string, n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	v, unit := float64(n)/1024, "KB"
	for _, u := range []string{"MB", "GB", "TB"} {
		if v < 1024 {
			break
		}
		v, unit = v/1024, u
	}
	s := strconv.FormatFloat(v, 'f', 1, 64)
	s = strings.TrimSuffix(s, ".0")
	if lang == "vi" {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s + " " + unit
}
