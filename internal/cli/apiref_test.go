package cli

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// lienthong serve publishes the API reference, the problem pages and the
// national axis's document without authentication, in front of the console's
// "/" and the axis's "/vdxp/" when a console is configured, and names
// problem types under hub.publicUrl.
func TestServeReference(t *testing.T) {
	tests := []struct {
		name, extra string
	}{
		{"api only", ""},
		{"with console", "console:\n  sessionKey: session-key-of-the-reference-test-0123\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			ca, _ := testCA(t, dir)
			yaml := `hub:
  organId: "000.00.00.G01"
  addr: ` + anyAddr + `
  publicUrl: https://hub.example.vn/
  dataDir: ` + filepath.Join(dir, "data") + `
trust:
  roots: [` + ca.RootPath() + `]
` + tt.extra + `agencies:
  - organId: "000.00.00.G22"
    name: Văn phòng Chính phủ
    tokens: ["g22-token-0123456789"]
`
			path := filepath.Join(dir, "lienthong.yaml")
			if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			base := "http://" + serveConfig(t, path, io.Discard)
			if err := waitReady(base, http.DefaultClient); err != nil {
				t.Fatalf("not ready: %v", err)
			}
			pages := []struct{ give, wantType, wantIn string }{
				{"/openapi.yaml", "application/yaml; charset=utf-8", "openapi: 3.1"},
				{"/openapi.json", "application/json", `"/v1/packets"`},
				{"/vdxp/openapi.yaml", "application/yaml; charset=utf-8", "/vdxp/sendEdoc"},
				{"/docs/api", "text/html; charset=utf-8", "swagger-ui-bundle.js"},
				{"/problems/auth.required", "text/html; charset=utf-8", "auth.required"},
			}
			for _, p := range pages {
				resp, err := http.Get(base + p.give)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != p.wantType || !strings.Contains(string(b), p.wantIn) {
					t.Errorf("GET %s: %d %q, want 200 %q with %q", p.give, resp.StatusCode, resp.Header.Get("Content-Type"), p.wantType, p.wantIn)
				}
			}
			if tt.extra != "" {
				// The console's pages (the sign-in page here) link the reference in their footer.
				req, _ := http.NewRequest(http.MethodGet, base+"/", nil)
				req.Header.Set("Accept-Language", "vi")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				if !strings.Contains(string(b), `<a href="/docs/api">Tài liệu API</a>`) {
					t.Errorf("the sign-in page does not link the API reference: %.300s", b[max(0, len(b)-300):])
				}
			}
			resp, err := http.Get(base + "/v1/inbox")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var prob struct{ Type string }
			if err := json.NewDecoder(resp.Body).Decode(&prob); err != nil || prob.Type != "https://hub.example.vn/problems/auth.required" {
				t.Errorf("problem type %q (%v), want https://hub.example.vn/problems/auth.required", prob.Type, err)
			}
		})
	}
}
