package edxml

import (
	"strconv"
	"testing"
)

// Siblings are numbered by name alike before and after the count moves
// from the slice to the map.
func TestSiblings(t *testing.T) {
	var s siblings
	want := map[string]int{}
	for i := range 200 {
		name := "n" + strconv.Itoa(i*7%(fewSiblings+9))
		want[name]++
		if got := s.add(name); got != want[name] {
			t.Fatalf("add #%d %s = %d, want %d", i, name, got, want[name])
		}
	}
	if s.many == nil {
		t.Error("more than fewSiblings names, still in the slice")
	}
}
