package blob_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/internal/blob"
)

func TestPacketKey(t *testing.T) {
	id := strings.Repeat("0123456789abcdef", 4)
	tests := []struct {
		give       string
		wantPacket string
		wantReport string
	}{
		{id, "packets/01/" + id + "/packet.xml", "packets/01/" + id + "/verification.json"},
		{"", "", ""},
		{id[:63], "", ""},
		{id + "0", "", ""},
		{strings.ToUpper(id), "", ""},
		{"../" + id[3:], "", ""},
		{strings.Repeat("g", 64), "", ""},
	}
	for _, tt := range tests {
		if got := blob.PacketKey(tt.give); got != tt.wantPacket {
			t.Errorf("PacketKey(%q) = %q, want %q", tt.give, got, tt.wantPacket)
		}
		if got := blob.ReportKey(tt.give); got != tt.wantReport {
			t.Errorf("ReportKey(%q) = %q, want %q", tt.give, got, tt.wantReport)
		}
		if tt.wantPacket != "" {
			if err := blob.ValidateKey(tt.wantPacket); err != nil {
				t.Errorf("ValidateKey(PacketKey) = %v", err)
			}
		}
	}
}

func TestValidateKey(t *testing.T) {
	tests := []struct {
		give string
		want error
	}{
		{"a", nil},
		{"packets/ab/cd/packet.xml", nil},
		{"A-Z_a.z-0/9", nil},
		{strings.Repeat("a", blob.MaxSegmentLen), nil},
		{"", blob.ErrInvalidKey},
		{"/a", blob.ErrInvalidKey},
		{"a/", blob.ErrInvalidKey},
		{"a//b", blob.ErrInvalidKey},
		{"a/../b", blob.ErrInvalidKey},
		{"a..b", blob.ErrInvalidKey},
		{"a/./b", blob.ErrInvalidKey},
		{"a b", blob.ErrInvalidKey},
		{"\xff", blob.ErrInvalidKey},
		{strings.Repeat("a/", 300) + "a", blob.ErrInvalidKey},
		{strings.Repeat("a", blob.MaxSegmentLen+1), blob.ErrInvalidKey},
	}
	for _, tt := range tests {
		if err := blob.ValidateKey(tt.give); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("ValidateKey(%q) = %v, want %v", tt.give, err, tt.want)
		}
	}
}

func ExamplePacketKey() {
	id := "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	fmt.Println(blob.PacketKey(id))
	fmt.Println(blob.ReportKey(id))
	fmt.Printf("%q\n", blob.PacketKey("not-an-id"))
	// Output:
	// packets/9f/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08/packet.xml
	// packets/9f/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08/verification.json
	// ""
}
