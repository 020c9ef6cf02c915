package cli

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/internal/console"
	"github.com/lienthong/lienthong/internal/pki"
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

// withStdin runs f with s on standard input.
func withStdin(t *testing.T, s string, f func()) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = w.WriteString(s); _ = w.Close() }()
	old := os.Stdin
	os.Stdin = r
	defer func() { os.Stdin = old; _ = r.Close() }()
	f()
}

// `lienthong secret password` hashes a console password the console
// accepts; short ones are refused.
func TestSecretPassword(t *testing.T) {
	var out, errb bytes.Buffer
	withStdin(t, "mật khẩu đủ dài\n", func() {
		if code := Run(context.Background(), []string{"secret", "password"}, &out, &errb); code != ExitOK {
			t.Fatalf("secret password: %d %s", code, errb.String())
		}
	})
	hash := strings.TrimSpace(out.String())
	if !strings.HasPrefix(hash, "$argon2id$") {
		t.Fatalf("hash %q", hash)
	}
	if !console.CheckPassword(hash, "mật khẩu đủ dài") {
		t.Error("the hash does not check the password")
	}
	if console.CheckPassword(hash, "mật khẩu khác") {
		t.Error("the hash accepts another password")
	}
	out.Reset()
	withStdin(t, "ngắn\n", func() {
		if code := Run(context.Background(), []string{"secret", "password"}, &out, &errb); code != ExitUsage {
			t.Errorf("a short password: %d", code)
		}
	})
}

// Hosted signing keys must be sealed unless plain ones are allowed; a key
// sealed under another key, or altered, is refused.
func TestHostedKeySealed(t *testing.T) {
	dir := t.TempDir()
	ca, g22 := testCA(t, dir)
	d := filepath.Join(ca.Dir(), pki.AgenciesDir, "000.00.00.G22")
	k := config.HostedKey{OrganID: "000.00.00.G22", Cert: filepath.Join(d, pki.AgencyCertFile), Chain: filepath.Join(d, pki.AgencyChainFile), Key: filepath.Join(d, pki.AgencyKeyFile)}
	if _, _, _, err := loadHostedKey(k, false); err == nil || !strings.Contains(err.Error(), "not sealed") {
		t.Fatalf("a plain key without allowPlainHostedKeys: %v", err)
	}
	if _, _, key, err := loadHostedKey(k, true); err != nil || key == nil {
		t.Fatalf("a plain key allowed: %v", err)
	}
	plain, err := os.ReadFile(k.Key)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(config.SecretsKeyEnv, strings.Repeat("ab", 32))
	sealed, err := config.Seal(string(plain))
	if err != nil {
		t.Fatal(err)
	}
	k.Key = filepath.Join(dir, "g22.key.sealed")
	if err := os.WriteFile(k.Key, []byte(sealed+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _, key, err := loadHostedKey(k, false)
	if err != nil || !cert.Equal(g22.Cert) {
		t.Fatalf("a sealed key: %v", err)
	}
	if pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(g22.Cert.PublicKey) {
		t.Error("the sealed key is not the certificate's")
	}
	t.Setenv(config.SecretsKeyEnv, strings.Repeat("cd", 32))
	if _, _, _, err := loadHostedKey(k, false); !errors.Is(err, config.ErrSealed) {
		t.Errorf("a key sealed under another key: %v", err)
	}
}
