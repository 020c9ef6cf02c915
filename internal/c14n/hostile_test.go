package c14n_test

import (
	"bytes"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/lienthong/lienthong/internal/c14n"
)

// lintVerdict is what xmllint --exc-c14n makes of a hostile document.
type lintVerdict int

const (
	accepts lintVerdict = iota // a limit of ours, or a DTD, which libxml2 reads
	rejects                    // not well-formed: xmllint fails too
	// nsError: not namespace-well-formed. libxml2 reports a "namespace
	// error" and goes on to canonicalise; Enveloped refuses it, as the
	// XPath data model that XML-DSig works on exists only for
	// namespace-well-formed documents.
	nsError
)

func TestHostile(t *testing.T) {
	deep := strings.Repeat("<a>", 65) + strings.Repeat("</a>", 65)
	tests := []struct {
		name string
		give string
		opts c14n.Options
		want error
		lint lintVerdict
	}{
		{name: "doctype", give: `<!DOCTYPE r><r/>`, want: c14n.ErrDTD},
		{name: "internal subset", give: `<!DOCTYPE r [<!ENTITY x "y">]><r>&x;</r>`, want: c14n.ErrDTD},
		{name: "external entity", give: `<?xml version="1.0"?><!DOCTYPE r SYSTEM "file:///etc/passwd"><r/>`, want: c14n.ErrDTD},
		{name: "billion laughs", give: `<!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><r>&b;</r>`, want: c14n.ErrDTD},
		{name: "doctype after root", give: `<r/><!DOCTYPE r>`, want: c14n.ErrDTD, lint: rejects},
		{name: "entity declaration in content", give: `<r><!ENTITY x "y"></r>`, want: c14n.ErrDTD, lint: rejects},
		{name: "depth 65", give: deep, want: c14n.ErrTooDeep},
		{name: "depth 3 of 2", give: `<a><b><c/></b></a>`, opts: c14n.Options{MaxDepth: 2}, want: c14n.ErrTooDeep},
		{name: "markup limit", give: `<r a="` + strings.Repeat("x", 2000) + `"/>`, opts: c14n.Options{MaxMarkup: 1000}, want: c14n.ErrTooLarge},
		{name: "markup limit by elements", give: `<r>` + strings.Repeat("<e/>", 300) + `</r>`, opts: c14n.Options{MaxMarkup: 1000}, want: c14n.ErrTooLarge},
		{name: "markup limit by comment", give: `<r><!--` + strings.Repeat("x", 2000) + `--></r>`, opts: c14n.Options{MaxMarkup: 1000}, want: c14n.ErrTooLarge},
		{name: "empty", give: ``, want: c14n.ErrMalformed, lint: rejects},
		{name: "no root", give: `<?xml version="1.0"?><!-- c -->`, want: c14n.ErrMalformed, lint: rejects},
		{name: "truncated in content", give: `<r><a>text`, want: c14n.ErrMalformed, lint: rejects},
		{name: "truncated in tag", give: `<r><a x="1`, want: c14n.ErrMalformed, lint: rejects},
		{name: "truncated in CDATA", give: `<r><![CDATA[abc`, want: c14n.ErrMalformed, lint: rejects},
		{name: "truncated in reference", give: `<r>&#x4`, want: c14n.ErrMalformed, lint: rejects},
		{name: "truncated in UTF-8", give: "<r>\xe1\xbb", want: c14n.ErrMalformed, lint: rejects},
		{name: "invalid UTF-8", give: "<r>\xff</r>", want: c14n.ErrMalformed, lint: rejects},
		{name: "invalid UTF-8 in attribute", give: "<r a=\"\xc3\x28\"/>", want: c14n.ErrMalformed, lint: rejects},
		{name: "invalid UTF-8 in comment", give: "<r><!--\xff--></r>", want: c14n.ErrMalformed, lint: rejects},
		{name: "invalid UTF-8 in PI", give: "<r><?p \xff?></r>", want: c14n.ErrMalformed, lint: rejects},
		{name: "surrogate in UTF-8", give: "<r>\xed\xa0\x80</r>", want: c14n.ErrMalformed, lint: rejects},
		{name: "U+FFFE", give: "<r>\uFFFE</r>", want: c14n.ErrMalformed, lint: rejects},
		{name: "control character", give: "<r>\x01</r>", want: c14n.ErrMalformed, lint: rejects},
		{name: "NUL", give: "<r>\x00</r>", want: c14n.ErrMalformed, lint: rejects},
		{name: "char ref to NUL", give: `<r>&#0;</r>`, want: c14n.ErrMalformed, lint: rejects},
		{name: "char ref to surrogate", give: `<r>&#xD800;</r>`, want: c14n.ErrMalformed, lint: rejects},
		{name: "char ref to surrogate in attribute", give: `<r a="&#xD800;"/>`, want: c14n.ErrMalformed, lint: rejects},
		{name: "char ref beyond Unicode", give: `<r>&#x110000;</r>`, want: c14n.ErrMalformed, lint: rejects},
		{name: "char ref upper X", give: `<r>&#X41;</r>`, want: c14n.ErrMalformed, lint: rejects},
		{name: "empty char ref", give: `<r>&#;</r>`, want: c14n.ErrMalformed, lint: rejects},
		{name: "undeclared entity", give: `<r>&nbsp;</r>`, want: c14n.ErrMalformed, lint: rejects},
		{name: "long entity name", give: `<r>&averyveryverylongname;</r>`, want: c14n.ErrMalformed, lint: rejects},
		{name: "undeclared entity in attribute", give: `<r a="&x;"/>`, want: c14n.ErrMalformed, lint: rejects},
		{name: "bare ampersand", give: `<r>a & b</r>`, want: c14n.ErrMalformed, lint: rejects},
		{name: "]]> in text", give: `<r>a]]>b</r>`, want: c14n.ErrMalformed, lint: rejects},
		{name: "]]]> in text", give: `<r>a]]]>b</r>`, want: c14n.ErrMalformed, lint: rejects},
		{name: "< in attribute", give: `<r a="<"/>`, want: c14n.ErrMalformed, lint: rejects},
		{name: "unquoted attribute", give: `<r a=1/>`, want: c14n.ErrMalformed, lint: rejects},
		{name: "duplicate attribute", give: `<r a="1" a="2"/>`, want: c14n.ErrMalformed, lint: rejects},
		{name: "duplicate expanded name", give: `<r xmlns:p="urn:x" xmlns:q="urn:x" p:a="1" q:a="2"/>`, want: c14n.ErrMalformed, lint: nsError},
		{name: "duplicate namespace declaration", give: `<r xmlns:p="urn:x" xmlns:p="urn:x"/>`, want: c14n.ErrMalformed, lint: rejects},
		{name: "duplicate among many attributes", give: `<r` + manyAttrs(40) + ` a5="x"/>`, want: c14n.ErrMalformed, lint: rejects},
		{name: "undeclared element prefix", give: `<p:r/>`, want: c14n.ErrMalformed, lint: nsError},
		{name: "undeclared attribute prefix", give: `<r p:a="1"/>`, want: c14n.ErrMalformed, lint: nsError},
		{name: "undeclared prefix in Signature", give: `<r><Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><p:x/></Signature></r>`, want: c14n.ErrMalformed, lint: nsError},
		{name: "prefix undeclared with empty value", give: `<r xmlns:p=""/>`, want: c14n.ErrMalformed, lint: nsError},
		{name: "xmlns prefix declared", give: `<r xmlns:xmlns="urn:x"/>`, want: c14n.ErrMalformed, lint: nsError},
		{name: "xml prefix rebound", give: `<r xmlns:xml="urn:x"/>`, want: c14n.ErrMalformed, lint: nsError},
		{name: "xml namespace bound to another prefix", give: `<r xmlns:x="http://www.w3.org/XML/1998/namespace"/>`, want: c14n.ErrMalformed, lint: nsError},
		{name: "xmlns namespace declared", give: `<r xmlns:x="http://www.w3.org/2000/xmlns/"/>`, want: c14n.ErrMalformed, lint: nsError},
		{name: "element with prefix xmlns", give: `<xmlns:r/>`, want: c14n.ErrMalformed, lint: nsError},
		{name: "two colons", give: `<a:b:c xmlns:a="urn:x"/>`, want: c14n.ErrMalformed, lint: nsError},
		{name: "empty local name", give: `<r xmlns:a="urn:x"><a: /></r>`, want: c14n.ErrMalformed, lint: nsError},
		{name: "empty prefix", give: `<:r/>`, want: c14n.ErrMalformed, lint: nsError},
		{name: "relative namespace", give: `<r xmlns="rel"/>`, want: c14n.ErrMalformed, lint: rejects},
		{name: "relative namespace prefixed", give: `<r xmlns:p="../x"><p:a/></r>`, want: c14n.ErrMalformed, lint: rejects},
		{name: "unused relative namespace", give: `<r xmlns:p="x"/>`, want: c14n.ErrMalformed, lint: rejects},
		{name: "namespace not a URI", give: `<r xmlns="urn:a b"/>`, want: c14n.ErrMalformed, lint: rejects},
		{name: "namespace with bad escape", give: `<r xmlns="http://x/%zz"/>`, want: c14n.ErrMalformed, lint: rejects},
		{name: "relative namespace in Signature", give: `<r><Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><x xmlns="rel"/></Signature></r>`, want: c14n.ErrMalformed, lint: rejects},
		{name: "mismatched end tag", give: `<r><a></b></r>`, want: c14n.ErrMalformed, lint: rejects},
		{name: "mismatched prefix", give: `<r xmlns:p="urn:x" xmlns:q="urn:x"><p:a></q:a></r>`, want: c14n.ErrMalformed, lint: rejects},
		{name: "end tag without start", give: `</r>`, want: c14n.ErrMalformed, lint: rejects},
		{name: "two roots", give: `<r/><s/>`, want: c14n.ErrMalformed, lint: rejects},
		{name: "text before root", give: `x<r/>`, want: c14n.ErrMalformed, lint: rejects},
		{name: "text after root", give: `<r/>x`, want: c14n.ErrMalformed, lint: rejects},
		{name: "reference after root", give: `<r/>&#32;`, want: c14n.ErrMalformed, lint: rejects},
		{name: "CDATA before root", give: `<![CDATA[x]]><r/>`, want: c14n.ErrMalformed, lint: rejects},
		{name: "CDATA after root", give: `<r/><![CDATA[ ]]>`, want: c14n.ErrMalformed, lint: rejects},
		{name: "bad CDATA opener", give: `<r><![CDATX[x]]></r>`, want: c14n.ErrMalformed, lint: rejects},
		{name: "BOM inside", give: "<r/>\uFEFF", want: c14n.ErrMalformed, lint: rejects},
		{name: "two BOMs", give: "\uFEFF\uFEFF<r/>", want: c14n.ErrMalformed, lint: rejects},
		{name: "declaration not first", give: ` <?xml version="1.0"?><r/>`, want: c14n.ErrMalformed, lint: rejects},
		{name: "declaration after comment", give: `<!-- c --><?xml version="1.0"?><r/>`, want: c14n.ErrMalformed, lint: rejects},
		{name: "declaration in content", give: `<r><?xml version="1.0"?></r>`, want: c14n.ErrMalformed, lint: rejects},
		{name: "declaration without version", give: `<?xml encoding="UTF-8"?><r/>`, want: c14n.ErrMalformed, lint: rejects},
		{name: "declaration with junk", give: `<?xml version="1.0" junk="1"?><r/>`, want: c14n.ErrMalformed, lint: rejects},
		{name: "declaration out of order", give: `<?xml encoding="UTF-8" version="1.0"?><r/>`, want: c14n.ErrMalformed, lint: rejects},
		{name: "Latin-1 declared", give: `<?xml version="1.0" encoding="ISO-8859-1"?><r/>`, want: c14n.ErrMalformed},
		{name: "UTF-16 declared", give: `<?xml version="1.0" encoding="UTF-16"?><r/>`, want: c14n.ErrMalformed},
		{name: "reserved PI target", give: `<r><?XML x?></r>`, want: c14n.ErrMalformed, lint: rejects},
		{name: "PI without space", give: `<r><?pi/x?></r>`, want: c14n.ErrMalformed, lint: rejects},
		{name: "PI without target", give: `<r><? x?></r>`, want: c14n.ErrMalformed, lint: rejects},
		{name: "PI target with colon", give: `<r><?a:b?></r>`, want: c14n.ErrMalformed, lint: nsError},
		{name: "-- in comment", give: `<r><!-- a -- b --></r>`, want: c14n.ErrMalformed, lint: rejects},
		{name: "comment ending --->", give: `<r><!-- a ---></r>`, want: c14n.ErrMalformed, lint: rejects},
		{name: "unknown algorithm", give: `<r/>`, opts: c14n.Options{Algorithm: "http://www.w3.org/2006/12/xml-c14n11"}, want: c14n.ErrOptions},
		{name: "PrefixList with inclusive", give: `<r/>`, opts: c14n.Options{Algorithm: c14n.Inclusive, PrefixList: []string{"a"}}, want: c14n.ErrOptions},
		{name: "bad PrefixList entry", give: `<r/>`, opts: c14n.Options{Algorithm: c14n.Exclusive, PrefixList: []string{"a:b"}}, want: c14n.ErrOptions},
	}
	lint := ""
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			if opts.Algorithm == "" {
				opts.Algorithm = c14n.Exclusive
			}
			out, err := enveloped([]byte(tt.give), opts)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Enveloped = %q, %v; want %v", out, err, tt.want)
			}
			var docErr *c14n.Error
			if !errors.Is(tt.want, c14n.ErrOptions) && !errors.As(err, &docErr) {
				t.Errorf("%v is not a *c14n.Error", err)
			}
			if tt.lint == accepts {
				return
			}
			if lint == "" {
				lint = tool(t, "xmllint")
			}
			_, err = xmllint(t, lint, "--exc-c14n", []byte(tt.give))
			switch {
			case tt.lint == rejects && err == nil:
				t.Errorf("xmllint accepts it")
			case tt.lint == nsError && err != nil:
				t.Errorf("xmllint refuses it: %v", err)
			case tt.lint == nsError && !bytes.Contains(lintStderr(t, lint, tt.give), []byte("namespace error")):
				t.Errorf("xmllint reports no namespace error")
			}
		})
	}
}

func manyAttrs(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(` a` + string(rune('0'+i/10)) + string(rune('0'+i%10)) + `="x"`)
	}
	return strings.ReplaceAll(b.String(), "a05", "a5")
}

// TestTruncated cuts a packet at every byte inside its root element: each
// cut must be an error, never a canonical form of half a document.
func TestTruncated(t *testing.T) {
	doc := []byte(`<?xml version="1.0"?><r xmlns="urn:x" a="1"><a:b xmlns:a="urn:a">t&amp;x<![CDATA[c]]><?p d?><!--c--></a:b>` +
		"Vi\u1EC7t\r\n<e/></r>")
	root := bytes.Index(doc, []byte("<r"))
	for n := root; n < len(doc); n++ {
		if out, err := enveloped(doc[:n], c14n.Options{Algorithm: c14n.Inclusive}); !errors.Is(err, c14n.ErrMalformed) {
			t.Errorf("cut at %d: %q, %v", n, out, err)
		}
	}
	if _, err := enveloped(doc, c14n.Options{Algorithm: c14n.Inclusive}); err != nil {
		t.Fatal(err)
	}
}

// TestReaderErrors: an I/O error of the input is returned as it is, not
// as a problem with the document; so is one of the output.
func TestReaderErrors(t *testing.T) {
	boom := errors.New("boom")
	doc := `<r><a x="1">` + strings.Repeat("QUJD", 100_000) + `</a></r>`
	for cut := 1; cut < 40; cut += 3 {
		r := io.MultiReader(strings.NewReader(doc[:cut]), iotest.ErrReader(boom))
		err := c14n.Enveloped(io.Discard, r, c14n.Options{Algorithm: c14n.Exclusive})
		if !errors.Is(err, boom) {
			t.Errorf("cut %d: %v, want boom", cut, err)
		}
	}
	r := io.MultiReader(strings.NewReader(doc[:300_000]), iotest.ErrReader(boom))
	if err := c14n.Enveloped(io.Discard, r, c14n.Options{Algorithm: c14n.Exclusive}); !errors.Is(err, boom) {
		t.Errorf("in text: %v, want boom", err)
	}
	w := &failWriter{after: 100_000, err: boom}
	if err := c14n.Enveloped(w, strings.NewReader(doc), c14n.Options{Algorithm: c14n.Exclusive}); !errors.Is(err, boom) {
		t.Errorf("writer: %v, want boom", err)
	}
	if w.calls > 5 {
		t.Errorf("%d writes after the writer failed", w.calls)
	}
	// A reader that returns one byte at a time splits every token.
	var out bytes.Buffer
	if err := c14n.Enveloped(&out, iotest.OneByteReader(strings.NewReader("\uFEFF"+doc[:20]+"&#x1F600;Vi\u1EC7t\r\n]]&gt;</a></r>")), c14n.Options{Algorithm: c14n.Exclusive}); err != nil {
		t.Fatal(err)
	}
	if want := `<r><a x="1">QUJDQUJD😀Việt` + "\n" + `]]&gt;</a></r>`; out.String() != want {
		t.Errorf("one byte at a time: %q, want %q", out.String(), want)
	}
}

type failWriter struct {
	after int
	calls int
	err   error
}

func (w *failWriter) Write(p []byte) (int, error) {
	if w.after <= 0 {
		w.calls++
		return 0, w.err
	}
	w.after -= len(p)
	return len(p), nil
}

func lintStderr(t *testing.T, lint, doc string) []byte {
	t.Helper()
	cmd := exec.Command(lint, "--noout", "-")
	cmd.Stdin = strings.NewReader(doc)
	out, _ := cmd.CombinedOutput()
	return out
}
