package api_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/lienthong/lienthong/internal/hubtest"
	"github.com/lienthong/lienthong/internal/testwait"
)

// The request records the packet routed in its own view (so the view
// consumer's replay writes nothing), at the time the consumer records it:
// a second instance, whose view is built from the topics alone, shows the
// same timeline, whichever of the request and the consumer wrote first.
func TestViewFromTopicsIsTheRequestsView(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	first := wrap(h)
	g22 := first.agencies["000.00.00.G22"]
	code, rc := first.send(t, g22.token, read(t, "edoc-new.xml"), g22)
	if code != 201 {
		t.Fatalf("submit: %d %v", code, rc)
	}
	id := rc["id"].(string)
	path := "/v1/packets/" + id + "/timeline"
	// The second's view may not know the packet yet: 404 until it does.
	timeline := func(th *testHub) (string, []any) {
		t.Helper()
		code, out := th.do(t, "GET", path, g22.token, "", nil)
		raw, _ := json.Marshal(out)
		rs, _ := out["recipients"].([]any)
		return fmt.Sprint(code, " ", string(raw)), rs
	}
	got, rs := timeline(first)
	if len(rs) == 0 {
		t.Fatalf("timeline without recipients: %s", got)
	}
	for _, r := range rs {
		routed := false
		for _, e := range r.(map[string]any)["events"].([]any) {
			routed = routed || e.(map[string]any)["type"] == "routed"
		}
		if !routed {
			t.Errorf("right after the 2xx, %v is not routed in the request's view", r.(map[string]any)["organId"])
		}
	}
	url2, _ := h.Instance(t)
	second := wrap(h)
	second.url = url2
	testwait.EventuallyState(t, "the second instance's view, from the topics, to show the first's timeline", func() (bool, string) {
		a, _ := timeline(first)
		b, _ := timeline(second)
		return a == b, "first " + a + "\nsecond " + b
	})
	// Routed when accepted, by both writers: not at the message's time.
	_, rs = timeline(second)
	for _, r := range rs {
		at := map[any]any{}
		for _, e := range r.(map[string]any)["events"].([]any) {
			at[e.(map[string]any)["type"]] = e.(map[string]any)["at"]
		}
		if at["routed"] != at["accepted"] {
			t.Errorf("%v: routed at %v, accepted at %v; want the same time", r.(map[string]any)["organId"], at["routed"], at["accepted"])
		}
	}
}
