package cli

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/internal/pki"
	"github.com/lienthong/lienthong/internal/testwait"
)

// fedHub runs one hub of the federation test from a configuration and
// returns the address it listens on. With LIENTHONG_TEST_S3_ENDPOINT set
// (make test), the hub stores on that S3 server under a prefix of its own.
func fedHub(t *testing.T, dir, yaml string) (addr string) {
	t.Helper()
	if ep := os.Getenv("LIENTHONG_TEST_S3_ENDPOINT"); ep != "" {
		yaml += `blob:
  kind: s3
  s3:
    endpoint: ` + ep + `
    bucket: ` + os.Getenv("LIENTHONG_TEST_S3_BUCKET") + `
    prefix: fed/` + rand.Text() + `/
    accessKey: ` + os.Getenv("LIENTHONG_TEST_S3_ACCESS_KEY") + `
    secretKey: ` + os.Getenv("LIENTHONG_TEST_S3_SECRET_KEY") + `
    useTls: false
    createBucket: true
`
	}
	path := filepath.Join(dir, "hub.yaml")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	addr = serveConfig(t, path, &logs)
	if err := waitReady("http://"+addr, http.DefaultClient); err != nil {
		t.Fatalf("hub on %s not ready: %v\n%s", addr, err, logs.String())
	}
	return addr
}

func fedPost(t *testing.T, addr, token string, packet, sig []byte) (int, map[string]any) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	w, _ := mw.CreateFormFile("packet", "p.xml")
	_, _ = w.Write(packet)
	w, _ = mw.CreateFormFile("signature", "p.p7s")
	_, _ = w.Write(sig)
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/packets", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	return fedDo(t, req)
}

func fedGet(t *testing.T, addr, token, path string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	return fedDo(t, req)
}

func fedDo(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := map[string]any{"raw": string(raw)}
	if len(raw) > 0 && raw[0] == '{' {
		_ = json.Unmarshal(raw, &out)
	}
	return resp.StatusCode, out
}

// Two hubs federated on loopback: the national hub receives for
// 000.00.00.H29 through the provincial hub, which relays the exact bytes
// and signature on; the recipient's status comes back the same way, and
// each hub's timeline records the hop.
func TestFederation(t *testing.T) {
	dir := t.TempDir()
	ca, g22 := testCA(t, dir)
	h29, err := ca.Issue("000.00.00.H29", "UBND TP HCM", pki.IssueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	national, provincial := startFedPair(t, dir, ca.RootPath())

	fixtures := filepath.Join("..", "edxml", "testdata", "fixtures")
	edoc, err := os.ReadFile(filepath.Join(fixtures, "edoc-new.xml"))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := pki.SignDetached(bytes.NewReader(edoc), g22.Cert, g22.Key, g22.Chain, pki.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	code, rc := fedPost(t, national, fedG22Token, edoc, sig)
	if code != 201 {
		t.Fatalf("submit at the national hub: %d %v", code, rc)
	}
	id := rc["id"].(string)

	// It reaches H29's inbox at the provincial hub, bytes unchanged.
	testwait.Eventually(t, "H29's inbox at the provincial hub", func() bool {
		_, inbox := fedGet(t, provincial, fedH29Token, "/v1/inbox")
		return strings.Contains(inbox["raw"].(string), id)
	})
	if code, got := fedGet(t, provincial, fedH29Token, "/v1/packets/"+id); code != 200 || got["raw"] != string(edoc) {
		t.Fatalf("fetch at the provincial hub: %d (identical: %v)", code, got["raw"] == string(edoc))
	}
	_, tl := fedGet(t, provincial, fedH29Token, "/v1/packets/"+id+"/timeline")
	if hops, _ := tl["hops"].([]any); len(hops) != 1 || hops[0] != "000.00.00.G01" {
		t.Errorf("the provincial timeline's hops: %v", tl["hops"])
	}

	// H29 answers 03 at its own hub; it comes back to G22 at the national one.
	status, err := os.ReadFile(filepath.Join(fixtures, "status-03.xml"))
	if err != nil {
		t.Fatal(err)
	}
	ssig, err := pki.SignDetached(bytes.NewReader(status), h29.Cert, h29.Key, h29.Chain, pki.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if code, out := fedPost(t, provincial, fedH29Token, status, ssig); code != 201 {
		t.Fatalf("status at the provincial hub: %d %v", code, out)
	}
	testwait.Eventually(t, "the status in G22's inbox at the national hub", func() bool {
		_, inbox := fedGet(t, national, fedG22Token, "/v1/inbox?kind=status")
		return strings.Contains(inbox["raw"].(string), `"from":"000.00.00.H29"`)
	})
	testwait.Eventually(t, "the national timeline to show the hop and the 03", func() bool {
		_, tl := fedGet(t, national, fedG22Token, "/v1/packets/"+id+"/timeline")
		rs, _ := tl["recipients"].([]any)
		if len(rs) != 1 {
			return false
		}
		r := rs[0].(map[string]any)
		var seen []string
		for _, e := range r["events"].([]any) {
			ev := e.(map[string]any)
			seen = append(seen, ev["type"].(string))
		}
		return slices.Contains(seen, "forwarded") && slices.Contains(seen, "status") && r["state"] == "03"
	})
	// A relay may not speak for agencies outside its subtrees.
	other, err := os.ReadFile(filepath.Join(fixtures, "edoc-new-zip-attachment.xml")) // from G12
	if err != nil {
		t.Fatal(err)
	}
	if code, out := fedPost(t, national, fedPAtN, other, sig); code != 403 {
		t.Errorf("relay outside its subtree: %d %v", code, out["code"])
	}
}

// Tokens of the federated pair startFedPair runs.
const (
	fedG22Token = "g22-token-0123456789"
	fedH29Token = "h29-token-0123456789"
	fedNAtP     = "national-at-hcm-0123456789" // the national hub's at the provincial one
	fedPAtN     = "hcm-at-national-0123456789" // the provincial hub's at the national one
)

// startFedPair runs a national hub (G22 its own, H29 behind peer hcm) and
// a provincial one (H29 its own, G22 behind peer national) in dir, both
// trusting roots, and returns their addresses.
func startFedPair(t *testing.T, dir, roots string) (national, provincial string) {
	t.Helper()
	return startFedPairWith(t, dir, roots, fedExtra{})
}

// fedExtra is YAML added to the pair's configurations: at the top level
// of each, and inside each one's peer entry (indented as its fields).
type fedExtra struct {
	national, nationalPeer, provincial, provincialPeer string
}

func startFedPairWith(t *testing.T, dir, roots string, x fedExtra) (national, provincial string) {
	t.Helper()
	// Each hub names the other as a peer before either knows its port: the
	// peers' URLs are proxies, pointed at the hubs once they listen.
	nationalURL, provincialURL := newLateProxy(t), newLateProxy(t)
	national = fedHub(t, filepath.Join(dir, "national"), `hub:
  organId: "000.00.00.G01"
  addr: `+anyAddr+`
  dataDir: `+filepath.Join(dir, "national", "data")+`
trust:
  roots: [`+roots+`]
agencies:
  - organId: "000.00.00.G22"
    name: VPCP
    tokens: ["`+fedG22Token+`"]
  - organId: "000.00.00.H29"
    name: UBND TP HCM
    endpoint: "hub:hcm"
peers:
  - name: hcm
    url: `+provincialURL.URL+`
    token: `+fedNAtP+`
    tokens: ["`+fedPAtN+`"]
    organs: ["000.00.00.H29"]
`+x.nationalPeer+x.national)
	nationalURL.to(national)
	provincial = fedHub(t, filepath.Join(dir, "hcm"), `hub:
  organId: "000.00.99.H29"
  addr: `+anyAddr+`
  dataDir: `+filepath.Join(dir, "hcm", "data")+`
trust:
  roots: [`+roots+`]
agencies:
  - organId: "000.00.00.H29"
    name: UBND TP HCM
    tokens: ["`+fedH29Token+`"]
  - organId: "000.00.00.G22"
    name: VPCP
    endpoint: "hub:national"
peers:
  - name: national
    url: `+nationalURL.URL+`
    token: `+fedPAtN+`
    tokens: ["`+fedNAtP+`"]
    organs: ["000.00.00.G22"]
`+x.provincialPeer+x.provincial)
	provincialURL.to(provincial)
	return national, provincial
}
