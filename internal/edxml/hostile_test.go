package edxml_test

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/edxml"
)

// base is a valid packet to break: edoc-new.xml.
func base(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, "edoc-new.xml"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func statusBase(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, "status-01.xml"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// replace replaces old, which must occur in s, by new.
func replace(t testing.TB, s, old, repl string) string {
	t.Helper()
	if !strings.Contains(s, old) {
		t.Fatalf("%q not in packet", old)
	}
	return strings.Replace(s, old, repl, 1)
}

const ctePrefix = `<edXML:ContentTransferEncoded xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016">`

// withContent replaces the attachment's base64 with content.
func withContent(t testing.TB, content string) string {
	t.Helper()
	s := base(t)
	i := strings.Index(s, ctePrefix) + len(ctePrefix)
	j := strings.Index(s, "</edXML:ContentTransferEncoded>")
	return s[:i] + content + s[j:]
}

func pdfBase64(t testing.TB) string {
	t.Helper()
	s := base(t)
	i := strings.Index(s, ctePrefix) + len(ctePrefix)
	j := strings.Index(s, "</edXML:ContentTransferEncoded>")
	return s[i:j]
}

func makeZip(t testing.TB, entries map[string][]byte, method uint16) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: n, Method: method})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(entries[n]); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// hostileCase is a broken or tricky packet and the codes it must get.
type hostileCase struct {
	name string
	give string
	opts edxml.Options
	want []string // error codes, in order
	warn string   // a warning code that must be there
}

func TestHostile(t *testing.T) {
	for _, tt := range hostileCases(t) {
		t.Run(tt.name, func(t *testing.T) {
			p, err := edxml.Parse(strings.NewReader(tt.give), tt.opts)
			got := codes(p, err)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("codes = %v, want %v (err %v)", got, tt.want, err)
			}
			// The header tokenizer reads each case as encoding/xml does.
			sameAsReference(t, []byte(tt.give), tt.opts)
			if tt.warn == "" {
				return
			}
			for _, w := range p.Warnings {
				if w.Code == tt.warn {
					return
				}
			}
			t.Errorf("no %s warning in %v", tt.warn, p.Warnings)
		})
	}
}

func hostileCases(t testing.TB) []hostileCase {
	t.Helper()
	pdf := pdfBase64(t)
	deflated := makeZip(t, map[string][]byte{"a.pdf": []byte("%PDF-1.4 hello"), "inner.zip": makeZip(t, map[string][]byte{"x": bytes.Repeat([]byte{0}, 1<<20)}, zip.Deflate)}, zip.Deflate)
	manyEntries := map[string][]byte{}
	for i := range 1001 {
		manyEntries[strings.Repeat("e", 1+i%50)+string(rune('a'+i%26))+strings.Repeat("x", i/26)] = []byte("x")
	}
	encrypted := makeZip(t, map[string][]byte{"a.pdf": []byte("%PDF-1.4 hello")}, zip.Store)
	encrypted[6] |= 1 // general purpose flag bit 0 in the local header
	if i := bytes.Index(encrypted, []byte("PK\x01\x02")); i >= 0 {
		encrypted[i+8] |= 1 // and in the central directory
	}
	badCRC := makeZip(t, map[string][]byte{"a.pdf": []byte("%PDF-1.4 hello")}, zip.Store)
	if i := bytes.Index(badCRC, []byte("%PDF")); i >= 0 {
		badCRC[i+5] ^= 0xff
	}
	method99 := makeZip(t, map[string][]byte{"a.pdf": []byte("%PDF-1.4 hello")}, zip.Store)
	method99[8] = 99
	if i := bytes.Index(method99, []byte("PK\x01\x02")); i >= 0 {
		method99[i+10] = 99
	}
	b64 := base64.StdEncoding.EncodeToString

	return []hostileCase{
		{name: "byte order mark", give: "\uFEFF" + base(t)},
		{name: "latin-1 declared", give: replace(t, base(t), `encoding="UTF-8"`, `encoding="ISO-8859-1"`), want: []string{edxml.CodeMalformed}},
		{name: "invalid utf-8 in header", give: replace(t, base(t), "Hà Nội", "H\xe0 N\xff"), want: []string{edxml.CodeMalformed}},
		{name: "invalid utf-8 in content", give: withContent(t, pdf[:8]+"\xff\xfe"+pdf[8:]), want: []string{edxml.CodeMalformed}},
		{name: "control char in content", give: withContent(t, pdf[:8]+"\x01"+pdf[8:]), want: []string{edxml.CodeMalformed}},
		{name: "undeclared entity", give: replace(t, base(t), "Hà Nội", "&nbsp;"), want: []string{edxml.CodeMalformed}},
		{name: "undeclared entity in content", give: withContent(t, pdf[:8]+"&foo;"+pdf[8:]), want: []string{edxml.CodeMalformed}},
		{name: "doctype after prolog", give: replace(t, base(t), "<edXML xmlns", "<!DOCTYPE edXML [<!ENTITY % p SYSTEM \"http://127.0.0.1/x\"> %p;]><edXML xmlns"), want: []string{edxml.CodeDTDForbidden}},
		{name: "entity declaration inside", give: replace(t, base(t), "<edXML:Subject>", "<!ENTITY x \"y\"><edXML:Subject>"), want: []string{edxml.CodeDTDForbidden}},
		{name: "legacy namespace", give: strings.ReplaceAll(base(t), edxml.Namespace, edxml.LegacyNamespace), want: []string{edxml.CodeNamespace}},
		{name: "lookalike root", give: replace(t, base(t), `<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">`, `<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016/">`), want: []string{edxml.CodeNamespace}},
		{name: "second root", give: base(t) + "<edXML/>", want: []string{edxml.CodeMalformed}},
		{name: "text after root", give: base(t) + "junk", want: []string{edxml.CodeMalformed}},
		{name: "unbound prefix", give: replace(t, base(t), "<edXML:Subject>", "<x:Subject>"), want: []string{edxml.CodeMalformed}},
		{name: "mismatched end tag", give: replace(t, base(t), "</edXML:Subject>", "</edXML:Content>"), want: []string{edxml.CodeMalformed}},
		{name: "empty input", give: "", want: []string{edxml.CodeMalformed}},
		{name: "huge subject", give: replace(t, base(t), "<edXML:Subject>", "<edXML:Subject>"+strings.Repeat("a", 70<<10)), want: []string{edxml.CodeTooLarge}},
		{name: "markup limit", give: base(t), opts: edxml.Options{Limits: edxml.Limits{MaxMarkupBytes: 2000}}, want: []string{edxml.CodeTooLarge}},
		{name: "huge unknown element", give: replace(t, base(t), "<edXML:Subject>", "<edXML:X>"+strings.Repeat("a ", 5<<20)+"</edXML:X><edXML:Subject>"), want: []string{edxml.CodeTooLarge}},
		{name: "too many recipients", give: replace(t, base(t), "<edXML:To>", strings.Repeat("<edXML:To/>", 11)+"<edXML:To>"), opts: edxml.Options{Limits: edxml.Limits{MaxRecipients: 10}}, want: []string{edxml.CodeTooLarge}},
		{name: "many attributes", give: replace(t, base(t), "<edXML:Subject>", "<edXML:Subject"+attrs(100)+">"), want: []string{edxml.CodeTooLarge}},
		{name: "deep nesting", give: replace(t, base(t), "<edXML:Subject>", strings.Repeat("<a>", 70)+strings.Repeat("</a>", 70)+"<edXML:Subject>"), want: []string{edxml.CodeTooDeep}},
		{name: "depth limit", give: base(t), opts: edxml.Options{Limits: edxml.Limits{MaxDepth: 5}}, want: []string{edxml.CodeTooDeep}},
		{name: "attachment too large", give: base(t), opts: edxml.Options{Limits: edxml.Limits{MaxAttachmentBytes: 100}}, want: []string{edxml.CodeAttachmentTooLarge}},
		{name: "attachments too large in all", give: base(t), opts: edxml.Options{Limits: edxml.Limits{MaxTotalBytes: 100}}, want: []string{edxml.CodeAttachmentTooLarge}},
		{name: "data after padding", give: withContent(t, "QQ==QUFB"), want: []string{edxml.CodeAttachmentEncoding}},
		{name: "missing padding", give: withContent(t, "QQ"), want: []string{edxml.CodeAttachmentEncoding}},
		{name: "three pads", give: withContent(t, "Q==="), want: []string{edxml.CodeAttachmentEncoding}},
		{name: "named entity in content", give: withContent(t, pdf[:8]+"&amp;"+pdf[8:]), want: []string{edxml.CodeAttachmentEncoding}},
		{name: "element in content", give: withContent(t, pdf[:8]+"<b>x</b>"+pdf[8:]), want: []string{edxml.CodeAttachmentEncoding}},
		{name: "empty content", give: withContent(t, ""), want: []string{edxml.CodeAttachmentMissing}},
		{name: "whitespace content", give: withContent(t, "\n   \n"), want: []string{edxml.CodeAttachmentMissing}},
		{name: "self-closing content", give: replace(t, withContent(t, ""), ctePrefix+"</edXML:ContentTransferEncoded>", `<ContentTransferEncoded/>`), want: []string{edxml.CodeAttachmentMissing}},
		{name: "wrapped CRLF and character references", give: withContent(t, "\r\n  "+pdf[:76]+"&#13;&#xA;"+pdf[76:]+"\r\n")},
		{name: "CDATA and comment in content", give: withContent(t, pdf[:40]+"<!-- a comment -->"+pdf[40:80]+"<![CDATA["+pdf[80:120]+"]]>"+pdf[120:]+"<?pi x?>")},
		{name: "plus as character reference", give: withContent(t, "&#43;&#x2B;8=")},
		{name: "duplicate From", give: replace(t, base(t), "<edXML:DocumentId>", "<edXML:From><edXML:OrganId>000.00.00.G12</edXML:OrganId></edXML:From><edXML:DocumentId>"), want: []string{edxml.CodeDuplicateElement}},
		{name: "duplicate DocumentId", give: replace(t, base(t), "<edXML:Subject>", "<edXML:DocumentId>other</edXML:DocumentId><edXML:Subject>"), want: []string{edxml.CodeDuplicateElement}},
		{name: "two contents in one attachment", give: replace(t, base(t), "</Attachment>", "<ContentTransferEncoded>QUFB</ContentTransferEncoded></Attachment>"), want: []string{edxml.CodeDuplicateElement}},
		{name: "duplicate content id", give: replace(t, base(t), "</AttachmentEncoded>", "<Attachment><ContentId>7c1e2a90-5b3f-4d21-9a6e-0f3b8d4c1a01</ContentId><ContentTransferEncoded>"+pdf+"</ContentTransferEncoded></Attachment></AttachmentEncoded>"), want: []string{edxml.CodeDuplicateContentID}},
		{name: "unreferenced attachment warns", give: replace(t, base(t), "</AttachmentEncoded>", "<Attachment><ContentId>extra</ContentId><ContentTransferEncoded>"+pdf+"</ContentTransferEncoded></Attachment></AttachmentEncoded>"), warn: edxml.CodeUnreferenced},
		{name: "new document without file", give: base(t)[:strings.Index(base(t), "<edXML:edXMLBody>")] + "</edXML:edXMLEnvelope></edXML>", want: []string{edxml.CodeAttachmentMissing}},
		{name: "foreign element ignored", give: replace(t, base(t), "<edXML:Subject>", `<x:Subject xmlns:x="urn:other">forged</x:Subject><edXML:Subject>`), warn: edxml.CodeUnknownElement},
		{name: "unprefixed foreign Subject", give: replace(t, base(t), "<edXML:Subject>", `<Subject xmlns="">forged</Subject><edXML:Subject>`), warn: edxml.CodeUnknownElement},
		{name: "lenient date warns", give: replace(t, base(t), "<edXML:PromulgationDate>2025/11/20", "<edXML:PromulgationDate>20/11/2025"), warn: edxml.CodeDateFormat},
		{name: "impossible timestamp", give: replace(t, base(t), "2025/11/20 09:15:02", "2025/11/20 25:15:02"), want: []string{edxml.CodeBadDate}},
		{name: "lowercase id refused", give: replace(t, base(t), "<edXML:OrganId>000.00.00.H29", "<edXML:OrganId>vxp.saas.03"), want: []string{edxml.CodeBadOrganID}},
		{name: "lowercase id allowed", give: replace(t, base(t), "<edXML:OrganId>000.00.00.H29", "<edXML:OrganId>vxp.saas.03"), opts: edxml.Options{AllowLowercaseIDs: true}},
		{name: "no To", give: cut(t, base(t), "<edXML:To>", "</edXML:To>"), want: []string{edxml.CodeMissingField}},
		{name: "revoke without document", give: replace(t, replace(t, base(t), "<edXML:BussinessDocType>0", "<edXML:BussinessDocType>1"), "<edXML:DocumentId>000.00.00.G22,2025/11/20,1234/VPCP-KSTT</edXML:DocumentId>\n          <edXML:BussinessDocType>", "<edXML:BussinessDocType>"), want: []string{edxml.CodeMissingField}},
		{name: "update without info", give: replace(t, base(t), "<edXML:BussinessDocType>0", "<edXML:BussinessDocType>2"), want: []string{edxml.CodeMissingField}},
		{name: "replace without list", give: replace(t, base(t), "<edXML:BussinessDocType>0", "<edXML:BussinessDocType>3"), want: []string{edxml.CodeMissingField}},
		{name: "kind mismatch", give: base(t), opts: edxml.Options{Kind: edxml.KindStatus}, want: []string{edxml.CodeKindMismatch}},
		{name: "status 14 read as 15", give: replace(t, statusBase(t), "<edXML:StatusCode>01", "<edXML:StatusCode>14"), warn: edxml.CodeStatusAlias},
		{name: "status 1 read as 01", give: replace(t, statusBase(t), "<edXML:StatusCode>01", "<edXML:StatusCode>1"), warn: edxml.CodeStatusAlias},
		{name: "status 07", give: replace(t, statusBase(t), "<edXML:StatusCode>01", "<edXML:StatusCode>07"), want: []string{edxml.CodeBadStatusCode}},
		{name: "status without timestamp", give: cut(t, statusBase(t), "<edXML:Timestamp>", "</edXML:Timestamp>"), want: []string{edxml.CodeMissingField}},
		{name: "status 02 without reason warns", give: replace(t, cut(t, statusBase(t), "<edXML:Description>", "</edXML:Description>"), "<edXML:StatusCode>01", "<edXML:StatusCode>02"), warn: edxml.CodeEmptyReason},
		{name: "every problem reported", give: replace(t, replace(t, base(t), "<edXML:PromulgationDate>2025/11/20", "<edXML:PromulgationDate>2025/13/01"), "<edXML:BussinessDocType>0", "<edXML:BussinessDocType>9"), want: []string{edxml.CodeBadDate, edxml.CodeBadBusinessType}},
		{name: "character reference to NUL", give: withContent(t, pdf[:8]+"&#0;"+pdf[8:]), want: []string{edxml.CodeMalformed}},
		{name: "character reference to a surrogate", give: withContent(t, pdf[:8]+"&#xD800;"+pdf[8:]), want: []string{edxml.CodeMalformed}},
		{name: "CDATA end outside CDATA", give: withContent(t, pdf[:8]+"]]>"+pdf[8:]), want: []string{edxml.CodeMalformed}},
		{name: "double hyphen in a comment", give: withContent(t, pdf[:8]+"<!-- a -- b -->"+pdf[8:]), want: []string{edxml.CodeMalformed}},
		{name: "NUL in CDATA after a stray character", give: withContent(t, pdf[:8]+"<![CDATA[$\x00]]>"+pdf[8:]), want: []string{edxml.CodeMalformed}},
		{name: "non-zero padding bits", give: withContent(t, "QR=="), want: []string{edxml.CodeAttachmentEncoding}},
		{name: "too many attributes in all", give: replace(t, base(t), "<edXML:Subject>", strings.Repeat("<x:a xmlns:x=\"urn:x\""+attrs(60)+"/>", 400)+"<edXML:Subject>"), want: []string{edxml.CodeTooLarge}},
		{name: "zip with nested zip stays packed", give: withContent(t, b64(deflated))},
		{name: "zip with too many entries", give: withContent(t, b64(makeZip(t, manyEntries, zip.Store))), want: []string{edxml.CodeAttachmentTooLarge}},
		{name: "zip too large in total", give: withContent(t, b64(deflated)), opts: edxml.Options{Limits: edxml.Limits{MaxZipBytes: 1000}}, want: []string{edxml.CodeAttachmentTooLarge}},
		{name: "encrypted zip", give: withContent(t, b64(encrypted)), want: []string{edxml.CodeAttachmentEncoding}},
		{name: "zip with bad crc", give: withContent(t, b64(badCRC)), want: []string{edxml.CodeAttachmentEncoding}},
		{name: "zip with unknown method", give: withContent(t, b64(method99)), want: []string{edxml.CodeAttachmentEncoding}},
		{name: "truncated zip", give: withContent(t, b64(deflated[:len(deflated)-30])), want: []string{edxml.CodeAttachmentEncoding}},
		{name: "zip check can be skipped", give: withContent(t, b64(encrypted)), opts: edxml.Options{NoZipCheck: true}},
	}
}

func attrs(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(" a")
		b.WriteString(strings.Repeat("x", i))
		b.WriteString(`=""`)
	}
	return b.String()
}

// cut removes the first element from open to close, inclusive.
func cut(t testing.TB, s, open, end string) string {
	t.Helper()
	i := strings.Index(s, open)
	j := strings.Index(s[i:], end)
	if i < 0 || j < 0 {
		t.Fatalf("%s…%s not in packet", open, end)
	}
	return s[:i] + s[i+j+len(end):]
}

// A cap that falls inside a multi-byte character is still the cap
// (xml.too_large), not "invalid UTF-8": the markup cap cuts the decoder's
// text or attribute value short, the text cap a header field.
func TestCapInsideCharacter(t *testing.T) {
	const ch = "ệ" // three bytes
	subject := base(t)
	subject = replace(t, subject, "<edXML:Subject>", "<edXML:Subject>"+strings.Repeat(ch, 40))
	textAt := strings.Index(subject, "<edXML:Subject>") + len("<edXML:Subject>")
	attr := replace(t, base(t), "<edXML:Subject>", `<edXML:Subject title="`+strings.Repeat(ch, 40)+`">`)
	attrAt := strings.Index(attr, `title="`) + len(`title="`)
	field := replace(t, base(t), "<edXML:Subject>", "<edXML:Subject>"+strings.Repeat("a", 64<<10-1)+ch)
	tests := []struct {
		name string
		give string
		lim  edxml.Limits
	}{
		{name: "markup cap on a character boundary", give: subject, lim: edxml.Limits{MaxMarkupBytes: int64(textAt + 3*7)}},
		{name: "markup cap after a character's first byte", give: subject, lim: edxml.Limits{MaxMarkupBytes: int64(textAt + 3*7 + 1)}},
		{name: "markup cap after a character's second byte", give: subject, lim: edxml.Limits{MaxMarkupBytes: int64(textAt + 3*7 + 2)}},
		{name: "markup cap inside an attribute value's character", give: attr, lim: edxml.Limits{MaxMarkupBytes: int64(attrAt + 3*5 + 1)}},
		{name: "text cap inside a character", give: field},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := edxml.Parse(strings.NewReader(tt.give), edxml.Options{Limits: tt.lim})
			if got := codes(p, err); !slices.Equal(got, []string{edxml.CodeTooLarge}) {
				t.Errorf("codes = %v, want [%s] (err %v)", got, edxml.CodeTooLarge, err)
			}
		})
	}
}

// The content decoded through character references, CDATA and comments is
// the same file.
func TestContentVariantsDecodeAlike(t *testing.T) {
	pdf := pdfBase64(t)
	want := sum(t, base(t))
	for _, give := range []string{
		withContent(t, "\r\n  "+pdf[:76]+"&#13;&#xA;"+pdf[76:]+"\r\n"),
		withContent(t, pdf[:40]+"<!-- a comment -->"+pdf[40:80]+"<![CDATA["+pdf[80:120]+"]]>"+pdf[120:]),
		withContent(t, pdf[:3]+"&#"+strconv.Itoa(int(pdf[3]))+";"+pdf[4:]),
	} {
		if got := sum(t, give); got != want {
			t.Errorf("sha256 %s, want %s", got, want)
		}
	}
}

func sum(t *testing.T, packet string) string {
	t.Helper()
	p, err := edxml.Parse(strings.NewReader(packet), edxml.Options{})
	if err != nil || !p.Valid() {
		t.Fatalf("%v %v", err, p.Errors)
	}
	return p.Attachments[0].SHA256
}

// A lookalike Attachment nested in the real one cannot lend it its content:
// only /edXML/AttachmentEncoded/Attachment/ContentTransferEncoded streams.
func TestNestedAttachmentIsNotTheAttachment(t *testing.T) {
	evil := base64.StdEncoding.EncodeToString([]byte("EVIL CONTENT"))
	give := replace(t, base(t), "<Attachment>", "<Attachment><X><Attachment><ContentTransferEncoded>"+evil+"</ContentTransferEncoded></Attachment></X>")
	p, err := edxml.Parse(strings.NewReader(give), edxml.Options{})
	if err != nil || !p.Valid() {
		t.Fatalf("%v %v", err, p.Errors)
	}
	if want := sum(t, base(t)); len(p.Attachments) != 1 || p.Attachments[0].SHA256 != want || p.Attachments[0].Format != "pdf" {
		t.Errorf("attachment = %+v, want the PDF (sha256 %s)", p.Attachments, want)
	}
}

// The hub's TraceHeader goes into the packet's own TraceHeaderList, never
// into a lookalike the sender placed elsewhere.
func TestTraceGoesToTheRealList(t *testing.T) {
	fake := "<edXML:Ext><edXML:TraceHeaderList><edXML:TraceHeader/></edXML:TraceHeaderList></edXML:Ext>"
	give := replace(t, base(t), "</edXML:TraceHeaderList>", "</edXML:TraceHeaderList>"+fake)
	p, err := edxml.Parse(strings.NewReader(give), edxml.Options{})
	if err != nil || !p.Valid() {
		t.Fatalf("%v %v", err, p.Errors)
	}
	var out bytes.Buffer
	if err := edxml.WithTrace(&out, strings.NewReader(give), p, "000.00.00.G01", time.Now()); err != nil {
		t.Fatal(err)
	}
	q, err := edxml.Parse(&out, edxml.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if hs := q.Trace.Headers; len(hs) != 2 || hs[1].OrganID != "000.00.00.G01" {
		t.Errorf("trace = %+v", hs)
	}
}

type failingSink struct{ closed bool }

func (s *failingSink) Write([]byte) (int, error) { return 0, io.ErrShortWrite }
func (s *failingSink) Close() error              { s.closed = true; return nil }

// A sink whose write fails is still closed, so its owner's resources go.
func TestFailingSinkIsClosed(t *testing.T) {
	sink := &failingSink{}
	_, err := edxml.Parse(strings.NewReader(base(t)), edxml.Options{Attachment: func(int) (io.Writer, error) { return sink, nil }})
	if err == nil || !sink.closed {
		t.Errorf("err %v closed %v", err, sink.closed)
	}
}

// A zip's read errors do not tell the sender where the hub spools files.
func TestZipErrorHidesSpoolPath(t *testing.T) {
	b, err := os.ReadFile("testdata/fuzz/FuzzTokenizer/649e44579959e1dd")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitN(string(b), "\n", 2)
	q := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(lines[1]), "[]byte("), ")")
	data, err := strconv.Unquote(q)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p, err := edxml.Parse(strings.NewReader(data), edxml.Options{TempDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Errors) == 0 {
		t.Fatal("no errors: the input no longer breaks the zip")
	}
	for _, e := range p.Errors {
		if strings.Contains(e.Message, dir) {
			t.Errorf("message names the spool: %s", e.Message)
		}
	}
}
