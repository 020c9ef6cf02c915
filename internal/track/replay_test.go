package track_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/route"
	"github.com/lienthong/lienthong/internal/track"
)

// The view consumer replays what the view holds already: the accepted
// event the request recorded (then routed once), items delivered before a
// restart. A replay that changes nothing writes no page but the commit's
// own (meta and freelist): rewriting an unchanged timeline dirtied its
// leaf and every branch above it, a commit's worth of writes per replay.
func TestReplayWritesNothing(t *testing.T) {
	s := open(t)
	p := edoc("a", t0)
	ds := []route.Delivery{{Endpoint: "000.00.00.H29", Organs: []string{"000.00.00.H29"}}, {Endpoint: "000.00.00.G12", Organs: []string{"000.00.00.G12"}}}
	// Enough packets for a timelines tree with branch pages.
	must(t, s.Batch(func(w *track.Writer) error {
		for i := range 300 {
			if err := w.AcceptedRouted(edoc(fmt.Sprintf("p%03d", i), t0), ds, t0.Add(time.Second)); err != nil {
				return err
			}
		}
		return nil
	}))
	must(t, s.AcceptedRouted(p, ds, t0.Add(time.Second)))
	it := item("a", "000.00.00.H29", "edoc", t0)
	must(t, s.Delivered(it, t0.Add(2*time.Second)))

	// An empty commit, for what any commit writes.
	before := s.PageWrites()
	must(t, s.Batch(func(*track.Writer) error { return nil }))
	empty := s.PageWrites() - before
	tests := []struct {
		give string
		do   func() error
	}{
		{"accepted and routed again", func() error { return s.AcceptedRouted(p, ds, t0.Add(time.Second)) }},
		{"routed again", func() error { return s.Routed("a", ds[0], t0.Add(time.Second)) }},
		{"delivered again", func() error { return s.Delivered(it, t0.Add(2*time.Second)) }},
	}
	for _, tt := range tests {
		before := s.PageWrites()
		must(t, tt.do())
		if got := s.PageWrites() - before; got > empty {
			t.Errorf("%s: %d pages written, want at most %d (an empty commit's)", tt.give, got, empty)
		}
	}
}

// The view consumer's work for an accepted event the request recorded:
// the routed events of two deliveries.
func BenchmarkAcceptedRoutedAfterRequest(b *testing.B) {
	s, err := track.Open(b.TempDir() + "/view.db")
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ds := []route.Delivery{{Endpoint: "000.00.00.H29", Organs: []string{"000.00.00.H29"}}, {Endpoint: "000.00.00.G12", Organs: []string{"000.00.00.G12"}}}
	for i := 0; b.Loop(); i++ {
		p := edoc(fmt.Sprintf("p%09d", i), t0)
		b.StopTimer()
		if err := s.Accepted(p); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := s.AcceptedRouted(p, ds, t0.Add(time.Second)); err != nil {
			b.Fatal(err)
		}
	}
}
