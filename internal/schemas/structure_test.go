package schemas_test

import (
	"fmt"
	"go/ast"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/lienthong/lienthong/internal/schemas"
)

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// Both published OpenAPI documents hold together as OpenAPI 3.1: info,
// paths whose operations all have responses (status codes or default) and
// unique operationIds, path parameters declared, every local $ref
// resolving, and every component schema compiling as JSON Schema 2020-12.
func TestOpenAPIStructure(t *testing.T) {
	for _, name := range []string{schemas.OpenAPIFile, schemas.VDXPOpenAPIFile} {
		t.Run(name, func(t *testing.T) {
			doc, err := schemas.ReadYAML(name)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range openAPIProblems(doc) {
				t.Error(e)
			}
		})
	}
}

// openAPIProblems lists what is structurally wrong with a document.
func openAPIProblems(doc map[string]any) []string {
	var errs []string
	addf := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		addf("openapi %q, want 3.1.x", v)
	}
	info, _ := doc["info"].(map[string]any)
	if s, _ := info["title"].(string); s == "" {
		addf("no info.title")
	}
	if s, _ := info["version"].(string); s == "" {
		addf("no info.version")
	}
	paths, _ := doc["paths"].(map[string]any)
	if len(paths) == 0 {
		addf("no paths")
	}
	status := regexp.MustCompile(`^([1-5][0-9][0-9]|[1-5]XX|default)$`)
	ids := map[string]string{}
	for p, raw := range paths {
		item, ok := raw.(map[string]any)
		if !ok || !strings.HasPrefix(p, "/") {
			addf("path %q: not a path item", p)
			continue
		}
		ops := 0
		for _, m := range httpMethods {
			op, ok := item[m].(map[string]any)
			if !ok {
				continue
			}
			ops++
			where := strings.ToUpper(m) + " " + p
			resps, _ := op["responses"].(map[string]any)
			if len(resps) == 0 {
				addf("%s: no responses", where)
			}
			for code := range resps {
				if !status.MatchString(code) {
					addf("%s: response key %q", where, code)
				}
			}
			if id, _ := op["operationId"].(string); id != "" {
				if prev, dup := ids[id]; dup {
					addf("%s: operationId %s already on %s", where, id, prev)
				}
				ids[id] = where
			}
			// A {name} in the path must be a declared path parameter.
			declared := map[string]bool{}
			for _, params := range []any{item["parameters"], op["parameters"]} {
				list, _ := params.([]any)
				for _, pr := range list {
					pm, _ := resolve(doc, pr).(map[string]any)
					if pm["in"] == "path" {
						declared[fmt.Sprint(pm["name"])] = true
					}
				}
			}
			for _, m := range regexp.MustCompile(`\{([^}]+)\}`).FindAllStringSubmatch(p, -1) {
				if !declared[m[1]] {
					addf("%s: path parameter %s not declared", where, m[1])
				}
			}
		}
		if ops == 0 {
			addf("path %s: no operations", p)
		}
	}
	// A YAML key with no value is a slip (an unquoted ", " in a flow
	// mapping makes one), never meant in these documents.
	walkNulls(doc, "#", func(at string) { addf("%s: null (a key without a value?)", at) })
	walkRefs(doc, "#", func(at, ref string) {
		if !strings.HasPrefix(ref, "#/") {
			addf("%s: $ref %q is not local", at, ref)
			return
		}
		if _, err := pointer(doc, ref); err != nil {
			addf("%s: $ref %q: %v", at, ref, err)
		}
	})
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	const base = "https://lienthong.example/schemas/check.yaml"
	if err := c.AddResource(base, doc); err != nil {
		addf("add resource: %v", err)
		return errs
	}
	comps, _ := doc["components"].(map[string]any)
	sch, _ := comps["schemas"].(map[string]any)
	for n := range sch {
		if _, err := c.Compile(base + "#/components/schemas/" + url.PathEscape(n)); err != nil {
			addf("components/schemas/%s: %v", n, err)
		}
	}
	return errs
}

func resolve(doc map[string]any, v any) any {
	if m, ok := v.(map[string]any); ok {
		if ref, ok := m["$ref"].(string); ok {
			if r, err := pointer(doc, ref); err == nil {
				return r
			}
		}
	}
	return v
}

func pointer(doc map[string]any, ref string) (any, error) {
	var v any = doc
	for _, tok := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%q is not under an object", tok)
		}
		if v, ok = obj[tok]; !ok {
			return nil, fmt.Errorf("no %q", tok)
		}
	}
	return v, nil
}

func walkRefs(v any, at string, fn func(at, ref string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, sub := range x {
			if k == "$ref" {
				if s, ok := sub.(string); ok {
					fn(at, s)
				}
				continue
			}
			walkRefs(sub, at+"/"+k, fn)
		}
	case []any:
		for i, sub := range x {
			walkRefs(sub, fmt.Sprintf("%s/%d", at, i), fn)
		}
	}
}

// The checker catches what it claims to: each broken copy of a good
// document is reported.
func TestOpenAPIStructureCatches(t *testing.T) {
	tests := []struct {
		name  string
		spoil func(doc map[string]any)
		want  string
	}{
		{"no responses", func(d map[string]any) {
			delete(d["paths"].(map[string]any)["/vdxp/sendEdoc"].(map[string]any)["post"].(map[string]any), "responses")
		}, "POST /vdxp/sendEdoc: no responses"},
		{"dangling $ref", func(d map[string]any) {
			d["components"].(map[string]any)["schemas"].(map[string]any)["Reply"].(map[string]any)["properties"].(map[string]any)["x"] = map[string]any{"$ref": "#/components/schemas/Nope"}
		}, `$ref "#/components/schemas/Nope"`},
		{"openapi 2", func(d map[string]any) { d["swagger"] = "2.0"; delete(d, "openapi") }, "want 3.1.x"},
		{"a key without a value", func(d map[string]any) {
			d["components"].(map[string]any)["schemas"].(map[string]any)["Reply"].(map[string]any)["comma-separated."] = nil
		}, "Reply/comma-separated.: null"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := schemas.ReadYAML(schemas.VDXPOpenAPIFile)
			if err != nil {
				t.Fatal(err)
			}
			if errs := openAPIProblems(doc); len(errs) > 0 {
				t.Fatalf("the good document has problems: %v", errs)
			}
			tt.spoil(doc)
			if errs := openAPIProblems(doc); !strings.Contains(strings.Join(errs, "\n"), tt.want) {
				t.Errorf("problems %q, want one with %q", errs, tt.want)
			}
		})
	}
}

// Every operation the /vdxp/ handler serves (its operation table in
// internal/vdxp) is a path of vdxp.openapi.yaml, and no other.
func TestVDXPOpenAPICoversOperations(t *testing.T) {
	doc, err := schemas.ReadYAML(schemas.VDXPOpenAPIFile)
	if err != nil {
		t.Fatal(err)
	}
	paths := doc["paths"].(map[string]any)
	var served []string
	eachFile(t, "../vdxp", func(f *ast.File) {
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.CompositeLit)
			if !ok || len(lit.Elts) != 2 {
				return true
			}
			// {"sendEdoc", (*handler).sendEdoc}: a name and a method value.
			sel, ok := lit.Elts[1].(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if _, ok := sel.X.(*ast.ParenExpr); !ok {
				return true
			}
			if s, ok := stringLit(lit.Elts[0]); ok {
				served = append(served, s)
			}
			return true
		})
	})
	if len(served) < 9 {
		t.Fatalf("found %d operations in internal/vdxp: %v", len(served), served)
	}
	for _, op := range served {
		if _, ok := paths["/vdxp/"+op]; !ok {
			t.Errorf("operation %s is not documented", op)
		}
	}
	for p := range paths {
		found := false
		for _, op := range served {
			found = found || p == "/vdxp/"+op
		}
		if !found {
			t.Errorf("%s is documented but not served", p)
		}
	}
}

func walkNulls(v any, at string, fn func(at string)) {
	switch x := v.(type) {
	case nil:
		fn(at)
	case map[string]any:
		for k, sub := range x {
			walkNulls(sub, at+"/"+k, fn)
		}
	case []any:
		for i, sub := range x {
			walkNulls(sub, fmt.Sprintf("%s/%d", at, i), fn)
		}
	}
}
