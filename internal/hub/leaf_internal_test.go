package hub

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/edxml"
	"github.com/lienthong/lienthong/internal/evidence"
)

// The receipt's logLeaf is made from the accepted event's fields, not its
// JSON; it must be the leaf the feeder makes from the JSON, byte for byte,
// or the hub's promise names a leaf the log never has.
func TestLeafFromFieldsIsTheFeedersLeaf(t *testing.T) {
	at := time.Date(2026, 12, 7, 9, 30, 0, 123456789, time.UTC)
	id := "6b7bfc4e15012ac969f0332ef20c81c12f2809fe17c95d4dcd42cdd5aa6e913c"
	d := func(eps ...string) []delivery {
		var out []delivery
		for _, e := range eps {
			out = append(out, delivery{Endpoint: e, Organs: []string{e}})
		}
		return out
	}
	tests := []struct {
		name string
		give accepted
	}{
		{"edoc", accepted{V: 1, ID: id, Kind: "edoc", From: "000.00.00.G22", DocumentID: "000.00.00.G22,2025/11/20,1234/VPCP-KSTT",
			SHA256: id, Size: 50000, AcceptedAt: at, Deliveries: d("000.00.00.H29", "000.00.00.G12"), Subject: "A & B <c>"}},
		{"status", accepted{V: 1, ID: id, Kind: "status", From: "000.00.00.H29", StatusCode: edxml.StatusArrived, SHA256: id, Size: 900,
			AcceptedAt: at, Deliveries: d("000.00.00.G22")}},
		{"repeated and empty endpoints", accepted{V: 1, ID: id, Kind: "edoc", From: "x", AcceptedAt: at, Deliveries: d("b", "", "a", "b")}},
		{"no deliveries", accepted{V: 1, ID: id, Kind: "edoc", From: "x", AcceptedAt: at}},
		{"not UTF-8", accepted{V: 1, ID: id, Kind: "edoc", From: "G\xff\xfe22", DocumentID: "a\xc3", AcceptedAt: at, Deliveries: d("H\x80")}},
		{"a zone other than UTC", accepted{V: 1, ID: id, Kind: "edoc", From: "x", AcceptedAt: at.In(time.FixedZone("ICT", 7*3600))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := json.Marshal(tt.give)
			if err != nil {
				t.Fatal(err)
			}
			want, err := evidence.FromAccepted(raw)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tt.give.leaf()
			if err != nil {
				t.Fatal(err)
			}
			if g, w := got.Marshal(), want.Marshal(); string(g) != string(w) {
				t.Errorf("leaf from the fields\n%s\nfrom the event\n%s", g, w)
			}
		})
	}
}
