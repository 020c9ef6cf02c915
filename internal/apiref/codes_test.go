package apiref_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"html"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/internal/apiref"
)

const module = "github.com/lienthong/lienthong/"

// codeArgs are the refusal helpers of the hub's packages and the index of
// their code argument: vdxp's fail(status, code, …), hub's refuse(status,
// code, …), api's s.problem(w, status, code, …).
var codeArgs = map[string]int{"fail": 1, "refuse": 1, "problem": 2}

// Every error code the hub can answer with, collected from the source of
// internal/vdxp, internal/api and internal/hub, has a page at
// /problems/{code} in Vietnamese and English; a code only /vdxp/ answers is
// in apiref.VDXPProblems. A new code without a page fails here.
func TestProblemPagesCoverAnsweredCodes(t *testing.T) {
	srv := serve(t)
	vdxp := answeredCodes(t, "../vdxp")
	// The scan still sees the package's codes (a renamed helper would
	// silently collect nothing).
	for _, c := range []string{"request.missing_parameter", "request.bad_parameter", "request.unknown_operation", "request.multipart", "auth.required", "xml.too_large"} {
		if !vdxp[c] {
			t.Errorf("the scan of internal/vdxp did not find %s: %v", c, vdxp)
		}
	}
	all := map[string][]string{}
	for _, dir := range []string{"../vdxp", "../api", "../hub"} {
		codes := answeredCodes(t, dir)
		if len(codes) < 3 {
			t.Fatalf("found only %d codes in %s: %v", len(codes), dir, codes)
		}
		for c := range codes {
			all[c] = append(all[c], filepath.Base(dir))
		}
	}
	t.Logf("%d codes answered by vdxp, api and hub", len(all))
	for c, by := range all {
		i := slices.IndexFunc(apiref.Problems, func(p apiref.Problem) bool { return p.Code == c })
		if i < 0 {
			t.Errorf("%s (answered by %v) has no entry in apiref.Problems", c, by)
			continue
		}
		p := apiref.Problems[i]
		resp, body := get(t, srv, "/problems/"+c)
		if resp.StatusCode != 200 {
			t.Errorf("/problems/%s: %d", c, resp.StatusCode)
			continue
		}
		for _, s := range []string{p.VI.Title, p.VI.Fix, p.EN.Title, p.EN.Fix} {
			if s == "" || !strings.Contains(html.UnescapeString(string(body)), s) {
				t.Errorf("/problems/%s lacks %q", c, s)
			}
		}
	}
	// VDXPProblems holds /vdxp/'s own codes only, and says so on its pages.
	for _, p := range apiref.VDXPProblems {
		if !vdxp[p.Code] {
			t.Errorf("%s is in VDXPProblems, but internal/vdxp does not answer it", p.Code)
		}
		if _, body := get(t, srv, "/problems/"+p.Code); !strings.Contains(string(body), "Only the /vdxp/ operations answer this code") {
			t.Errorf("/problems/%s does not say only /vdxp/ answers it", p.Code)
		}
	}
}

// answeredCodes are the codes the package in dir answers with: its
// string constants named Code… or code… of a code's dotted shape, and the
// code argument of its refusal helpers (codeArgs) and of Code: fields
// (but a Problem's, a detail) where that is a literal or a constant, its
// own or another internal package's.
func answeredCodes(t *testing.T, dir string) map[string]bool {
	t.Helper()
	files := parseDir(t, dir)
	consts := constants(files)
	imported := map[string]map[string]string{} // import name → that package's constants
	resolve := func(f *ast.File, e ast.Expr) (string, bool) {
		switch e := e.(type) {
		case *ast.BasicLit:
			s, err := strconv.Unquote(e.Value)
			return s, err == nil && e.Kind == token.STRING
		case *ast.Ident:
			s, ok := consts[e.Name]
			return s, ok
		case *ast.SelectorExpr:
			pkg, ok := e.X.(*ast.Ident)
			if !ok {
				return "", false
			}
			for _, im := range f.Imports {
				path, _ := strconv.Unquote(im.Path.Value)
				rel, ok := strings.CutPrefix(path, module+"internal/")
				if !ok || filepath.Base(path) != pkg.Name && (im.Name == nil || im.Name.Name != pkg.Name) {
					continue
				}
				if imported[path] == nil {
					imported[path] = constants(parseDir(t, filepath.Join("..", rel)))
				}
				s, ok := imported[path][e.Sel.Name]
				return s, ok
			}
		}
		return "", false
	}
	out := map[string]bool{}
	add := func(f *ast.File, e ast.Expr) {
		if s, ok := resolve(f, e); ok && codeShape(s) {
			out[s] = true
		}
	}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CompositeLit:
				// A Problem is a detail of a refusal or a warning
				// (errors[], warnings[]), not the code answered.
				switch ty := n.Type.(type) {
				case *ast.Ident:
					return ty.Name != "Problem"
				case *ast.SelectorExpr:
					return ty.Sel.Name != "Problem"
				}
			case *ast.CallExpr:
				var name string
				switch fn := n.Fun.(type) {
				case *ast.Ident:
					name = fn.Name
				case *ast.SelectorExpr:
					name = fn.Sel.Name
				}
				if i, ok := codeArgs[name]; ok && len(n.Args) > i {
					add(f, n.Args[i])
				}
			case *ast.KeyValueExpr:
				if k, ok := n.Key.(*ast.Ident); ok && k.Name == "Code" {
					add(f, n.Value)
				}
			}
			return true
		})
	}
	for name, v := range consts {
		if (strings.HasPrefix(name, "Code") || strings.HasPrefix(name, "code")) && codeShape(v) {
			out[v] = true
		}
	}
	return out
}

// parseDir parses the non-test Go files of dir.
func parseDir(t *testing.T, dir string) []*ast.File {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no Go files in %s: %v", dir, err)
	}
	var files []*ast.File
	fset := token.NewFileSet()
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	return files
}

// constants are the package-level string constants given by a literal.
func constants(files []*ast.File) map[string]string {
	out := map[string]string{}
	for _, f := range files {
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, sp := range g.Specs {
				vs := sp.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if i >= len(vs.Values) {
						continue
					}
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						if s, err := strconv.Unquote(lit.Value); err == nil {
							out[name.Name] = s
						}
					}
				}
			}
		}
	}
	return out
}

// codeShape: a stable code is dotted lowercase, "xml.too_large".
func codeShape(s string) bool {
	a, b, ok := strings.Cut(s, ".")
	return ok && a != "" && b != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyz") == "" && strings.Trim(b, "abcdefghijklmnopqrstuvwxyz_") == ""
}
