package edxml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/lienthong/lienthong/internal/xmlinput"

	"github.com/beevik/etree"
)

type frame struct {
	el    *etree.Element
	raw   xml.Name // as written: Space is the prefix
	uri   string
	ns    map[string]string // declarations on this element
	text  int               // bytes of text directly inside
	index int               // 1-based position among same-named siblings
	seen  siblings

	att       *attachmentState // set on the Attachment element that owns it
	cte       bool             // this is att's streamed ContentTransferEncoded
	traceList bool             // this is the packet's TraceHeaderList
}

type parser struct {
	opts    Options
	lim     Limits
	in      *xmlinput.Reader
	dec     *xml.Decoder
	doc     *etree.Document
	stack   []*frame
	rootEnd bool
	sawRoot bool
	count   int
	counts  [3]int  // To, Reference, Attachment elements
	frames  []frame // allocated a slab at a time
	p       *Packet
	atts    []*attachmentState // by Attachment element, in order
	attrs   int                // attributes in all
	total   int64              // decoded bytes of all attachments
	uris    map[*etree.Element]string
	bufs    *buffers
	quad    []byte // base64 characters not yet decoded
	out     []byte // decoded bytes

	// The header tokenizer (tokenize.go).
	slow       bool       // every token from the decoder: the reference path
	decPending bool       // the decoder holds part of the next token
	needClose  bool       // a self-closing tag read here owes its end
	toClose    xml.Name   // its name
	tokName    xml.Name   // the token lexed: its name,
	attrs1     []xml.Attr // its attributes,
	tokText    []byte     // or its text
	scratch    []byte     // text the tokenizer had to rewrite
}

// Parse reads one packet from r. The returned error is either an *Error
// (a fatal problem with the packet: xml.*, edxml.namespace) or an I/O error
// from r or from the attachment sink. Any other problem is listed in the
// Packet's Errors and Warnings.
func Parse(r io.Reader, opts Options) (*Packet, error) {
	return parse(r, opts, false)
}

// parse with slow set reads every token through encoding/xml: the reference
// the header tokenizer is checked against (FuzzTokenizer).
func parse(r io.Reader, opts Options, slow bool) (*Packet, error) {
	ps := &parser{
		slow: slow,
		opts: opts,
		lim:  opts.Limits.withDefaults(),
		doc:  etree.NewDocument(),
		uris: make(map[*etree.Element]string, 64),
		p:    &Packet{traceAt: -1},
	}
	ps.bufs = bufferPool.Get().(*buffers)
	ps.bufs.br.Reset(r)
	ps.quad, ps.out = ps.bufs.quad[:0], ps.bufs.out
	ps.in = &xmlinput.Reader{Br: ps.bufs.br, MaxMarkup: ps.lim.MaxMarkupBytes}
	ps.dec = xml.NewDecoder(ps.in)
	ps.dec.Strict = true
	defer ps.cleanup()
	if err := ps.run(); err != nil {
		return nil, err
	}
	ps.p.Doc = ps.doc
	ps.p.size = ps.in.N
	ps.extract()
	return ps.p, nil
}

func (ps *parser) cleanup() {
	for _, a := range ps.atts {
		a.abort()
	}
	ps.bufs.br.Reset(nil)
	bufferPool.Put(ps.bufs)
}

func (ps *parser) path() string {
	var b strings.Builder
	for _, f := range ps.stack {
		b.WriteByte('/')
		b.WriteString(f.raw.Local)
		if f.index > 1 {
			b.WriteString("[" + strconv.Itoa(f.index) + "]")
		}
	}
	if b.Len() == 0 {
		return "/"
	}
	return b.String()
}

func (ps *parser) readError(err error) error {
	switch {
	// Limited first: encoding/xml checks the text it read before the cap
	// stopped it, so a character cut by the cap comes back as "invalid
	// UTF-8", not as ErrMarkupLimit.
	case ps.in.Limited || errors.Is(err, xmlinput.ErrMarkupLimit):
		return fatal(CodeTooLarge, ps.path(), "markup exceeds %d bytes", ps.lim.MaxMarkupBytes)
	case ps.in.Err != nil:
		return fmt.Errorf("read packet: %w", ps.in.Err)
	}
	msg := err.Error()
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		msg = se.Msg
	}
	return &Error{Problem: Problem{Code: CodeMalformed, Path: ps.path(), Message: msg}, Err: err}
}

func (ps *parser) run() error {
	for {
		done, err := ps.step()
		if err != nil {
			return err
		}
		if done {
			break
		}
	}
	if len(ps.stack) > 0 {
		return fatal(CodeMalformed, ps.path(), "unexpected end of packet inside <%s>", ps.stack[len(ps.stack)-1].raw.Local)
	}
	if !ps.sawRoot {
		return fatal(CodeMalformed, "/", "no root element")
	}
	return nil
}

// token handles a token from the decoder.
func (ps *parser) token(tok xml.Token) error {
	switch t := tok.(type) {
	case xml.StartElement:
		return ps.startTag(t)
	case xml.EndElement:
		return ps.end(t)
	case xml.CharData:
		return ps.chars(t)
	case xml.Directive:
		return fatal(CodeDTDForbidden, ps.path(), "DOCTYPE and entity declarations are not allowed")
	case xml.Comment:
		// Kept in the DOM, which must be the tree a signature covers.
		if n := len(ps.stack); n > 0 {
			ps.stack[n-1].el.CreateComment(string(t))
		}
	case xml.ProcInst:
		if n := len(ps.stack); n > 0 {
			ps.stack[n-1].el.CreateProcInst(t.Target, string(t.Inst))
		}
	}
	return nil
}

func (ps *parser) startTag(t xml.StartElement) error {
	if ps.rootEnd {
		return fatal(CodeMalformed, "/", "element <%s> after the root element", t.Name.Local)
	}
	ps.sawRoot = true
	return ps.start(t)
}

func (ps *parser) lookupNS(prefix string) (string, bool) {
	if prefix == "xml" {
		return "http://www.w3.org/XML/1998/namespace", true
	}
	for i := len(ps.stack) - 1; i >= 0; i-- {
		if uri, ok := ps.stack[i].ns[prefix]; ok {
			return uri, true
		}
	}
	return "", prefix == ""
}

func qualified(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}

func (ps *parser) start(t xml.StartElement) error {
	if len(ps.stack) >= ps.lim.MaxDepth {
		return fatal(CodeTooDeep, ps.path(), "elements nest deeper than %d", ps.lim.MaxDepth)
	}
	if ps.count++; ps.count > ps.lim.MaxElements {
		return fatal(CodeTooLarge, ps.path(), "more than %d elements", ps.lim.MaxElements)
	}
	if len(t.Attr) > ps.lim.MaxAttrs {
		return fatal(CodeTooLarge, ps.path(), "<%s> has more than %d attributes", t.Name.Local, ps.lim.MaxAttrs)
	}
	if ps.attrs += len(t.Attr); ps.attrs > ps.lim.MaxTotalAttrs {
		return fatal(CodeTooLarge, ps.path(), "more than %d attributes in all", ps.lim.MaxTotalAttrs)
	}
	f := ps.newFrame(t.Name)
	for _, a := range t.Attr {
		switch {
		case a.Name.Space == "xmlns":
			if f.ns == nil {
				f.ns = map[string]string{}
			}
			f.ns[a.Name.Local] = a.Value
		case a.Name.Space == "" && a.Name.Local == "xmlns":
			if f.ns == nil {
				f.ns = map[string]string{}
			}
			f.ns[""] = a.Value
		}
	}
	var parent *frame
	if n := len(ps.stack); n > 0 {
		parent = ps.stack[n-1]
	}
	ps.stack = append(ps.stack, f)
	uri, ok := ps.lookupNS(t.Name.Space)
	if !ok {
		return fatal(CodeMalformed, ps.path(), "prefix %q is not declared", t.Name.Space)
	}
	f.uri = uri
	for _, a := range t.Attr {
		if a.Name.Space != "" && a.Name.Space != "xmlns" {
			if _, ok := ps.lookupNS(a.Name.Space); !ok {
				return fatal(CodeMalformed, ps.path(), "attribute prefix %q is not declared", a.Name.Space)
			}
		}
	}
	if parent == nil {
		if uri != Namespace || t.Name.Local != "edXML" {
			msg := fmt.Sprintf("root element is {%s}%s, want {%s}edXML", uri, t.Name.Local, Namespace)
			if uri == LegacyNamespace {
				msg += " (the legacy SOAP generation is not accepted)"
			}
			return fatal(CodeNamespace, "/"+t.Name.Local, "%s", msg)
		}
		f.el = ps.doc.CreateElement(qualified(t.Name))
	} else {
		f.index = parent.seen.add(t.Name.Local)
		f.el = parent.el.CreateElement(qualified(t.Name))
	}
	for _, a := range t.Attr {
		f.el.CreateAttr(qualified(a.Name), a.Value)
	}
	ps.uris[f.el] = uri
	if uri != Namespace {
		return nil
	}
	if k := counted(t.Name.Local); k >= 0 {
		ps.counts[k]++
		limit := ps.lim.MaxAttachments
		if k == 0 {
			limit = ps.lim.MaxRecipients
		}
		if ps.counts[k] > limit {
			return fatal(CodeTooLarge, ps.path(), "more than %d <%s> elements", limit, t.Name.Local)
		}
	}
	selfClosing := ps.in.Prev == '/' && ps.in.Last == '>'
	// Only /edXML/edXMLEnvelope/edXMLHeader/TraceHeaderList takes the hub's
	// TraceHeader, and only /edXML/AttachmentEncoded/Attachment is an
	// attachment: a lookalike elsewhere must take neither's place.
	switch {
	case t.Name.Local == "TraceHeaderList" && ps.at("edXMLEnvelope", "edXMLHeader") && ps.p.traceAt < 0 && !selfClosing:
		f.traceList = true
		ps.p.traceAt = ps.in.N
		ps.p.tracePrefix = t.Name.Space
	case t.Name.Local == "Attachment" && ps.at("AttachmentEncoded"):
		f.att = &attachmentState{index: len(ps.atts), path: ps.path()}
		ps.atts = append(ps.atts, f.att)
	case t.Name.Local == "ContentTransferEncoded" && len(ps.stack) == 4 && parent.att != nil:
		a := parent.att
		if a.started {
			return nil // a second one: reported as edxml.duplicate_element, read as markup
		}
		a.started = true
		a.path = ps.path()
		if !selfClosing {
			f.cte = true
			return ps.streamContent(a)
		}
	}
	return nil
}

// at reports whether the element just opened sits at /edXML/names.../it,
// every ancestor in the edXML namespace.
func (ps *parser) at(names ...string) bool {
	if len(ps.stack) != len(names)+2 {
		return false
	}
	for i, n := range names {
		f := ps.stack[i+1]
		if f.uri != Namespace || f.raw.Local != n {
			return false
		}
	}
	return true
}

func (ps *parser) end(t xml.EndElement) error {
	n := len(ps.stack)
	if n == 0 {
		return fatal(CodeMalformed, "/", "unexpected end tag </%s>", qualified(t.Name))
	}
	f := ps.stack[n-1]
	if f.raw != t.Name {
		return fatal(CodeMalformed, ps.path(), "end tag </%s> does not match <%s>", qualified(t.Name), qualified(f.raw))
	}
	switch {
	case f.uri == Namespace && f.raw.Local == "TraceHeader" && ps.stack[n-2].traceList:
		ps.p.traceAt = ps.in.N
	case f.cte:
		if err := ps.finishContent(ps.stack[n-2].att); err != nil {
			return err
		}
	}
	ps.stack = ps.stack[:n-1]
	if len(ps.stack) == 0 {
		ps.rootEnd = true
	}
	return nil
}

func (ps *parser) chars(t xml.CharData) error {
	n := len(ps.stack)
	if n == 0 {
		s := bytes.TrimPrefix(t, []byte("\uFEFF"))
		if len(bytes.TrimSpace(s)) > 0 {
			return fatal(CodeMalformed, "/", "text outside the root element")
		}
		return nil
	}
	f := ps.stack[n-1]
	if f.text+len(t) > ps.lim.MaxFieldBytes {
		return fatal(CodeTooLarge, ps.path(), "text longer than %d bytes", ps.lim.MaxFieldBytes)
	}
	f.text += len(t)
	f.el.CreateText(string(t))
	return nil
}

// counted gives the index in parser.counts of an element whose number is
// limited, or -1.
func counted(local string) int {
	switch local {
	case "To":
		return 0
	case "Reference":
		return 1
	case "Attachment":
		return 2
	}
	return -1
}

// newFrame takes a frame from the slab; frames are many and small.
func (ps *parser) newFrame(raw xml.Name) *frame {
	if len(ps.frames) == cap(ps.frames) {
		ps.frames = make([]frame, 0, 32)
	}
	ps.frames = append(ps.frames, frame{raw: raw})
	return &ps.frames[len(ps.frames)-1]
}

// siblings counts an element's children by name, for their paths' [n].
// A few names are searched in a slice; a map takes over past that, so a
// hostile element with many distinct children stays linear.
type siblings struct {
	few  []sibling
	many map[string]int
}

type sibling struct {
	name string
	n    int
}

const fewSiblings = 16

func (s *siblings) add(name string) int {
	if s.many != nil {
		s.many[name]++
		return s.many[name]
	}
	for i := range s.few {
		if s.few[i].name == name {
			s.few[i].n++
			return s.few[i].n
		}
	}
	if len(s.few) < fewSiblings {
		s.few = append(s.few, sibling{name, 1})
		return 1
	}
	s.many = make(map[string]int, 2*fewSiblings)
	for _, x := range s.few {
		s.many[x.name] = x.n
	}
	s.few = nil
	s.many[name] = 1
	return 1
}
