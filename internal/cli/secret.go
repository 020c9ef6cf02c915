package cli

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/internal/console"
)

// runSecret makes secrets for a configuration file. "seal" encrypts one:
// the national axis's HMAC secrets and the like must be held in the clear
// to be used, so they are kept encrypted at rest instead of hashed. "token"
// makes a new bearer token and the hash the configuration keeps of it.
func runSecret(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("secret", "seal|token|password  (seal and password read standard input; the sealing key is in "+config.SecretsKeyEnv+")", stderr)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return flagsFailed(err)
	}
	if len(pos) == 1 && pos[0] == "token" {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			fmt.Fprintf(stderr, "lienthong secret: %v\n", err)
			return ExitUsage
		}
		tok := base64.RawURLEncoding.EncodeToString(b)
		fmt.Fprintf(stdout, "token: %s\nconfig: %s\n", tok, config.HashToken(tok))
		return ExitOK
	}
	if len(pos) != 1 || (pos[0] != "seal" && pos[0] != "password") {
		fs.Usage()
		return ExitUsage
	}
	raw, err := io.ReadAll(io.LimitReader(os.Stdin, 64<<10))
	if err != nil {
		fmt.Fprintf(stderr, "lienthong secret: %v\n", err)
		return ExitUsage
	}
	if pos[0] == "password" {
		// A console account's password, hashed with argon2id for
		// console.accounts[].passwordHash.
		pw := strings.TrimRight(string(raw), "\r\n")
		if len(pw) < 12 {
			fmt.Fprintln(stderr, "lienthong secret: a console password needs at least 12 characters")
			return ExitUsage
		}
		h, err := console.HashPassword(pw)
		if err != nil {
			fmt.Fprintf(stderr, "lienthong secret: %v\n", err)
			return ExitUsage
		}
		fmt.Fprintln(stdout, h)
		return ExitOK
	}
	sealed, err := config.Seal(strings.TrimRight(string(raw), "\r\n"))
	if err != nil {
		fmt.Fprintf(stderr, "lienthong secret: %v\n", err)
		return ExitUsage
	}
	fmt.Fprintln(stdout, sealed)
	return ExitOK
}
