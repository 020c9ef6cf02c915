// Package configtest helps tests check configuration files meant for
// production: it moves the files they name under /etc/lienthong, and their
// data under /var/lib/lienthong, into a temporary directory.
package configtest

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var etcPath = regexp.MustCompile(`/etc/lienthong/[^\s"'\],]+`)

// InTemp writes the configuration text with every /etc/lienthong file it
// names created under a temporary directory (an agencies.yaml gets one
// agency, other files a line of text) and /var/lib/lienthong moved there
// too, and returns the new file's path and how many files it made.
func InTemp(tb testing.TB, text string) (path string, files int) {
	tb.Helper()
	dir := tb.TempDir()
	paths := etcPath.FindAllString(text, -1)
	for _, p := range paths {
		local := filepath.Join(dir, strings.TrimPrefix(p, "/etc/lienthong/"))
		content := "test file"
		if strings.HasSuffix(p, "/agencies.yaml") {
			content = "agencies:\n  - organId: 000.00.12.H29\n    name: Sở Nội vụ Hà Nội\n"
		}
		if err := os.MkdirAll(filepath.Dir(local), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(local, []byte(content), 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	text = strings.ReplaceAll(text, "/etc/lienthong/", dir+"/")
	text = strings.ReplaceAll(text, "/var/lib/lienthong", filepath.Join(dir, "data"))
	path = filepath.Join(dir, "lienthong.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path, len(paths)
}
