package vdxp

import (
	"bufio"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lienthong/lienthong/internal/blob"
	"github.com/lienthong/lienthong/internal/edxml"
	"github.com/lienthong/lienthong/internal/hub"
	"github.com/lienthong/lienthong/internal/organ"
	"github.com/lienthong/lienthong/internal/track"
)

// ServiceType is the only servicetype of the axis.
const ServiceType = "eDoc"

// messageType reads the messagetype parameter: "edoc" or "status" in any
// case; def when absent.
func messageType(s *signedRequest, def edxml.Kind) (edxml.Kind, bool, *opError) {
	v, present, err := s.param("messagetype", "messageType")
	if err != nil {
		return "", false, err
	}
	switch k := edxml.Kind(strings.ToLower(strings.TrimSpace(v))); {
	case !present || k == "":
		return def, false, nil
	case k == edxml.KindEdoc || k == edxml.KindStatus:
		return k, true, nil
	}
	return "", false, fail(http.StatusBadRequest, CodeBadParameter, "messagetype must be edoc or status, not %q", v)
}

// ---- sendEdoc

func (h *handler) sendEdoc(w http.ResponseWriter, r *http.Request, s *signedRequest) *opError {
	caller, err := h.actingAs(s)
	if err != nil {
		return err
	}
	kind, _, err := messageType(s, "")
	if err != nil {
		return err
	}
	if _, _, err := s.param("servicetype", "serviceType"); err != nil {
		return err
	}
	hashFile, present, err := s.param("hash-file")
	if err != nil {
		return err
	}
	if (!present || strings.TrimSpace(hashFile) == "") && h.o.RequireHashFile {
		return fail(http.StatusBadRequest, CodeMissingParameter, "the parameter %shash-file is required", HeaderPrefix)
	}
	r.Body = http.MaxBytesReader(w, r.Body, h.o.MaxBodyBytes)
	file, hold, err := h.fileDoc(r)
	if err != nil {
		return err
	}
	hr := newHashReader(file, strings.TrimSpace(hashFile), !h.o.RejectUnpaddedHash, hold)
	rc, created, serr := h.hub.Submit(r.Context(), hub.Submission{Caller: caller, Packet: hr, Channel: "vdxp", Kind: kind, Policy: h.o.Policy})
	if hr.mismatch {
		return fail(http.StatusBadRequest, CodeHashMismatch, "the uploaded file does not match %shash-file (SHA-256 in hex, padded or not)", HeaderPrefix)
	}
	if serr != nil {
		return fromHub(serr)
	}
	reply := SendReply{Reply: ok(), DocID: rc.ID, Created: created, Receipt: rc}
	if rc.Verification != nil {
		for _, p := range rc.Verification.Warnings {
			reply.Warnings = append(reply.Warnings, Problem{Code: p.Code, Message: p.Message})
		}
	}
	writeJSON(w, http.StatusOK, reply)
	return nil
}

// fileDoc finds the uploaded file: the part file_doc of a multipart body
// (FORMAT.md §8.2), or the body itself. The Java SDK 2.x sends the latter:
// its multipart helper sets Content-Type to the signed
// application/octet-stream and writes no part framing, only the file and
// a CRLF, which hold = 2 lets the hash check drop. A body that starts with
// a boundary line is read as multipart whatever its Content-Type says.
func (h *handler) fileDoc(r *http.Request) (io.Reader, int, *opError) {
	ct, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	br := bufio.NewReaderSize(r.Body, 4096)
	boundary := ""
	if ct == "multipart/form-data" {
		boundary = params["boundary"]
		if boundary == "" {
			return nil, 0, fail(http.StatusBadRequest, CodeMultipart, "multipart/form-data without a boundary")
		}
	} else if b := sniffBoundary(br); b != "" {
		boundary = b
	}
	if boundary == "" {
		return br, 2, nil
	}
	mr := multipart.NewReader(br, boundary)
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, 0, fail(http.StatusBadRequest, CodeMultipart, "no part named file_doc")
		}
		if err != nil {
			var mb *http.MaxBytesError
			if errors.As(err, &mb) {
				return nil, 0, fail(http.StatusRequestEntityTooLarge, edxml.CodeTooLarge, "the request is larger than %d bytes", mb.Limit)
			}
			return nil, 0, fail(http.StatusBadRequest, CodeMultipart, "reading the multipart body: %v", err)
		}
		if part.FormName() == "file_doc" {
			return part, 0, nil
		}
	}
}

// sniffBoundary returns the boundary of a body that begins with a
// multipart boundary line ("--" and a token of at most 70 characters).
func sniffBoundary(br *bufio.Reader) string {
	head, _ := br.Peek(80)
	if len(head) < 3 || head[0] != '-' || head[1] != '-' {
		return ""
	}
	line, _, found := strings.Cut(string(head[2:]), "\n")
	if !found {
		return ""
	}
	line = strings.TrimSuffix(line, "\r")
	if line == "" || len(line) > 70 || strings.ContainsAny(line, " \t<>\"") {
		return ""
	}
	return line
}

// ---- inbox: getReceivedEdocList, countReceiveEdoc, countReceiveStatus

// dateRange reads fromDate and toDate; a date without a time in toDate
// includes that whole day.
func (h *handler) dateRange(s *signedRequest) (since, until time.Time, err *opError) {
	for _, p := range []struct {
		names []string
		to    *time.Time
		end   bool
	}{{[]string{"fromDate", "fromdate"}, &since, false}, {[]string{"toDate", "todate"}, &until, true}} {
		v, present, perr := s.param(p.names...)
		if perr != nil {
			return since, until, perr
		}
		if v = strings.TrimSpace(v); !present || v == "" {
			continue
		}
		t, dateOnly, derr := ParseDate(v, h.o.Location)
		if derr != nil {
			return since, until, fail(http.StatusBadRequest, CodeBadParameter, "%s: %v", p.names[0], derr)
		}
		if p.end && dateOnly {
			t = t.AddDate(0, 0, 1)
		} else if p.end {
			t = t.Add(time.Nanosecond) // toDate is inclusive
		}
		*p.to = t
	}
	return since, until, nil
}

type pending struct {
	item   track.Item
	organs []string
}

// pendingItems lists the items pending for any of the system's agencies,
// one per packet, oldest first; at most limit of them when limit > 0.
func (h *handler) pendingItems(s *signedRequest, kind string, since, until time.Time, limit int) ([]*pending, *opError) {
	byID := map[string]*pending{}
	var out []*pending
	for _, o := range h.organs(s.sys) {
		cursor := ""
		for {
			items, next, err := h.hub.Inbox(o, kind, 1000, cursor)
			if err != nil {
				return nil, fromHub(err)
			}
			for _, it := range items {
				if (!since.IsZero() && it.AcceptedAt.Before(since)) || (!until.IsZero() && !it.AcceptedAt.Before(until)) {
					continue
				}
				if p, seen := byID[it.ID]; seen {
					for _, og := range it.Organs {
						if !slices.Contains(p.organs, og) {
							p.organs = append(p.organs, og)
						}
					}
					continue
				}
				p := &pending{item: it, organs: slices.Clone(it.Organs)}
				byID[it.ID] = p
				out = append(out, p)
			}
			if next == "" || (limit > 0 && len(out) >= limit) {
				break
			}
			cursor = next
		}
	}
	slices.SortStableFunc(out, func(a, b *pending) int {
		if c := a.item.AcceptedAt.Compare(b.item.AcceptedAt); c != 0 {
			return c
		}
		return strings.Compare(a.item.ID, b.item.ID)
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// listParams reads what getReceivedEdocList and getSentEdocList share: the
// message type (edoc by default), servicetype (signed when sent, unused)
// and the date range.
func (h *handler) listParams(s *signedRequest) (edxml.Kind, time.Time, time.Time, *opError) {
	kind, _, err := messageType(s, edxml.KindEdoc)
	if err != nil {
		return "", time.Time{}, time.Time{}, err
	}
	if _, _, err := s.param("servicetype", "serviceType"); err != nil {
		return "", time.Time{}, time.Time{}, err
	}
	since, until, err := h.dateRange(s)
	return kind, since, until, err
}

func (h *handler) receivedList(w http.ResponseWriter, _ *http.Request, s *signedRequest) *opError {
	kind, since, until, err := h.listParams(s)
	if err != nil {
		return err
	}
	items, err := h.pendingItems(s, string(kind), since, until, h.o.ListLimit)
	if err != nil {
		return err
	}
	reply := ReceivedReply{Reply: ok(), Data: []ReceivedItem{}}
	for _, p := range items {
		it := p.item
		at := FormatTime(it.AcceptedAt, h.o.Location)
		reply.Data = append(reply.Data, ReceivedItem{DocID: it.ID, ServiceType: ServiceType, MessageType: it.Kind, From: it.From,
			To: strings.Join(p.organs, ","), Status: "initial", StatusDesc: "pending: not yet acknowledged",
			CreatedTime: at, UpdatedTime: at, DocumentID: it.DocumentID, Subject: it.Subject, Priority: it.Priority,
			SHA256: it.SHA256, Size: it.Size})
	}
	writeJSON(w, http.StatusOK, reply)
	return nil
}

func (h *handler) count(w http.ResponseWriter, s *signedRequest, kind edxml.Kind) *opError {
	items, err := h.pendingItems(s, string(kind), time.Time{}, time.Time{}, 0)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, CountReply{Reply: ok(), Count: len(items)})
	return nil
}

func (h *handler) countEdoc(w http.ResponseWriter, _ *http.Request, s *signedRequest) *opError {
	return h.count(w, s, edxml.KindEdoc)
}

func (h *handler) countStatus(w http.ResponseWriter, _ *http.Request, s *signedRequest) *opError {
	return h.count(w, s, edxml.KindStatus)
}

// ---- getEdoc, downloadEdoc, updateStatus

// worse picks the error to report when every agency of a system failed:
// the hub being down first, a forbidden one last (another agency's
// not-found says more).
func worse(a, b *opError) *opError {
	rank := func(e *opError) int {
		switch {
		case e == nil:
			return 0
		case e.Status >= 500:
			return 3
		case e.Code == codeAuthForbidden:
			return 1
		}
		return 2
	}
	if rank(b) > rank(a) {
		return b
	}
	return a
}

// fetch opens a packet for the first of the system's agencies that may
// read it. It asks as every agency, so each one the packet is pending for
// records the fetch.
func (h *handler) fetch(r *http.Request, s *signedRequest, id string) (io.ReadCloser, blob.Info, *opError) {
	var body io.ReadCloser
	var info blob.Info
	var bad *opError
	for _, o := range h.organs(s.sys) {
		rc, in, err := h.hub.Fetch(r.Context(), o, id)
		if err != nil {
			bad = worse(bad, fromHub(err))
			continue
		}
		if body != nil {
			_ = rc.Close()
			continue
		}
		body, info = rc, in
	}
	if body == nil {
		if bad == nil {
			bad = forbidden("system %s serves no agency", s.sys.ID)
		}
		return nil, info, bad
	}
	return body, info, nil
}

// fetchDocID opens the packet a getEdoc or downloadEdoc request names by
// docId (filePath, when sent, must be signed like every parameter).
func (h *handler) fetchDocID(r *http.Request, s *signedRequest) (string, io.ReadCloser, blob.Info, *opError) {
	id, err := s.need("docId", "docid")
	if err != nil {
		return "", nil, blob.Info{}, err
	}
	if _, _, err := s.param("filePath", "filepath"); err != nil {
		return "", nil, blob.Info{}, err
	}
	body, info, err := h.fetch(r, s, id)
	return id, body, info, err
}

func (h *handler) getEdoc(w http.ResponseWriter, r *http.Request, s *signedRequest) *opError {
	id, body, info, err := h.fetchDocID(r, s)
	if err != nil {
		return err
	}
	defer body.Close() //nolint:errcheck // read-only
	// Stream the base64: packets reach tens of MB. The length is known, so
	// a client can tell a reply cut short by a storage failure.
	prefix := `{"status":"OK","ErrorCode":"0","ErrorDesc":"Success","data":"`
	suffix := "\"}\n"
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.FormatInt(int64(len(prefix))+int64(base64.StdEncoding.EncodedLen(int(info.Size)))+int64(len(suffix)), 10))
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, prefix)
	enc := base64.NewEncoder(base64.StdEncoding, w)
	if _, cerr := io.Copy(enc, body); cerr != nil {
		h.o.Log.Error("vdxp getEdoc: reading the stored packet failed", "id", id, "err", cerr)
		return nil // the short body tells the client
	}
	_ = enc.Close()
	_, _ = io.WriteString(w, suffix)
	return nil
}

func (h *handler) downloadEdoc(w http.ResponseWriter, r *http.Request, s *signedRequest) *opError {
	id, body, info, err := h.fetchDocID(r, s)
	if err != nil {
		return err
	}
	defer body.Close() //nolint:errcheck // read-only
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.FormatInt(info.Size, 10))
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": id + ".edxml"}))
	if sum, err := hex.DecodeString(info.SHA256); err == nil && len(sum) == sha256.Size {
		// RFC 9530 and RFC 3230 both carry base64, not the stored hex.
		b64 := base64.StdEncoding.EncodeToString(sum)
		w.Header().Set("Content-Digest", "sha-256=:"+b64+":")
		w.Header().Set("Digest", "SHA-256="+b64)
	}
	if _, cerr := io.Copy(w, body); cerr != nil {
		h.o.Log.Error("vdxp downloadEdoc: reading the stored packet failed", "id", id, "err", cerr)
	}
	return nil
}

// updateStatus is the transport acknowledgement (FORMAT.md §8.3): done or
// fail removes the item from every pending inbox of the system; processing
// leaves it pending and records a fetch. It is never a business status.
func (h *handler) updateStatus(w http.ResponseWriter, r *http.Request, s *signedRequest) *opError {
	id, err := s.need("docid", "docId")
	if err != nil {
		return err
	}
	status, err := s.need("status")
	if err != nil {
		return err
	}
	reason, _, err := s.param("description")
	if err != nil {
		return err
	}
	switch result := strings.ToLower(status); result {
	case "done", "fail":
		var bad *opError
		acked := 0
		for _, o := range h.organs(s.sys) {
			if aerr := h.hub.Ack(r.Context(), o, id, result, reason); aerr != nil {
				bad = worse(bad, fromHub(aerr))
				continue
			}
			acked++
		}
		if acked == 0 {
			if bad == nil {
				bad = forbidden("system %s serves no agency", s.sys.ID)
			}
			return bad
		}
	case "processing":
		body, _, ferr := h.fetch(r, s, id)
		if ferr != nil {
			return ferr
		}
		_ = body.Close()
	default:
		return fail(http.StatusBadRequest, CodeBadParameter, "status must be done, fail or processing, not %q (a business status is a status packet sent with sendEdoc)", status)
	}
	writeJSON(w, http.StatusOK, ok())
	return nil
}

// ---- getSentEdocList

func (h *handler) sentList(w http.ResponseWriter, _ *http.Request, s *signedRequest) *opError {
	kind, since, until, err := h.listParams(s)
	if err != nil {
		return err
	}
	reply := SentReply{Reply: ok(), Data: []SentItem{}}
	var sent []track.Packet
	for _, o := range h.organs(s.sys) {
		ps, serr := h.outbox.Sent(o, since, until, h.o.ListLimit)
		if serr != nil {
			return fromHub(serr)
		}
		for _, p := range ps {
			if p.Kind == string(kind) && !slices.ContainsFunc(sent, func(x track.Packet) bool { return x.ID == p.ID }) {
				sent = append(sent, p)
			}
		}
	}
	slices.SortStableFunc(sent, func(a, b track.Packet) int { return a.AcceptedAt.Compare(b.AcceptedAt) })
	if len(sent) > h.o.ListLimit {
		sent = sent[:h.o.ListLimit]
	}
	for _, p := range sent {
		rows, err := h.sentRows(s, p)
		if err != nil {
			return err
		}
		reply.Data = append(reply.Data, rows...)
	}
	writeJSON(w, http.StatusOK, reply)
	return nil
}

// sentRows is a sent packet's delivery state, one row per recipient. A
// status packet has no timeline of its own: its row names where it went.
// A timeline the hub cannot read fails the list: rows made without it
// would say the packet was never delivered.
func (h *handler) sentRows(s *signedRequest, p track.Packet) ([]SentItem, *opError) {
	base := SentItem{SenderDocID: p.ID, ReceiverDocID: p.ID, FromCode: p.From, Title: p.Subject, Notation: notation(p),
		MessageType: p.Kind, ServiceType: ServiceType, SentTime: FormatTime(p.AcceptedAt, h.o.Location),
		SendStatus: track.EventAccepted, SendStatusDesc: sendStatusDesc[track.EventAccepted], DocumentID: p.DocumentID}
	if p.Kind != string(edxml.KindEdoc) {
		to := p.ResponseForOrgan
		if len(p.Endpoints) > 0 {
			to = strings.Join(p.Endpoints, ",")
		}
		base.ToCode = to
		base.Title = string(p.StatusCode)
		return []SentItem{base}, nil
	}
	var tl track.Timeline
	found := false
	for _, o := range h.organs(s.sys) {
		var err error
		if tl, err = h.hub.Timeline(o, p.ID); err == nil {
			found = true
			break
		}
		if e := fromHub(err); e.Status >= 500 {
			return nil, e
		}
	}
	if !found {
		var rows []SentItem
		for _, to := range p.To {
			row := base
			row.ToCode = to
			rows = append(rows, row)
		}
		return rows, nil
	}
	var rows []SentItem
	for _, rc := range tl.Recipients {
		row := base
		row.ToCode = rc.OrganID
		for _, e := range rc.Events {
			switch e.Type {
			case track.EventStatus:
				row.ReceiveStatus = string(e.Code)
			case track.EventAcked:
				row.SendStatus = e.Result
				if row.ReceivedTime == "" {
					row.ReceivedTime = FormatTime(e.At, h.o.Location)
				}
			default:
				if row.SendStatus != "done" && row.SendStatus != "fail" {
					row.SendStatus = e.Type
				}
				if e.Type == track.EventFetched && row.ReceivedTime == "" {
					row.ReceivedTime = FormatTime(e.At, h.o.Location)
				}
			}
		}
		row.SendStatusDesc = sendStatusDesc[row.SendStatus]
		row.ReceiveStatusDesc = statusDesc(edxml.StatusCode(row.ReceiveStatus))
		rows = append(rows, row)
	}
	return rows, nil
}

// notation is "số, ký hiệu" when the DocumentId follows the convention
// {From},{yyyy/MM/dd},{CodeNumber}/{CodeNotation} (FORMAT.md §7.2); the
// view keeps no Code of its own. Display only: never used to route.
func notation(p track.Packet) string {
	parts := strings.SplitN(p.DocumentID, ",", 3)
	if len(parts) != 3 || parts[0] != p.From || !strings.Contains(parts[2], "/") {
		return ""
	}
	return parts[2]
}

var sendStatusDesc = map[string]string{
	track.EventAccepted:  "accepted by the hub",
	track.EventRouted:    "routed to the recipient's inbox",
	track.EventDelivered: "waiting in the recipient's inbox",
	track.EventFetched:   "fetched by the recipient",
	"done":               "received: the recipient acknowledged it (done)",
	"fail":               "the recipient could not process it (fail)",
}

// statusDesc describes a business status for getSentEdocList: the
// standard's name with the SDK's label, "Đã đến (inbox)".
func statusDesc(code edxml.StatusCode) string {
	switch {
	case code == "":
		return "no business status yet"
	case !code.Valid():
		return ""
	}
	return code.Name() + " (" + code.Label() + ")"
}

// ---- getAgenciesList

func (h *handler) agencies(w http.ResponseWriter, _ *http.Request, _ *signedRequest) *opError {
	reply := AgenciesReply{Reply: ok(), Data: []Agency{}}
	centers, _ := h.systems.(SystemOfOrgan)
	for _, a := range h.dir.Agencies() {
		ag := Agency{ID: string(a.ID), Code: string(a.ID), Name: a.Name, IsAgency: true, Version: 1, Status: 1}
		if p, ok := h.dir.ParentOf(a.ID); ok {
			ag.PID = string(p)
		}
		if a.ID.Form() == organ.Form2016 {
			ag.Code102 = string(a.ID)
		}
		var old []string
		for _, al := range a.Aliases {
			old = append(old, string(al))
		}
		ag.OldCode = strings.Join(old, ",")
		if centers != nil {
			if c, ok := centers.SystemOf(string(a.ID)); ok {
				ag.CenterCode = c
			}
		}
		reply.Data = append(reply.Data, ag)
	}
	writeJSON(w, http.StatusOK, reply)
	return nil
}
