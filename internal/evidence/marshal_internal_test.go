package evidence

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
)

// Leaf.Marshal writes what json.Marshal writes, byte for byte: the leaf's
// canonical bytes, and so its hash, must not change with the encoder.
func TestMarshalIsJSONMarshal(t *testing.T) {
	tests := []struct {
		name string
		give Leaf
	}{
		{"accepted", Leaf{V: 1, Type: LeafAccepted, ID: "ab12", Kind: "edoc", From: "000.00.00.G22", To: []string{"000.00.00.H29", "000.00.00.G12"},
			DocumentID: "000.00.00.G22,2025/11/20,1234/VPCP-KSTT", SHA256: "ab12", Size: 50000, At: "2026-12-07T09:30:00.123456789Z"}},
		{"status", Leaf{V: 1, Type: LeafAccepted, ID: "x", Kind: "status", StatusCode: "03", At: "t"}},
		{"fetched", Leaf{V: 1, Type: LeafFetched, ID: "x", Endpoint: "000.00.00.H29", At: "t"}},
		{"acked", Leaf{V: 1, Type: LeafAcked, ID: "x", Endpoint: "e", Result: "done", At: "t"}},
		{"empty to, negative size", Leaf{V: 1, Type: "t", ID: "x", To: []string{}, Size: -3, At: "t"}},
		{"zero", Leaf{}},
		{"escapes", Leaf{V: 2, Type: "\"\\/\b\f\n\r\t\x00\x1f\x7f", ID: "<a>&b", From: "Cơ quan \u2028\u2029 \U0001F600", DocumentID: "\xff\xc3(\xe2\x82", At: "\x80"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := json.Marshal(tt.give)
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.give.Marshal(); string(got) != string(want) {
				t.Errorf("Marshal\n%q\njson.Marshal\n%q", got, want)
			}
		})
	}
	// And random strings of the characters that matter.
	alphabet := []string{"a", "Z", "0", " ", "\"", "\\", "/", "<", ">", "&", "\x00", "\x01", "\n", "\t", "\x1f", "\x7f",
		"ơ", "\u2028", "\u2029", "\U0001F600", "\xff", "\xc3", "\xe2\x82", "\ufffd"}
	rng := rand.New(rand.NewPCG(18, 2))
	str := func() string {
		var s string
		for range rng.IntN(8) {
			s += alphabet[rng.IntN(len(alphabet))]
		}
		return s
	}
	for i := range 2000 {
		l := Leaf{V: rng.IntN(3), Type: str(), ID: str(), Kind: str(), From: str(), DocumentID: str(), StatusCode: str(),
			SHA256: str(), Size: rng.Int64N(5) - 2, Endpoint: str(), Result: str(), At: str()}
		for range rng.IntN(3) {
			l.To = append(l.To, str())
		}
		want, err := json.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		if got := l.Marshal(); string(got) != string(want) {
			t.Fatalf("leaf %d: Marshal\n%q\njson.Marshal\n%q", i, got, want)
		}
	}
}

// A leaf is marshalled with one allocation, its bytes (json.Marshal made
// two, the leaf boxed and the copy returned, besides its reflection).
func TestMarshalAllocatesOnce(t *testing.T) {
	l := Leaf{V: 1, Type: LeafAccepted, ID: "6b7bfc4e15012ac969f0332ef20c81c12f2809fe17c95d4dcd42cdd5aa6e913c", Kind: "edoc",
		From: "000.00.00.G22", To: []string{"000.00.00.H29"}, DocumentID: "000.00.00.G22,2025/11/20,1234/VPCP-KSTT",
		SHA256: "88394c568812f6359f05364e91dc915edcd27e1375eaf9f63b1d924fe4429995", Size: 6340, At: "2026-12-07T09:30:00.123456789Z"}
	if n := testing.AllocsPerRun(50, func() { _ = l.Marshal() }); n > 1 {
		t.Errorf("%v allocations per Marshal, want 1", n)
	}
}
