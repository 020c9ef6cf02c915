package apiref_test

import (
	"bytes"
	"encoding/json"
	"html"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/lienthong/lienthong/internal/apiref"
	"github.com/lienthong/lienthong/schemas"
)

// reply is what get read of a response.
type reply struct {
	StatusCode int
	Header     http.Header
}

func get(t *testing.T, srv *httptest.Server, path string, hdr ...string) (reply, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{resp.StatusCode, resp.Header}, b
}

func serve(t *testing.T) *httptest.Server {
	t.Helper()
	h, err := apiref.New()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// Each route answers with its type, a cache policy, an ETag that a
// revalidation answers 304, and the console's CSP.
func TestServed(t *testing.T) {
	srv := serve(t)
	tests := []struct {
		give      string
		wantType  string
		wantCache string
		wantIn    string
	}{
		{"/openapi.yaml", "application/yaml; charset=utf-8", "no-cache", "openapi: 3.1"},
		{"/openapi.json", "application/json", "no-cache", `"openapi": "3.1.0"`},
		{"/vdxp/openapi.yaml", "application/yaml; charset=utf-8", "no-cache", "/vdxp/sendEdoc:"},
		{"/vdxp/openapi.json", "application/json", "no-cache", `"/vdxp/sendEdoc"`},
		{"/docs/api", "text/html; charset=utf-8", "no-cache", `data-spec="/openapi.yaml"`},
		{"/docs/api/vdxp", "text/html; charset=utf-8", "no-cache", `data-spec="/vdxp/openapi.yaml"`},
		{"/docs/api/static/swagger-ui-bundle.js", "text/javascript; charset=utf-8", "public, max-age=3600", "SwaggerUIBundle"},
		{"/docs/api/static/swagger-ui.css", "text/css; charset=utf-8", "public, max-age=3600", ".swagger-ui"},
		{"/docs/api/static/init.js", "text/javascript; charset=utf-8", "public, max-age=3600", "validatorUrl: null"},
		{"/problems", "text/html; charset=utf-8", "no-cache", "/problems/auth.required"},
		{"/problems/packet.conflict", "text/html; charset=utf-8", "public, max-age=3600", "packet.conflict"},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			resp, body := get(t, srv, tt.give)
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != tt.wantType || resp.Header.Get("Cache-Control") != tt.wantCache {
				t.Fatalf("%d %q %q, want 200 %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"), tt.wantType, tt.wantCache)
			}
			if !bytes.Contains(body, []byte(tt.wantIn)) {
				t.Errorf("body lacks %q", tt.wantIn)
			}
			if csp := resp.Header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "default-src 'self';") {
				t.Errorf("CSP %q", csp)
			}
			etag := resp.Header.Get("ETag")
			if again, _ := get(t, srv, tt.give, "If-None-Match", etag); etag == "" || again.StatusCode != http.StatusNotModified {
				t.Errorf("revalidating ETag %q: %d, want 304", etag, again.StatusCode)
			}
		})
	}
	for _, p := range []string{"/problems/no.such_code", "/docs/api/static/index.html"} {
		if resp, _ := get(t, srv, p); resp.StatusCode != 404 {
			t.Errorf("%s: %d, want 404", p, resp.StatusCode)
		}
	}
}

// The JSON documents are the YAML ones, converted once, and the same bytes
// from one start to the next.
func TestJSONIsTheYAML(t *testing.T) {
	a, b := serve(t), serve(t)
	for _, name := range []string{"openapi", "vdxp/openapi"} {
		_, y := get(t, a, "/"+name+".yaml")
		_, j1 := get(t, a, "/"+name+".json")
		_, j2 := get(t, b, "/"+name+".json")
		if !bytes.Equal(j1, j2) {
			t.Errorf("%s.json differs between two handlers", name)
		}
		src, err := fs.ReadFile(schemas.FS, strings.ReplaceAll(name, "/", ".")+".yaml")
		if err != nil || !bytes.Equal(src, y) {
			t.Fatalf("%s.yaml is not the embedded file: %v", name, err)
		}
		var fromYAML, fromJSON any
		if err := yaml.Unmarshal(y, &fromYAML); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(j1, &fromJSON); err != nil {
			t.Fatal(err)
		}
		// Compare as JSON values: YAML's ints and JSON's floats agree
		// once both are marshalled.
		want, _ := json.Marshal(fromYAML)
		got, _ := json.Marshal(fromJSON)
		if !bytes.Equal(want, got) {
			t.Errorf("%s.json is not %s.yaml", name, name)
		}
	}
}

// Every error code of the OpenAPI document's ErrorCode enum (which
// internal/schemas' TestCodesDocumented holds to every code the hub and the
// API return) has a page, in Vietnamese and English; the catalogue has no
// code the enum lacks.
func TestProblemsCoverCodes(t *testing.T) {
	raw, err := fs.ReadFile(schemas.FS, "openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Enum []string `yaml:"enum"`
			} `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	codes := doc.Components.Schemas["ErrorCode"].Enum
	if len(codes) < 30 {
		t.Fatalf("ErrorCode has %d codes", len(codes))
	}
	srv := serve(t)
	_, index := get(t, srv, "/problems")
	var listed []string
	for _, p := range apiref.Problems {
		listed = append(listed, p.Code)
		// /vdxp/'s own codes are held to internal/vdxp instead
		// (TestProblemPagesCoverAnsweredCodes).
		if !slices.Contains(codes, p.Code) && !p.VDXPOnly() {
			t.Errorf("%s is explained but not in ErrorCode", p.Code)
		}
		if slices.Contains(codes, p.Code) && p.VDXPOnly() {
			t.Errorf("%s is in ErrorCode, so not /vdxp/'s alone", p.Code)
		}
	}
	for _, c := range codes {
		i := slices.Index(listed, c)
		if i < 0 {
			t.Errorf("%s has no entry in apiref.Problems", c)
			continue
		}
		p := apiref.Problems[i]
		if p.VI.Title == "" || p.VI.Fix == "" || p.EN.Title == "" || p.EN.Fix == "" || http.StatusText(p.Status) == "" || p.Status < 400 {
			t.Errorf("%s: incomplete entry %+v", c, p)
		}
		resp, body := get(t, srv, "/problems/"+c)
		if resp.StatusCode != 200 {
			t.Errorf("/problems/%s: %d", c, resp.StatusCode)
			continue
		}
		for _, s := range []string{p.VI.Title, p.EN.Title, p.VI.Fix, p.EN.Fix} {
			if !strings.Contains(html.UnescapeString(string(body)), s) {
				t.Errorf("/problems/%s lacks %q", c, s)
			}
		}
		if !strings.Contains(string(index), `href="/problems/`+c+`"`) {
			t.Errorf("/problems does not link %s", c)
		}
	}
}
