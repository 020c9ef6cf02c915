package console

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lienthong/lienthong/internal/edxml"
	"github.com/lienthong/lienthong/internal/hub"
	"github.com/lienthong/lienthong/internal/organ"
	"github.com/lienthong/lienthong/internal/pdfsig"
)

// Bounds of the compose form.
const (
	defaultMaxUpload = 50 << 20
	maxFiles         = 20
	maxParts         = 200
	maxField         = 4 << 10
)

// docTypes are the administrative document types of Nghị định 30/2020
// (Phụ lục III), the names a clerk picks from; the packet carries the
// name as DocumentType/TypeName.
var docTypes = []string{
	"Nghị quyết", "Quyết định", "Chỉ thị", "Quy chế", "Quy định", "Thông cáo", "Thông báo", "Hướng dẫn",
	"Chương trình", "Kế hoạch", "Phương án", "Đề án", "Dự án", "Báo cáo", "Biên bản", "Tờ trình", "Hợp đồng",
	"Công văn", "Công điện", "Bản ghi nhớ", "Bản thỏa thuận", "Giấy ủy quyền", "Giấy mời", "Giấy giới thiệu",
	"Giấy nghỉ phép", "Phiếu gửi", "Phiếu chuyển", "Phiếu báo", "Thư công",
}

// docTypeCode is the DocumentType/Type of every composed document: 1, an
// administrative document (FORMAT.md: the code validators accept).
const docTypeCode = "1"

// composeForm is what a clerk typed, kept to show the form again.
type composeForm struct {
	To             []string
	Number         string
	Notation       string
	Subject        string
	TypeName       string
	Priority       string
	Due            string // as typed; dd/MM/yyyy once checked
	SignerName     string
	SignerPosition string
	// Seal is how the agency's key signs inside each PDF before the
	// packet is built: visible (a box on the last page), invisible, or
	// none (the files are signed already).
	Seal string

	due time.Time // Due, parsed by checkCompose
}

type option struct {
	Value, Label string
	Selected     bool
}

type composeView struct {
	Hosted     bool
	CanSeal    bool // the hub's PDF engine is on: the form offers to sign inside the PDFs
	Form       composeForm
	Recipients []option // from the directory; empty without one
	Selected   int      // how many recipients are ticked
	Types      []option
	Priorities []option
	MaxMB      int64 // the limit in binary megabytes, written "MB" as a clerk says it
	MaxBytes   int64
}

// upload is one PDF spooled to disk.
type upload struct {
	name string
	path string
}

func (s *server) maxUpload() int64 {
	if s.o.MaxUpload > 0 {
		return s.o.MaxUpload
	}
	return defaultMaxUpload
}

func (s *server) composeGet(w http.ResponseWriter, r *http.Request, u *Account, ss *session) {
	s.composePage(w, r, u, ss, http.StatusOK, composeForm{TypeName: "Công văn", Priority: "0", Seal: sealVisible}, "", "")
}

func (s *server) composePage(w http.ResponseWriter, r *http.Request, u *Account, ss *session, status int, f composeForm, errKey, detail string) {
	p := s.page(w, r, u, ss)
	p.Title = p.M.T("compose")
	if errKey != "" {
		p.Error = p.M.T(errKey)
		if detail != "" {
			p.Error += " (" + detail + ")"
		}
	}
	_, hosted := s.o.Signers[u.OrganID]
	v := &composeView{Hosted: hosted, CanSeal: s.o.PDF != nil, Form: f, MaxMB: s.maxUpload() >> 20, MaxBytes: s.maxUpload()}
	if s.o.Directory != nil {
		for _, a := range s.o.Directory.Agencies() {
			if string(a.ID) == u.OrganID {
				continue
			}
			o := option{Value: string(a.ID), Label: cmp.Or(a.Name, string(a.ID)), Selected: slices.Contains(f.To, string(a.ID))}
			if o.Selected {
				v.Selected++
			}
			v.Recipients = append(v.Recipients, o)
		}
	}
	for _, t := range docTypes {
		v.Types = append(v.Types, option{Value: t, Label: t, Selected: f.TypeName == t})
	}
	for i := range 5 {
		n := strconv.Itoa(i)
		v.Priorities = append(v.Priorities, option{Value: n, Label: p.M.T("prio" + n), Selected: f.Priority == n})
	}
	p.Compose = v
	s.render(w, status, "compose", p)
}

// clerkUpload is clerk for a multipart POST: the handler checks the CSRF
// token, which must come before any file in the form.
func (s *server) clerkUpload(next func(http.ResponseWriter, *http.Request, *Account, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, ss := s.current(r)
		if u == nil {
			s.fail(w, r, nil, nil, http.StatusForbidden, "csrf", "")
			return
		}
		if u.Role != RoleClerk || u.OrganID == "" {
			s.fail(w, r, u, ss, http.StatusForbidden, "clerks_only", "")
			return
		}
		next(w, r, u, ss)
	}
}

// formError is a refusal of the form, shown on it.
type formError struct{ key, detail string }

func (e *formError) Error() string { return e.key }

func (s *server) composePost(w http.ResponseWriter, r *http.Request, u *Account, ss *session) {
	_, hosted := s.o.Signers[u.OrganID]
	// Every local failure below (disk full, I/O) is 503: the letter is not
	// the clerk's fault and trying again may work.
	dir, err := os.MkdirTemp(s.o.SpoolDir, "lienthong-compose-")
	if err != nil {
		s.o.Log.Error("console: compose", "err", err)
		s.fail(w, r, u, ss, http.StatusServiceUnavailable, "unavailable", "")
		return
	}
	defer os.RemoveAll(dir) //nolint:errcheck // temporary
	f, files, csrfOK, err := s.readCompose(w, r, ss.csrf, dir)
	if !csrfOK {
		s.fail(w, r, u, ss, http.StatusForbidden, "csrf", "")
		return
	}
	if !hosted {
		s.fail(w, r, u, ss, http.StatusForbidden, "compose_no_key", "")
		return
	}
	if err == nil {
		err = s.checkCompose(&f, u, files)
	}
	var fe *formError
	switch {
	case errors.As(err, &fe):
		status := http.StatusBadRequest
		if fe.key == "too_large" {
			status = http.StatusRequestEntityTooLarge
		}
		s.composePage(w, r, u, ss, status, f, fe.key, fe.detail)
		return
	case err != nil:
		s.o.Log.Error("console: compose", "err", err)
		s.fail(w, r, u, ss, http.StatusServiceUnavailable, "unavailable", "")
		return
	}
	now := s.o.Now()
	if err := s.seal(r.Context(), u, f.Seal, files, now); err != nil {
		if errors.As(err, &fe) {
			s.composePage(w, r, u, ss, http.StatusUnprocessableEntity, f, fe.key, fe.detail)
			return
		}
		s.o.Log.Error("console: compose: seal", "organ", u.OrganID, "err", err)
		s.fail(w, r, u, ss, http.StatusServiceUnavailable, "unavailable", "")
		return
	}
	pk, err := s.buildEdoc(u, f, files, now)
	if err != nil {
		s.o.Log.Error("console: compose", "err", err)
		s.fail(w, r, u, ss, http.StatusInternalServerError, "unavailable", "")
		return
	}
	packet := filepath.Join(dir, "packet.xml")
	if err := writePacket(packet, pk, files); err != nil {
		s.o.Log.Error("console: compose", "err", err)
		s.fail(w, r, u, ss, http.StatusServiceUnavailable, "unavailable", "")
		return
	}
	in, err := os.Open(packet)
	if err != nil {
		s.fail(w, r, u, ss, http.StatusServiceUnavailable, "unavailable", "")
		return
	}
	defer in.Close() //nolint:errcheck // read only
	rc, err := s.submit(r.Context(), u, edxml.KindEdoc, in)
	if err != nil {
		var he *hub.Error
		if !errors.As(err, &he) {
			s.o.Log.Error("console: compose: submit", "organ", u.OrganID, "err", err) // signing included
			s.fail(w, r, u, ss, http.StatusInternalServerError, "unavailable", "")
			return
		}
		s.o.Log.Warn("console: compose refused", "organ", u.OrganID, "code", he.Code, "message", he.Message)
		s.composePage(w, r, u, ss, he.Status, f, "send_refused", he.Code+": "+he.Message)
		return
	}
	s.o.Log.Info("console: document sent", "packet", rc.ID, "organ", u.OrganID, "user", u.Username, "to", rc.To)
	http.Redirect(w, r, "/outbox?new="+url.QueryEscape(rc.ID), http.StatusSeeOther)
}

// How the agency's key signs inside the PDFs (composeForm.Seal).
const (
	sealVisible   = "visible"
	sealInvisible = "invisible"
	sealNone      = "none"
)

// seal signs each spooled PDF with the agency's hosted key, in place, as
// the issuing organ seals a letter (Nghị định 30/2020) before it is sent.
// A file the signer refuses (encrypted, with form fields, damaged) is the
// clerk's to fix: a formError naming it.
func (s *server) seal(ctx context.Context, u *Account, how string, files []upload, now time.Time) error {
	if how == sealNone || len(files) == 0 {
		return nil
	}
	if s.o.PDF == nil {
		return &formError{key: "seal_off"}
	}
	sg := s.o.Signers[u.OrganID]
	e, err := s.o.PDF.Engine(ctx)
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := sealFile(ctx, e, f.path, pdfsig.SignOptions{Cert: sg.Cert, Chain: sg.Chain, Key: sg.Key,
			Reason: "Ban hành văn bản", Time: now, Visible: how == sealVisible}); err != nil {
			var pe *pdfsig.Error
			if errors.As(err, &pe) {
				return &formError{key: "seal_failed", detail: f.name + " (" + pe.Code + ")"}
			}
			return err
		}
	}
	return nil
}

func sealFile(ctx context.Context, e *pdfsig.Engine, path string, o pdfsig.SignOptions) error {
	in, err := os.Open(path)
	if err != nil {
		return err
	}
	defer in.Close() //nolint:errcheck // read-only
	st, err := in.Stat()
	if err != nil {
		return err
	}
	var out bytes.Buffer
	if err := e.Sign(ctx, &out, in, st.Size(), o); err != nil {
		return err
	}
	return os.WriteFile(path, out.Bytes(), 0o600)
}

// readCompose streams the multipart form: fields into f, PDFs into dir.
// csrfOK tells whether the form's token (before any file) matched.
func (s *server) readCompose(w http.ResponseWriter, r *http.Request, want, dir string) (f composeForm, files []upload, csrfOK bool, err error) {
	limit := s.maxUpload()
	r.Body = http.MaxBytesReader(w, r.Body, limit+1<<20)
	mr, err := r.MultipartReader()
	if err != nil {
		return f, nil, false, nil
	}
	var total int64
	for parts := 0; ; parts++ {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return f, files, csrfOK, nil
		}
		if err != nil {
			return f, files, csrfOK, tooLarge(err)
		}
		if parts == maxParts {
			return f, files, csrfOK, &formError{key: "bad_request"}
		}
		name := part.FormName()
		if part.FileName() == "" {
			b, err := io.ReadAll(io.LimitReader(part, maxField+1))
			if err != nil {
				return f, files, csrfOK, tooLarge(err)
			}
			if len(b) > maxField || !utf8.Valid(b) {
				return f, files, csrfOK, &formError{key: "bad_field"}
			}
			v := strings.TrimSpace(string(b))
			if name == "csrf" {
				csrfOK = sameToken(v, want)
			}
			if !csrfOK {
				return f, nil, false, nil
			}
			setField(&f, name, v)
			continue
		}
		if !csrfOK {
			return f, nil, false, nil
		}
		if name != "files" {
			continue
		}
		if len(files) == maxFiles {
			return f, files, true, &formError{key: "too_many_files"}
		}
		up, n, err := spoolPDF(part, dir, len(files), limit-total)
		total += n
		if err != nil {
			return f, files, true, err
		}
		if up == nil { // an empty file input
			continue
		}
		files = append(files, *up)
	}
}

func tooLarge(err error) error {
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		return &formError{key: "too_large"}
	}
	return &formError{key: "bad_request"}
}

func setField(f *composeForm, name, v string) {
	switch name {
	case "to":
		for _, id := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\r' || r == '\t' }) {
			if !slices.Contains(f.To, id) {
				f.To = append(f.To, id)
			}
		}
	case "number":
		f.Number = v
	case "notation":
		f.Notation = v
	case "subject":
		f.Subject = v
	case "type_name":
		f.TypeName = v
	case "priority":
		f.Priority = v
	case "due":
		f.Due = v
	case "signer_name":
		f.SignerName = v
	case "signer_position":
		f.SignerPosition = v
	case "seal":
		f.Seal = v
	}
}

// spoolPDF copies one uploaded file to dir, at most room bytes, and
// refuses it unless it starts with %PDF-. It returns nil for an empty part.
func spoolPDF(part *multipart.Part, dir string, i int, room int64) (*upload, int64, error) {
	name := fileName(part.FileName(), i)
	head := make([]byte, 5)
	k, err := io.ReadFull(part, head)
	switch {
	case k == 0 && errors.Is(err, io.EOF):
		return nil, 0, nil
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return nil, int64(k), &formError{key: "not_pdf", detail: name}
	case err != nil:
		return nil, int64(k), tooLarge(err)
	}
	if !bytes.Equal(head, []byte("%PDF-")) {
		return nil, int64(k), &formError{key: "not_pdf", detail: name}
	}
	p := filepath.Join(dir, strconv.Itoa(i)+".pdf")
	out, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, int64(k), err
	}
	defer out.Close() //nolint:errcheck // closed below on success
	if _, err := out.Write(head); err != nil {
		return nil, int64(k), err
	}
	n, err := io.Copy(out, io.LimitReader(part, room-int64(k)+1))
	n += int64(k)
	if err != nil {
		return nil, n, tooLarge(err)
	}
	if n > room {
		return nil, n, &formError{key: "too_large"}
	}
	if err := out.Close(); err != nil {
		return nil, n, err
	}
	return &upload{name: name, path: p}, n, nil
}

// checkCompose validates the form; recipients must be in the directory
// when the console has one, and valid OrganIds otherwise.
func (s *server) checkCompose(f *composeForm, u *Account, files []upload) error {
	if len(f.To) == 0 {
		return &formError{key: "need_recipient"}
	}
	for i, id := range f.To {
		if s.o.Directory != nil {
			a, ok := s.o.Directory.Lookup(organ.ID(id))
			if !ok {
				return &formError{key: "bad_recipient", detail: id}
			}
			f.To[i] = string(a.ID)
		} else if _, err := organ.Parse(id); err != nil {
			return &formError{key: "bad_recipient", detail: id}
		}
		if f.To[i] == u.OrganID {
			return &formError{key: "bad_recipient", detail: id}
		}
	}
	if f.Seal == "" { // a form without the choice: the console cannot seal
		f.Seal = sealNone
	}
	if !slices.Contains([]string{sealVisible, sealInvisible, sealNone}, f.Seal) {
		return &formError{key: "bad_request"}
	}
	switch {
	case f.Number == "" || len(f.Number) > 50 || strings.ContainsAny(f.Number, ",/"):
		return &formError{key: "bad_number"}
	case f.Notation == "" || len(f.Notation) > 100 || strings.Contains(f.Notation, ","):
		return &formError{key: "bad_notation"}
	case f.Subject == "":
		return &formError{key: "need_subject"}
	case utf8.RuneCountInString(f.Subject) > 500:
		return &formError{key: "subject_too_long"}
	}
	if !slices.Contains(docTypes, f.TypeName) {
		return &formError{key: "bad_type"}
	}
	if n, err := strconv.Atoi(f.Priority); err != nil || n < 0 || n > 4 {
		return &formError{key: "bad_priority"}
	}
	if f.Due != "" {
		d, ok := parseDue(f.Due)
		if !ok {
			return &formError{key: "bad_due"}
		}
		f.due, f.Due = d, d.Format("02/01/2006")
	}
	if len(files) == 0 {
		return &formError{key: "need_file"}
	}
	return nil
}

// buildEdoc makes a new document (business type 0) from the form.
func (s *server) buildEdoc(u *Account, f composeForm, files []upload, now time.Time) (*edxml.Packet, error) {
	date := edxml.FormatDate(now)
	docID := u.OrganID + "," + date + "," + f.Number + "/" + f.Notation
	h := &edxml.Header{
		From:         edxml.Organization{OrganID: u.OrganID, OrganName: s.organLabel(u.OrganID), OrganizationInCharge: s.organLabel(u.OrganID)},
		DocumentID:   docID,
		Code:         edxml.Code{Number: f.Number, Notation: f.Notation},
		Promulgation: edxml.Promulgation{Date: date},
		DocumentType: edxml.DocumentType{Type: docTypeCode, TypeName: f.TypeName},
		Subject:      f.Subject,
		Signer:       edxml.Signer{FullName: f.SignerName, Position: f.SignerPosition},
		OtherInfo:    edxml.OtherInfo{Priority: f.Priority},
	}
	if !f.due.IsZero() {
		h.DueDate = f.due.Format("2006/01/02")
	}
	for _, id := range f.To {
		h.To = append(h.To, edxml.Organization{OrganID: id, OrganName: s.organLabel(id)})
	}
	pk := &edxml.Packet{Kind: edxml.KindEdoc, Header: h, Trace: &edxml.Trace{
		Headers: []edxml.TraceHeader{{OrganID: u.OrganID, Timestamp: edxml.FormatTimestamp(now)}},
		Business: &edxml.Business{DocumentID: docID, DocType: "0", DocReason: "Văn bản điện tử mới", Paper: "0",
			Staff: edxml.StaffInfo{Staff: u.Username}},
	}}
	for _, up := range files {
		cid, err := contentID()
		if err != nil {
			return nil, err
		}
		pk.AddFile(cid, up.name, "", "application/pdf")
	}
	return pk, nil
}

// parseDue reads a due date as a Vietnamese clerk writes it, d/M/yyyy,
// or as a browser's date field sends it, yyyy-MM-dd, or as a packet
// has it, yyyy/MM/dd.
func parseDue(v string) (time.Time, bool) {
	for _, layout := range []string{"2/1/2006", "2006-01-02"} {
		if d, err := time.ParseInLocation(layout, v, edxml.Zone); err == nil {
			return d, true
		}
	}
	d, _, err := edxml.ParseDate(v)
	return d, err == nil
}

func contentID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b) + "@lienthong", nil
}

// writePacket writes pk to name with the spooled files as its content.
func writePacket(name string, pk *edxml.Packet, files []upload) error {
	out, err := os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	err = edxml.Write(out, pk, func(i int) (io.Reader, error) { return os.Open(files[i].path) })
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}
