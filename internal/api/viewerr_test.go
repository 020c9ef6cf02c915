package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/lienthong/lienthong/internal/hubtest"
)

// A bad cursor is the client's fault: 400 request.bad_cursor. The view
// failing under a good one (its file closed) is the hub's: 503
// hub.unavailable with Retry-After, which a client retries, never a 400
// it would take for final; so is a timeline the view cannot read.
func TestViewFailureIsUnavailable(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	th := wrap(h)
	h29 := th.agencies["000.00.00.H29"]
	var id string
	for n := range 2 {
		code, _, raw := th.submit(t, th.packet(t, n))
		if code != 201 {
			t.Fatalf("submit: %d %s", code, raw)
		}
		id = decodeReceipt(t, raw).ID
	}
	th.inbox(t, h29, "edoc", 2)
	code, _, raw := th.call(t, "GET", "/v1/inbox?limit=1", h29.token, "", nil)
	var page struct{ Next *string }
	if err := json.Unmarshal(raw, &page); code != 200 || err != nil || page.Next == nil {
		t.Fatalf("first page: %d %s", code, raw)
	}
	next := "/v1/inbox?limit=1&cursor=" + url.QueryEscape(*page.Next)
	if code, _, raw := th.call(t, "GET", next, h29.token, "", nil); code != 200 {
		t.Fatalf("second page: %d %s", code, raw)
	}
	badCursor := func(when string) {
		t.Helper()
		code, retry, raw := th.call(t, "GET", "/v1/inbox?cursor=zz", h29.token, "", nil)
		if code != http.StatusBadRequest || retry != "" || !bytes.Contains(raw, []byte(`"request.bad_cursor"`)) {
			t.Errorf("a bad cursor, %s: %d Retry-After %q %s", when, code, retry, raw)
		}
	}
	badCursor("the view up")

	if err := h.View.Close(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		give string
	}{
		{"the inbox, a good cursor", next},
		{"the inbox", "/v1/inbox"},
		{"a timeline", "/v1/packets/" + id + "/timeline"},
	}
	for _, tt := range tests {
		code, retry, raw := th.call(t, "GET", tt.give, h29.token, "", nil)
		if code != http.StatusServiceUnavailable || retry == "" || !bytes.Contains(raw, []byte(`"hub.unavailable"`)) {
			t.Errorf("%s, the view closed: %d Retry-After %q %s, want 503 hub.unavailable", tt.name, code, retry, raw)
		}
	}
	badCursor("the view closed")
}
