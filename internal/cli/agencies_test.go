package cli

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/creds"
	"github.com/lienthong/lienthong/internal/pki"
	"github.com/lienthong/lienthong/internal/push/pushtest"
	"github.com/lienthong/lienthong/internal/testwait"
	"github.com/lienthong/lienthong/internal/vdxp"
)

// An agency added with `lienthong agencies add` against replica A's
// configuration is routed to by replica B, which runs on, without a
// restart: B accepts a packet for it, its inbox topic exists, and B's
// inbox API lists the packet for it. Retired,
// B refuses packets to it again.
func TestAgenciesCommand(t *testing.T) {
	dir := t.TempDir()
	ca, g22 := testCA(t, dir)
	b, err := bus.StartBroker(t.Context(), bus.BrokerConfig{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	replica := func(name string) string { return agenciesHub(t, dir, name, b.Addrs()[0], ca.RootPath()) }
	pathA, pathB := replica("a"), replica("b")
	_ = serveConfig(t, pathA, io.Discard)
	addrB, stopB := startServe(t, pathB, io.Discard)
	for _, addr := range []string{addrB} {
		if err := waitReady("http://"+addr, http.DefaultClient); err != nil {
			t.Fatalf("not ready: %v", err)
		}
	}
	packet, err := os.ReadFile(filepath.Join("..", "edxml", "testdata", "fixtures", "edoc-new.xml")) // G22 → H29
	if err != nil {
		t.Fatal(err)
	}
	// Each submission is a new document: a resubmission is answered 200
	// from what the hub already accepted.
	n := 0
	submit := func() (int, string) {
		n++
		p := bytes.ReplaceAll(packet, []byte("1234/VPCP-KSTT"), fmt.Appendf(nil, "%d/VPCP-KSTT", 5000+n))
		sig, err := pki.SignDetached(bytes.NewReader(p), g22.Cert, g22.Key, g22.Chain, pki.SignOptions{})
		if err != nil {
			t.Fatal(err)
		}
		code, body := fedPost(t, addrB, "g22-token-0123456789", p, sig)
		c, _ := body["code"].(string)
		return code, c
	}
	if code, c := submit(); code != 422 || c != "packet.unknown_recipient" {
		t.Fatalf("to H29 before it is added: %d %s", code, c)
	}

	tests := []struct {
		give []string
		want int
	}{
		{give: []string{"agencies", "add", "--config", pathA, "--id", "000.00.00.G22"}, want: ExitInvalid}, // configured
		{give: []string{"agencies", "set", "--config", pathA, "--id", "000.00.00.H29"}, want: ExitInvalid}, // not yet added
		{give: []string{"agencies", "add", "--config", pathA, "--id", "000.00.00.H29", "--endpoint", "ftp://x"}, want: ExitInvalid},
		{give: []string{"agencies", "add", "--id", "000.00.00.H29"}, want: ExitUsage},
		{give: []string{"agencies", "add", "--config", pathA, "--id", "000.00.00.H29", "--name", "UBND TP HCM", "--by", "cli:vanhanh"}, want: ExitOK},
	}
	for _, tt := range tests {
		if code, _, errOut := run(t, tt.give...); code != tt.want {
			t.Fatalf("%q: exit %d, want %d\n%s", tt.give, code, tt.want, errOut)
		}
	}
	testwait.Eventually(t, "replica B accepts a packet for H29", func() bool { code, _ := submit(); return code == 201 })
	admin, err := bus.NewAdmin(bus.Config{Brokers: b.Addrs()})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.TopicConfig(t.Context(), bus.AgencyInbox("lienthong.", "000.00.00.H29"), "cleanup.policy"); err != nil {
		t.Errorf("H29's inbox topic: %v", err)
	}

	// Replica B reads H29's inbox without a restart, and after one: the
	// packet is there for H29 with a token issued at run time (as the
	// console does).
	m := hmac.New(sha256.New, []byte("session-key-of-the-agencies-test-0123456"))
	m.Write([]byte("lienthong credentials v1"))
	tokens, err := creds.New(t.Context(), creds.Config{Bus: bus.Config{Brokers: b.Addrs()}, Topic: "lienthong.credentials", Base: configTokens{}, Key: m.Sum(nil)})
	if err != nil {
		t.Fatal(err)
	}
	defer tokens.Close()
	h29, err := tokens.Issue(t.Context(), "000.00.00.H29", "test")
	if err != nil {
		t.Fatal(err)
	}
	if got := waitInboxCount(t, addrB, h29, 1); len(got) == 0 {
		t.Error("H29's inbox is empty on replica B, which runs on")
	}
	stopB()
	addrB = serveConfig(t, pathB, io.Discard)
	if err := waitReady("http://"+addrB, http.DefaultClient); err != nil {
		t.Fatalf("not ready: %v", err)
	}
	if got := waitInboxCount(t, addrB, h29, 1); len(got) == 0 {
		t.Error("H29's inbox is empty on the restarted replica")
	}

	if code, _, errOut := run(t, "agencies", "retire", "--config", pathB, "--id", "000.00.00.H29", "--by", "cli:vanhanh"); code != ExitOK {
		t.Fatalf("retire: %d %s", code, errOut)
	}
	testwait.EventuallyState(t, "replica B refuses packets for H29", func() (bool, string) {
		code, c := submit()
		return c == "packet.unknown_recipient", fmt.Sprint(code, " ", c)
	})

	code, out, errOut := run(t, "agencies", "list", "--config", pathA, "--json")
	if code != ExitOK {
		t.Fatalf("list: %d %s", code, errOut)
	}
	var sources []string
	for line := range strings.Lines(out) {
		var l struct {
			OrganID string `json:"organId"`
			Source  string `json:"source"`
			By      string `json:"by"`
		}
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatal(err)
		}
		sources = append(sources, l.OrganID+" "+l.Source+" "+l.By)
	}
	if want := []string{"000.00.00.G22 config ", "000.00.00.H29 retired cli:vanhanh"}; strings.Join(sources, "|") != strings.Join(want, "|") {
		t.Errorf("list: %q, want %q", sources, want)
	}
}

// Credentials given to an agency at run time take effect on a running
// hub: its webhook is pushed to, signed with the new secret, and its
// national-axis system authenticates on /vdxp/; no log line carries them.
func TestAgencyCredentialsAtRunTime(t *testing.T) {
	dir := t.TempDir()
	ca, g22 := testCA(t, dir)
	b, err := bus.StartBroker(t.Context(), bus.BrokerConfig{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	path := agenciesHub(t, dir, "data", b.Addrs()[0], ca.RootPath())
	var logs lockedBuffer
	addr := serveConfig(t, path, &logs)
	if err := waitReady("http://"+addr, http.DefaultClient); err != nil {
		t.Fatal(err)
	}
	const hookSecret, vdxpSecret = "h29-webhook-secret-0123456789", "h29-vdxp-secret-0123456789"
	rcv := pushtest.NewReceiver(t, []byte(hookSecret))
	secretFile := func(name, v string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	sys := &vdxp.Client{BaseURL: "http://" + addr + "/vdxp", SystemID: "byt-dms", Secret: vdxpSecret}
	if _, err := sys.CountReceiveEdoc(t.Context()); err == nil {
		t.Fatal("an unknown national-axis system was let in")
	}

	add := []string{"agencies", "add", "--config", path, "--id", "000.00.00.H29", "--name", "Bộ Y tế", "--endpoint", rcv.URL}
	if code, _, errOut := run(t, add...); code != ExitInvalid {
		t.Fatalf("a webhook without a secret: exit %d, want %d\n%s", code, ExitInvalid, errOut)
	}
	add = append(add, "--webhook-secret-file", secretFile("hook", hookSecret),
		"--vdxp-system", "byt-dms", "--vdxp-secret-file", secretFile("vdxp", vdxpSecret))
	if code, _, errOut := run(t, add...); code != ExitOK {
		t.Fatalf("add: exit %d\n%s", code, errOut)
	}

	testwait.EventuallyState(t, "the run-time system authenticates", func() (bool, string) {
		_, err := sys.CountReceiveEdoc(t.Context())
		return err == nil, fmt.Sprint(err)
	})
	packet, err := os.ReadFile(filepath.Join("..", "edxml", "testdata", "fixtures", "edoc-new.xml")) // G22 → H29
	if err != nil {
		t.Fatal(err)
	}
	sig, err := pki.SignDetached(bytes.NewReader(packet), g22.Cert, g22.Key, g22.Chain, pki.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if code, body := fedPost(t, addr, "g22-token-0123456789", packet, sig); code != 201 {
		t.Fatalf("submit to H29: %d %v", code, body)
	}
	if got := rcv.WaitDelivered(t, 1, 30*time.Second); got[0].Verified != nil {
		t.Errorf("the webhook delivery does not verify with the run-time secret: %v", got[0].Verified)
	}
	for _, s := range []string{hookSecret, vdxpSecret} {
		if strings.Contains(logs.String(), s) {
			t.Errorf("a run-time secret in the hub's log: %q", s)
		}
	}
}

// agenciesHub writes the configuration of a hub on an external broker
// with the console on (so run-time agencies too) and G22 configured, its
// data in dir/name, and returns its path.
func agenciesHub(t *testing.T, dir, name, broker, root string) string {
	t.Helper()
	yaml := `hub:
  organId: "000.00.00.G01"
  addr: ` + anyAddr + `
  dataDir: ` + filepath.Join(dir, name) + `
bus:
  embedded: false
  brokers: [` + broker + `]
trust:
  roots: [` + root + `]
console:
  sessionKey: session-key-of-the-agencies-test-0123456
agencies:
  - organId: "000.00.00.G22"
    name: Văn phòng Chính phủ
    tokens: ["g22-token-0123456789"]
`
	path := filepath.Join(dir, name+".yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
