package edxml

import (
	"bufio"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// AddFile appends a manifest Reference and an Attachment with the same
// metadata to an edoc; Write takes the content.
func (p *Packet) AddFile(contentID, name, description, contentType string) {
	p.References = append(p.References, Reference{ContentID: contentID, ContentType: contentType, Description: description, AttachmentName: name})
	p.Attachments = append(p.Attachments, Attachment{ContentID: contentID, AttachmentName: name, Description: description, ContentType: contentType})
}

// Write writes p as an edXML packet in the shape the axis's Java SDK
// produces: the edXML prefix on envelope, header and manifest, Attachment
// unprefixed, fields in the SDK's order, unused fields as empty elements,
// base64 on one line. content(i) supplies the bytes of p.Attachments[i];
// it may be nil for a packet without attachments. Size, SHA256 and Format
// in the model are ignored.
func Write(w io.Writer, p *Packet, content func(i int) (io.Reader, error)) error {
	bw := bufio.NewWriterSize(w, 32<<10)
	x := &xmlWriter{w: bw}
	x.raw(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	x.raw(`<edXML xmlns="` + Namespace + `">` + "\n")
	x.depth = 1
	x.openAttr("edXML:edXMLEnvelope", ` xmlns:edXML="`+Namespace+`"`)
	x.open("edXML:edXMLHeader")
	switch p.Kind {
	case KindEdoc:
		if p.Header == nil {
			return errors.New("write packet: an edoc needs a Header")
		}
		x.edocHeader(p.Header)
		x.trace(p.Trace)
	case KindStatus:
		if p.Status == nil {
			return errors.New("write packet: a status needs a Status")
		}
		x.status(p.Status)
	default:
		return fmt.Errorf("write packet: unknown kind %q", p.Kind)
	}
	if len(p.Signature) > 0 {
		x.indent()
		x.raw(strings.TrimSpace(strings.TrimPrefix(string(p.Signature), `<?xml version="1.0" encoding="UTF-8"?>`)))
		x.raw("\n")
	}
	x.close("edXML:edXMLHeader")
	if p.Kind == KindEdoc && len(p.References) > 0 {
		x.open("edXML:edXMLBody")
		x.openAttr("edXML:edXMLManifest", ` version="1.0"`)
		for _, r := range p.References {
			x.open("edXML:Reference")
			x.leaf("edXML:ContentId", "cid:"+r.ContentID)
			x.leaf("edXML:ContentType", r.ContentType)
			x.leaf("edXML:Description", r.Description)
			x.leaf("edXML:AttachmentName", r.AttachmentName)
			x.close("edXML:Reference")
		}
		x.close("edXML:edXMLManifest")
		x.close("edXML:edXMLBody")
	}
	x.close("edXML:edXMLEnvelope")
	if p.Kind == KindEdoc && len(p.Attachments) > 0 {
		x.open("AttachmentEncoded")
		for i, a := range p.Attachments {
			x.open("Attachment")
			x.leaf("ContentId", "cid:"+a.ContentID)
			x.leaf("AttachmentName", a.AttachmentName)
			x.leaf("Description", a.Description)
			x.leaf("ContentType", a.ContentType)
			x.indent()
			x.raw("<ContentTransferEncoded>")
			if x.err == nil && content != nil {
				x.err = encodeContent(bw, i, content)
			}
			x.raw("</ContentTransferEncoded>\n")
			x.close("Attachment")
		}
		x.close("AttachmentEncoded")
	}
	x.raw("</edXML>\n")
	if x.err != nil {
		return fmt.Errorf("write packet: %w", x.err)
	}
	return bw.Flush()
}

func encodeContent(w io.Writer, i int, content func(int) (io.Reader, error)) error {
	r, err := content(i)
	if err != nil || r == nil {
		return err
	}
	enc := base64.NewEncoder(base64.StdEncoding, w)
	if _, err := io.Copy(enc, r); err != nil {
		return fmt.Errorf("attachment %d: %w", i, err)
	}
	if c, ok := r.(io.Closer); ok {
		c.Close() //nolint:errcheck // read side
	}
	return enc.Close()
}

func (x *xmlWriter) org(name string, o Organization) {
	x.open(name)
	x.leaf("edXML:OrganId", o.OrganID)
	x.leaf("edXML:OrganizationInCharge", o.OrganizationInCharge)
	x.leaf("edXML:OrganName", o.OrganName)
	x.leaf("edXML:OrganAdd", o.OrganAdd)
	x.leaf("edXML:Email", o.Email)
	x.leaf("edXML:Telephone", o.Telephone)
	x.leaf("edXML:Fax", o.Fax)
	x.leaf("edXML:Website", o.Website)
	x.close(name)
}

func (x *xmlWriter) staff(s StaffInfo) {
	x.open("edXML:StaffInfo")
	x.leaf("edXML:Department", s.Department)
	x.leaf("edXML:Staff", s.Staff)
	x.leaf("edXML:Email", s.Email)
	x.leaf("edXML:Mobile", s.Mobile)
	x.close("edXML:StaffInfo")
}

func (x *xmlWriter) responseFor(r ResponseFor) {
	if r.IsZero() {
		x.leaf("edXML:ResponseFor", "")
		return
	}
	x.open("edXML:ResponseFor")
	x.leaf("edXML:OrganId", r.OrganID)
	x.leaf("edXML:Code", r.Code)
	x.leaf("edXML:PromulgationDate", r.PromulgationDate)
	x.leaf("edXML:DocumentId", r.DocumentID)
	x.close("edXML:ResponseFor")
}

func (x *xmlWriter) edocHeader(h *Header) {
	x.open("edXML:MessageHeader")
	x.org("edXML:From", h.From)
	for _, to := range h.To {
		x.org("edXML:To", to)
	}
	x.leaf("edXML:DocumentId", h.DocumentID)
	x.open("edXML:Code")
	x.leaf("edXML:CodeNumber", h.Code.Number)
	x.leaf("edXML:CodeNotation", h.Code.Notation)
	x.close("edXML:Code")
	x.open("edXML:PromulgationInfo")
	x.leaf("edXML:Place", h.Promulgation.Place)
	x.leaf("edXML:PromulgationDate", h.Promulgation.Date)
	x.close("edXML:PromulgationInfo")
	x.open("edXML:DocumentType")
	x.leaf("edXML:Type", h.DocumentType.Type)
	x.leaf("edXML:TypeDetail", h.DocumentType.TypeDetail)
	x.leaf("edXML:TypeName", h.DocumentType.TypeName)
	x.close("edXML:DocumentType")
	x.leaf("edXML:Subject", h.Subject)
	x.leaf("edXML:Content", h.Content)
	x.open("edXML:SignerInfo")
	x.leaf("edXML:Competence", h.Signer.Competence)
	x.leaf("edXML:Position", h.Signer.Position)
	x.leaf("edXML:FullName", h.Signer.FullName)
	x.close("edXML:SignerInfo")
	x.leaf("edXML:DueDate", h.DueDate)
	o := h.OtherInfo
	x.open("edXML:OtherInfo")
	x.leaf("edXML:Priority", o.Priority)
	x.leaf("edXML:SphereOfPromulgation", o.SphereOfPromulgation)
	x.leaf("edXML:TyperNotation", o.TyperNotation)
	x.leaf("edXML:PromulgationAmount", o.PromulgationAmount)
	x.leaf("edXML:PageAmount", o.PageAmount)
	x.leaf("edXML:Direction", o.Direction)
	if len(o.Appendixes) > 0 {
		x.open("edXML:Appendixes")
		for _, a := range o.Appendixes {
			x.leaf("edXML:Appendix", a)
		}
		x.close("edXML:Appendixes")
	}
	x.close("edXML:OtherInfo")
	if len(h.ResponseFor) == 0 {
		x.responseFor(ResponseFor{})
	}
	for _, r := range h.ResponseFor {
		x.responseFor(r)
	}
	x.leaf("edXML:SteeringType", h.SteeringType)
	if len(h.ToPlaces) > 0 {
		x.open("edXML:ToPlaces")
		for _, p := range h.ToPlaces {
			x.leaf("edXML:Place", p)
		}
		x.close("edXML:ToPlaces")
	}
	x.close("edXML:MessageHeader")
}

func (x *xmlWriter) trace(t *Trace) {
	if t == nil {
		return
	}
	x.open("edXML:TraceHeaderList")
	for _, th := range t.Headers {
		x.open("edXML:TraceHeader")
		x.leaf("edXML:OrganId", th.OrganID)
		x.leaf("edXML:Timestamp", th.Timestamp)
		x.close("edXML:TraceHeader")
	}
	if b := t.Business; b != nil {
		x.open("edXML:Bussiness")
		x.leaf("edXML:DocumentId", b.DocumentID)
		x.leaf("edXML:BussinessDocType", b.DocType)
		x.leaf("edXML:BussinessDocReason", b.DocReason)
		x.leaf("edXML:Paper", b.Paper)
		x.staff(b.Staff)
		if info := b.DocumentInfo; info != nil {
			x.open("edXML:BussinessDocumentInfo")
			x.leaf("edXML:DocumentInfo", info.DocumentInfo)
			x.leaf("edXML:DocumentReceiver", info.DocumentReceiver)
			x.open("edXML:ReceiverList")
			for _, r := range info.Receivers {
				x.open("edXML:Receiver")
				x.leaf("edXML:ReceiverType", r.ReceiverType)
				x.leaf("edXML:OrganId", r.OrganID)
				x.close("edXML:Receiver")
			}
			x.close("edXML:ReceiverList")
			x.close("edXML:BussinessDocumentInfo")
		}
		if len(b.Replacements) > 0 {
			x.open("edXML:ReplacementInfoList")
			for _, r := range b.Replacements {
				x.open("edXML:ReplacementInfo")
				x.leaf("edXML:DocumentId", r.DocumentID)
				x.open("edXML:OrganIdList")
				for _, id := range r.OrganIDs {
					x.leaf("edXML:OrganId", id)
				}
				x.close("edXML:OrganIdList")
				x.close("edXML:ReplacementInfo")
			}
			x.close("edXML:ReplacementInfoList")
		}
		x.close("edXML:Bussiness")
	}
	x.close("edXML:TraceHeaderList")
}

func (x *xmlWriter) status(s *Status) {
	x.open("edXML:MessageHeader")
	x.org("edXML:From", s.From)
	x.responseFor(s.ResponseFor)
	x.staff(s.Staff)
	x.leaf("edXML:StatusCode", string(s.StatusCode))
	x.leaf("edXML:Description", s.Description)
	x.leaf("edXML:Timestamp", s.Timestamp)
	x.close("edXML:MessageHeader")
}

// xmlWriter writes indented markup; the first error sticks.
type xmlWriter struct {
	w     *bufio.Writer
	depth int
	err   error
}

func (x *xmlWriter) raw(s string) {
	if x.err == nil {
		_, x.err = x.w.WriteString(s)
	}
}

func (x *xmlWriter) indent() { x.raw(strings.Repeat("  ", x.depth)) }

func (x *xmlWriter) open(name string) { x.openAttr(name, "") }

func (x *xmlWriter) openAttr(name, attrs string) {
	x.indent()
	x.raw("<" + name + attrs + ">\n")
	x.depth++
}

func (x *xmlWriter) close(name string) {
	x.depth--
	x.indent()
	x.raw("</" + name + ">\n")
}

func (x *xmlWriter) leaf(name, text string) {
	x.indent()
	if text == "" {
		x.raw("<" + name + "/>\n")
		return
	}
	x.raw("<" + name + ">")
	x.text(text)
	x.raw("</" + name + ">\n")
}

func (x *xmlWriter) text(s string) { x.raw(escape(x, s)) }

// escape escapes s for XML text; a character XML cannot carry is an error
// (kept in x), not dropped.
func escape(x *xmlWriter, s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '\r':
			b.WriteString("&#xD;")
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"), !isXMLChar(r):
			if x.err == nil {
				x.err = fmt.Errorf("text %q has a character XML cannot carry (%U)", s, r)
			}
			return ""
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}
