// Package tooltest finds and runs the external programs tests check our
// code against (openssl, xmlsec1, xmllint). Without one a test fails when
// CI is set, since CI must prove interop (scripts/install-test-tools.sh
// installs them), and is skipped elsewhere.
package tooltest

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Require returns the path of the program name.
func Require(tb testing.TB, name string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		tb.Fatalf("%s is missing; CI must run the interop tests (scripts/install-test-tools.sh)", name)
	}
	tb.Skipf("%s is missing (scripts/install-test-tools.sh installs it)", name)
	return ""
}

// Run runs the program with args and returns its combined output and
// whether it exited 0; failing to start it at all fails the test.
func Run(tb testing.TB, name string, args ...string) (string, bool) {
	tb.Helper()
	out, err := exec.CommandContext(tb.Context(), Require(tb, name), args...).CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		tb.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return string(out), err == nil
}
