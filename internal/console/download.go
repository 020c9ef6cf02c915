package console

import (
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/lienthong/lienthong/internal/edxml"
)

// file streams the n-th attachment of a packet, decoded. The hub's Fetch
// decides who may read the packet (its sender and recipients). The packet
// is read twice: once for the attachment's metadata, which may follow its
// content, and once to stream the content to the response. With
// ?inline=1 a PDF (by its bytes) is served for the document page's
// preview frame; anything else is a download whatever the query says.
func (s *server) file(w http.ResponseWriter, r *http.Request, u *Account, ss *session) {
	id := r.PathValue("id")
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 0 {
		s.fail(w, r, u, ss, http.StatusNotFound, "not_found", "")
		return
	}
	pk, err := s.load(r.Context(), u.OrganID, id)
	if err != nil {
		s.failHub(w, r, u, ss, err)
		return
	}
	if n >= len(pk.Attachments) {
		s.fail(w, r, u, ss, http.StatusNotFound, "not_found", "")
		return
	}
	a := pk.Attachments[n]
	rc, _, err := s.o.Hub.Fetch(r.Context(), u.OrganID, id)
	if err != nil {
		s.failHub(w, r, u, ss, err)
		return
	}
	defer rc.Close() //nolint:errcheck // read only
	h := w.Header()
	if r.URL.Query().Get("inline") == "1" && a.Format == "pdf" {
		h.Set("Content-Type", "application/pdf")
		h.Set("Content-Disposition", disposition("inline", a.AttachmentName, n))
		// Only this response may be framed, and by the console only.
		h.Set("Content-Security-Policy", framedCSP)
		h.Set("X-Frame-Options", "SAMEORIGIN")
	} else {
		h.Set("Content-Type", attachmentType(a.ContentType))
		h.Set("Content-Disposition", contentDisposition(a.AttachmentName, n))
	}
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private, no-store")
	h.Set("Content-Length", strconv.FormatInt(a.Size, 10))
	w.WriteHeader(http.StatusOK)
	_, err = edxml.Parse(rc, edxml.Options{NoZipCheck: true, Attachment: func(i int) (io.Writer, error) {
		if i == n {
			return w, nil
		}
		return io.Discard, nil
	}})
	if err != nil {
		// The headers are sent: the client sees a short body.
		s.o.Log.Warn("console: attachment download", "packet", id, "n", n, "organ", u.OrganID, "err", err)
		return
	}
	s.o.Log.Info("console: attachment downloaded", "packet", id, "n", n, "organ", u.OrganID, "user", u.Username)
}

// attachmentType is the attachment's declared media type when it parses
// and cannot run in a browser, else application/octet-stream: the sender
// chooses it, and a text/html or SVG file must never render on the
// console's origin, whatever the disposition.
func attachmentType(ct string) string {
	ct = strings.TrimSpace(ct)
	if ct == "" {
		return "application/octet-stream"
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || !strings.Contains(mt, "/") || activeType(mt) {
		return "application/octet-stream"
	}
	return mime.FormatMediaType(mt, params)
}

func activeType(mt string) bool {
	switch {
	case strings.HasPrefix(mt, "text/"), strings.Contains(mt, "html"), strings.Contains(mt, "xml"),
		strings.Contains(mt, "javascript"), strings.Contains(mt, "ecmascript"), mt == "image/svg+xml":
		return true
	}
	return false
}

// fileName makes a sender's AttachmentName safe as a download's name: the
// last path element, without control or format characters, at most 200
// bytes; "tep-dinh-kem-{n}" when nothing is left.
func fileName(name string, n int) string {
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	name = strings.Map(func(r rune) rune {
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.In(r, unicode.Cf) || r == '"' {
			return -1
		}
		return r
	}, name)
	name = strings.TrimLeft(strings.TrimSpace(name), ".")
	for len(name) > 200 {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	if name == "" || name == "/" {
		name = "tep-dinh-kem-" + strconv.Itoa(n)
	}
	return name
}

// framedCSP is the console's policy with frame-ancestors 'self': for a
// PDF preview, which the document page frames.
const framedCSP = "default-src 'self'; frame-ancestors 'self'; form-action 'self'; base-uri 'none'"

// contentDisposition is an attachment disposition with an ASCII filename
// and the exact one in RFC 6266's extended filename* parameter (UTF-8,
// percent-encoded).
func contentDisposition(name string, n int) string { return disposition("attachment", name, n) }

// disposition is contentDisposition with the type given (attachment or
// inline).
func disposition(typ, name string, n int) string {
	name = fileName(name, n)
	var ascii, ext strings.Builder
	for _, r := range name {
		if r < 0x80 && r >= 0x20 && r != '\\' && r != '"' {
			ascii.WriteRune(r)
		} else {
			ascii.WriteByte('_')
		}
	}
	for _, b := range []byte(name) {
		if attrChar(b) {
			ext.WriteByte(b)
		} else {
			ext.WriteString("%" + strings.ToUpper(strconv.FormatUint(uint64(b)|0x100, 16)[1:]))
		}
	}
	return typ + `; filename="` + ascii.String() + `"; filename*=UTF-8''` + ext.String()
}

// attrChar is RFC 5987's attr-char.
func attrChar(b byte) bool {
	switch {
	case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9':
		return true
	}
	return strings.IndexByte("!#$&+-.^_`|~", b) >= 0
}
