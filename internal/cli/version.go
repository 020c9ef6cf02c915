package cli

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// Version is set at build time with -ldflags "-X github.com/lienthong/lienthong/internal/cli.Version=...".
var Version = "dev"

func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("version", "", stderr)
	if _, err := parseFlags(fs, args); err != nil {
		return flagsFailed(err)
	}
	rev := ""
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				rev = " " + s.Value
			}
		}
	}
	fmt.Fprintf(stdout, "lienthong %s%s %s\n", Version, rev, runtime.Version())
	return ExitOK
}
