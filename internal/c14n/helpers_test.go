package c14n_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/lienthong/lienthong/internal/c14n"
	"github.com/lienthong/lienthong/internal/tooltest"
)

func tool(t testing.TB, name string) string { return tooltest.Require(t, name) }

type testDoc struct {
	name string
	data []byte
}

// corpus is every edXML fixture and golden packet and every synthetic
// document of testdata/.
func corpus(t testing.TB) []testDoc {
	t.Helper()
	var docs []testDoc
	for _, pattern := range []string{
		"../edxml/testdata/fixtures/*.xml",
		"../edxml/testdata/golden/*.xml",
		"testdata/*.xml",
	} {
		names, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			b, err := os.ReadFile(n)
			if err != nil {
				t.Fatal(err)
			}
			docs = append(docs, testDoc{strings.TrimPrefix(n, "../edxml/testdata/"), b})
		}
	}
	if len(docs) < 40 {
		t.Fatalf("only %d documents in the corpus", len(docs))
	}
	return docs
}

// variants rewrite a document without changing its canonical form.
var variants = []struct {
	name string
	fn   func([]byte) []byte
}{
	{"lf", func(b []byte) []byte { return b }},
	{"crlf", func(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n")) }},
	{"cr", func(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\n"), []byte("\r")) }},
	{"bom", func(b []byte) []byte { return append([]byte("\uFEFF"), b...) }},
}

func enveloped(doc []byte, opts c14n.Options) ([]byte, error) {
	var out bytes.Buffer
	err := c14n.Enveloped(&out, bytes.NewReader(doc), opts)
	return out.Bytes(), err
}

// stripForOracle removes, as text, the first dsig Signature element and
// every comment: xmllint has no enveloped-signature transform, and its
// --c14n and --exc-c14n always keep comments.
func stripForOracle(doc []byte) ([]byte, error) {
	type span struct{ from, to int64 }
	var cut []span
	dec := xml.NewDecoder(bytes.NewReader(doc))
	dec.Strict = true
	sigDepth, depth := 0, 0
	var sigFrom int64
	found := false
	for {
		from := dec.InputOffset()
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if !found && t.Name.Space == c14n.DSigNamespace && t.Name.Local == "Signature" {
				found, sigDepth, sigFrom = true, depth, from
			}
		case xml.EndElement:
			if depth == sigDepth {
				cut = append(cut, span{sigFrom, dec.InputOffset()})
				sigDepth = 0
			}
			depth--
		case xml.Comment:
			if sigDepth == 0 {
				cut = append(cut, span{from, dec.InputOffset()})
			}
		}
	}
	var out []byte
	last := int64(0)
	for _, s := range cut {
		out = append(out, doc[last:s.from]...)
		last = s.to
	}
	return append(out, doc[last:]...), nil
}

func xmllint(t testing.TB, path, flag string, doc []byte) ([]byte, error) {
	t.Helper()
	cmd := exec.Command(path, flag, "-")
	cmd.Stdin = bytes.NewReader(doc)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("xmllint %s: %w: %s", flag, err, stderr.Bytes())
	}
	return out, nil
}

// goxmldsigEnveloped is the second oracle: goxmldsig canonicalises the root
// element of an etree document from which the first dsig Signature has been
// removed. It knows nothing of what lies outside the root, so the processing
// instructions there are added as Canonical XML places them.
func goxmldsigEnveloped(doc []byte, opts c14n.Options) ([]byte, error) {
	d := etree.NewDocument()
	if err := d.ReadFromBytes(doc); err != nil {
		return nil, err
	}
	root := d.Root()
	if root == nil {
		return nil, errors.New("no root")
	}
	if sig := firstSignature(root); sig == root {
		return nil, errors.New("the root is the Signature")
	} else if sig != nil {
		sig.Parent().RemoveChild(sig)
	}
	var canon dsig.Canonicalizer
	switch opts.Algorithm {
	case c14n.Inclusive:
		canon = dsig.MakeC14N10RecCanonicalizer()
	case c14n.Exclusive:
		canon = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList(strings.Join(opts.PrefixList, " "))
	default:
		return nil, fmt.Errorf("no goxmldsig oracle for %s", opts.Algorithm)
	}
	body, err := canon.Canonicalize(root)
	if err != nil {
		return nil, err
	}
	var out []byte
	seenRoot := false
	for _, tok := range d.Child {
		switch tok := tok.(type) {
		case *etree.Element:
			out = append(out, body...)
			seenRoot = true
		case *etree.ProcInst:
			if tok.Target == "xml" {
				continue
			}
			pi := "<?" + tok.Target
			if tok.Inst != "" {
				pi += " " + tok.Inst
			}
			pi += "?>"
			if seenRoot {
				out = append(out, "\n"+pi...)
			} else {
				out = append(out, pi+"\n"...)
			}
		}
	}
	return out, nil
}

func firstSignature(el *etree.Element) *etree.Element {
	if el.Tag == "Signature" && el.NamespaceURI() == c14n.DSigNamespace {
		return el
	}
	for _, c := range el.ChildElements() {
		if s := firstSignature(c); s != nil {
			return s
		}
	}
	return nil
}

// firstDiff shows where two outputs part.
func firstDiff(got, want []byte) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	from := max(0, i-60)
	return fmt.Sprintf("differ at byte %d (len got %d, want %d)\n got: %q\nwant: %q",
		i, len(got), len(want), got[from:min(len(got), i+60)], want[from:min(len(want), i+60)])
}
