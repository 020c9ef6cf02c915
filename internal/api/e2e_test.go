package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/blob"
	"github.com/lienthong/lienthong/internal/hubtest"
	"github.com/lienthong/lienthong/internal/pki"
)

const fixtures = "../edxml/testdata/fixtures"

type agency struct {
	id    string
	token string
	iss   *pki.Issued
}

type testHub struct {
	url      string
	store    blob.Store
	agencies map[string]*agency
}

// startHub runs a whole hub (internal/hubtest): kfake over TCP, versitygw
// when the S3 endpoint is set, else the filesystem.
func startHub(t *testing.T) *testHub {
	t.Helper()
	return wrap(hubtest.Start(t, hubtest.Options{}))
}

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// send posts a packet as multipart with a detached CMS by signer.
func (th *testHub) send(t *testing.T, token string, packet []byte, signer *agency) (int, map[string]any) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if signer != nil {
		sig, err := pki.SignDetached(bytes.NewReader(packet), signer.iss.Cert, signer.iss.Key, signer.iss.Chain, pki.SignOptions{})
		if err != nil {
			t.Fatal(err)
		}
		w, _ := mw.CreateFormFile("signature", "packet.p7s")
		_, _ = w.Write(sig)
	}
	w, _ := mw.CreateFormFile("packet", "packet.xml")
	_, _ = w.Write(packet)
	mw.Close()
	return th.do(t, http.MethodPost, "/v1/packets", token, mw.FormDataContentType(), &body)
}

func (th *testHub) do(t *testing.T, method, path, token, ctype string, body io.Reader) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, th.url+path, body)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	} else {
		out = map[string]any{"raw": string(raw)}
	}
	return resp.StatusCode, out
}

// inbox waits until the agency's inbox holds n items of kind; with n < 0
// it returns what is there now.
func (th *testHub) inbox(t *testing.T, a *agency, kind string, n int) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, out := th.do(t, http.MethodGet, "/v1/inbox?kind="+kind, a.token, "", nil)
		if code != 200 {
			t.Fatalf("inbox: %d %v", code, out)
		}
		var items []map[string]any
		for _, it := range out["items"].([]any) {
			items = append(items, it.(map[string]any))
		}
		if n < 0 {
			return items
		}
		if len(items) >= n || time.Now().After(deadline) {
			if len(items) != n {
				t.Fatalf("%s inbox has %d %s items, want %d: %v", a.id, len(items), kind, n, items)
			}
			return items
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestEndToEnd(t *testing.T) {
	th := startHub(t)
	g22, h29, g12 := th.agencies["000.00.00.G22"], th.agencies["000.00.00.H29"], th.agencies["000.00.00.G12"]

	doc1234, doc1250 := read(t, "edoc-new.xml"), read(t, "edoc-new-two-recipients.xml")
	code, r1 := th.send(t, g22.token, doc1234, g22)
	if code != 201 || r1["receipt"] == "" || r1["verification"].(map[string]any)["valid"] != true {
		t.Fatalf("submit: %d %v", code, r1)
	}
	code, r2 := th.send(t, g22.token, doc1250, g22)
	if code != 201 {
		t.Fatalf("submit: %d %v", code, r2)
	}
	id1234, id1250 := r1["id"].(string), r2["id"].(string)

	// Identical resubmission: the original receipt. Same id, other bytes: 409.
	if code, again := th.send(t, g22.token, doc1234, g22); code != 200 || again["receipt"] != r1["receipt"] {
		t.Errorf("resubmission: %d %v", code, again)
	}
	altered := bytes.Replace(doc1234, []byte("năm 2025</edXML:Subject>"), []byte("năm 2025 (bản sửa)</edXML:Subject>"), 1)
	if code, out := th.send(t, g22.token, altered, g22); code != 409 || out["code"] != "packet.conflict" {
		t.Errorf("conflict: %d %v", code, out)
	}

	items := th.inbox(t, h29, "edoc", 2)
	if ids := []string{items[0]["id"].(string), items[1]["id"].(string)}; !slices.Contains(ids, id1234) || !slices.Contains(ids, id1250) {
		t.Errorf("H29 inbox %v", items)
	}
	th.inbox(t, g12, "edoc", 1)

	// Fetch the exact bytes, then acknowledge.
	code, got := th.do(t, http.MethodGet, "/v1/packets/"+id1234, h29.token, "", nil)
	if code != 200 || got["raw"] != string(doc1234) {
		t.Fatalf("fetch: %d (identical: %v)", code, got["raw"] == string(doc1234))
	}
	if code, out := th.do(t, http.MethodPost, "/v1/inbox/"+id1234+"/ack", h29.token, "application/json", strings.NewReader(`{"result":"done"}`)); code != 200 {
		t.Fatalf("ack: %d %v", code, out)
	}
	th.inbox(t, h29, "edoc", 1)
	// The detached signature is kept and served to the parties.
	if code, got := th.do(t, http.MethodGet, "/v1/packets/"+id1234+"/signature", h29.token, "", nil); code != 200 || len(got["raw"].(string)) < 100 {
		t.Errorf("signature: %d", code)
	}
	if code, _ := th.do(t, http.MethodGet, "/v1/packets/"+id1234+"/signature", g12.token, "", nil); code != 404 {
		t.Errorf("a stranger fetching the signature: %d", code)
	}
	// A recipient may read a packet again after acknowledging it.
	if code, got := th.do(t, http.MethodGet, "/v1/packets/"+id1234, h29.token, "", nil); code != 200 || got["raw"] != string(doc1234) {
		t.Errorf("fetch after ack: %d", code)
	}

	// Authorization: a stranger to a packet (answered as for an unknown
	// id), a token sending as another.
	if code, out := th.do(t, http.MethodGet, "/v1/packets/"+id1234, g12.token, "", nil); code != 404 || out["code"] != "packet.not_found" {
		t.Errorf("G12 fetching H29's packet: %d %v", code, out)
	}
	if code, out := th.do(t, http.MethodPost, "/v1/inbox/"+id1234+"/ack", g12.token, "application/json", strings.NewReader(`{"result":"done"}`)); code != 404 || out["code"] != "packet.not_found" {
		t.Errorf("G12 acknowledging H29's packet: %d %v", code, out)
	}
	// Both recipients of 1250 fetch the same exact bytes and acknowledge.
	for _, a := range []*agency{h29, g12} {
		if code, got := th.do(t, http.MethodGet, "/v1/packets/"+id1250, a.token, "", nil); code != 200 || got["raw"] != string(doc1250) {
			t.Fatalf("%s fetching 1250: %d", a.id, code)
		}
		if code, out := th.do(t, http.MethodPost, "/v1/inbox/"+id1250+"/ack", a.token, "application/json", strings.NewReader(`{"result":"done"}`)); code != 200 {
			t.Fatalf("%s acking 1250: %d %v", a.id, code, out)
		}
	}
	if code, out := th.send(t, g22.token, read(t, "status-02.xml"), g12); code != 403 || out["code"] != "auth.forbidden" {
		t.Errorf("G22 sending as G12: %d %v", code, out)
	}
	if code, out := th.do(t, http.MethodGet, "/v1/inbox", "", "", nil); code != 401 || out["code"] != "auth.required" {
		t.Errorf("no token: %d %v", code, out)
	}
	if code, out := th.do(t, http.MethodGet, "/v1/inbox", "wrong", "", nil); code != 401 {
		t.Errorf("bad token: %d %v", code, out)
	}

	// Statuses go back to the sender.
	for _, st := range []struct {
		file string
		by   *agency
	}{{"status-01.xml", h29}, {"status-03.xml", h29}, {"status-02.xml", g12}} {
		if code, out := th.send(t, st.by.token, read(t, st.file), st.by); code != 201 {
			t.Fatalf("%s: %d %v", st.file, code, out)
		}
	}
	statuses := th.inbox(t, g22, "status", 3)
	// The sender reads a status after acknowledging it, as it may any packet
	// routed to it.
	sid := statuses[0]["id"].(string)
	if code, out := th.do(t, http.MethodPost, "/v1/inbox/"+sid+"/ack", g22.token, "application/json", strings.NewReader(`{"result":"done"}`)); code != 200 {
		t.Fatalf("ack status: %d %v", code, out)
	}
	if code, _ := th.do(t, http.MethodGet, "/v1/packets/"+sid, g22.token, "", nil); code != 200 {
		t.Errorf("fetch an acknowledged status: %d", code)
	}
	if code, _ := th.do(t, http.MethodGet, "/v1/packets/"+sid, g12.token, "", nil); code != 404 {
		t.Errorf("a stranger fetching the status: %d", code)
	}

	// A stranger's status about a known document is forged feedback.
	forged := bytes.ReplaceAll(read(t, "status-03.xml"), []byte("000.00.00.H29"), []byte("000.00.00.G12"))
	if code, out := th.send(t, g12.token, forged, g12); code != 403 || out["code"] != "auth.forbidden" {
		t.Errorf("forged status: %d %v", code, out)
	}

	// 1250's timeline: both recipients fetched and acknowledged; G12 refused it (02).
	deadline1250 := time.Now().Add(10 * time.Second)
	for {
		_, tl := th.do(t, http.MethodGet, "/v1/packets/"+id1250+"/timeline", g22.token, "", nil)
		states := map[string]any{}
		for _, r := range tl["recipients"].([]any) {
			rm := r.(map[string]any)
			states[rm["organId"].(string)] = rm["state"]
		}
		if states["000.00.00.G12"] == "02" && states["000.00.00.H29"] == "acked:done" {
			break
		}
		if time.Now().After(deadline1250) {
			t.Fatalf("1250's timeline states %v", states)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The sender's timeline shows it all.
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, tl := th.do(t, http.MethodGet, "/v1/packets/"+id1234+"/timeline", g22.token, "", nil)
		if code != 200 {
			t.Fatalf("timeline: %d %v", code, tl)
		}
		r := tl["recipients"].([]any)[0].(map[string]any)
		var seen []string
		for _, e := range r["events"].([]any) {
			ev := e.(map[string]any)
			code, _ := ev["code"].(string)
			seen = append(seen, ev["type"].(string)+code)
		}
		if slices.Equal(seen, []string{"accepted", "routed", "delivered", "fetched", "acked", "status01", "status03"}) && r["state"] == "03" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("H29's timeline: %v state %v", seen, r["state"])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Hostile and unsigned packets get the codes `lienthong validate` gives,
// and leave nothing stored.
func TestRefusedPacketsLeaveNothing(t *testing.T) {
	th := startHub(t)
	g22 := th.agencies["000.00.00.G22"]
	tests := []struct {
		name   string
		packet []byte
		signer *agency
		status int
		code   string
	}{
		{"external entity", read(t, "invalid/dtd-external-entity.xml"), g22, 400, "xml.dtd_forbidden"},
		{"billion laughs", read(t, "invalid/dtd-entity-expansion.xml"), g22, 400, "xml.dtd_forbidden"},
		{"zip bomb", read(t, "invalid/zip-bomb.xml"), g22, 422, "edxml.attachment_too_large"},
		{"bad organ id", read(t, "invalid/bad-organ-id.xml"), g22, 422, "edxml.bad_organ_id"},
		{"unsigned", read(t, "edoc-new.xml"), nil, 422, "sig.missing"},
		{"signed by another agency", read(t, "edoc-new.xml"), th.agencies["000.00.00.H29"], 422, "sig.signer_mismatch"},
		{"unknown recipient", bytes.ReplaceAll(read(t, "edoc-new.xml"), []byte("<edXML:OrganId>000.00.00.H29"), []byte("<edXML:OrganId>000.00.00.K99")), g22, 422, "packet.unknown_recipient"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := th.send(t, g22.token, tt.packet, tt.signer)
			if code != tt.status || out["code"] != tt.code {
				t.Errorf("%d %v, want %d %s", code, out["code"], tt.status, tt.code)
			}
		})
	}
	n := 0
	if err := th.store.List(context.Background(), "", func(blob.Info) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d objects stored by refused packets", n)
	}
}

func TestMultipartShape(t *testing.T) {
	th := startHub(t)
	g22 := th.agencies["000.00.00.G22"]
	packet := read(t, "edoc-new.xml")
	tests := []struct {
		name  string
		parts []string // form names, in order
		want  int
	}{
		{"no packet part", []string{"signature"}, 400},
		{"two packet parts", []string{"packet", "packet"}, 400},
		{"signature after the packet", []string{"packet", "signature"}, 201},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sig, err := pki.SignDetached(bytes.NewReader(packet), g22.iss.Cert, g22.iss.Key, g22.iss.Chain, pki.SignOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var body bytes.Buffer
			mw := multipart.NewWriter(&body)
			for _, name := range tt.parts {
				w, _ := mw.CreateFormField(name)
				if name == "packet" {
					_, _ = w.Write(packet)
				} else {
					_, _ = w.Write(sig)
				}
			}
			_ = mw.Close()
			if code, out := th.do(t, http.MethodPost, "/v1/packets", g22.token, mw.FormDataContentType(), &body); code != tt.want {
				t.Errorf("%d %v, want %d", code, out, tt.want)
			}
		})
	}
}
