package cli

import (
	"bytes"
	"context"
	"regexp"
	"testing"

	"lienthong/internal/config"
)

// `lienthong secret token` prints a new token and the hash for the
// configuration; the hash accepts that token and no other, and two runs
// give two tokens.
func TestSecretToken(t *testing.T) {
	re := regexp.MustCompile(`^token: ([A-Za-z0-9_-]{43})\nconfig: (sha256:[0-9a-f]{64})\n$`)
	var toks []string
	for range 2 {
		var out, errb bytes.Buffer
		if code := Run(context.Background(), []string{"secret", "token"}, &out, &errb); code != ExitOK {
			t.Fatalf("secret token: %d %s", code, errb.String())
		}
		m := re.FindStringSubmatch(out.String())
		if m == nil {
			t.Fatalf("secret token printed %q", out.String())
		}
		a := config.Agency{Tokens: []config.Secret{config.Secret(m[2])}}
		if !a.MatchToken(m[1]) || a.MatchToken(m[1]+"x") {
			t.Errorf("the printed hash does not match exactly the printed token")
		}
		toks = append(toks, m[1])
	}
	if toks[0] == toks[1] {
		t.Error("two runs made the same token")
	}
	var out, errb bytes.Buffer
	if code := Run(context.Background(), []string{"secret", "bogus"}, &out, &errb); code != ExitUsage {
		t.Errorf("secret bogus: %d", code)
	}
}
