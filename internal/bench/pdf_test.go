package bench

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/internal/tooltest"
)

// The bench's attachment is a well-formed PDF of about the size asked, as
// a real letter is: poppler reads its one page without having to rebuild
// a damaged cross-reference table (pdfium, the hub's reader, would repair
// one silently, at a cost a letter does not have).
func TestPDFContentIsAPDF(t *testing.T) {
	tooltest.Require(t, "pdfinfo")
	for _, n := range []int64{0, 600, 40_000, 1 << 20} {
		pdf := pdfContent(n, 7, uint64(n))
		if d := int64(len(pdf)) - n; n >= 600 && (d < -300 || d > 300) {
			t.Errorf("pdfContent(%d) is %d bytes", n, len(pdf))
		}
		path := filepath.Join(t.TempDir(), "letter.pdf")
		if err := os.WriteFile(path, pdf, 0o600); err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd := exec.Command("pdfinfo", path)
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil || stderr.Len() > 0 || !strings.Contains(string(out), "Pages:           1") {
			t.Errorf("pdfContent(%d): pdfinfo %v, stderr %q, out %q", n, err, stderr.String(), out)
		}
	}
}
