package c14n

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/lienthong/lienthong/internal/xmlinput"
)

const (
	xmlNamespace   = "http://www.w3.org/XML/1998/namespace"
	xmlnsNamespace = "http://www.w3.org/2000/xmlns/"
)

// binding is a namespace declaration: in scope, or rendered in the output.
type binding struct {
	prefix, uri string
}

type frame struct {
	name      xml.Name // as written: Space is the prefix
	scopeLen  int      // canon.scope.len() outside this element
	renderLen int      // canon.rendered.len() outside this element
}

// attr is an attribute of the start tag being read.
type attr struct {
	name  xml.Name // as written
	uri   string   // namespace name; "" when unprefixed
	value string   // normalised
}

type canon struct {
	exclusive  bool
	prefixList []string // "" is the default namespace
	maxDepth   int
	maxMarkup  int64

	st  *state
	in  *xmlinput.Reader
	dec *xml.Decoder
	out output

	stack    []frame
	scope    nsStack // declarations in scope
	rendered nsStack // exclusive: declarations output by the open elements
	attrs    []attr
	nsOut    []binding
	seen     map[string]bool // duplicate attribute check for long tags

	bomLen    int64
	tokens    int  // markup tokens read
	skip      int  // depth of the Signature being left out; 0 when none
	sigDone   bool // the Signature has been seen
	sawRoot   bool
	rootOut   bool // the root element is output (it is not the Signature)
	rootDone  bool
	crPending bool // character data ended in CR: drop a following LF
	brackets  int  // literal ']' just before, for the "]]>" check
}

func (c *canon) init(st *state) {
	c.st = st
	c.in = &xmlinput.Reader{Br: st.br, MaxMarkup: c.maxMarkup, Raw: st.raw[:0]}
	c.out = output{st.bw}
	c.dec = xml.NewDecoder(c.in)
	c.dec.Strict = true
}

// output writes the canonical form through a bufio.Writer over the sink,
// which keeps the first error of the destination; the run loop checks it
// between tokens and between chunks of text.
type output struct{ bw *bufio.Writer }

func (o output) put(s string)   { o.bw.WriteString(s) } //nolint:errcheck // the sink keeps the error
func (o output) putByte(b byte) { o.bw.WriteByte(b) }   //nolint:errcheck // the sink keeps the error
func (o output) putRune(r rune) { o.bw.WriteRune(r) }   //nolint:errcheck // the sink keeps the error
func (o output) write(p []byte) { o.bw.Write(p) }       //nolint:errcheck // the sink keeps the error

func (c *canon) release() {
	if cap(c.in.Raw) <= bufSize {
		c.st.raw = c.in.Raw[:0]
	}
}

func (c *canon) fail(kind error, format string, args ...any) error {
	return &Error{Offset: c.in.N, Msg: fmt.Sprintf(format, args...), Err: kind}
}

func (c *canon) malformed(format string, args ...any) error {
	return c.fail(ErrMalformed, format, args...)
}

// ioErr reports a read error of the input or a write error of the output,
// if there was one.
func (c *canon) ioErr() error {
	switch {
	case c.in.Err != nil:
		return fmt.Errorf("read document: %w", c.in.Err)
	case c.st.sink.err != nil:
		return fmt.Errorf("write canonical form: %w", c.st.sink.err)
	}
	return nil
}

func (c *canon) decodeErr(err error) error {
	if c.in.Limited {
		return c.fail(ErrTooLarge, "markup exceeds %d bytes", c.maxMarkup)
	}
	if e := c.ioErr(); e != nil {
		return e
	}
	msg := err.Error()
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		msg = se.Msg
	}
	return c.malformed("%s", msg)
}

func (c *canon) run() error {
	defer c.release()
	if err := c.bom(); err != nil {
		return err
	}
	selfClosed := false
	for {
		if !selfClosed {
			var err error
			if len(c.stack) == 0 {
				err = c.topText()
			} else {
				err = c.content()
			}
			if err != nil {
				return err
			}
		}
		selfClosed = false
		start := c.in.N
		c.in.Raw = c.in.Raw[:0]
		c.in.Record = c.recordNext()
		tok, err := c.dec.RawToken()
		c.in.Record = false
		if errors.Is(err, io.EOF) && !c.in.Limited {
			if e := c.ioErr(); e != nil {
				return e
			}
			break
		}
		if err != nil {
			return c.decodeErr(err)
		}
		c.tokens++
		switch t := tok.(type) {
		case xml.StartElement:
			selfClosed = bytes.HasSuffix(c.in.Raw, []byte("/>"))
			err = c.start(t)
		case xml.EndElement:
			err = c.end(t)
		case xml.ProcInst:
			err = c.procInst(t, start)
		case xml.Comment:
			err = c.comment(t)
		case xml.Directive:
			err = c.fail(ErrDTD, "<!%s is not allowed", firstWord(t))
		case xml.CharData:
			// Character data reaches the decoder only outside the root
			// element: a CDATA section there.
			err = c.malformed("character data outside the root element")
		}
		if err != nil {
			return err
		}
		if e := c.ioErr(); e != nil {
			return e
		}
	}
	switch {
	case len(c.stack) > 0:
		return c.malformed("unexpected end of document inside <%s>", qname(c.stack[len(c.stack)-1].name))
	case !c.sawRoot:
		return c.malformed("no root element")
	}
	return nil
}

func firstWord(b []byte) string {
	s := string(b)
	if i := strings.IndexAny(s, " \t\r\n["); i >= 0 {
		s = s[:i]
	}
	if len(s) > 16 {
		s = s[:16]
	}
	return s
}

// recordNext reports whether the next token is a start tag or a processing
// instruction, whose bytes as written are needed: encoding/xml does not
// normalise white space in attribute values, and does not check for the
// white space after a processing instruction's target.
func (c *canon) recordNext() bool {
	p, _ := c.in.Br.Peek(2)
	return len(p) == 2 && p[0] == '<' && p[1] != '/' && p[1] != '!'
}

func qname(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}

// lookup finds the namespace bound to prefix in scope.
func (c *canon) lookup(prefix string) (string, bool) {
	if prefix == "xml" {
		return xmlNamespace, true
	}
	if uri, ok := c.scope.lookup(prefix); ok {
		return uri, true
	}
	return "", prefix == ""
}

func (c *canon) start(t xml.StartElement) error {
	if c.rootDone {
		return c.malformed("element <%s> after the root element", qname(t.Name))
	}
	if len(c.stack) >= c.maxDepth {
		return c.fail(ErrTooDeep, "elements nest deeper than %d", c.maxDepth)
	}
	c.sawRoot = true
	if err := c.checkName(t.Name, "element"); err != nil {
		return err
	}
	if t.Name.Space == "xmlns" {
		return c.malformed("element <%s> has the prefix xmlns", qname(t.Name))
	}
	if err := c.readAttrs(t); err != nil {
		return err
	}
	f := frame{name: t.Name, scopeLen: c.scope.len(), renderLen: c.rendered.len()}
	c.nsOut = c.nsOut[:0]
	for _, a := range c.attrs {
		if prefix, ok := declares(a.name); ok {
			if err := c.checkDecl(prefix, a.value); err != nil {
				return err
			}
			if err := c.checkAbsolute(prefix, a.value); err != nil {
				return err
			}
			if !c.exclusive {
				c.inclusiveNS(prefix, a.value)
			}
		}
	}
	for _, a := range c.attrs {
		if prefix, ok := declares(a.name); ok {
			c.scope.push(prefix, a.value)
		}
	}
	uri, ok := c.lookup(t.Name.Space)
	if !ok {
		return c.malformed("prefix %q of <%s> is not declared", t.Name.Space, qname(t.Name))
	}
	for i := range c.attrs {
		a := &c.attrs[i]
		if _, ok := declares(a.name); ok || a.name.Space == "" {
			continue
		}
		if a.uri, ok = c.lookup(a.name.Space); !ok {
			return c.malformed("prefix %q of attribute %s is not declared", a.name.Space, qname(a.name))
		}
	}
	if err := c.checkDuplicates(); err != nil {
		return err
	}
	c.stack = append(c.stack, f)
	if c.skip == 0 && !c.sigDone && uri == DSigNamespace && t.Name.Local == "Signature" {
		c.skip = len(c.stack)
	}
	if c.skip != 0 {
		return nil
	}
	if len(c.stack) == 1 {
		c.rootOut = true
	}
	c.writeStart(t.Name)
	return nil
}

// declares reports whether an attribute is a namespace declaration, and of
// which prefix ("" for the default namespace).
func declares(n xml.Name) (string, bool) {
	switch {
	case n.Space == "xmlns":
		return n.Local, true
	case n.Space == "" && n.Local == "xmlns":
		return "", true
	}
	return "", false
}

// checkName rejects the names that encoding/xml lets through but
// Namespaces in XML forbids: a second colon shows up in Local.
func (c *canon) checkName(n xml.Name, what string) error {
	if strings.Contains(n.Local, ":") {
		return c.malformed("%s name %q is not a qualified name", what, qname(n))
	}
	return nil
}

func (c *canon) checkDecl(prefix, uri string) error {
	switch {
	case prefix == "xmlns":
		return c.malformed("the prefix xmlns must not be declared")
	case prefix == "xml" && uri != xmlNamespace:
		return c.malformed("the prefix xml must not be bound to %q", uri)
	case prefix != "xml" && uri == xmlNamespace:
		return c.malformed("the namespace %q is reserved for the prefix xml", uri)
	case uri == xmlnsNamespace:
		return c.malformed("the namespace %q must not be declared", uri)
	case prefix != "" && uri == "":
		return c.malformed("the prefix %s is undeclared (xmlns:%s=\"\" is not allowed in XML 1.0)", prefix, prefix)
	}
	return nil
}

// checkAbsolute follows libxml2's C14N, which refuses a namespace name that
// is not an absolute URI (Canonical XML 1.0 §2: relative namespace URIs are
// an error) on every element it traverses, output or not.
func (c *canon) checkAbsolute(prefix, uri string) error {
	if uri == "" || validURI(uri) {
		return nil
	}
	if prefix == "" {
		return c.malformed("the default namespace %q is not an absolute URI", uri)
	}
	return c.malformed("the namespace %q of prefix %s is not an absolute URI", uri, prefix)
}

func (c *canon) checkDuplicates() error {
	if len(c.attrs) > 16 {
		return c.checkDuplicatesMap()
	}
	for i := 1; i < len(c.attrs); i++ {
		a := &c.attrs[i]
		_, aDecl := declares(a.name)
		for j := range i {
			b := &c.attrs[j]
			if a.name == b.name {
				return c.malformed("attribute %s appears twice", qname(a.name))
			}
			if _, bDecl := declares(b.name); !aDecl && !bDecl && a.uri == b.uri && a.name.Local == b.name.Local {
				return c.malformed("attributes %s and %s have the same expanded name", qname(b.name), qname(a.name))
			}
		}
	}
	return nil
}

func (c *canon) checkDuplicatesMap() error {
	if c.seen == nil {
		c.seen = map[string]bool{}
	}
	clear(c.seen)
	for i := range c.attrs {
		a := &c.attrs[i]
		q := "q" + qname(a.name)
		if c.seen[q] {
			return c.malformed("attribute %s appears twice", qname(a.name))
		}
		c.seen[q] = true
		if _, ok := declares(a.name); ok {
			continue
		}
		e := "e" + a.uri + " " + a.name.Local
		if c.seen[e] {
			return c.malformed("attribute %s has the expanded name of another", qname(a.name))
		}
		c.seen[e] = true
	}
	return nil
}

func (c *canon) end(t xml.EndElement) error {
	n := len(c.stack)
	if n == 0 {
		return c.malformed("unexpected end tag </%s>", qname(t.Name))
	}
	f := c.stack[n-1]
	if f.name != t.Name {
		return c.malformed("end tag </%s> does not match <%s>", qname(t.Name), qname(f.name))
	}
	if c.skip == 0 {
		c.out.put("</")
		c.writeQName(f.name)
		c.out.putByte('>')
	}
	if c.skip == n {
		c.skip = 0
		c.sigDone = true
	}
	c.scope.popTo(f.scopeLen)
	c.rendered.popTo(f.renderLen)
	c.stack = c.stack[:n-1]
	if n == 1 {
		c.rootDone = true
	}
	return nil
}

func (c *canon) writeQName(n xml.Name) {
	if n.Space != "" {
		c.out.put(n.Space)
		c.out.putByte(':')
	}
	c.out.put(n.Local)
}

// writeStart renders a start tag: the namespace declarations the
// algorithm calls for, then the attributes, each group in canonical order.
func (c *canon) writeStart(name xml.Name) {
	if c.exclusive {
		c.exclusiveNS(name)
	}
	slices.SortFunc(c.nsOut, func(a, b binding) int { return strings.Compare(a.prefix, b.prefix) })
	slices.SortFunc(c.attrs, func(a, b attr) int {
		return cmp.Or(strings.Compare(a.uri, b.uri), strings.Compare(a.name.Local, b.name.Local))
	})
	c.out.putByte('<')
	c.writeQName(name)
	for _, b := range c.nsOut {
		if b.prefix == "" {
			c.out.put(` xmlns="`)
		} else {
			c.out.put(" xmlns:")
			c.out.put(b.prefix)
			c.out.put(`="`)
		}
		c.writeAttrValue(b.uri)
		c.out.putByte('"')
	}
	for _, a := range c.attrs {
		if _, ok := declares(a.name); ok {
			continue
		}
		c.out.putByte(' ')
		c.writeQName(a.name)
		c.out.put(`="`)
		c.writeAttrValue(a.value)
		c.out.putByte('"')
	}
	c.out.putByte('>')
}

// inclusiveNS: Canonical XML 1.0 renders a namespace node unless the
// parent element, which is always output here, has the same one in scope.
// For URI="" every output element's parent is output, so these are the
// element's own declarations that change what is in scope; xmlns=""
// appears only where it undeclares a default the parent has. It is called
// for each declaration before the element's are in scope.
func (c *canon) inclusiveNS(prefix, uri string) {
	if prefix == "xml" {
		return
	}
	if outer, ok := c.scope.lookup(prefix); (!ok && uri != "") || (ok && outer != uri) {
		c.nsOut = append(c.nsOut, binding{prefix, uri})
	}
}

// exclusiveNS: Exclusive C14N renders the namespaces visibly utilised by
// the element (its own prefix and those of its attributes) and those of
// the PrefixList, unless an output ancestor already rendered the same
// declaration.
func (c *canon) exclusiveNS(name xml.Name) {
	c.renderNS(name.Space)
	for _, a := range c.attrs {
		if _, ok := declares(a.name); !ok && a.name.Space != "" {
			c.renderNS(a.name.Space)
		}
	}
	for _, p := range c.prefixList {
		c.renderNS(p)
	}
}

func (c *canon) renderNS(prefix string) {
	if prefix == "xml" {
		return
	}
	uri, ok := c.lookup(prefix)
	if !ok {
		return // a listed prefix not in scope
	}
	// What this element renders is pushed at once, so a prefix utilised
	// twice is rendered once.
	if r, ok := c.rendered.lookup(prefix); (ok && r == uri) || (!ok && uri == "") {
		return
	}
	c.nsOut = append(c.nsOut, binding{prefix, uri})
	c.rendered.push(prefix, uri)
}

// writeAttrValue escapes an attribute value as Canonical XML requires.
func (c *canon) writeAttrValue(v string) {
	last := 0
	for i := 0; i < len(v); i++ {
		var esc string
		switch v[i] {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '"':
			esc = "&quot;"
		case '\t':
			esc = "&#x9;"
		case '\n':
			esc = "&#xA;"
		case '\r':
			esc = "&#xD;"
		default:
			continue
		}
		c.out.put(v[last:i])
		c.out.put(esc)
		last = i + 1
	}
	c.out.put(v[last:])
}

// readAttrs takes the attributes of t, with their values normalised from
// the start tag as written (encoding/xml has checked its syntax).
func (c *canon) readAttrs(t xml.StartElement) error {
	c.attrs = c.attrs[:0]
	raw := c.in.Raw
	i := 1 + len(qname(t.Name))
	for k := 0; ; k++ {
		for i < len(raw) && isSpace(raw[i]) {
			i++
		}
		if i >= len(raw) || raw[i] == '/' || raw[i] == '>' {
			if k != len(t.Attr) {
				return c.malformed("cannot read the attributes of <%s>", qname(t.Name))
			}
			return nil
		}
		j := i
		for j < len(raw) && raw[j] != '=' && !isSpace(raw[j]) {
			j++
		}
		if k >= len(t.Attr) || string(raw[i:j]) != qname(t.Attr[k].Name) {
			return c.malformed("cannot read the attributes of <%s>", qname(t.Name))
		}
		for j < len(raw) && (raw[j] == '=' || isSpace(raw[j])) {
			j++
		}
		if j >= len(raw) {
			return c.malformed("cannot read the attributes of <%s>", qname(t.Name))
		}
		q := raw[j]
		end := bytes.IndexByte(raw[j+1:], q)
		if end < 0 {
			return c.malformed("cannot read the attributes of <%s>", qname(t.Name))
		}
		v, err := c.normalise(raw[j+1 : j+1+end])
		if err != nil {
			return err
		}
		n := t.Attr[k].Name
		if err := c.checkName(n, "attribute"); err != nil {
			return err
		}
		if n.Space == "xml" {
			c.attrs = append(c.attrs, attr{name: n, uri: xmlNamespace, value: v})
		} else {
			c.attrs = append(c.attrs, attr{name: n, value: v})
		}
		i = j + 2 + end
	}
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

// normalise applies attribute-value normalisation (XML 1.0 §3.3.3) to a
// value as written: a literal tab, CR, LF or CRLF becomes one space,
// references become the characters they stand for.
func (c *canon) normalise(raw []byte) (string, error) {
	v := c.st.val[:0]
	defer func() { c.st.val = v[:0] }()
	for i := 0; i < len(raw); i++ {
		b := raw[i]
		switch b {
		case '\r':
			if i+1 < len(raw) && raw[i+1] == '\n' {
				i++
			}
			v = append(v, ' ')
		case '\t', '\n':
			v = append(v, ' ')
		case '&':
			end := bytes.IndexByte(raw[i:], ';')
			if end < 0 {
				return "", c.malformed("bad reference in an attribute value")
			}
			r, ok := parseRef(raw[i+1 : i+end])
			if !ok {
				return "", c.malformed("bad reference &%s; in an attribute value", raw[i+1:i+end])
			}
			v = utf8.AppendRune(v, r)
			i += end
		default:
			v = append(v, b)
		}
	}
	return string(v), nil
}

// parseRef resolves the body of a reference (between & and ;): a
// character reference or one of the predefined entities.
func parseRef(ref []byte) (rune, bool) {
	if len(ref) > 1 && ref[0] == '#' {
		digits, base := ref[1:], rune(10)
		if digits[0] == 'x' {
			digits, base = digits[1:], 16
		}
		if len(digits) == 0 {
			return 0, false
		}
		var r rune
		for _, d := range digits {
			v := digitVal(d)
			if v < 0 || v >= base {
				return 0, false
			}
			r = min(r*base+v, utf8.MaxRune+1)
		}
		return r, isChar(r)
	}
	switch string(ref) {
	case "lt":
		return '<', true
	case "gt":
		return '>', true
	case "amp":
		return '&', true
	case "apos":
		return '\'', true
	case "quot":
		return '"', true
	}
	return 0, false
}

func digitVal(d byte) rune {
	switch {
	case '0' <= d && d <= '9':
		return rune(d - '0')
	case 'a' <= d && d <= 'f':
		return rune(d-'a') + 10
	case 'A' <= d && d <= 'F':
		return rune(d-'A') + 10
	}
	return -1
}

// isChar is the Char production of XML 1.0.
func isChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// checkChars checks that b is UTF-8 made of XML characters.
func checkChars(b []byte) bool {
	for len(b) > 0 {
		if b[0] < utf8.RuneSelf {
			if b[0] < 0x20 && !isSpace(b[0]) {
				return false
			}
			b = b[1:]
			continue
		}
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 || !isChar(r) {
			return false
		}
		b = b[size:]
	}
	return true
}

func (c *canon) comment(t xml.Comment) error {
	if !checkChars(t) {
		return c.malformed("a comment holds a byte that is not an XML character in UTF-8")
	}
	return nil
}

// xmlDecl is the XMLDecl production, after "<?xml" and white space, for
// UTF-8 and version 1.0 (all encoding/xml reads).
var xmlDecl = regexp.MustCompile(`^version[ \t\r\n]*=[ \t\r\n]*("1\.0"|'1\.0')` +
	`([ \t\r\n]+encoding[ \t\r\n]*=[ \t\r\n]*("[A-Za-z][A-Za-z0-9._-]*"|'[A-Za-z][A-Za-z0-9._-]*'))?` +
	`([ \t\r\n]+standalone[ \t\r\n]*=[ \t\r\n]*("yes"|'yes'|"no"|'no'))?[ \t\r\n]*$`)

func (c *canon) procInst(t xml.ProcInst, start int64) error {
	raw := c.in.Raw
	after := 2 + len(t.Target) // "<?" target
	if after < len(raw)-2 && !isSpace(raw[after]) {
		return c.malformed("no white space after the target of <?%s", t.Target)
	}
	if t.Target == "xml" {
		if start != c.bomLen || c.tokens != 1 {
			return c.malformed("XML declaration not at the start of the document")
		}
		if !xmlDecl.Match(t.Inst) {
			return c.malformed("bad XML declaration")
		}
		return nil
	}
	if strings.EqualFold(t.Target, "xml") {
		return c.malformed("processing instruction target %q is reserved", t.Target)
	}
	if strings.Contains(t.Target, ":") {
		return c.malformed("processing instruction target %q contains a colon", t.Target)
	}
	if !checkChars(t.Inst) {
		return c.malformed("a processing instruction holds a byte that is not an XML character in UTF-8")
	}
	if c.skip != 0 {
		return nil
	}
	// Outside the document element a line feed separates the PI from
	// it. Like libxml2, a root that is not output (it is the Signature)
	// counts as not yet seen, so every PI is followed by a line feed.
	if c.rootDone && c.rootOut {
		c.out.putByte('\n')
	}
	c.out.put("<?")
	c.out.put(t.Target)
	if len(t.Inst) > 0 {
		c.out.putByte(' ')
		c.writeLines(t.Inst)
	}
	c.out.put("?>")
	if !c.rootOut {
		c.out.putByte('\n')
	}
	return nil
}

// writeLines writes b with its line ends normalised to LF.
func (c *canon) writeLines(b []byte) {
	for {
		i := bytes.IndexByte(b, '\r')
		if i < 0 {
			c.out.write(b)
			return
		}
		c.out.write(b[:i])
		c.out.putByte('\n')
		b = b[i+1:]
		if len(b) > 0 && b[0] == '\n' {
			b = b[1:]
		}
	}
}
