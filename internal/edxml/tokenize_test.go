package edxml_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/internal/edxml"
)

// result is everything a parse yields that the tokenizer could change.
type result struct {
	Err      *edxml.Problem
	Plain    string // an error without a code
	Model    model
	Warnings []edxml.Problem
	SigNS    string
	Doc      string
	TraceAt  int64
	Prefix   string
	Size     int64
	Files    [][]byte
	Closed   int
}

func parseResult(t testing.TB, parse func(io.Reader, edxml.Options) (*edxml.Packet, error), r io.Reader, opts edxml.Options) result {
	t.Helper()
	var res result
	opts.Attachment = func(i int) (io.Writer, error) {
		for len(res.Files) <= i {
			res.Files = append(res.Files, nil)
		}
		return &keepSink{res: &res, i: i}, nil
	}
	p, err := parse(r, opts)
	if err != nil {
		var e *edxml.Error
		if !errors.As(err, &e) {
			res.Plain = err.Error()
			return res
		}
		res.Err = &e.Problem
		return res
	}
	res.Model, res.Warnings, res.SigNS = modelOf(p), p.Warnings, p.SignatureNamespace
	doc, err := p.Doc.WriteToString()
	if err != nil {
		t.Fatal(err)
	}
	res.Doc = doc
	res.TraceAt, res.Prefix, res.Size = edxml.Internals(p)
	return res
}

type keepSink struct {
	res *result
	i   int
}

func (s *keepSink) Write(b []byte) (int, error) {
	s.res.Files[s.i] = append(s.res.Files[s.i], b...)
	return len(b), nil
}

func (s *keepSink) Close() error { s.res.Closed++; return nil }

// sameAsReference fails t unless Parse and the encoding/xml reference agree
// on data: same error (code, path, message) or the same packet, read in one
// piece, one byte at a time, in 7-byte reads, and under a markup cap of a
// third.
func sameAsReference(t testing.TB, data []byte, opts edxml.Options) {
	t.Helper()
	chunks := []int{0, 1, 7}
	if len(data) > 1<<20 {
		chunks = chunks[:1] // a byte at a time would take too long
	}
	sameAsReferenceIn(t, data, opts, chunks)
}

// sameAsReferenceIn is sameAsReference with reads of the given sizes (0:
// the whole input at once).
func sameAsReferenceIn(t testing.TB, data []byte, opts edxml.Options, chunks []int) {
	t.Helper()
	capped := opts
	capped.MaxMarkupBytes = max(1, int64(len(data))/3)
	for _, o := range []edxml.Options{opts, capped} {
		want := parseResult(t, edxml.ParseReference, bytes.NewReader(data), o)
		for _, n := range chunks {
			var r io.Reader = bytes.NewReader(data)
			if n > 0 {
				r = &chunkReader{data: data, n: n}
			}
			got := parseResult(t, edxml.Parse, r, o)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("reads of %d bytes, markup cap %d: tokenizer and encoding/xml differ\n got %s\nwant %s", n, o.MaxMarkupBytes, summary(got), summary(want))
			}
		}
	}
}

func summary(r result) string {
	if r.Err != nil {
		return "error " + r.Err.String()
	}
	if r.Plain != "" {
		return "error " + r.Plain
	}
	return fmt.Sprintf("%+v", r)
}

type chunkReader struct {
	data []byte
	n    int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), c.n)], c.data)
	c.data = c.data[k:]
	return k, nil
}

// tokenizerSeeds are the forms the tokenizer takes or must hand back.
var tokenizerSeeds = []string{
	"<edXML xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\">\r\n <Subject a='x\"y' b=\"1&amp;2&lt;&gt;&quot;&apos;\">T&amp;C\r\nx\ry</Subject>\r\n</edXML>",
	"<edXML xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\"><Subject a=\"\r&amp;\n\r\r\n\n\">\r&lt;\n&gt;\r\r\n\nx\r</Subject></edXML>",
	"<edXML xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\"><Subject>&#65;&#x42;&bogus;&amp</Subject></edXML>",
	"<edXML xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\"><Subject a=\"\r\n\t]]>\">a]]>b</Subject></edXML>",
	"<edXML xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\"><:a/><a:/><a:b:c/><é/><a é='1'/><a x=1/><a x/><a x=\"<\"/><a\tx\n=\r'1'/></edXML>",
	"<edXML xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\"><a></a ><b/ ><c / ></edXML>",
	"<edXML xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\"><edXML:Subject xmlns:edXML=\"u\"></edXMM:Subject></edXML>",
	"<edXML xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\"><ab></ac></edXML>",
	"<edXML xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\"><ab></abc></edXML>",
	"<edXML xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\"><é></é><x:é xmlns:x=\"u\"></x:é ></edXML>",
	"<edXML xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\"><Subject>\x01\x7f\xc3\xa9\xef\xbf\xbe\xed\xa0\x80</Subject></edXML>",
	"<edXML xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\"><Subject><![CDATA[x]]><!--c--><?p i?>y</Subject></edXML>",
	"<?xml version=\"1.1\"?><edXML xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\"/>",
	"<!DOCTYPE x [<!ENTITY a \"b\">]><edXML xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\">&a;</edXML>",
	"<edXML xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\"><edXMLEnvelope><edXMLHeader><TraceHeaderList><TraceHeader/></TraceHeaderList></edXMLHeader></edXMLEnvelope><AttachmentEncoded><Attachment><ContentTransferEncoded>QU\r\nFB</ContentTransferEncoded></Attachment></AttachmentEncoded></edXML>",
	"  \uFEFF<edXML xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\"></edXML>  x",
	"<edXML xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\"><a b=\"1\"c=\"2\"/></edXML><",
}

// FuzzTokenizer: for any input, Parse and the encoding/xml reference agree
// (sameAsReference).
func FuzzTokenizer(f *testing.F) {
	addFixtureSeeds(f)
	for _, s := range tokenizerSeeds {
		f.Add([]byte(s))
	}
	for _, tt := range hostileCases(f) {
		if len(tt.give) <= 32<<10 && tt.opts.Limits == (edxml.Limits{}) {
			f.Add([]byte(tt.give))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// One read size per input keeps each run short (the fuzzer
		// minimises slowly otherwise); the input picks it.
		n := 0
		if len(data) > 0 {
			n = int(data[len(data)-1]) % 16
		}
		sameAsReferenceIn(t, data, edxml.Options{Limits: fuzzLimits}, []int{n})
	})
}

// The tokenizer reads each fixture, and the seeds, as encoding/xml does,
// whatever the reads' sizes; a token longer than the read buffer goes to
// the decoder.
func TestTokenizerMatchesReference(t *testing.T) {
	var tests []struct{ name, give string }
	for _, dir := range []string{fixtures, filepath.Join(fixtures, "invalid")} {
		names, _ := filepath.Glob(filepath.Join(dir, "*.xml"))
		for _, n := range names {
			b, err := os.ReadFile(n)
			if err != nil {
				t.Fatal(err)
			}
			tests = append(tests, struct{ name, give string }{n, string(b)})
		}
	}
	for i, s := range tokenizerSeeds {
		tests = append(tests, struct{ name, give string }{"seed " + string(rune('a'+i)), s})
	}
	tests = append(tests,
		struct{ name, give string }{"attribute longer than the buffer", replace(t, base(t), "<edXML:Subject>", `<edXML:Subject a="`+strings.Repeat("x", 70<<10)+`">`)},
		struct{ name, give string }{"bench packet", string(benchLikePacket(t))},
	)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sameAsReference(t, []byte(tt.give), edxml.Options{})
		})
	}
}
