package c14n_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/lienthong/lienthong/internal/c14n"
)

// base64Lines generates size bytes of base64 text, wrapped at 76 columns
// with eol, from a seeded generator, without holding more than a line.
type base64Lines struct {
	rng  *rand.ChaCha8
	eol  string
	left int64 // base64 characters still to come
	raw  [57]byte
	line []byte
	buf  []byte
}

func newBase64Lines(size int64, eol string) *base64Lines {
	return &base64Lines{rng: rand.NewChaCha8([32]byte{1}), eol: eol, left: size, line: make([]byte, 0, 80)}
}

func (g *base64Lines) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(g.buf) == 0 {
			if g.left <= 0 {
				if n == 0 {
					return 0, io.EOF
				}
				return n, nil
			}
			g.rng.Read(g.raw[:])
			g.line = base64.StdEncoding.AppendEncode(g.line[:0], g.raw[:])
			if int64(len(g.line)) > g.left {
				g.line = g.line[:g.left]
			}
			g.left -= int64(len(g.line))
			g.line = append(g.line, g.eol...)
			g.buf = g.line
		}
		k := copy(p[n:], g.buf)
		g.buf = g.buf[k:]
		n += k
	}
	return n, nil
}

// TestStreamMemory: a text node of 200 MB streams through in flat memory,
// as plain text, as a CDATA section and inside the Signature that is left
// out, and the output is the expected canonical stream.
func TestStreamMemory(t *testing.T) {
	size := int64(200 << 20)
	if testing.Short() {
		size = 20 << 20
	}
	const ns = `http://www.mic.gov.vn/TBT/QCVN_102_2016`
	head := `<?xml version="1.0" encoding="UTF-8"?>` + "\r\n" + `<edXML xmlns="` + ns + `" xmlns:u="urn:x-unused"><Header id='h1'/>`
	wantHead := `<edXML xmlns="` + ns + `"><Header id="h1"></Header>`
	tests := []struct {
		name    string
		give    [2]string // around the text
		want    [2]string
		dropped bool // the text is in the Signature
	}{
		{
			name: "text",
			give: [2]string{head + sigTemplate + `<ContentTransferEncoded>`, `</ContentTransferEncoded></edXML>` + "\r\n"},
			want: [2]string{wantHead + `<ContentTransferEncoded>`, `</ContentTransferEncoded></edXML>`},
		},
		{
			name: "CDATA",
			give: [2]string{head + `<ContentTransferEncoded><![CDATA[`, `]]></ContentTransferEncoded>` + sigTemplate + `</edXML>`},
			want: [2]string{wantHead + `<ContentTransferEncoded>`, `</ContentTransferEncoded></edXML>`},
		},
		{
			name:    "in the Signature",
			give:    [2]string{head + `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:Object>`, `</ds:Object></ds:Signature></edXML>`},
			want:    [2]string{wantHead, `</edXML>`},
			dropped: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := io.MultiReader(bytes.NewReader([]byte(tt.give[0])), newBase64Lines(size, "\r\n"), bytes.NewReader([]byte(tt.give[1])))
			wantSum := sha256.New()
			wantSum.Write([]byte(tt.want[0]))
			if !tt.dropped {
				if _, err := io.Copy(wantSum, newBase64Lines(size, "\n")); err != nil {
					t.Fatal(err)
				}
			}
			wantSum.Write([]byte(tt.want[1]))

			gotSum := sha256.New()
			counted := &countWriter{w: gotSum}
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			err := c14n.Enveloped(counted, in, c14n.Options{Algorithm: c14n.Exclusive})
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(gotSum.Sum(nil), wantSum.Sum(nil)) {
				t.Errorf("output hash differs from the expected canonical stream (%d bytes out)", counted.n)
			}
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%d MB in, %d bytes out, %d KiB allocated", size>>20, counted.n, alloc>>10)
			if alloc >= 16<<20 {
				t.Errorf("allocated %d MiB for a %d MB text", alloc>>20, size>>20)
			}
		})
	}
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return c.w.Write(p)
}
