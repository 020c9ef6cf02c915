package edxml

import (
	"strconv"
	"strings"

	"github.com/beevik/etree"
	"golang.org/x/text/unicode/norm"
)

// group holds the edXML children of one element by name, so that fields are
// found in any order and a repeated single-valued field is caught.
type group struct {
	ps    *parser
	path  string
	known []string
	m     [][]*etree.Element // by index in known: a map per group cost more
}

// list returns the children named name.
func (g group) list(name string) []*etree.Element {
	if i := index(g.known, name); i >= 0 && g.m != nil {
		return g.m[i]
	}
	return nil
}

// canonicalName folds the Business* spelling into the standard's Bussiness*.
func canonicalName(local string) string {
	if rest, ok := strings.CutPrefix(local, "Business"); ok {
		return "Bussiness" + rest
	}
	return local
}

// group collects e's children. Children outside the edXML namespace, and
// edXML children not in known, are ignored with a warning.
func (ps *parser) group(e *etree.Element, path string, known ...string) group {
	g := group{ps: ps, path: path, known: known}
	if e == nil {
		return g
	}
	g.m = make([][]*etree.Element, len(known))
	for _, c := range e.ChildElements() {
		name := canonicalName(c.Tag)
		uri := ps.uris[c]
		i := index(known, name)
		if i >= 0 && (uri == Namespace || name == "Signature" && uri == DSigNamespace) {
			g.m[i] = append(g.m[i], c)
			continue
		}
		ps.warn(CodeUnknownElement, path+"/"+c.Tag, "unknown element {%s}%s ignored", uri, c.Tag)
	}
	return g
}

func index(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// one returns the single child named name, or nil.
func (g group) one(name string) *etree.Element {
	list := g.list(name)
	if len(list) > 1 {
		g.ps.problem(CodeDuplicateElement, g.path+"/"+name+"[2]", "%s may appear once, found %d", name, len(list))
	}
	if len(list) == 0 {
		return nil
	}
	return list[0]
}

func (g group) has(name string) bool { return len(g.list(name)) > 0 }

// text returns the trimmed NFC text of the single child named name.
func (g group) text(name string) string {
	return cleanText(g.one(name))
}

func cleanText(e *etree.Element) string {
	if e == nil {
		return ""
	}
	return norm.NFC.String(strings.TrimSpace(elementText(e)))
}

// elementText joins the element's own text nodes; a comment may split them.
func elementText(e *etree.Element) string {
	if len(e.Child) == 1 { // the usual case, without a copy
		if cd, ok := e.Child[0].(*etree.CharData); ok {
			return cd.Data
		}
	}
	var b strings.Builder
	for _, t := range e.Child {
		if cd, ok := t.(*etree.CharData); ok {
			b.WriteString(cd.Data)
		}
	}
	return b.String()
}

// sub groups the single child named name.
func (g group) sub(name string, known ...string) group {
	return g.ps.group(g.one(name), g.path+"/"+name, known...)
}

// each groups every child named name.
func (g group) each(name string, known ...string) []group {
	list := g.list(name)
	out := make([]group, len(list))
	for i, e := range list {
		out[i] = g.ps.group(e, g.path+"/"+name+"["+strconv.Itoa(i+1)+"]", known...)
	}
	return out
}

// texts returns the text of every child named name.
func (g group) texts(name string) []string {
	var out []string
	for _, e := range g.list(name) {
		out = append(out, cleanText(e))
	}
	return out
}

const (
	pathHeader   = "/edXML/edXMLEnvelope/edXMLHeader"
	pathMessage  = pathHeader + "/MessageHeader"
	pathTrace    = pathHeader + "/TraceHeaderList"
	pathBusiness = pathTrace + "/Bussiness"
	pathManifest = "/edXML/edXMLEnvelope/edXMLBody/edXMLManifest"
	pathAttached = "/edXML/AttachmentEncoded"
)

var orgFields = []string{"OrganId", "OrganizationInCharge", "OrganName", "OrganAdd", "Email", "Telephone", "Fax", "Website"}

func organization(g group) Organization {
	return Organization{
		OrganID:              g.text("OrganId"),
		OrganizationInCharge: g.text("OrganizationInCharge"),
		OrganName:            g.text("OrganName"),
		OrganAdd:             g.text("OrganAdd"),
		Email:                g.text("Email"),
		Telephone:            g.text("Telephone"),
		Fax:                  g.text("Fax"),
		Website:              g.text("Website"),
	}
}

var staffFields = []string{"Department", "Staff", "Email", "Mobile"}

func staff(g group) StaffInfo {
	return StaffInfo{Department: g.text("Department"), Staff: g.text("Staff"), Email: g.text("Email"), Mobile: g.text("Mobile")}
}

var responseFields = []string{"OrganId", "Code", "PromulgationDate", "DocumentId"}

func responseFor(g group) ResponseFor {
	return ResponseFor{OrganID: g.text("OrganId"), Code: g.text("Code"), PromulgationDate: g.text("PromulgationDate"), DocumentID: g.text("DocumentId")}
}

// extract fills the model from the markup, then validates it.
func (ps *parser) extract() {
	root := ps.doc.Root()
	top := ps.group(root, "/edXML", "edXMLEnvelope", "AttachmentEncoded")
	env := top.sub("edXMLEnvelope", "edXMLHeader", "edXMLBody")
	hdr := env.sub("edXMLHeader", "MessageHeader", "TraceHeaderList", "Signature", "DigitalSignature")
	msg := hdr.one("MessageHeader")
	if msg == nil {
		ps.problem(CodeMissingField, pathMessage, "MessageHeader is missing")
	}
	mg := ps.group(msg, pathMessage, "From", "To", "DocumentId", "Code", "PromulgationInfo", "DocumentType",
		"Subject", "Content", "SignerInfo", "DueDate", "ToPlaces", "OtherInfo", "ResponseFor", "SteeringType",
		"ResponseForTask", "ApplicationType", "StaffInfo", "StatusCode", "Description", "Timestamp")
	p := ps.p
	if !mg.has("To") && (mg.has("StatusCode") || mg.has("ResponseFor") && !mg.has("DocumentId")) {
		p.Kind = KindStatus
		p.Status = &Status{
			From:        organization(mg.sub("From", orgFields...)),
			ResponseFor: responseFor(mg.sub("ResponseFor", responseFields...)),
			Staff:       staff(mg.sub("StaffInfo", staffFields...)),
			StatusCode:  StatusCode(mg.text("StatusCode")),
			Description: mg.text("Description"),
			Timestamp:   mg.text("Timestamp"),
		}
		for _, name := range []string{"DocumentId", "Code", "Subject", "TraceHeaderList"} {
			if mg.has(name) {
				ps.warn(CodeUnknownElement, pathMessage+"/"+name, "%s is not part of a status packet", name)
			}
		}
	} else {
		p.Kind = KindEdoc
		p.Header = ps.header(mg)
		tg := hdr.sub("TraceHeaderList", "TraceHeader", "Bussiness")
		p.Trace = ps.trace(tg)
		body := env.sub("edXMLBody", "edXMLManifest").sub("edXMLManifest", "Reference")
		for _, rg := range body.each("Reference", "ContentId", "ContentType", "Description", "AttachmentName") {
			p.References = append(p.References, Reference{
				ContentID:      contentID(rg.text("ContentId")),
				ContentType:    rg.text("ContentType"),
				Description:    rg.text("Description"),
				AttachmentName: rg.text("AttachmentName"),
			})
		}
		atts := top.sub("AttachmentEncoded", "Attachment")
		for i, ag := range atts.each("Attachment", "ContentId", "AttachmentName", "Description", "ContentType",
			"ContentTransferEncoded", "FieldName", "Format", "MimeType") {
			a := Attachment{
				ContentID:      contentID(ag.text("ContentId")),
				AttachmentName: ag.text("AttachmentName"),
				Description:    ag.text("Description"),
				ContentType:    ag.text("ContentType"),
			}
			ag.one("ContentTransferEncoded") // reports a duplicate
			if i < len(ps.atts) {
				st := ps.atts[i]
				a.Size, a.SHA256, a.Format = st.result()
				a.Zip = st.entries
			}
			p.Attachments = append(p.Attachments, a)
		}
	}
	// Several signatures are for the verifier to refuse; validate never
	// fails for a signature.
	if sigs := hdr.list("Signature"); len(sigs) > 0 {
		if len(sigs) > 1 {
			ps.warn(CodeDuplicateElement, pathHeader+"/Signature[2]", "%d Signature elements; only the first is kept", len(sigs))
		}
		sig := sigs[0]
		p.Signature = signatureXML(sig)
		p.SignatureNamespace = ps.uris[sig]
	}
	ps.validate()
}

// contentID drops a leading "cid:" in any case.
func contentID(s string) string {
	if len(s) >= 4 && strings.EqualFold(s[:4], "cid:") {
		return strings.TrimSpace(s[4:])
	}
	return s
}

func (ps *parser) header(mg group) *Header {
	h := &Header{
		From:         organization(mg.sub("From", orgFields...)),
		DocumentID:   mg.text("DocumentId"),
		Subject:      mg.text("Subject"),
		Content:      mg.text("Content"),
		DueDate:      mg.text("DueDate"),
		SteeringType: mg.text("SteeringType"),
	}
	for _, tg := range mg.each("To", orgFields...) {
		h.To = append(h.To, organization(tg))
	}
	code := mg.sub("Code", "CodeNumber", "CodeNotation")
	h.Code = Code{Number: code.text("CodeNumber"), Notation: code.text("CodeNotation")}
	pi := mg.sub("PromulgationInfo", "Place", "PromulgationDate")
	h.Promulgation = Promulgation{Place: pi.text("Place"), Date: pi.text("PromulgationDate")}
	dt := mg.sub("DocumentType", "Type", "TypeDetail", "TypeName")
	h.DocumentType = DocumentType{Type: dt.text("Type"), TypeDetail: dt.text("TypeDetail"), TypeName: dt.text("TypeName")}
	si := mg.sub("SignerInfo", "Competence", "Position", "FullName")
	h.Signer = Signer{Competence: si.text("Competence"), Position: si.text("Position"), FullName: si.text("FullName")}
	h.ToPlaces = mg.sub("ToPlaces", "Place").texts("Place")
	oi := mg.sub("OtherInfo", "Priority", "SphereOfPromulgation", "TyperNotation", "PromulgationAmount",
		"PageAmount", "Direction", "Appendixes", "ReferenceCodes", "ReplyFors")
	h.OtherInfo = OtherInfo{
		Priority:             oi.text("Priority"),
		SphereOfPromulgation: oi.text("SphereOfPromulgation"),
		TyperNotation:        oi.text("TyperNotation"),
		PromulgationAmount:   oi.text("PromulgationAmount"),
		PageAmount:           oi.text("PageAmount"),
		Direction:            oi.text("Direction"),
		Appendixes:           oi.sub("Appendixes", "Appendix").texts("Appendix"),
	}
	for _, rg := range mg.each("ResponseFor", responseFields...) {
		if r := responseFor(rg); !r.IsZero() {
			h.ResponseFor = append(h.ResponseFor, r)
		}
	}
	return h
}

func (ps *parser) trace(tg group) *Trace {
	t := &Trace{}
	for _, th := range tg.each("TraceHeader", "OrganId", "Timestamp") {
		t.Headers = append(t.Headers, TraceHeader{OrganID: th.text("OrganId"), Timestamp: th.text("Timestamp")})
	}
	if !tg.has("Bussiness") {
		return t
	}
	bg := tg.sub("Bussiness", "DocumentId", "BussinessDocType", "BussinessDocReason", "Paper", "StaffInfo",
		"BussinessDocumentInfo", "ReplacementInfoList")
	b := &Business{
		DocumentID: bg.text("DocumentId"),
		DocType:    bg.text("BussinessDocType"),
		DocReason:  bg.text("BussinessDocReason"),
		Paper:      bg.text("Paper"),
		Staff:      staff(bg.sub("StaffInfo", staffFields...)),
	}
	if bg.has("BussinessDocumentInfo") {
		ig := bg.sub("BussinessDocumentInfo", "DocumentInfo", "DocumentReceiver", "ReceiverList")
		info := &DocumentInfo{DocumentInfo: ig.text("DocumentInfo"), DocumentReceiver: ig.text("DocumentReceiver")}
		for _, rg := range ig.sub("ReceiverList", "Receiver").each("Receiver", "OrganId", "ReceiverType") {
			info.Receivers = append(info.Receivers, Receiver{OrganID: rg.text("OrganId"), ReceiverType: rg.text("ReceiverType")})
		}
		b.DocumentInfo = info
	}
	for _, rg := range bg.sub("ReplacementInfoList", "ReplacementInfo").each("ReplacementInfo", "DocumentId", "OrganIdList") {
		b.Replacements = append(b.Replacements, Replacement{
			DocumentID: rg.text("DocumentId"),
			OrganIDs:   rg.sub("OrganIdList", "OrganId").texts("OrganId"),
		})
	}
	t.Business = b
	return t
}

// signatureXML serialises the Signature subtree with the namespace
// declarations it inherits, so it stands on its own.
func signatureXML(sig *etree.Element) []byte {
	c := sig.Copy()
	declared := map[string]bool{}
	for _, a := range c.Attr {
		if a.Space == "xmlns" {
			declared[a.Key] = true
		} else if a.Space == "" && a.Key == "xmlns" {
			declared[""] = true
		}
	}
	for p := sig.Parent(); p != nil; p = p.Parent() {
		for _, a := range p.Attr {
			switch {
			case a.Space == "xmlns" && !declared[a.Key]:
				declared[a.Key] = true
				c.CreateAttr("xmlns:"+a.Key, a.Value)
			case a.Space == "" && a.Key == "xmlns" && !declared[""]:
				declared[""] = true
				c.CreateAttr("xmlns", a.Value)
			}
		}
	}
	d := etree.NewDocument()
	d.SetRoot(c)
	out, _ := d.WriteToBytes()
	return out
}
