package cli

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lienthong/internal/config"
	"lienthong/internal/pki"
)

func TestServe(t *testing.T) {
	dir := t.TempDir()
	ca, err := pki.Init(filepath.Join(dir, "pki"), pki.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	g22, err := ca.Issue("000.00.00.G22", "VPCP", pki.IssueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	yaml := `hub:
  organId: "000.00.00.G01"
  addr: ` + addr + `
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

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- Run(ctx, []string{"serve", "--config", path}, io.Discard, io.Discard) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
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
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
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
