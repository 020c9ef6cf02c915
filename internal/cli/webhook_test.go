package cli

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/pki"
	"github.com/lienthong/lienthong/internal/push/pushtest"
)

// serve pushes deliveries to an agency that registered a webhook: a signed
// POST the receiver verifies, naming the packet it may then fetch.
func TestServeWebhook(t *testing.T) {
	dir := t.TempDir()
	ca, g22 := testCA(t, dir)
	const secret = "webhook-secret-of-h29-0123"
	rcv := pushtest.NewReceiver(t, []byte(secret))
	addr := fedHub(t, filepath.Join(dir, "hub"), `hub:
  organId: "000.00.00.G01"
  addr: `+anyAddr+`
  dataDir: `+filepath.Join(dir, "hub", "data")+`
trust:
  roots: [`+ca.RootPath()+`]
agencies:
  - organId: "000.00.00.G22"
    name: VPCP
    tokens: ["g22-token-0123456789"]
  - organId: "000.00.00.H29"
    name: UBND TP HCM
    endpoint: `+rcv.URL+`
    webhookSecret: `+secret+`
    tokens: ["h29-token-0123456789"]
`)
	packet, err := os.ReadFile(filepath.Join("..", "edxml", "testdata", "fixtures", "edoc-new.xml"))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := pki.SignDetached(bytes.NewReader(packet), g22.Cert, g22.Key, g22.Chain, pki.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	code, rc := fedPost(t, addr, "g22-token-0123456789", packet, sig)
	if code != 201 {
		t.Fatalf("submit: %d %v", code, rc)
	}
	got := rcv.WaitDelivered(t, 1, 30*time.Second)
	if got[0].ID != rc["id"] || got[0].Verified != nil || !strings.Contains(string(got[0].Body), `"documentId":"000.00.00.G22,2025/11/20,1234/VPCP-KSTT"`) {
		t.Errorf("delivery %+v (verified: %v)", got[0], got[0].Verified)
	}
	// The attempt is counted (OnAttempt may run just after the delivery),
	// and the pusher's lag on H29's inbox is reported.
	metric := `lienthong_webhook_attempts_total{agency="000.00.00.H29",outcome="ok"} 1`
	lag := `lienthong_consumer_lag{group="push",topic="lienthong.inbox.000.00.00.H29"}`
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if strings.Contains(string(body), metric) && strings.Contains(string(body), lag) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics lacks %s", metric)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The receiver fetches the bytes with its token.
	if code, out := fedGet(t, addr, "h29-token-0123456789", "/v1/packets/"+got[0].ID); code != 200 || out["raw"] != string(packet) {
		t.Errorf("fetch after the webhook: %d", code)
	}
}
