package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"lienthong/internal/config"
)

// runSecret seals a secret for a configuration file: the national axis's
// HMAC secrets and the like must be held in the clear to be used, so they
// are kept encrypted at rest instead of hashed.
func runSecret(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("secret", "seal  (reads the secret on standard input; the key is in "+config.SecretsKeyEnv+")", stderr)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return ExitUsage
	}
	if len(pos) != 1 || pos[0] != "seal" {
		fs.Usage()
		return ExitUsage
	}
	raw, err := io.ReadAll(io.LimitReader(os.Stdin, 64<<10))
	if err != nil {
		fmt.Fprintf(stderr, "lienthong secret: %v\n", err)
		return ExitUsage
	}
	sealed, err := config.Seal(strings.TrimRight(string(raw), "\r\n"))
	if err != nil {
		fmt.Fprintf(stderr, "lienthong secret: %v\n", err)
		return ExitUsage
	}
	fmt.Fprintln(stdout, sealed)
	return ExitOK
}
