package blob

import (
	"slices"
	"testing"
)

// Compaction holds one chunk of records in memory: at most compactBatch
// of them and compactBytes, but never less than one record.
func TestCompactChunks(t *testing.T) {
	recs := func(sizes ...int64) []moving {
		ms := make([]moving, len(sizes))
		for i, n := range sizes {
			ms[i].e.recLen = n
		}
		return ms
	}
	lens := func(chunks [][]moving) []int {
		var n []int
		for _, c := range chunks {
			n = append(n, len(c))
		}
		return n
	}
	many := make([]int64, 150)
	for i := range many {
		many[i] = 1000
	}
	tests := []struct {
		name string
		give []moving
		want []int
	}{
		{"none", nil, nil},
		{"small records: by count", recs(many...), []int{64, 64, 22}},
		{"1 MiB records: by bytes", recs(slices.Repeat([]int64{1 << 20}, 20)...), []int{8, 8, 4}},
		{"one record over the budget alone", recs(100, 9<<20, 100), []int{1, 1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := lens(compactChunks(tt.give)); !slices.Equal(got, tt.want) {
				t.Errorf("chunk lengths = %v, want %v", got, tt.want)
			}
		})
	}
}
