package schemas_test

import (
	"go/ast"
	"slices"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/internal/schemas"
)

// Every code the Go code can put in a problem, a report or a flag is in the
// OpenAPI document's ErrorCode or WarningCode enum: error codes returned by
// the hub and the API (the second argument of refuse, the third of (s.)problem,
// a Code field written as a literal), and the Code… and Flag… constants of
// the packages that define codes.
func TestCodesDocumented(t *testing.T) {
	doc, err := schemas.ReadOpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	enum := func(name string) []string {
		var out []string
		for _, v := range doc["components"].(map[string]any)["schemas"].(map[string]any)[name].(map[string]any)["enum"].([]any) {
			out = append(out, v.(string))
		}
		return out
	}
	errorCodes, warningCodes := enum("ErrorCode"), enum("WarningCode")
	for _, c := range append(slices.Clone(errorCodes), warningCodes...) {
		if !codeShape(c) {
			t.Errorf("enum value %q is not a dotted code", c)
		}
	}

	// Literal error codes in the hub and the API.
	returned := map[string]bool{}
	for _, dir := range []string{"../hub", "../api"} {
		eachFile(t, dir, func(f *ast.File) {
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.CallExpr:
					var name string
					switch f := n.Fun.(type) {
					case *ast.Ident:
						name = f.Name
					case *ast.SelectorExpr: // s.problem
						name = f.Sel.Name
					}
					arg := map[string]int{"refuse": 1, "problem": 2}[name]
					if arg > 0 && len(n.Args) > arg {
						if s, ok := stringLit(n.Args[arg]); ok {
							returned[s] = true
						}
					}
				case *ast.KeyValueExpr:
					if k, ok := n.Key.(*ast.Ident); ok && k.Name == "Code" {
						if s, ok := stringLit(n.Value); ok {
							returned[s] = true
						}
					}
				}
				return true
			})
		})
	}
	if len(returned) < 5 {
		t.Fatalf("found only %d error codes in internal/hub and internal/api: %v", len(returned), returned)
	}
	for c := range returned {
		if !slices.Contains(errorCodes, c) {
			t.Errorf("%q is returned by the hub or the API but not in ErrorCode", c)
		}
	}

	// Constants of the packages that define codes.
	consts := map[string]bool{}
	for _, dir := range []string{"../edxml", "../trust", "../route", "../track"} {
		eachFile(t, dir, func(f *ast.File) {
			for _, d := range f.Decls {
				g, ok := d.(*ast.GenDecl)
				if !ok {
					continue
				}
				for _, sp := range g.Specs {
					vs, ok := sp.(*ast.ValueSpec)
					if !ok {
						continue
					}
					for i, name := range vs.Names {
						if !strings.HasPrefix(name.Name, "Code") && !strings.HasPrefix(name.Name, "Flag") || i >= len(vs.Values) {
							continue
						}
						if s, ok := stringLit(vs.Values[i]); ok && codeShape(s) {
							consts[s] = true
						}
					}
				}
			}
		})
	}
	if len(consts) < 30 {
		t.Fatalf("found only %d code constants: %v", len(consts), consts)
	}
	t.Logf("%d error codes returned by the hub and the API, %d code constants", len(returned), len(consts))
	for c := range consts {
		if !slices.Contains(errorCodes, c) && !slices.Contains(warningCodes, c) {
			t.Errorf("%q is a code constant but in neither ErrorCode nor WarningCode", c)
		}
	}
}

func codeShape(s string) bool {
	a, b, ok := strings.Cut(s, ".")
	return ok && a != "" && b != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyz") == "" && strings.Trim(b, "abcdefghijklmnopqrstuvwxyz_") == ""
}
