package xmlinput_test

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/internal/xmlinput"
)

// Markup is bounded, text is not, and the last two markup bytes and the
// recorded token are kept.
func TestReader(t *testing.T) {
	in := &xmlinput.Reader{Br: bufio.NewReader(strings.NewReader("<a/>text<b>")), MaxMarkup: 6, Record: true}
	for _, want := range "<a/>" {
		if b, err := in.ReadByte(); err != nil || rune(b) != want {
			t.Fatalf("ReadByte = %q %v, want %q", b, err, want)
		}
	}
	if in.Prev != '/' || in.Last != '>' || string(in.Raw) != "<a/>" {
		t.Errorf("prev %q last %q raw %q", in.Prev, in.Last, in.Raw)
	}
	buf, err := in.Fill()
	if err != nil || !strings.HasPrefix(string(buf), "text") {
		t.Fatalf("Fill = %q %v", buf, err)
	}
	in.Discard(3)
	if b, err := in.TextByte(); err != nil || b != 't' {
		t.Fatalf("TextByte = %q %v", b, err)
	}
	if in.N != 8 || in.Markup != 4 {
		t.Errorf("N %d Markup %d, want 8 and 4", in.N, in.Markup)
	}
	p := make([]byte, 1)
	for range 2 {
		if n, err := in.Read(p); n != 1 || err != nil {
			t.Fatalf("Read = %d %v", n, err)
		}
	}
	if _, err := in.ReadByte(); !errors.Is(err, xmlinput.ErrMarkupLimit) || !in.Limited {
		t.Errorf("past the limit: %v, Limited %v", err, in.Limited)
	}
	in = &xmlinput.Reader{Br: bufio.NewReader(strings.NewReader("")), MaxMarkup: 10}
	if _, err := in.ReadByte(); !errors.Is(err, io.EOF) || in.Err != nil {
		t.Errorf("at the end: %v, Err %v", err, in.Err)
	}
}

// Markup the caller tokenised itself counts as the decoder's bytes would.
func TestTakeMarkup(t *testing.T) {
	in := &xmlinput.Reader{Br: bufio.NewReader(strings.NewReader("<a/>text")), MaxMarkup: 10, Record: true}
	if _, err := in.Fill(); err != nil {
		t.Fatal(err)
	}
	in.TakeMarkup(4)
	if in.Prev != '/' || in.Last != '>' || string(in.Raw) != "<a/>" || in.N != 4 || in.Markup != 4 {
		t.Errorf("prev %q last %q raw %q N %d Markup %d", in.Prev, in.Last, in.Raw, in.N, in.Markup)
	}
	in.TakeMarkup(1)
	if in.Prev != '>' || in.Last != 't' || in.Markup != 5 {
		t.Errorf("one byte: prev %q last %q Markup %d", in.Prev, in.Last, in.Markup)
	}
	if b, err := in.ReadByte(); err != nil || b != 'e' {
		t.Errorf("ReadByte = %q %v", b, err)
	}
}
