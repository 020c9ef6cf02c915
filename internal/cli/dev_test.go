package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/pki"
	"github.com/lienthong/lienthong/internal/testwait"
	"github.com/lienthong/lienthong/internal/vdxp"
)

// waitReady polls base's /readyz until it answers 200, for a minute.
func waitReady(base string, c *http.Client) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := c.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
			err = errors.New(resp.Status)
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startDev runs `lienthong dev --addr 127.0.0.1:0 ARGS` until the test ends
// or stop is called, and returns the address it printed. stop returns dev's
// exit code (and fails the test when it is not 0).
func startDev(t *testing.T, data string, stderr io.Writer, args ...string) (addr string, stop func() int) {
	t.Helper()
	addr, _, stop = startDevOut(t, data, stderr, args...)
	return addr, stop
}

// startDevOut is startDev that also returns what dev printed on stdout.
func startDevOut(t *testing.T, data string, stderr io.Writer, args ...string) (addr string, out *lockedWriter, stop func() int) {
	t.Helper()
	if stderr == nil {
		stderr = io.Discard
	}
	out = &lockedWriter{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, append([]string{"dev", "--data", data, "--addr", anyAddr}, args...), out, stderr)
	}()
	code, stopped := 0, false
	stop = func() int {
		if !stopped {
			stopped = true
			cancel()
			if code = <-done; code != 0 {
				t.Errorf("dev exited %d", code)
			}
		}
		return code
	}
	t.Cleanup(func() { stop() })
	printed := regexp.MustCompile(`hub on http://(\S+) `)
	testwait.EventuallyState(t, "dev to print its address", func() (bool, string) {
		select {
		case code := <-done:
			done <- code
			t.Fatalf("dev exited %d before it listened", code)
		default:
		}
		m := printed.FindStringSubmatch(out.String())
		if m == nil {
			return false, fmt.Sprintf("%q", out.String())
		}
		addr = m[1]
		return true, ""
	})
	if err := waitReady("http://"+addr, http.DefaultClient); err != nil {
		t.Fatalf("dev not ready: %v", err)
	}
	return addr, out, stop
}

func TestDev(t *testing.T) {
	data := t.TempDir()
	addr, stop := startDev(t, data, nil)

	raw, err := os.ReadFile(filepath.Join(data, "dev", "agencies.json"))
	if err != nil {
		t.Fatal(err)
	}
	var agencies []map[string]string
	if err := json.Unmarshal(raw, &agencies); err != nil || len(agencies) != 3 {
		t.Fatalf("agencies.json: %v %s", err, raw)
	}
	for _, a := range agencies {
		for _, k := range []string{"organId", "name", "token", "cert", "key", "chain", "vdxpSystemId", "vdxpSecret"} {
			if a[k] == "" {
				t.Errorf("agency %v lacks %s", a["organId"], k)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(data, "dev", "ca.pem")); err != nil {
		t.Fatal(err)
	}
	by := map[string]map[string]string{}
	for _, a := range agencies {
		by[a["organId"]] = a
	}
	g22, h29 := by["000.00.00.G22"], by["000.00.00.H29"]
	packet, err := os.ReadFile(filepath.Join("..", "edxml", "testdata", "fixtures", "edoc-new.xml"))
	if err != nil {
		t.Fatal(err)
	}
	rel := func(p string) string { return filepath.Join(data, "dev", p) }
	certs, err := pki.LoadCertificates(rel(g22["cert"]))
	if err != nil {
		t.Fatal(err)
	}
	key, err := pki.LoadPrivateKey(rel(g22["key"]))
	if err != nil {
		t.Fatal(err)
	}
	chain, err := pki.LoadCertificates(rel(g22["chain"]))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := pki.SignDetached(bytes.NewReader(packet), certs[0], key, chain, pki.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	w, _ := mw.CreateFormFile("packet", "p.xml")
	_, _ = w.Write(packet)
	w, _ = mw.CreateFormFile("signature", "p.p7s")
	_, _ = w.Write(sig)
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/packets", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+g22["token"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("submit: %d %s", resp.StatusCode, out)
	}
	waitInbox(t, addr, h29["token"])

	// The same packet waits for H29's national-axis software under /vdxp/.
	vc := &vdxp.Client{BaseURL: "http://" + addr + "/vdxp", SystemID: h29["vdxpSystemId"], Secret: vdxp.Secret(h29["vdxpSecret"])}
	if n, err := vc.CountReceiveEdoc(context.Background()); err != nil || n != 1 {
		t.Errorf("countReceiveEdoc: %d %v", n, err)
	}
	vc.Secret = vdxp.Secret("wrong secret")
	if _, err := vc.CountReceiveEdoc(context.Background()); err == nil {
		t.Error("a wrong HMAC secret was accepted")
	}

	// H29's clerk signs in to the console and sees the letter; the operator
	// sees the dashboard.
	devConsole(t, "http://"+addr, h29["consoleUser"], h29["consolePassword"], "V/v rà soát, đơn giản hóa thủ tục hành chính nội bộ năm 2025")
	var op map[string]string
	if b, err := os.ReadFile(filepath.Join(data, "dev", "operator.json")); err != nil || json.Unmarshal(b, &op) != nil {
		t.Fatalf("operator.json: %v", err)
	}
	devConsole(t, "http://"+addr, op["username"], op["password"], "Đã tiếp nhận") // the dashboard, with metrics

	// Everything persists across a restart.
	stop()
	addr, stop = startDev(t, data, nil)
	waitInbox(t, addr, h29["token"])

	// A lost view is rebuilt from the topics.
	stop()
	if err := os.Remove(filepath.Join(data, "view.db")); err != nil {
		t.Fatal(err)
	}
	addr, _ = startDev(t, data, nil)
	waitInbox(t, addr, h29["token"])
}

func waitInbox(t *testing.T, addr, token string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/v1/inbox", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(out), `"documentId":"000.00.00.G22,2025/11/20,1234/VPCP-KSTT"`) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("inbox: %d %s", resp.StatusCode, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// devConsole signs in to the console at base and checks the page it lands
// on (a clerk's inbox, an operator's dashboard) contains want.
func devConsole(t *testing.T, base, user, password, want string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "Đăng nhập") {
		t.Fatalf("the sign-in page: %d %.200s", resp.StatusCode, page)
	}
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(page)
	if m == nil {
		t.Fatal("no CSRF token on the sign-in page")
	}
	resp, err = c.PostForm(base+"/login", url.Values{"csrf": {string(m[1])}, "username": {user}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), want) {
		t.Errorf("the page after sign-in lacks %q: %d %.300s", want, resp.StatusCode, page)
	}
}
