// Package apiref serves the hub's published API reference without
// authentication: the OpenAPI documents (schemas/openapi.yaml and
// schemas/vdxp.openapi.yaml, as YAML and as JSON converted once at start),
// a reference page rendered by the vendored Swagger UI within the console's
// CSP, and the pages the problem type URIs of the REST API name
// (/problems/{code}), in Vietnamese and English.
package apiref

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/lienthong/lienthong/schemas"
)

// SwaggerUIVersion is the vendored swagger-ui-dist (swagger-ui/README.md).
const SwaggerUIVersion = "5.36.0"

//go:embed static swagger-ui/swagger-ui-bundle.js swagger-ui/swagger-ui.css swagger-ui/favicon-32x32.png
var files embed.FS

var pages = template.Must(template.ParseFS(files, "static/page.html"))

// Patterns are the routes Handler serves, for a mux that sends only some
// paths to the API (the console takes "/").
var Patterns = []string{
	"GET /openapi.yaml", "GET /openapi.json",
	"GET /vdxp/openapi.yaml", "GET /vdxp/openapi.json",
	"GET /docs/api", "GET /docs/api/vdxp", "GET /docs/api/static/{name}",
	"GET /problems", "GET /problems/{code}",
}

// csp is the console's policy (docs/security.md): the pages load only the
// hub's own files, with no inline script or style.
const csp = "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"

// types of the static files, fixed here: mime.TypeByExtension reads the
// machine's mime.types, which differ between hosts.
var types = map[string]string{
	".js":  "text/javascript; charset=utf-8",
	".css": "text/css; charset=utf-8",
	".png": "image/png",
	".svg": "image/svg+xml",
	".jpg": "image/jpeg",
}

// file is a response computed once.
type file struct {
	body  []byte
	ctype string
	etag  string
	cache string
}

func newFile(body []byte, ctype, cache string) file {
	sum := sha256.Sum256(body)
	return file{body: body, ctype: ctype, cache: cache, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
}

// The documents and pages change only with the binary: clients revalidate
// them (ETag, 304); the static assets may be kept an hour.
const (
	revalidate = "no-cache"
	assets     = "public, max-age=3600"
)

// Handler serves Patterns.
type Handler struct {
	mux *http.ServeMux
}

// New reads and converts the embedded documents and renders the pages; an
// error is a broken build (a document that is not JSON-compatible YAML).
func New() (*Handler, error) {
	h := &Handler{mux: http.NewServeMux()}
	for _, d := range []struct{ src, at string }{
		{"openapi.yaml", "/openapi"},
		{"vdxp.openapi.yaml", "/vdxp/openapi"},
	} {
		raw, err := fs.ReadFile(schemas.FS, d.src)
		if err != nil {
			return nil, err
		}
		js, err := ToJSON(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d.src, err)
		}
		// RFC 9512 registers application/yaml.
		h.serve("GET "+d.at+".yaml", newFile(raw, "application/yaml; charset=utf-8", revalidate))
		h.serve("GET "+d.at+".json", newFile(js, "application/json", revalidate))
	}
	type page struct {
		Title, Spec, JSON, Version, StatusText string
		Problems                               []Problem
		Problem                                Problem
	}
	render := func(pattern, name string, p page) error {
		var b bytes.Buffer
		if err := pages.ExecuteTemplate(&b, name, p); err != nil {
			return fmt.Errorf("%s: %w", pattern, err)
		}
		h.serve(pattern, newFile(b.Bytes(), "text/html; charset=utf-8", revalidate))
		return nil
	}
	if err := render("GET /docs/api", "reference", page{Title: "Tài liệu API · REST API v1", Spec: "/openapi.yaml", JSON: "/openapi.json", Version: SwaggerUIVersion}); err != nil {
		return nil, err
	}
	if err := render("GET /docs/api/vdxp", "reference", page{Title: "Tài liệu API · Trục quốc gia /vdxp/", Spec: "/vdxp/openapi.yaml", JSON: "/vdxp/openapi.json", Version: SwaggerUIVersion}); err != nil {
		return nil, err
	}
	if err := render("GET /problems", "index", page{Title: "Mã lỗi / Error codes", Problems: Problems}); err != nil {
		return nil, err
	}
	byCode := map[string]file{}
	for _, p := range Problems {
		var b bytes.Buffer
		if err := pages.ExecuteTemplate(&b, "problem", page{Title: p.Code, Problem: p, StatusText: http.StatusText(p.Status)}); err != nil {
			return nil, err
		}
		byCode[p.Code] = newFile(b.Bytes(), "text/html; charset=utf-8", assets)
	}
	h.mux.HandleFunc("GET /problems/{code}", func(w http.ResponseWriter, r *http.Request) {
		f, ok := byCode[r.PathValue("code")]
		if !ok {
			w.Header().Set("Content-Security-Policy", csp)
			http.Error(w, "no such error code; see /problems", http.StatusNotFound)
			return
		}
		f.write(w, r)
	})
	static := map[string]file{}
	for _, name := range []string{"static/init.js", "static/apiref.css", "swagger-ui/swagger-ui-bundle.js", "swagger-ui/swagger-ui.css", "swagger-ui/favicon-32x32.png"} {
		b, err := fs.ReadFile(files, name)
		if err != nil {
			return nil, err
		}
		if path.Base(name) == "swagger-ui.css" {
			if b, err = extractDataURLs(b, static); err != nil {
				return nil, err
			}
		}
		static[path.Base(name)] = newFile(b, types[path.Ext(name)], assets)
	}
	h.mux.HandleFunc("GET /docs/api/static/{name}", func(w http.ResponseWriter, r *http.Request) {
		f, ok := static[r.PathValue("name")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		f.write(w, r)
	})
	return h, nil
}

func (h *Handler) serve(pattern string, f file) {
	h.mux.HandleFunc(pattern, f.write)
}

func (f file) write(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Type", f.ctype)
	hd.Set("Cache-Control", f.cache)
	hd.Set("ETag", f.etag)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Security-Policy", csp)
	// ServeContent answers If-None-Match with 304 and serves ranges.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mux.ServeHTTP(w, r)
}

// ToJSON converts a YAML document to indented JSON. Object keys come out
// sorted, so the same YAML always gives the same bytes.
func ToJSON(yml []byte) ([]byte, error) {
	var v any
	if err := yaml.Unmarshal(yml, &v); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("not JSON-compatible: %w", err)
	}
	return b.Bytes(), nil
}

// Must is New, made once per process; it panics if the embedded documents
// are broken, which the package's tests rule out.
var Must = sync.OnceValue(func() *Handler {
	h, err := New()
	if err != nil {
		panic("apiref: " + err.Error())
	}
	return h
})

// extractDataURLs rewrites the url(data:…) images of a style sheet into
// files of their own under /docs/api/static/, added to static: the CSP's
// default-src 'self' refuses data: images, and Swagger UI's sheet draws its
// icons with them. The vendored file stays as published.
func extractDataURLs(css []byte, static map[string]file) ([]byte, error) {
	var out bytes.Buffer
	rest := css
	for {
		i := bytes.Index(rest, []byte("url("))
		if i < 0 {
			out.Write(rest)
			return out.Bytes(), nil
		}
		out.Write(rest[:i+4])
		rest = rest[i+4:]
		quote := byte(0)
		if len(rest) > 0 && (rest[0] == '"' || rest[0] == '\'') {
			quote = rest[0]
		}
		body := rest
		if quote != 0 {
			body = rest[1:]
		}
		if !bytes.HasPrefix(body, []byte("data:")) {
			continue
		}
		// The URL ends at the closing quote (CSS escapes skipped) or ")".
		var raw []byte
		end := -1
		for j := 0; j < len(body); j++ {
			c := body[j]
			if quote != 0 && c == '\\' && j+1 < len(body) {
				raw = append(raw, body[j+1])
				j++
				continue
			}
			if (quote != 0 && c == quote) || (quote == 0 && c == ')') {
				end = j
				break
			}
			raw = append(raw, c)
		}
		if end < 0 {
			return nil, errors.New("swagger-ui.css: unterminated data: URL")
		}
		head, data, ok := strings.Cut(strings.TrimPrefix(string(raw), "data:"), ",")
		if !ok {
			return nil, errors.New("swagger-ui.css: data: URL without a comma")
		}
		params := strings.Split(head, ";")
		var content []byte
		var err error
		if params[len(params)-1] == "base64" {
			content, err = base64.StdEncoding.DecodeString(data)
		} else {
			var s string
			s, err = url.PathUnescape(data)
			content = []byte(s)
		}
		if err != nil {
			return nil, fmt.Errorf("swagger-ui.css: data: URL: %w", err)
		}
		ext := ""
		for e, t := range types {
			if t == params[0] {
				ext = e
			}
		}
		if ext == "" {
			return nil, fmt.Errorf("swagger-ui.css: a data: URL of type %q", params[0])
		}
		sum := sha256.Sum256(content)
		name := "img-" + hex.EncodeToString(sum[:8]) + ext
		static[name] = newFile(content, params[0], assets)
		out.WriteString(`"/docs/api/static/` + name + `"`)
		rest = body[end:]
		if quote != 0 {
			rest = rest[1:] // the closing quote; ")" follows
		}
	}
}
