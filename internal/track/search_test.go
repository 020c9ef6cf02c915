package track_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/track"
)

func TestSearch(t *testing.T) {
	s := open(t)
	// a, b, c from G22 to H29 and G12, an hour apart; d from G12 to H29
	// only; e from G12A (whose id starts with G12's) to G22.
	for i, id := range []string{"a", "b", "c"} {
		must(t, s.Accepted(edoc(id, t0.Add(time.Duration(i)*time.Hour))))
	}
	d := edoc("d", t0.Add(30*time.Minute))
	d.From, d.To, d.DocumentID = "000.00.00.G12", []string{"000.00.00.H29"}, "000.00.00.G12,2025/11/20,77/BTC-VP"
	must(t, s.Accepted(d))
	e := edoc("e", t0.Add(4*time.Hour))
	e.From, e.To, e.DocumentID = "000.00.00.G12A", []string{"000.00.00.G22"}, "000.00.00.G12A,2025/11/20,9/X"
	must(t, s.Accepted(e))

	tests := []struct {
		name string
		q    track.Query
		want []string
		cut  bool
	}{
		{"everything, newest first", track.Query{}, []string{"e", "c", "b", "d", "a"}, false},
		{"id", track.Query{ID: "b", From: "ignored"}, []string{"b"}, false},
		{"unknown id", track.Query{ID: "zz"}, nil, false},
		{"sender", track.Query{From: "000.00.00.G12"}, []string{"d"}, false},
		{"sender whose id prefixes another", track.Query{From: "000.00.00.G12A"}, []string{"e"}, false},
		{"recipient", track.Query{To: "000.00.00.H29"}, []string{"c", "b", "d", "a"}, false},
		{"recipient and sender", track.Query{To: "000.00.00.H29", From: "000.00.00.G12"}, []string{"d"}, false},
		{"part of a DocumentId, any case", track.Query{DocumentID: "btc-vp"}, []string{"d"}, false},
		{"date range", track.Query{Since: t0.Add(30 * time.Minute), Until: t0.Add(2 * time.Hour)}, []string{"b", "d"}, false},
		{"limit", track.Query{Limit: 2}, []string{"e", "c"}, true},
		{"nothing", track.Query{From: "000.00.00.Z99"}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, cut, err := s.Search(tt.q)
			must(t, err)
			var ids []string
			for _, p := range got {
				ids = append(ids, p.ID)
			}
			if !slices.Equal(ids, tt.want) || cut != tt.cut {
				t.Errorf("Search(%+v) = %v (cut %v), want %v (cut %v)", tt.q, ids, cut, tt.want, tt.cut)
			}
		})
	}
}

// A broad search over many packets keeps only the newest Limit and says
// it was cut.
func TestSearchBounded(t *testing.T) {
	s := open(t)
	for i := range 1000 {
		must(t, s.Accepted(edoc(fmt.Sprintf("p%04d", i), t0.Add(time.Duration(i)*time.Second))))
	}
	got, cut, err := s.Search(track.Query{Limit: 10})
	must(t, err)
	if len(got) != 10 || !cut || got[0].ID != "p0999" || got[9].ID != "p0990" {
		t.Fatalf("got %d from %s (cut %v)", len(got), got[0].ID, cut)
	}
}
