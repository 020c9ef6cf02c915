package organ

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

var lower = Policy{AllowLowercase: true}

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		policy  Policy
		give    string
		want    ID
		wantErr error
		reason  string // substring of the error message
	}{
		{name: "2016 ministry", give: "000.00.00.G22", want: "000.00.00.G22"},
		{name: "2016 unit", give: "000.00.12.H53", want: "000.00.12.H53"},
		{name: "2016 test system", give: "777.77.04.D77", want: "777.77.04.D77"},
		{name: "trimmed", give: " \t000.00.01.A53\r\n", want: "000.00.01.A53"},
		{name: "trimmed nbsp", give: "\u00a0000.00.00.G12\u00a0", want: "000.00.00.G12"},
		{name: "QD20 three groups", give: "28.22.H17", want: "28.22.H17"},
		{name: "QD20 two groups", give: "G22.05", want: "G22.05"},
		{name: "QD20 tax number", give: "0101234567.001", want: "0101234567.001"},
		{name: "QD20 35 chars", give: "ABCDEFGHIJ.0123456789.ABCDEFGHIJ.01", want: "ABCDEFGHIJ.0123456789.ABCDEFGHIJ.01"},
		{name: "QD20 nearly 2016", give: "000.00.00.G2", want: "000.00.00.G2"},

		{name: "empty", give: "", wantErr: ErrEmpty},
		{name: "spaces only", give: "   ", wantErr: ErrEmpty, reason: "whitespace"},
		{name: "newlines only", give: "\n\t\n", wantErr: ErrEmpty, reason: "whitespace"},
		{name: "null", give: "null", wantErr: ErrInvalid, reason: "lowercase"},
		{name: "NULL", give: "NULL", wantErr: ErrInvalid, reason: "no dot"},
		{name: "level 1 code alone", give: "G22", wantErr: ErrInvalid, reason: "no dot"},
		{name: "agency name", give: "Bộ Tài chính", wantErr: ErrInvalid, reason: "non-ASCII character 'ộ'"},
		{name: "36 chars", give: "ABCDEFGHIJ.0123456789.ABCDEFGHIJ.012", wantErr: ErrInvalid, reason: "36 characters, more than 35"},
		{name: "very long", give: strings.Repeat("A.", 5000), wantErr: ErrInvalid, reason: "10000 characters"},
		{name: "leading dot", give: ".A.B", wantErr: ErrInvalid, reason: "leading dot"},
		{name: "trailing dot", give: "A.B.", wantErr: ErrInvalid, reason: "trailing dot"},
		{name: "doubled dot", give: "A..B", wantErr: ErrInvalid, reason: "doubled dot at offset 1"},
		{name: "dot only", give: ".", wantErr: ErrInvalid, reason: "leading dot"},
		{name: "lowercase by default", give: "vxp.saas.03", wantErr: ErrInvalid, reason: "lowercase letter 'v' at offset 0"},
		{name: "lowercase 2016 letter", give: "000.00.00.g22", wantErr: ErrInvalid, reason: "lowercase letter 'g'"},
		{name: "Cyrillic En", give: "000.00.00.\u041d29", wantErr: ErrInvalid, reason: "U+041D"},
		{name: "Cyrillic A and O", give: "\u0410\u041e.00", wantErr: ErrInvalid, reason: "non-ASCII"},
		{name: "fullwidth digits", give: "\uff10\uff10\uff10.00.00.G22", wantErr: ErrInvalid, reason: "U+FF10"},
		{name: "replacement char", give: "A.\ufffd", wantErr: ErrInvalid, reason: "U+FFFD"},
		{name: "invalid UTF-8", give: "A.\xffB", wantErr: ErrInvalid, reason: "invalid UTF-8 at offset 2"},
		{name: "NUL byte", give: "000.00.00.G2\x00", wantErr: ErrInvalid, reason: "control character U+0000"},
		{name: "tab inside", give: "000.00\t.00.G22", wantErr: ErrInvalid, reason: "control character U+0009 at offset 6"},
		{name: "space inside", give: "000.00.00 G22", wantErr: ErrInvalid, reason: "character ' ' at offset 9"},
		{name: "dashes", give: "000-00-00-G22", wantErr: ErrInvalid, reason: "character '-'"},
		{name: "comma", give: "A.B,C", wantErr: ErrInvalid, reason: "character ','"},
		{name: "DEL", give: "A.B\x7f", wantErr: ErrInvalid, reason: "control character U+007F"},

		{name: "lowercase allowed", policy: lower, give: "vxp.saas.03", want: "vxp.saas.03"},
		{name: "mixed case allowed", policy: lower, give: "VXP.saas.03", want: "VXP.saas.03"},
		{name: "lowercase null still no dot", policy: lower, give: "null", wantErr: ErrInvalid, reason: "no dot"},
		{name: "lowercase doubled dot", policy: lower, give: "vxp..saas", wantErr: ErrInvalid, reason: "doubled dot"},
		{name: "lowercase too long", policy: lower, give: strings.Repeat("a", 30) + ".bcdef", wantErr: ErrInvalid, reason: "36 characters"},
		{name: "lowercase non-ASCII", policy: lower, give: "b\u1ed9.tc", wantErr: ErrInvalid, reason: "non-ASCII"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.policy.Parse(tt.give)
			if got != tt.want || !errors.Is(err, tt.wantErr) || !strings.Contains(fmt.Sprint(err), tt.reason) {
				t.Errorf("Parse(%q) = %q, %v; want %q, %v (%q)", tt.give, got, err, tt.want, tt.wantErr, tt.reason)
			}
		})
	}
}

func TestParseErrorIsBounded(t *testing.T) {
	_, err := Parse(strings.Repeat("Ộ", 10000))
	if err == nil || len(err.Error()) > 200 {
		t.Errorf("error for a 10000-rune input: %d bytes: %v", len(fmt.Sprint(err)), err)
	}
}

func TestForm(t *testing.T) {
	tests := []struct {
		give ID
		want Form
	}{
		{give: "000.00.00.G22", want: Form2016},
		{give: "123.45.67.Z89", want: Form2016},
		{give: "28.22.H17", want: FormQD20},
		{give: "0000.00.00.G22", want: FormQD20},
		{give: "000.00.00.G22.01", want: FormQD20},
		{give: "000.00.00.022", want: FormQD20},
		{give: "000.00.00.g22", want: FormQD20},
	}
	for _, tt := range tests {
		if got := tt.give.Form(); got != tt.want {
			t.Errorf("%s.Form() = %v, want %v", tt.give, got, tt.want)
		}
	}
}

func TestParent(t *testing.T) {
	tests := []struct {
		give   ID
		want   ID
		wantOK bool
	}{
		{give: "000.01.12.H29", want: "000.00.12.H29", wantOK: true},
		{give: "000.00.12.H29", want: "000.00.00.H29", wantOK: true},
		{give: "000.01.00.H29", want: "000.00.00.H29", wantOK: true},
		{give: "001.02.03.G22", want: "000.02.03.G22", wantOK: true},
		{give: "000.00.00.H29"},
		{give: "28.22.H17", want: "28.22", wantOK: true},
		{give: "A.B.C.D.E", want: "A.B.C.D", wantOK: true},
		{give: "28.22"},
		{give: "000.00.00.G22.05", want: "000.00.00.G22", wantOK: true},
		{give: "000.00.12.H29.X", want: "000.00.12.H29", wantOK: true},
		{give: "vxp.saas.03", want: "vxp.saas", wantOK: true},
		{give: ""},
	}
	for _, tt := range tests {
		got, ok := tt.give.Parent()
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("%q.Parent() = %q, %v; want %q, %v", tt.give, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestAncestorsAndLevel(t *testing.T) {
	tests := []struct {
		give      ID
		want      []ID
		wantLevel int
	}{
		{give: "000.00.00.G22", wantLevel: 1},
		{give: "000.00.12.H29", want: []ID{"000.00.00.H29"}, wantLevel: 2},
		{give: "000.01.12.H29", want: []ID{"000.00.12.H29", "000.00.00.H29"}, wantLevel: 3},
		{give: "001.01.12.H29", want: []ID{"000.01.12.H29", "000.00.12.H29", "000.00.00.H29"}, wantLevel: 4},
		{give: "001.00.00.H29", want: []ID{"000.00.00.H29"}, wantLevel: 2},
		{give: "28.22", wantLevel: 1},
		{give: "28.22.H17", want: []ID{"28.22"}, wantLevel: 2},
		{give: "28.22.H17.5", want: []ID{"28.22.H17", "28.22"}, wantLevel: 3},
		{give: "000.00.12.H29.X.Y", want: []ID{"000.00.12.H29.X", "000.00.12.H29", "000.00.00.H29"}, wantLevel: 4},
	}
	for _, tt := range tests {
		got := tt.give.Ancestors()
		level := tt.give.Level()
		if !slices.Equal(got, tt.want) || level != tt.wantLevel || level != len(got)+1 {
			t.Errorf("%s: Ancestors() = %q, Level() = %d; want %q, %d", tt.give, got, level, tt.want, tt.wantLevel)
		}
	}
}

func TestIsUnder(t *testing.T) {
	tests := []struct {
		give ID
		anc  ID
		want bool
	}{
		{give: "000.00.12.H29", anc: "000.00.00.H29", want: true},
		{give: "000.01.12.H29", anc: "000.00.00.H29", want: true},
		{give: "000.01.12.H29", anc: "000.00.12.H29", want: true},
		// The leftmost non-zero group goes first, so 000.01.00 is not on the path.
		{give: "000.01.12.H29", anc: "000.01.00.H29", want: false},
		{give: "000.00.00.H29", anc: "000.00.00.H29", want: false},
		{give: "000.00.00.H29", anc: "000.00.12.H29", want: false},
		{give: "000.00.12.H29", anc: "000.00.00.H30", want: false},
		{give: "000.00.12.H29", anc: "000.00.11.H29", want: false},
		{give: "28.22.H17", anc: "28.22", want: true},
		{give: "28.22.H17.1", anc: "28.22", want: true},
		{give: "28.221.X", anc: "28.22", want: false},
		{give: "28.22", anc: "28", want: false},
		{give: "000.00.00.G22.05", anc: "000.00.00.G22", want: true},
		{give: "000.00.12.H29", anc: "", want: false},
	}
	for _, tt := range tests {
		if got := tt.give.IsUnder(tt.anc); got != tt.want {
			t.Errorf("%q.IsUnder(%q) = %v, want %v", tt.give, tt.anc, got, tt.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"000.00.00.G22", "000.01.12.H29", "001.01.12.H29", "28.22.H17", "G22.05",
		"000.00.12.H29.X.Y", "ABCDEFGHIJ.0123456789.ABCDEFGHIJ.01", "vxp.saas.03",
		"", " ", "null", "Bộ Tài chính", ".A.B", "A.B.", "A..B", "000.00.00.\u041d29",
		"A.B\x00", "A\t.B", "\xff.A", " 000.00.00.G22 ",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		strictID, strictErr := Parse(s)
		for _, p := range []Policy{{}, lower} {
			id, err := p.Parse(s)
			if err != nil {
				if id != "" || errors.Is(err, ErrEmpty) == errors.Is(err, ErrInvalid) {
					t.Fatalf("%+v.Parse(%q) = %q, %v: want \"\" and exactly one sentinel", p, s, id, err)
				}
				continue
			}
			if again, err := p.Parse(string(id)); again != id || err != nil {
				t.Fatalf("re-parse %q = %q, %v", id, again, err)
			}
			if len(id) > MaxLen || (id.Form() == Form2016) != is2016(string(id)) {
				t.Fatalf("%q: length %d, form %v", id, len(id), id.Form())
			}
			level := id.Level()
			if n := len(id.Ancestors()); n != level-1 {
				t.Fatalf("%q: Level %d with %d ancestors", id, level, n)
			}
			parent, ok := id.Parent()
			if !ok {
				if level != 1 {
					t.Fatalf("%q: no parent at level %d", id, level)
				}
				continue
			}
			if again, err := p.Parse(string(parent)); again != parent || err != nil {
				t.Fatalf("parent %q of %q does not parse: %v", parent, id, err)
			}
			if len(parent) > len(id) || parent.Level() >= level || !id.IsUnder(parent) {
				t.Fatalf("parent %q (level %d) of %q (level %d)", parent, parent.Level(), id, level)
			}
		}
		// Whatever the strict policy accepts, the lenient one accepts unchanged.
		if lenientID, err := lower.Parse(s); strictErr == nil && (err != nil || lenientID != strictID) {
			t.Fatalf("lenient Parse(%q) = %q, %v; strict gave %q", s, lenientID, err, strictID)
		}
	})
}
