package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/tooltest"
)

// walkthroughBlocks returns the shell blocks of the README marked
// <!-- walkthrough -->, in order.
func walkthroughBlocks(t *testing.T, readme string) []string {
	t.Helper()
	b, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile("(?s)<!-- walkthrough -->\\s*```sh\\n(.*?)```")
	var blocks []string
	for _, m := range re.FindAllStringSubmatch(string(b), -1) {
		blocks = append(blocks, m[1])
	}
	return blocks
}

// The README's walkthrough runs as written: its marked shell blocks, in
// one bash with -e, in a directory laid out as the checkout (bin/lienthong,
// the fixtures, data/ of a running `lienthong dev`). The sender sends, the
// recipient lists, fetches, acks and answers 03, the sender reads the
// status; afterwards nothing is pending on either side.
func TestReadmeWalkthrough(t *testing.T) {
	bash := tooltest.Require(t, "bash")
	tooltest.Require(t, "curl")
	tooltest.Require(t, "python3")
	blocks := walkthroughBlocks(t, filepath.Join("..", "..", "README.md"))
	if len(blocks) < 4 {
		t.Fatalf("README.md has %d blocks marked <!-- walkthrough -->; want the sender's, the recipient's, the status and the sender's reading", len(blocks))
	}
	for _, want := range []string{`{"result":"done"}`, "/ack", "$(token 000.00.00.H29)", "bin/lienthong status", "--kind status"} {
		if !strings.Contains(strings.Join(blocks, ""), want) {
			t.Errorf("the walkthrough lacks %s", want)
		}
	}

	dir := t.TempDir()
	addr, _ := startDev(t, filepath.Join(dir, "data"), nil)
	// bin/lienthong is this test binary run as the CLI (TestMain).
	if err := os.Mkdir(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	wrapper := "#!/bin/sh\nLIENTHONG_TEST_AS_CLI=1 exec '" + self + "' \"$@\"\n"
	if err := os.WriteFile(filepath.Join(dir, "bin", "lienthong"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(fixtures)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "internal", "edxml", "testdata"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(abs, filepath.Join(dir, "internal", "edxml", "testdata", "fixtures")); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "tmp") // mktemp's, inside the test's directory
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bash, "-c", "set -euo pipefail\n"+strings.Join(blocks, "\n"))
	cmd.Dir = dir
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "LIENTHONG_") && !strings.HasPrefix(e, "TMPDIR=") {
			env = append(env, e)
		}
	}
	cmd.Env = append(env, "LIENTHONG_HUB=http://"+addr, "TMPDIR="+tmp)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("the walkthrough failed: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{`"result":"done"`, `"type": "status"`, `"code": "03"`, `"type": "acked"`} {
		if !strings.Contains(out, want) {
			t.Errorf("the walkthrough's output lacks %s:\n%s\nstderr:\n%s", want, out, stderr.String())
		}
	}
	// The ack and the status's ack took effect: nothing pending.
	var agencies []map[string]string
	if b, err := os.ReadFile(filepath.Join(dir, "data", "dev", "agencies.json")); err != nil || json.Unmarshal(b, &agencies) != nil {
		t.Fatalf("agencies.json: %v", err)
	}
	for _, a := range agencies {
		code, page := fedGet(t, addr, a["token"], "/v1/inbox")
		if items, _ := page["items"].([]any); code != 200 || len(items) != 0 {
			t.Errorf("%s's inbox after the walkthrough: %d %v", a["organId"], code, page)
		}
	}
}

// `make run ADDR=...` starts dev on that address, as the README says.
func TestMakeRunAddr(t *testing.T) {
	mk := tooltest.Require(t, "make")
	tests := []struct {
		give []string
		want string
	}{
		{give: nil, want: "bin/lienthong dev --data ./data\n"},
		{give: []string{"ADDR=127.0.0.1:8081"}, want: "bin/lienthong dev --data ./data --addr 127.0.0.1:8081\n"},
	}
	for _, tt := range tests {
		out, err := exec.CommandContext(t.Context(), mk, append([]string{"-n", "-s", "-C", filepath.Join("..", ".."), "run"}, tt.give...)...).Output()
		if err != nil {
			t.Fatalf("make -n run %v: %v", tt.give, err)
		}
		lines := strings.SplitAfter(string(out), "\n")
		if got := lines[len(lines)-2]; strings.TrimRight(got, " \n")+"\n" != tt.want {
			t.Errorf("make run %v runs %q; want %q", tt.give, got, tt.want)
		}
	}
}
