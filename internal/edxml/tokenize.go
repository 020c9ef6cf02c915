package edxml

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// The header tokenizer. encoding/xml reads the markup one byte at a time
// through an io.ByteReader (so that attachment content can bypass it), and
// that costs more than the rest of a 50 KB packet's parse. step reads
// the plain forms a header is made of straight from the read buffer: start
// and end tags with ASCII names and quoted attributes, and text, with the
// five predefined entities and CR/LF normalisation. It takes a token only
// when encoding/xml would return the same token from the same bytes;
// anything else (comments, processing instructions, CDATA, DOCTYPE,
// character references, non-ASCII names, any error, a token that would
// cross the markup limit or does not fit the buffer) is left unconsumed to
// the decoder, so every limit, check and error stays the decoder's.

// lexState is what lexing a token from the buffer found.
type lexState int

const (
	lexDone lexState = iota // a whole token
	lexMore                 // the buffer ends inside the token
	lexNo                   // not a form the fast path takes: the decoder's
)

// tokKind is the kind of a token lexed here. Its parts are in the parser
// (tokName, attrs1, tokText), not boxed in an xml.Token: boxing cost an
// allocation per token.
type tokKind int

const (
	tokStart tokKind = iota
	tokEnd
	tokText
)

// step reads and handles one token; done is true at the end of the input.
func (ps *parser) step() (done bool, err error) {
	if ps.needClose {
		ps.needClose = false
		return false, ps.end(xml.EndElement{Name: ps.toClose})
	}
	if !ps.slow && !ps.decPending {
		if kind, ok := ps.fastToken(); ok {
			switch kind {
			case tokStart:
				return false, ps.startTag(xml.StartElement{Name: ps.tokName, Attr: ps.attrs1})
			case tokEnd:
				return false, ps.end(xml.EndElement{Name: ps.tokName})
			}
			return false, ps.chars(ps.tokText)
		}
	}
	tok, err := ps.dec.RawToken()
	// After text the decoder holds the '<' it read; after a self-closing
	// tag, the end element it owes. It must take the next token itself.
	ps.decPending = false
	switch tok.(type) {
	case xml.CharData:
		ps.decPending = true
	case xml.StartElement:
		ps.decPending = ps.in.Prev == '/' && ps.in.Last == '>'
	}
	if errors.Is(err, io.EOF) {
		if ps.in.Err != nil {
			return true, fmt.Errorf("read packet: %w", ps.in.Err)
		}
		return true, nil
	}
	if err != nil {
		return true, ps.readError(err)
	}
	return false, ps.token(tok)
}

// fastToken lexes one token from the buffer, reading more as needed, and
// consumes it; ok is false, nothing consumed, when the decoder must take it.
func (ps *parser) fastToken() (tokKind, bool) {
	in := ps.in
	buf, _ := in.Br.Peek(in.Br.Buffered())
	eof := false
	for {
		kind, n, st := ps.lex(buf)
		switch st {
		case lexNo:
			return 0, false
		case lexDone:
			// The decoder would stop at the limit inside this token: let it
			// (and owe no end for it).
			if in.Markup+int64(n) > in.MaxMarkup {
				ps.needClose = false
				return 0, false
			}
			in.TakeMarkup(n)
			return kind, true
		}
		// Longer than the buffer, the input or the markup left: the
		// decoder's. The buffered bytes at least double each time, so a
		// long token is lexed O(1) times over, however small the reads.
		if eof || len(buf) >= in.Br.Size() || in.Markup+int64(len(buf)) >= in.MaxMarkup {
			return 0, false
		}
		var err error
		buf, err = in.Br.Peek(min(in.Br.Size(), max(2*len(buf), 512)))
		switch {
		case errors.Is(err, io.EOF):
			eof = true
		case err != nil:
			in.Err = err
			return 0, false
		}
	}
}

// lex reads one token at the start of buf; n is its length in bytes. Text
// may point into buf or into ps.scratch: it is good until the next token,
// as are the attributes.
func (ps *parser) lex(buf []byte) (kind tokKind, n int, st lexState) {
	if len(buf) == 0 {
		return 0, 0, lexMore
	}
	if buf[0] != '<' {
		data, n, st := ps.lexText(buf, 0, -1)
		if st != lexDone {
			return 0, 0, st
		}
		ps.tokText = data
		return tokText, n, lexDone
	}
	if len(buf) < 2 {
		return 0, 0, lexMore
	}
	if buf[1] == '/' {
		name, i, st := ps.lexEndName(buf)
		if st != lexDone {
			return 0, 0, st
		}
		i, st = skipSpace(buf, i)
		if st != lexDone {
			return 0, 0, st
		}
		if buf[i] != '>' {
			return 0, 0, lexNo
		}
		ps.tokName = name
		return tokEnd, i + 1, lexDone
	}
	name, i, st := lexName(buf, 1)
	if st != lexDone {
		return 0, 0, st
	}
	ps.attrs1 = ps.attrs1[:0]
	for {
		if i, st = skipSpace(buf, i); st != lexDone {
			return 0, 0, st
		}
		switch buf[i] {
		case '>':
			ps.tokName = name
			return tokStart, i + 1, lexDone
		case '/':
			if i+1 >= len(buf) {
				return 0, 0, lexMore
			}
			if buf[i+1] != '>' {
				return 0, 0, lexNo
			}
			// A self-closing tag owes its end.
			ps.tokName, ps.needClose, ps.toClose = name, true, name
			return tokStart, i + 2, lexDone
		}
		var a xml.Attr
		if a.Name, i, st = lexName(buf, i); st != lexDone {
			return 0, 0, st
		}
		if i, st = skipSpace(buf, i); st != lexDone {
			return 0, 0, st
		}
		if buf[i] != '=' {
			return 0, 0, lexNo
		}
		if i, st = skipSpace(buf, i+1); st != lexDone {
			return 0, 0, st
		}
		q := buf[i]
		if q != '"' && q != '\'' {
			return 0, 0, lexNo
		}
		var val []byte
		var m int
		if val, m, st = ps.lexText(buf, i+1, int(q)); st != lexDone {
			return 0, 0, st
		}
		a.Value = intern(val)
		i = m
		ps.attrs1 = append(ps.attrs1, a)
	}
}

// lexEndName reads the name of an end tag, which is nearly always the open
// element's: then its name is reused rather than looked up.
func (ps *parser) lexEndName(buf []byte) (xml.Name, int, lexState) {
	if n := len(ps.stack); n > 0 {
		raw := ps.stack[n-1].raw
		i := 2
		if raw.Space != "" {
			i += len(raw.Space) + 1
		}
		i += len(raw.Local)
		// The name must end there: a name byte next would lengthen it.
		if i < len(buf) && !isNameByte(buf[i]) && buf[i] < utf8.RuneSelf && raw.Local != "" {
			b := buf[2:i]
			if raw.Space == "" && string(b) == raw.Local ||
				raw.Space != "" && len(b) > len(raw.Space) && b[len(raw.Space)] == ':' &&
					string(b[:len(raw.Space)]) == raw.Space && string(b[len(raw.Space)+1:]) == raw.Local {
				return raw, i, lexDone
			}
		}
	}
	return lexName(buf, 2)
}

func isNameByte(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '_' || c == ':' || c == '.' || c == '-'
}

// skipSpace skips XML white space from buf[i]; lexMore if buf ends first.
func skipSpace(buf []byte, i int) (int, lexState) {
	for ; i < len(buf); i++ {
		switch buf[i] {
		case ' ', '\t', '\r', '\n':
		default:
			return i, lexDone
		}
	}
	return i, lexMore
}

// lexName reads a name from buf[i] as encoding/xml's nsname does, for
// ASCII names with at most one colon, neither first nor last.
func lexName(buf []byte, i int) (xml.Name, int, lexState) {
	start, colon := i, -1
	if i >= len(buf) {
		return xml.Name{}, i, lexMore
	}
	if c := buf[i]; !nameStart(c) {
		return xml.Name{}, i, lexNo
	}
	for i++; i < len(buf); i++ {
		c := buf[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '_', c == '.', c == '-':
		case c == ':':
			if colon >= 0 {
				return xml.Name{}, i, lexNo
			}
			colon = i
		case c >= utf8.RuneSelf:
			return xml.Name{}, i, lexNo
		default:
			if colon == i-1 {
				return xml.Name{}, i, lexNo
			}
			if colon < 0 {
				return xml.Name{Local: intern(buf[start:i])}, i, lexDone
			}
			return xml.Name{Space: intern(buf[start:colon]), Local: intern(buf[colon+1 : i])}, i, lexDone
		}
	}
	return xml.Name{}, i, lexMore
}

// nameStart: ASCII letters and '_' start a name (':' does too, but the
// decoder reads a name that starts with one differently).
func nameStart(c byte) bool { return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || c == '_' }

// textClass: 0 plain, 1 stops or needs care, 2 never taken here.
var textClass = func() (t [utf8.RuneSelf]byte) {
	for c := range t {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			t[c] = 2
		}
	}
	for _, c := range []byte("<&\r\"'") {
		t[c] = 1
	}
	t[']'] = 2 // "]]>" is an error outside CDATA: the decoder's to report
	return t
}()

var predefined = []struct {
	ref string
	c   byte
}{{"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&apos;", '\''}, {"&quot;", '"'}}

// lexText reads text from buf[i] as encoding/xml's text does: up to '<'
// (quote < 0) or past the closing quote. It returns the text as the decoder
// would (CR LF and CR as LF, predefined entities replaced) and the index
// after it.
func (ps *parser) lexText(buf []byte, i, quote int) ([]byte, int, lexState) {
	start := i
	plain := true // no CR and no entity: the text is buf[start:i]
	ps.scratch = ps.scratch[:0]
	var prev byte // the last byte copied, reset by an entity as the decoder does
	for i < len(buf) {
		c := buf[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(buf[i:])
			if r == utf8.RuneError && size == 1 {
				if !utf8.FullRune(buf[i:]) {
					return nil, i, lexMore
				}
				return nil, i, lexNo
			}
			if r > 0xD7FF && r < 0xE000 || r == 0xFFFE || r == 0xFFFF {
				return nil, i, lexNo
			}
			if !plain {
				ps.scratch = append(ps.scratch, buf[i:i+size]...)
			}
			prev = 0
			i += size
			continue
		}
		switch textClass[c] {
		case 2:
			return nil, i, lexNo
		case 1:
			switch {
			case c == '<':
				if quote >= 0 {
					return nil, i, lexNo
				}
				if plain {
					return buf[start:i], i, lexDone
				}
				return ps.scratch, i, lexDone
			case int(c) == quote:
				if plain {
					return buf[start:i], i + 1, lexDone
				}
				return ps.scratch, i + 1, lexDone
			case c == '&':
				if plain {
					ps.scratch = append(ps.scratch, buf[start:i]...)
					plain = false
				}
				found := false
				for _, p := range predefined {
					if len(buf)-i < len(p.ref) {
						if string(buf[i:]) == p.ref[:len(buf)-i] {
							return nil, i, lexMore
						}
						continue
					}
					if string(buf[i:i+len(p.ref)]) == p.ref {
						ps.scratch = append(ps.scratch, p.c)
						i += len(p.ref)
						found = true
						break
					}
				}
				if !found {
					return nil, i, lexNo
				}
				prev = 0
				continue
			case c == '\r':
				if plain {
					ps.scratch = append(ps.scratch, buf[start:i]...)
					plain = false
				}
				ps.scratch = append(ps.scratch, '\n')
				prev = c
				i++
				continue
			}
			// A quote that does not end this text.
		}
		if !plain {
			if c != '\n' || prev != '\r' {
				ps.scratch = append(ps.scratch, c)
			}
		}
		prev = c
		i++
	}
	return nil, i, lexMore
}

// names are the names and namespace URIs of edXML packets, kept so that the
// tokenizer does not allocate a string for each.
var names = func() map[string]string {
	m := map[string]string{}
	for _, s := range []string{
		"edXML", "edXMLEnvelope", "edXMLHeader", "edXMLBody", "edXMLManifest", "MessageHeader",
		"From", "To", "OrganId", "OrganizationInCharge", "OrganName", "OrganAdd", "Email",
		"Telephone", "Fax", "Website", "DocumentId", "Code", "CodeNumber", "CodeNotation",
		"PromulgationInfo", "Place", "PromulgationDate", "DocumentType", "Type", "TypeDetail",
		"TypeName", "Subject", "Content", "SignerInfo", "Competence", "Position", "FullName",
		"DueDate", "ToPlaces", "OtherInfo", "Priority", "SphereOfPromulgation", "TyperNotation",
		"PromulgationAmount", "PageAmount", "Direction", "Appendixes", "Appendix",
		"SteeringType", "ResponseFor", "ReplacementInfoList", "ReplacementInfo", "OrganIdList",
		"TraceHeaderList", "TraceHeader", "Timestamp", "Bussiness", "Business",
		"BussinessDocType", "BussinessDocReason", "BusinessDocType", "BusinessDocReason",
		"BussinessDocumentInfo", "DocumentInfo", "DocumentReceiver", "ReceiverList", "Receiver",
		"ReceiverType", "Paper", "StaffInfo", "Staff", "Department", "Mobile", "StatusCode",
		"Description", "AttachmentEncoded", "Attachment", "ContentId", "ContentType",
		"ContentTransferEncoded", "AttachmentName", "Reference", "Signature", "SignedInfo",
		"CanonicalizationMethod", "SignatureMethod", "Transforms", "Transform", "DigestMethod",
		"DigestValue", "SignatureValue", "KeyInfo", "X509Data", "X509Certificate",
		"xmlns", "xlink", "href", "ds", "Algorithm", "URI", "Id",
		Namespace, DSigNamespace, "http://www.w3.org/1999/xlink",
		"http://www.w3.org/2001/10/xml-exc-c14n#", "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
		"http://www.w3.org/2001/04/xmlenc#sha256", "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
		"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256", "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
		"base64", "application/pdf", "application/zip", "0", "1", "2",
	} {
		m[s] = s
	}
	return m
}()

// intern returns b as a string, without allocating for a known one.
func intern(b []byte) string {
	if s, ok := names[string(b)]; ok {
		return s
	}
	return string(b)
}
