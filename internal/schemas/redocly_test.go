package schemas_test

import (
	"go/build"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/lienthong/lienthong/internal/apiref"
	"github.com/lienthong/lienthong/internal/schemas"
)

// redocly is the path of Redocly's CLI: LIENTHONG_REDOCLY, else where
// scripts/install-test-tools.sh puts it. Missing, the test fails in CI and
// is skipped elsewhere.
func redocly(t *testing.T) string {
	t.Helper()
	p := os.Getenv("LIENTHONG_REDOCLY")
	if p == "" {
		p = filepath.Join(build.Default.GOPATH, "lienthong-tools", "redocly", "node_modules", ".bin", "redocly")
	}
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("redocly is missing (%v); CI must lint the OpenAPI documents (scripts/install-test-tools.sh)", err)
		}
		t.Skipf("redocly is missing (%v); scripts/install-test-tools.sh installs it", err)
	}
	return p
}

// Redocly, a checker nobody here wrote, finds no error (its recommended
// rules; warnings allowed) in either published document, as YAML and as the
// JSON the hub serves.
func TestRedoclyLint(t *testing.T) {
	bin := redocly(t)
	dir := t.TempDir()
	for _, name := range []string{schemas.OpenAPIFile, schemas.VDXPOpenAPIFile} {
		raw, err := fs.ReadFile(schemas.FS, name)
		if err != nil {
			t.Fatal(err)
		}
		js, err := apiref.ToJSON(raw)
		if err != nil {
			t.Fatal(err)
		}
		for file, b := range map[string][]byte{name: raw, name + ".json": js} {
			path := filepath.Join(dir, file)
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.CommandContext(t.Context(), bin, "lint", "--format=stylish", path)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true", "NO_COLOR=1")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("redocly lint %s: %v\n%s", file, err, out)
			}
		}
	}
}
