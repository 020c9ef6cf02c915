package cli

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/internal/pki"
)

// testCA makes a development CA under dir/pki and issues G22's
// certificate, which the tests that run a hub start from.
func testCA(t *testing.T, dir string) (*pki.CA, *pki.Issued) {
	t.Helper()
	ca, err := pki.Init(filepath.Join(dir, "pki"), pki.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	g22, err := ca.Issue("000.00.00.G22", "VPCP", pki.IssueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ca, g22
}

func TestServe(t *testing.T) {
	dir := t.TempDir()
	ca, g22 := testCA(t, dir)
	yaml := `hub:
  organId: "000.00.00.G01"
  addr: ` + anyAddr + `
  dataDir: ` + filepath.Join(dir, "data") + `
trust:
  roots: [` + ca.RootPath() + `]
agencies:
  - organId: "000.00.00.G22"
    name: Văn phòng Chính phủ
    tokens: ["` + config.HashToken("g22-token-0123456789") + `"]
  - organId: "000.00.00.H29"
    name: UBND TP HCM
    tokens: ["h29-token-0123456789"]
`
	path := filepath.Join(dir, "lienthong.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := run(t, "serve", "--check-config", path); code != 0 {
		t.Fatalf("check-config: %d %s %s", code, out, errOut)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("hub:\n  adr: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := run(t, "serve", "--check-config", bad); code != 1 || !strings.Contains(errOut, "hub.adr") {
		t.Errorf("unknown key: %d %s", code, errOut)
	}

	addr := serveConfig(t, path, io.Discard)
	if err := waitReady("http://"+addr, http.DefaultClient); err != nil {
		t.Fatalf("not ready: %v", err)
	}
	packet, err := os.ReadFile(filepath.Join("..", "edxml", "testdata", "fixtures", "edoc-new.xml"))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := pki.SignDetached(bytes.NewReader(packet), g22.Cert, g22.Key, g22.Chain, pki.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	post := func(token string) int {
		code, _ := fedPost(t, addr, token, packet, sig)
		return code
	}
	if code := post("wrong-token-0123456789"); code != 401 {
		t.Errorf("wrong token: %d", code)
	}
	// The token is stored hashed in the configuration.
	if code := post("g22-token-0123456789"); code != 201 {
		t.Errorf("submit: %d", code)
	}
	waitInbox(t, addr, "h29-token-0123456789")
}
