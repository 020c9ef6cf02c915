package api_test

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/internal/hubtest"
)

// subUnit is registered under H29 with its own inbox: it is not H29.
const subUnit = "000.00.12.H29"

// raw makes a request and returns the status, the content type and the
// body as sent.
func (th *testHub) raw(t *testing.T, method, path, token, body string) (int, string, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, th.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

// recipients lists the organs of a timeline's recipients, and the codes
// of the statuses on each.
func recipients(tl map[string]any) (organs []string, statuses map[string][]string) {
	statuses = map[string][]string{}
	for _, r := range tl["recipients"].([]any) {
		rm := r.(map[string]any)
		id := rm["organId"].(string)
		organs = append(organs, id)
		for _, e := range rm["events"].([]any) {
			if ev := e.(map[string]any); ev["type"] == "status" {
				statuses[id] = append(statuses[id], ev["code"].(string))
			}
		}
	}
	return organs, statuses
}

// Every route that takes a packet id answers a caller that is not a party
// to the packet exactly as it answers an id that does not exist: same
// status, same type, same body but for the id.
func TestNonPartyIsAnsweredAsUnknown(t *testing.T) {
	th := startHub(t)
	g22, h29, g12 := th.agencies["000.00.00.G22"], th.agencies["000.00.00.H29"], th.agencies["000.00.00.G12"]
	code, rc := th.send(t, g22.token, read(t, "edoc-new.xml"), g22)
	if code != 201 {
		t.Fatalf("submit: %d %v", code, rc)
	}
	id := rc["id"].(string)
	th.inbox(t, h29, "edoc", 1) // pending, so the recipient may acknowledge it
	unknown := strings.Repeat("ab", 32)
	tests := []struct {
		name, method, path, body string
	}{
		{name: "fetch", method: http.MethodGet, path: "/v1/packets/{id}"},
		{name: "timeline", method: http.MethodGet, path: "/v1/packets/{id}/timeline"},
		{name: "signature", method: http.MethodGet, path: "/v1/packets/{id}/signature"},
		{name: "ack", method: http.MethodPost, path: "/v1/inbox/{id}/ack", body: `{"result":"done"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The recipient may: the id is a packet's.
			if code, _, b := th.raw(t, tt.method, strings.ReplaceAll(tt.path, "{id}", id), h29.token, tt.body); code != http.StatusOK {
				t.Fatalf("the recipient: %d %s", code, b)
			}
			code, ctype, got := th.raw(t, tt.method, strings.ReplaceAll(tt.path, "{id}", id), g12.token, tt.body)
			wantCode, wantType, want := th.raw(t, tt.method, strings.ReplaceAll(tt.path, "{id}", unknown), g12.token, tt.body)
			if wantCode != http.StatusNotFound {
				t.Fatalf("an unknown id: %d %s", wantCode, want)
			}
			got = bytes.ReplaceAll(got, []byte(id), []byte(unknown))
			if code != wantCode || ctype != wantType || !bytes.Equal(got, want) {
				t.Errorf("a non-party: %d %s %s\nan unknown id: %d %s %s", code, ctype, got, wantCode, wantType, want)
			}
		})
	}
}

// A status about a document is accepted only from an organ that may read
// it, by the rule a fetch obeys: a registered sub-unit of a recipient has
// its own inbox, may not fetch its parent's document, and may not speak
// about it either. Nothing of it reaches the sender's timeline; a
// recipient's own status still does.
func TestStatusFromAnOrganThatMayNotRead(t *testing.T) {
	th := wrap(hubtest.Start(t, hubtest.Options{More: []string{subUnit}}))
	g22, g12, sub := th.agencies["000.00.00.G22"], th.agencies["000.00.00.G12"], th.agencies[subUnit]
	code, rc := th.send(t, g22.token, read(t, "edoc-new-two-recipients.xml"), g22)
	if code != 201 {
		t.Fatalf("submit: %d %v", code, rc)
	}
	id := rc["id"].(string)
	if code, out := th.do(t, http.MethodGet, "/v1/packets/"+id, sub.token, "", nil); code != http.StatusNotFound {
		t.Fatalf("the sub-unit fetching its parent's document: %d %v", code, out)
	}
	refusal := bytes.ReplaceAll(read(t, "status-02.xml"), []byte("000.00.00.G12"), []byte(subUnit))
	if code, out := th.send(t, sub.token, refusal, sub); code != http.StatusForbidden || out["code"] != "auth.forbidden" {
		t.Errorf("the sub-unit's 02: %d %v, want 403 auth.forbidden", code, out["code"])
	}
	if code, out := th.send(t, g12.token, read(t, "status-02.xml"), g12); code != http.StatusCreated {
		t.Fatalf("the recipient's 02: %d %v", code, out)
	}
	// The view records an accepted status before the 2xx: no waiting.
	code, tl := th.do(t, http.MethodGet, "/v1/packets/"+id+"/timeline", g22.token, "", nil)
	if code != http.StatusOK {
		t.Fatalf("timeline: %d %v", code, tl)
	}
	if _, statuses := recipients(tl); !slices.Equal(statuses["000.00.00.G12"], []string{"02"}) || len(statuses["000.00.00.H29"]) != 0 {
		t.Errorf("statuses on the sender's timeline %v, want G12's 02 alone", statuses)
	}
}

// Each recipient of a document reads its own part of the timeline; the
// sender reads all of it.
func TestTimelineShowsARecipientItsOwnPart(t *testing.T) {
	th := startHub(t)
	g22, h29, g12 := th.agencies["000.00.00.G22"], th.agencies["000.00.00.H29"], th.agencies["000.00.00.G12"]
	code, rc := th.send(t, g22.token, read(t, "edoc-new-two-recipients.xml"), g22)
	if code != 201 {
		t.Fatalf("submit: %d %v", code, rc)
	}
	id := rc["id"].(string)
	tests := []struct {
		give *agency
		want []string
	}{
		{give: g22, want: []string{"000.00.00.H29", "000.00.00.G12"}},
		{give: h29, want: []string{"000.00.00.H29"}},
		{give: g12, want: []string{"000.00.00.G12"}},
	}
	for _, tt := range tests {
		code, tl := th.do(t, http.MethodGet, "/v1/packets/"+id+"/timeline", tt.give.token, "", nil)
		if code != http.StatusOK {
			t.Fatalf("%s: %d %v", tt.give.id, code, tl)
		}
		if got, _ := recipients(tl); !slices.Equal(got, tt.want) {
			t.Errorf("%s reads the parts of %v, want %v", tt.give.id, got, tt.want)
		}
	}
}
