package schemas_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/internal/schemas"
)

// The OpenAPI document parses, is 3.1, describes every route the API
// serves, gives every response a body schema, and every schema in it
// compiles (published and strict).
func TestOpenAPI(t *testing.T) {
	for _, strict := range []bool{false, true} {
		s, err := schemas.Load(strict)
		if err != nil {
			t.Fatal(err)
		}
		doc := s.OpenAPI
		if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
			t.Errorf("openapi %q, want 3.1.x", v)
		}
		if doc["jsonSchemaDialect"] != "https://json-schema.org/draft/2020-12/schema" {
			t.Errorf("jsonSchemaDialect %v", doc["jsonSchemaDialect"])
		}
		comps := doc["components"].(map[string]any)["schemas"].(map[string]any)
		for name := range comps {
			if _, err := s.Component(name); err != nil {
				t.Errorf("components/schemas/%s (strict %v): %v", name, strict, err)
			}
		}
		for _, name := range []string{"Receipt", "InboxPage", "InboxItem", "Timeline", "Problem", "AckRequest", "AckResponse", "ErrorCode", "WarningCode"} {
			if _, ok := comps[name]; !ok {
				t.Errorf("no components/schemas/%s", name)
			}
		}
		paths := doc["paths"].(map[string]any)
		for p, item := range paths {
			for method, op := range item.(map[string]any) {
				resps, _ := op.(map[string]any)["responses"].(map[string]any)
				if len(resps) == 0 {
					t.Errorf("%s %s: no responses", method, p)
				}
				for status, r := range resps {
					code, err := strconv.Atoi(status)
					if err != nil {
						t.Errorf("%s %s: response %q is not a status code", method, p, status)
						continue
					}
					content := responseContent(doc, r)
					if len(content) == 0 {
						t.Errorf("%s %s %s: no content", method, p, status)
					}
					for mt := range content {
						if _, err := s.Response(method, p, code, mt); err != nil {
							t.Errorf("%s %s %s %s (strict %v): %v", method, p, status, mt, strict, err)
						}
						// C2SP tlog-witness fixes its own error bodies.
						if code >= 400 && mt != "application/problem+json" && !strings.HasPrefix(p, "/v1/log/witness/") {
							t.Errorf("%s %s %s: error body %s, want application/problem+json", method, p, status, mt)
						}
					}
				}
			}
		}
	}
}

func responseContent(doc map[string]any, r any) map[string]any {
	obj, _ := r.(map[string]any)
	if ref, ok := obj["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/components/responses/")
		obj, _ = doc["components"].(map[string]any)["responses"].(map[string]any)[name].(map[string]any)
	}
	c, _ := obj["content"].(map[string]any)
	return c
}

// Every route internal/api registers (but the /vdxp/ ones, which speak the
// national axis's own protocol) is in the OpenAPI document, with the same
// method, and the fixed routes of docs/contracts.md are there too.
func TestOpenAPICoversRoutes(t *testing.T) {
	doc, err := schemas.ReadOpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	paths := doc["paths"].(map[string]any)
	documented := func(method, path string) bool {
		item, _ := paths[path].(map[string]any)
		_, ok := item[strings.ToLower(method)]
		return ok
	}
	fixed := []string{"POST /v1/packets", "GET /v1/packets/{id}", "GET /v1/packets/{id}/timeline", "GET /v1/inbox",
		"POST /v1/inbox/{id}/ack", "GET /healthz", "GET /readyz", "GET /metrics"}
	routes := append(slices.Clone(fixed), muxRoutes(t, "../api")...)
	if len(routes) == len(fixed) {
		t.Fatal("found no routes in internal/api")
	}
	for _, r := range routes {
		method, path, _ := strings.Cut(r, " ")
		if strings.HasPrefix(path, "/vdxp/") {
			continue
		}
		// A ServeMux wildcard spanning segments is one OpenAPI parameter.
		path = strings.ReplaceAll(path, "...}", "}")
		if !documented(method, path) {
			t.Errorf("%s is not in openapi.yaml", r)
		}
	}
}

// muxRoutes finds the "METHOD /path" patterns given to HandleFunc or
// Handle in a package's non-test sources.
func muxRoutes(t *testing.T, dir string) []string {
	t.Helper()
	var routes []string
	eachFile(t, dir, func(f *ast.File) {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) < 2 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "HandleFunc" && sel.Sel.Name != "Handle") {
				return true
			}
			if s, ok := stringLit(call.Args[0]); ok && strings.Contains(s, " /") {
				routes = append(routes, s)
			}
			return true
		})
	})
	return routes
}

func eachFile(t *testing.T, dir string, fn func(*ast.File)) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		fn(f)
	}
}

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}
