package c14n_test

import (
	"bytes"
	"crypto/sha256"
	"io"
	"os"
	"testing"

	"github.com/lienthong/lienthong/internal/c14n"
)

// packet20MB is edoc-new.xml with a signature template and 20 MB of
// base64 in place of its attachment, with line ends eol.
func packet20MB(b *testing.B, eol string) []byte {
	b.Helper()
	doc, err := os.ReadFile("../edxml/testdata/fixtures/edoc-new.xml")
	if err != nil {
		b.Fatal(err)
	}
	open := []byte(`QCVN_102_2016">JVBER`)
	i := bytes.Index(doc, open)
	j := bytes.Index(doc, []byte("</edXML:ContentTransferEncoded>"))
	if i < 0 || j < 0 {
		b.Fatal("no attachment in edoc-new.xml")
	}
	i += len(open) - len("JVBER")
	body, err := io.ReadAll(newBase64Lines(20<<20, eol))
	if err != nil {
		b.Fatal(err)
	}
	var out bytes.Buffer
	out.Write(doc[:i])
	out.Write(body)
	rest := doc[j:]
	end := bytes.LastIndex(rest, []byte("</"))
	out.Write(rest[:end])
	out.WriteString(sigTemplate)
	out.Write(rest[end:])
	return bytes.ReplaceAll(out.Bytes(), []byte("\n"), []byte(eol))
}

// BenchmarkEnveloped: MB/s of Enveloped on a 20 MB packet, into
// io.Discard and into SHA-256 as a verifier uses it.
func BenchmarkEnveloped(b *testing.B) {
	lf, crlf := packet20MB(b, "\n"), packet20MB(b, "\r\n")
	for _, bb := range []struct {
		name string
		doc  []byte
		alg  string
		w    func() io.Writer
	}{
		{"exclusive/discard", lf, c14n.Exclusive, func() io.Writer { return io.Discard }},
		{"inclusive/discard", lf, c14n.Inclusive, func() io.Writer { return io.Discard }},
		{"exclusive/crlf/discard", crlf, c14n.Exclusive, func() io.Writer { return io.Discard }},
		{"exclusive/sha256", lf, c14n.Exclusive, func() io.Writer { return sha256.New() }},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.SetBytes(int64(len(bb.doc)))
			b.ReportAllocs()
			for b.Loop() {
				if err := c14n.Enveloped(bb.w(), bytes.NewReader(bb.doc), c14n.Options{Algorithm: bb.alg}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSmallPacket: a typical packet without a large attachment, where
// the markup dominates.
func BenchmarkSmallPacket(b *testing.B) {
	doc, err := os.ReadFile("../edxml/testdata/fixtures/edoc-placeholder-signature.xml")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if err := c14n.Enveloped(io.Discard, bytes.NewReader(doc), c14n.Options{Algorithm: c14n.Exclusive}); err != nil {
			b.Fatal(err)
		}
	}
}
