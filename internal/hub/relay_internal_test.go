package hub

import (
	"testing"

	"github.com/lienthong/lienthong/internal/organ"
)

// A peer relays packets from its subtrees only, judged on canonical ids:
// an alias that reads as inside a subtree but names a local agency stays
// out, and an alias (in the packet or in the peer's configuration) of an
// organ inside one is let in.
func TestMayRelayComparesCanonicalIDs(t *testing.T) {
	dir, err := organ.NewDirectory([]organ.Agency{
		{ID: "000.00.00.G22", Name: "local"},
		{ID: "000.00.00.G12", Name: "local, with an alias that looks northern", Aliases: []organ.ID{"28.22.X1"}},
		{ID: "28.22", Name: "north", Endpoint: "hub:north"},
		{ID: "28.22.H17", Name: "a northern unit", Endpoint: "hub:north", Aliases: []organ.ID{"99.01.H17"}},
		{ID: "000.00.00.H30", Name: "south", Endpoint: "hub:south", Aliases: []organ.ID{"000.00.00.H13"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	h := &Hub{o: Options{Directory: dir, Peers: map[string]Peer{
		"north": {Name: "north", Organs: []string{"28.22"}},
		// Configured under the old code of the organ.
		"south": {Name: "south", Organs: []string{"000.00.00.H13"}},
	}}}
	tests := []struct {
		name string
		peer string
		give string
		want bool
	}{
		{name: "the subtree's root", peer: "north", give: "28.22", want: true},
		{name: "a registered unit", peer: "north", give: "28.22.H17", want: true},
		{name: "an unregistered unit", peer: "north", give: "28.22.H17.9", want: true},
		{name: "an alias of a unit inside", peer: "north", give: "99.01.H17", want: true},
		{name: "an alias inside by its text, of a local agency", peer: "north", give: "28.22.X1", want: false},
		{name: "a local agency", peer: "north", give: "000.00.00.G22", want: false},
		{name: "a prefix is not a parent", peer: "north", give: "28.221.X", want: false},
		{name: "the organ a configured alias names", peer: "south", give: "000.00.00.H30", want: true},
		{name: "a unit under the organ a configured alias names", peer: "south", give: "000.00.05.H30", want: true},
		{name: "the configured alias itself", peer: "south", give: "000.00.00.H13", want: true},
		{name: "another peer's subtree", peer: "south", give: "28.22.H17", want: false},
		{name: "an unknown peer", peer: "west", give: "28.22", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := h.mayRelay(Submission{Relay: &Relay{Peer: tt.peer}}, tt.give); got != tt.want {
				t.Errorf("peer %s relaying from %s: %v, want %v", tt.peer, tt.give, got, tt.want)
			}
		})
	}
	if h.mayRelay(Submission{}, "28.22") {
		t.Error("a submission that is not a relay")
	}
}
