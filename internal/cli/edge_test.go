package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// --check-config refuses a federation peer over plain http to another
// machine, and says why; loopback stays allowed for local tests.
func TestCheckConfigPeerHTTP(t *testing.T) {
	tests := []struct {
		give     string
		wantCode int
	}{
		{give: "http://north.example.vn", wantCode: ExitInvalid},
		{give: "http://127.0.0.1:9000", wantCode: ExitOK},
		{give: "https://north.example.vn", wantCode: ExitOK},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			dir := t.TempDir()
			yaml := "hub:\n  dataDir: " + filepath.Join(dir, "data") + "\npeers:\n  - name: north\n    url: " + tt.give + "\n    token: north-token-0123456789\n"
			path := filepath.Join(dir, "lienthong.yaml")
			if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			code, _, errOut := run(t, "serve", "--check-config", path)
			if code != tt.wantCode {
				t.Fatalf("--check-config = %d, want %d: %s", code, tt.wantCode, errOut)
			}
			if tt.wantCode != ExitOK && (!strings.Contains(errOut, "peers[0].url") || !strings.Contains(errOut, "loopback")) {
				t.Errorf("the refusal does not say why: %s", errOut)
			}
		})
	}
}
