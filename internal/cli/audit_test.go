package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/lienthong/lienthong/internal/evidence"
)

// keygen's key signs a log whose proof bundle `audit verify` accepts with
// the public key alone; a tampered leaf, proof or checkpoint exits 1 with
// its code, and a forked history fails `audit consistency`.
func TestAuditCommand(t *testing.T) {
	dir := t.TempDir()
	priv, pub := filepath.Join(dir, "log.key"), filepath.Join(dir, "log.pub")
	if code, _, errOut := run(t, "audit", "keygen", "--name", "lienthong.test/log", "--private", priv, "--public", pub); code != ExitOK {
		t.Fatalf("keygen: %d %s", code, errOut)
	}
	if fi, err := os.Stat(priv); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key file: %v %v", fi, err)
	}
	skey, _ := os.ReadFile(priv)
	signer, err := note.NewSigner(strings.TrimSpace(string(skey)))
	if err != nil {
		t.Fatal(err)
	}
	mk := func(n int, changed int) *evidence.Log {
		l, err := evidence.New(evidence.Config{Signer: signer, Origin: "lienthong.test/log"})
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			id := i
			if i == changed {
				id = 1 << 20
			}
			lf := evidence.Leaf{V: 1, Type: evidence.LeafAccepted, ID: fmt.Sprintf("%064x", id), From: "000.00.00.G22", To: []string{"000.00.00.H29"},
				At: time.Unix(int64(i), 0).UTC().Format(time.RFC3339Nano)}
			if err := l.Append(lf.Marshal()); err != nil {
				t.Fatal(err)
			}
		}
		return l
	}
	l := mk(100, -1)
	write := func(name string, v any) string {
		p := filepath.Join(dir, name)
		var raw []byte
		if b, ok := v.([]byte); ok {
			raw = b
		} else {
			raw, _ = json.Marshal(v)
		}
		if err := os.WriteFile(p, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cp, _ := l.Checkpoint()
	proof, _ := l.Inclusion(7, 100)
	leaf7, _ := l.Leaf(7)
	good := evidence.Bundle{V: 1, Checkpoint: string(cp), Leaves: []evidence.Proven{{Index: 7, Leaf: leaf7, Proof: proof}}}

	code, out, errOut := run(t, "audit", "verify", write("good.json", good), "--log-key", pub)
	if code != ExitOK || !strings.Contains(out, `"ok":true`) || !strings.Contains(out, fmt.Sprintf("%064x", 7)) {
		t.Fatalf("verify a good bundle: %d %s %s", code, out, errOut)
	}
	tests := []struct {
		name   string
		tamper func(b *evidence.Bundle)
		want   string
	}{
		{name: "stored event", tamper: func(b *evidence.Bundle) {
			b.Leaves[0].Leaf = []byte(strings.Replace(string(b.Leaves[0].Leaf), "H29", "H30", 1))
		}, want: evidence.CodeBadProof},
		{name: "proof byte", tamper: func(b *evidence.Bundle) { b.Leaves[0].Proof[0][0] ^= 0x80 }, want: evidence.CodeBadProof},
		{name: "checkpoint", tamper: func(b *evidence.Bundle) { b.Checkpoint = strings.Replace(b.Checkpoint, "\n100\n", "\n99\n", 1) }, want: evidence.CodeBadCheckpoint},
	}
	for _, tt := range tests {
		raw, _ := json.Marshal(good)
		var b evidence.Bundle
		_ = json.Unmarshal(raw, &b) // a deep copy
		tt.tamper(&b)
		code, out, _ := run(t, "audit", "verify", write("bad.json", b), "--log-key", pub)
		if code != ExitInvalid || !strings.Contains(out, `"code":"`+tt.want+`"`) {
			t.Errorf("%s: exit %d %s, want 1 and %s", tt.name, code, out, tt.want)
		}
	}

	oldCP := write("old.cp", cp)
	bigger := mk(150, -1)
	newCP, _ := bigger.Checkpoint()
	p, _ := bigger.Consistency(100, 150)
	if code, out, errOut := run(t, "audit", "consistency", oldCP, write("new.cp", newCP), "--proof", write("p.json", map[string]any{"proof": p}), "--log-key", pub); code != ExitOK {
		t.Errorf("consistency: %d %s %s", code, out, errOut)
	}
	forked := mk(150, 3)
	forkCP, _ := forked.Checkpoint()
	fp, _ := forked.Consistency(100, 150)
	if code, out, _ := run(t, "audit", "consistency", oldCP, write("fork.cp", forkCP), "--proof", write("fp.json", map[string]any{"proof": fp}), "--log-key", pub); code != ExitInvalid || !strings.Contains(out, evidence.CodeFork) {
		t.Errorf("a fork: exit %d %s", code, out)
	}
}
