package edxml_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/internal/edxml"
)

// fuzzLimits keep each input's work small, so the fuzzer looks for crashes
// and unbounded allocation rather than slow paths.
var fuzzLimits = edxml.Limits{MaxMarkupBytes: 1 << 20, MaxZipBytes: 16 << 20, MaxAttachmentBytes: 16 << 20}

// FuzzParse: Parse never panics, and a valid packet written back out reads
// back to the same model with the same attachment bytes.
func FuzzParse(f *testing.F) {
	addFixtureSeeds(f)
	f.Add([]byte(`<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"><AttachmentEncoded><Attachment><ContentTransferEncoded>QQ==</ContentTransferEncoded></Attachment></AttachmentEncoded></edXML>`))
	f.Add([]byte("\uFEFF<?xml version=\"1.0\"?><edXML xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\"/>"))
	f.Add([]byte(`<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">` + strings.Repeat("<a>", 80) + strings.Repeat("</a>", 80) + `</edXML>`))
	// A cap inside a multi-byte character of the header (the third of
	// the markup, below, falls in one of these three).
	for _, pad := range []string{"", "a", "aa"} {
		f.Add([]byte(`<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"><Subject>` + pad + strings.Repeat("ệ", 40) + `</Subject></edXML>`))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var files [][]byte
		opts := edxml.Options{Limits: fuzzLimits, Attachment: func(i int) (io.Writer, error) {
			for len(files) <= i { // an attachment without content gets no sink call
				files = append(files, nil)
			}
			return writerFunc(func(b []byte) (int, error) {
				files[i] = append(files[i], b...)
				return len(b), nil
			}), nil
		}}
		p, err := edxml.Parse(bytes.NewReader(data), opts)
		if err != nil {
			if edxml.CodeOf(err) == "" {
				t.Fatalf("error without a code from an in-memory reader: %v", err)
			}
			return
		}
		// Cut short by the markup cap, a packet that parses is too large,
		// wherever the cap falls (inside a character too).
		if _, err := edxml.Parse(bytes.NewReader(data), edxml.Options{Limits: edxml.Limits{MaxMarkupBytes: max(1, int64(len(data))/3)}}); err != nil && edxml.CodeOf(err) != edxml.CodeTooLarge {
			t.Fatalf("markup cap at %d: %v", max(1, len(data)/3), err)
		}
		if !p.Valid() {
			return
		}
		var out bytes.Buffer
		if err := edxml.Write(&out, p, func(i int) (io.Reader, error) { return bytes.NewReader(files[i]), nil }); err != nil {
			t.Fatalf("Write of a valid packet: %v", err)
		}
		files0 := files
		files = nil
		q, err := edxml.Parse(bytes.NewReader(out.Bytes()), opts)
		if err != nil {
			t.Fatalf("re-parse: %v\n%s", err, out.Bytes())
		}
		if a, b := modelOf(p), modelOf(q); !reflect.DeepEqual(a, b) {
			t.Fatalf("model changed:\n%+v\n%+v\n%s", a, b, out.Bytes())
		}
		if !reflect.DeepEqual(files0, files) {
			t.Fatal("attachment bytes changed")
		}
	})
}

// addFixtureSeeds adds the valid and invalid fixtures as seeds. Large seeds
// make the fuzzer's minimisation crawl; the fixture tests cover them, and
// small ones stand in.
func addFixtureSeeds(f *testing.F) {
	for _, dir := range []string{fixtures, filepath.Join(fixtures, "invalid")} {
		names, _ := filepath.Glob(filepath.Join(dir, "*.xml"))
		for _, n := range names {
			b, err := os.ReadFile(n)
			if err != nil {
				f.Fatal(err)
			}
			if len(b) <= 32<<10 {
				f.Add(b)
			}
		}
	}
}
