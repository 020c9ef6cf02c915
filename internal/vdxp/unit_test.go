package vdxp

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/internal/edxml"
	"github.com/lienthong/lienthong/internal/track"
)

func TestUnpaddedHex(t *testing.T) {
	tests := []struct {
		give []byte
		want string
	}{
		{[]byte{0x0a, 0xff, 0x00, 0x10}, "aff010"},
		{[]byte{0x01, 0x02}, "12"},
		{[]byte{0xab}, "ab"},
	}
	for _, tt := range tests {
		if got := UnpaddedHex(tt.give); got != tt.want {
			t.Errorf("UnpaddedHex(%x) = %q, want %q", tt.give, got, tt.want)
		}
	}
	sum := []byte{0x0a, 0xbc}
	matches := []struct {
		give     string
		unpadded bool
		want     bool
	}{
		{"0abc", false, true},
		{"0ABC", false, true},
		{" 0abc ", false, true},
		{"abc", true, true},
		{"abc", false, false},
		{"0abd", true, false},
		{"", true, false},
	}
	for _, tt := range matches {
		if got := hexMatches(tt.give, sum, tt.unpadded); got != tt.want {
			t.Errorf("hexMatches(%q, %x, unpadded %v) = %v, want %v", tt.give, sum, tt.unpadded, got, tt.want)
		}
	}
}

func hexSum(b string) string {
	s := sha256.Sum256([]byte(b))
	return hex.EncodeToString(s[:])
}

func TestHashReader(t *testing.T) {
	const file = "<edXML>…</edXML>"
	tests := []struct {
		name     string
		body     string
		want     string // hash-file
		hold     int
		wantOut  string
		wantErr  error
		stripped bool
	}{
		{"no hash-file: all bytes", file + "\r\n", "", 2, file + "\r\n", nil, false},
		{"hash of the body", file + "\r\n", hexSum(file + "\r\n"), 2, file + "\r\n", nil, false},
		{"the SDK's CRLF dropped", file + "\r\n", hexSum(file), 2, file, nil, true},
		{"only a CRLF is dropped", file + "xy", hexSum(file), 2, "", errHashMismatch, false},
		{"no hold: the CRLF stays and the hash fails", file + "\r\n", hexSum(file), 0, "", errHashMismatch, false},
		{"mismatch", file, hexSum("other"), 2, "", errHashMismatch, false},
		{"a body shorter than the hold", "a", hexSum("a"), 2, "a", nil, false},
		{"empty", "", hexSum(""), 2, "", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// One byte per Read exercises the hold across reads.
			r := newHashReader(iotest.OneByteReader(strings.NewReader(tt.body)), tt.want, true, tt.hold)
			got, err := io.ReadAll(r)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			if err == nil && string(got) != tt.wantOut {
				t.Errorf("out %q, want %q", got, tt.wantOut)
			}
			if r.stripped != tt.stripped || r.mismatch != (tt.wantErr != nil) {
				t.Errorf("stripped %v mismatch %v", r.stripped, r.mismatch)
			}
		})
	}
	// Large reads from the source, read back by the caller in small or
	// odd pieces: what is passed on is the body, byte for byte.
	big := strings.Repeat("<edXML>một gói tin</edXML>", 9000) // ~250 KB, several source reads
	for name, wrap := range map[string]func(io.Reader) io.Reader{
		"one byte at a time": iotest.OneByteReader,
		"half reads":         iotest.HalfReader,
		"whole":              func(r io.Reader) io.Reader { return r },
	} {
		r := newHashReader(strings.NewReader(big+"\r\n"), hexSum(big), true, 2)
		got, err := io.ReadAll(wrap(r))
		if err != nil || string(got) != big || !r.stripped {
			t.Errorf("%s: %d bytes (want %d), err %v, stripped %v", name, len(got), len(big), err, r.stripped)
		}
	}
	// A read error passes through unchanged (the hub maps http.MaxBytesError).
	boom := errors.New("boom")
	if _, err := io.ReadAll(newHashReader(iotest.ErrReader(boom), "", true, 2)); !errors.Is(err, boom) {
		t.Errorf("read error %v, want %v", err, boom)
	}
}

func TestParseSignHeader(t *testing.T) {
	tests := []struct {
		give    string
		want    []entry
		wantErr bool
	}{
		{`{"XroadVnpt-systemid":"S","XroadVnpt-docId":"a"}`, []entry{{"XroadVnpt-systemid", "S"}, {"XroadVnpt-docId", "a"}}, false},
		{`{"XroadVnpt-docId":"a","XroadVnpt-docid":"b"}`, []entry{{"XroadVnpt-docId", "a"}, {"XroadVnpt-docid", "b"}}, false},
		{`{}`, nil, false},
		{`{"a":"1","a":"2"}`, nil, true},
		{`{"a":1}`, nil, true},
		{`{"a":{"b":"c"}}`, nil, true},
		{`["a"]`, nil, true},
		{`{"a":"1"}{}`, nil, true},
		{`{"a":"1"`, nil, true},
		{``, nil, true},
	}
	for _, tt := range tests {
		got, err := parseSignHeader(tt.give)
		if (err != nil) != tt.wantErr || fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("parseSignHeader(%s) = %v, %v; want %v, error %v", tt.give, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestTimestamp(t *testing.T) {
	at := time.Date(2025, 11, 20, 10, 2, 41, 123_000_000, vietnam)
	if got := FormatTimestamp(at, vietnam); got != "20112025T100241+0123" {
		t.Errorf("FormatTimestamp = %q", got)
	}
	tests := []struct {
		give    string
		want    time.Time
		wantErr bool
	}{
		{"20112025T100241+0123", at, false},
		{"20112025T100241", at.Truncate(time.Second), false},
		{"20112025T100241+12", at.Truncate(time.Second).Add(12 * time.Millisecond), false},
		{"20112025T100241+07:00", time.Time{}, true},
		{"2025-11-20T10:02:41", time.Time{}, true},
		{"32112025T100241+0000", time.Time{}, true},
	}
	for _, tt := range tests {
		got, err := ParseTimestamp(tt.give, vietnam)
		if (err != nil) != tt.wantErr || !got.Equal(tt.want) {
			t.Errorf("ParseTimestamp(%q) = %v, %v; want %v", tt.give, got, err, tt.want)
		}
	}
}

func TestParseDate(t *testing.T) {
	day := time.Date(2025, 11, 20, 0, 0, 0, 0, vietnam)
	tests := []struct {
		give     string
		want     time.Time
		dateOnly bool
		wantErr  bool
	}{
		{"2025/11/20", day, true, false},
		{"20/11/2025", day, true, false},
		{"2025-11-20", day, true, false},
		{"2025/11/20 10:02:41", day.Add(10*time.Hour + 2*time.Minute + 41*time.Second), false, false},
		{"2025-11-20T03:02:41Z", day.Add(10*time.Hour + 2*time.Minute + 41*time.Second), false, false},
		{"20112025T100241+0000", day.Add(10*time.Hour + 2*time.Minute + 41*time.Second), false, false},
		{"2025/02/30", time.Time{}, false, true},
		{"11/20/2025", time.Time{}, false, true}, // never month first
		{"yesterday", time.Time{}, false, true},
	}
	for _, tt := range tests {
		got, dateOnly, err := ParseDate(tt.give, vietnam)
		if (err != nil) != tt.wantErr || !got.Equal(tt.want) || dateOnly != tt.dateOnly {
			t.Errorf("ParseDate(%q) = %v %v %v; want %v %v", tt.give, got, dateOnly, err, tt.want, tt.dateOnly)
		}
	}
}

// A secret never leaves through fmt, slog or JSON.
func TestSecretRedacted(t *testing.T) {
	const plain = "the-plain-secret-value"
	sys := System{ID: "SYS", Secret: Secret(plain), Organs: []string{"000.00.00.G22"}}
	var out bytes.Buffer
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		fmt.Fprintf(&out, f+"\n", sys)
		fmt.Fprintf(&out, f+"\n", sys.Secret)
	}
	fmt.Fprintln(&out, sys, &sys, []System{sys}, map[string]System{"a": sys})
	raw, _ := json.Marshal(sys)
	out.Write(raw)
	slog.New(slog.NewJSONHandler(&out, nil)).Info("x", "system", sys, "secret", sys.Secret, "any", any(sys))
	slog.New(slog.NewTextHandler(&out, nil)).Info("x", "system", sys, "secret", sys.Secret)
	var decimal []string // how %d or %v would print the bytes
	for _, c := range []byte(plain)[:8] {
		decimal = append(decimal, fmt.Sprint(int(c)))
	}
	for _, leak := range []string{plain, hex.EncodeToString([]byte(plain)), strings.Join(decimal, " ")} {
		if strings.Contains(out.String(), leak) {
			t.Fatalf("the secret shows:\n%s", out.String())
		}
	}
	if !strings.Contains(out.String(), "[redacted]") {
		t.Errorf("no [redacted] marker in:\n%s", out.String())
	}
}

func TestSystemsFromConfig(t *testing.T) {
	got, err := SystemsFromConfig([]config.Agency{
		{OrganID: "000.00.00.G22", VDXPSystemID: "S1", VDXPSecret: "secret-one-xxxxxxx", VDXPCertSHA256: []string{strings.Repeat("AB:", 31) + "AB"}},
		{OrganID: "000.00.12.G22", VDXPSystemID: "S1", VDXPSecret: "secret-one-xxxxxxx", VDXPCertSHA256: []string{strings.Repeat("ab", 32), strings.Repeat("cd", 32)}},
		{OrganID: "000.00.00.H29", VDXPSystemID: "S2", VDXPSecret: "secret-two-xxxxxxx"},
		{OrganID: "000.00.00.G12"},
	})
	if err != nil {
		t.Fatal(err)
	}
	s1, ok := got.System("S1")
	if !ok || string(s1.Secret) != "secret-one-xxxxxxx" || fmt.Sprint(s1.Organs) != "[000.00.00.G22 000.00.12.G22]" {
		t.Errorf("S1 = %v %v", s1.Organs, ok)
	}
	// The pins of a system's agencies add up, written one way.
	if want := []string{strings.Repeat("ab", 32), strings.Repeat("cd", 32)}; !slices.Equal(s1.ClientCertSHA256, want) {
		t.Errorf("S1 pins = %v, want %v", s1.ClientCertSHA256, want)
	}
	if s2, _ := got.System("S2"); len(s2.ClientCertSHA256) != 0 {
		t.Errorf("S2 pins = %v, want none", s2.ClientCertSHA256)
	}
	if id, ok := got.SystemOf("000.00.00.H29"); !ok || id != "S2" {
		t.Errorf("SystemOf(H29) = %q %v", id, ok)
	}
	if _, ok := got.System(""); ok {
		t.Error("the empty system id is found")
	}
	if _, err := SystemsFromConfig([]config.Agency{
		{OrganID: "000.00.00.G22", VDXPSystemID: "S1", VDXPSecret: "secret-one-xxxxxxx"},
		{OrganID: "000.00.00.H29", VDXPSystemID: "S1", VDXPSecret: "secret-two-xxxxxxx"},
	}); err == nil || strings.Contains(err.Error(), "secret-") {
		t.Errorf("two secrets for one system: %v", err)
	}
}

// The outbox is the hub's Sent unless Options.Outbox gives another.
type fakeOutbox struct{}

func (fakeOutbox) Sent(string, time.Time, time.Time, int) ([]track.Packet, error) { return nil, nil }

func TestOutboxPickedFromHub(t *testing.T) {
	hub := struct{ Hub }{}
	if h := newHandler(hub, StaticSystems{}, nil, Options{}); h.outbox != Outbox(hub) {
		t.Errorf("outbox %T: want the hub's Sent", h.outbox)
	}
	if h := newHandler(hub, StaticSystems{}, nil, Options{Outbox: fakeOutbox{}}); h.outbox != Outbox(fakeOutbox{}) {
		t.Errorf("outbox %T: want Options.Outbox", h.outbox)
	}
}

// TestStatusDesc pins getSentEdocList's receiveStatusDesc texts.
func TestStatusDesc(t *testing.T) {
	tests := []struct {
		give edxml.StatusCode
		want string
	}{
		{"", "no business status yet"},
		{"01", "Đã đến (inbox)"},
		{"02", "Từ chối (rejection)"},
		{"03", "Đã tiếp nhận (acceptance)"},
		{"04", "Phân công (assignment)"},
		{"05", "Đang xử lý (processing)"},
		{"06", "Hoàn thành (finish)"},
		{"13", "Lấy lại (cancellation)"},
		{"15", "Đồng ý cập nhật/lấy lại (change-acceptance)"},
		{"16", "Từ chối cập nhật/lấy lại (change-rejection)"},
		{"99", ""},
	}
	for _, tt := range tests {
		if got := statusDesc(tt.give); got != tt.want {
			t.Errorf("statusDesc(%q) = %q, want %q", tt.give, got, tt.want)
		}
	}
}
