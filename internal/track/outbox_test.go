package track_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/track"
)

// A fetch's event is kept with the fetch, survives a restart until it is
// marked produced, and is kept only for a pending item.
func TestFetchedOutbox(t *testing.T) {
	path := filepath.Join(t.TempDir(), "view.db")
	s, err := track.Open(path)
	must(t, err)
	const h29 = "000.00.00.H29"
	must(t, s.Accepted(edoc("p1", t0)))
	must(t, s.Delivered(item("p1", h29, "edoc", t0), t0.Add(time.Second)))
	tests := []struct {
		name     string
		endpoint string
		id       string
		want     bool
	}{
		{"pending", h29, "p1", true},
		{"not pending for the endpoint", "000.00.00.G12", "p1", false},
		{"unknown", h29, "p2", false},
	}
	for _, tt := range tests {
		m := track.Outgoing{Topic: "events", Key: []byte(tt.id), Value: []byte(`{"type":"fetched"}`)}
		kept, err := s.FetchedOutbox(tt.endpoint, tt.id, t0.Add(2*time.Second), m)
		if err != nil || kept != tt.want {
			t.Errorf("%s: kept %v %v, want %v", tt.name, kept, err, tt.want)
		}
	}
	tl, err := s.Timeline("p1")
	must(t, err)
	if r := tl.Recipients[0]; r.OrganID != h29 || r.State != track.EventFetched {
		t.Errorf("timeline after the fetch: %+v", tl.Recipients)
	}
	must(t, s.Close())

	s, err = track.Open(path)
	must(t, err)
	t.Cleanup(func() { s.Close() })
	out, err := s.Outbox(10)
	must(t, err)
	if len(out) != 1 || out[0].Topic != "events" || string(out[0].Key) != "p1" {
		t.Fatalf("outbox after a restart: %+v", out)
	}
	must(t, s.OutboxDone(out[0].Seq))
	if out, err := s.Outbox(10); err != nil || len(out) != 0 {
		t.Errorf("outbox after done: %+v %v", out, err)
	}
}
