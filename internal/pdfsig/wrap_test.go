package pdfsig

import (
	"bytes"
	"context"
	"encoding/hex"
	"slices"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/pdfsig/pdfsigtest"
)

// A box drawn over the signed text in a later update, its content stream
// untouched, is a change: the page no longer shows what was signed, and
// the seal must not count for the organ policy. Comparing page text and
// object counts missed the comment box; the widgets are not drawn, so a
// form field or an unsigned signature field is refused by kind.
func TestBoxOverSignedTextIsAChange(t *testing.T) {
	roots, _ := fixtures(t)
	signed := fixture(t, "in_field")
	for _, kind := range []string{pdfsigtest.BoxSquare, pdfsigtest.BoxTextField, pdfsigtest.BoxSigField} {
		t.Run(kind, func(t *testing.T) {
			boxed, err := pdfsigtest.AppendBox(signed, 0, []int{pdfsigtest.FieldObj(2)}, kind)
			if err != nil {
				t.Fatal(err)
			}
			a := verify(t, engine(t), verifier(t, roots), boxed, pdfsigtest.OrganID)
			if len(a.Signatures) != 1 {
				t.Fatalf("%d signatures: %+v", len(a.Signatures), a)
			}
			s := a.Signatures[0]
			if !s.Valid || s.CoversWholeFile || s.Changes != ChangesContent || !s.ModifiedAfterSigning || !slices.Contains(codes(s.Warnings), CodeModified) {
				t.Errorf("valid %v whole %v changes %q modified %v warnings %v", s.Valid, s.CoversWholeFile, s.Changes, s.ModifiedAfterSigning, s.Warnings)
			}
			if !s.FromSender || a.OrganSigned {
				t.Errorf("fromSender %v, organSigned %v: the seal must not count over a changed page", s.FromSender, a.OrganSigned)
			}
		})
	}
}

// The unsigned gap between the two byte ranges must be the /Contents hex
// string that was verified: a gap of the right length holding anything
// else is bytes no signature covers (signature wrapping).
func TestGapMustBeContents(t *testing.T) {
	roots, _ := fixtures(t)
	pdf := fixture(t, "valid")
	brs := pdfsigtest.ByteRanges(pdf)
	if len(brs) != 2 {
		t.Fatalf("byte ranges %v", brs)
	}
	br := []int64{brs[0][0], brs[0][1] - brs[0][0], brs[1][0], brs[1][1] - brs[1][0]} // ByteRanges gives [start, end)
	gap := pdf[br[1]:br[2]]
	contents, err := hex.DecodeString(string(gap[1 : len(gap)-1]))
	if err != nil {
		t.Fatal(err)
	}
	// The hex string ends in zero padding: overwrite some of it with other
	// bytes, as objects smuggled into the gap would be.
	tests := []struct {
		name string
		give func([]byte) // changes the file's gap
		want bool
	}{
		{"as signed", func([]byte) {}, true},
		{"other hex in the padding", func(g []byte) { copy(g[len(g)-9:], "41414141") }, false},
		{"not hex", func(g []byte) { copy(g[len(g)-9:], "obj<<>> ") }, false},
		{"a literal string", func(g []byte) { g[0], g[len(g)-1] = '(', ')' }, false},
	}
	v := verifier(t, roots)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := bytes.Clone(pdf)
			tt.give(file[br[1]:br[2]])
			// What pdfium would report were /Contents read elsewhere: the
			// signature as made, over the same ranges.
			s := engine(t).verifySig(context.Background(), v, bytes.NewReader(file), int64(len(file)),
				rawSig{contents: contents, byteRange: br, subFilter: "adbe.pkcs7.detached"}, time.Now())
			if s.Valid != tt.want {
				t.Errorf("valid %v, want %v: %v", s.Valid, tt.want, s.Errors)
			}
			if !tt.want && (len(s.Errors) == 0 || s.Errors[0].Code != CodeSigInvalid || s.Changes != ChangesUnknown) {
				t.Errorf("errors %v changes %q, want %s and %q", s.Errors, s.Changes, CodeSigInvalid, ChangesUnknown)
			}
		})
	}
}
