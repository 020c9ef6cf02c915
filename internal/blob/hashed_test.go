package blob_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/internal/blob"
)

// Meta.Hashed: the embedded stores take the caller's digest of the same
// bytes instead of hashing them again (the hub hashed the packet as it
// arrived); without it a wrong digest is refused.
func TestHashedMeta(t *testing.T) {
	data := bytes.Repeat([]byte("gói tin "), 4096)
	sum := sha256.Sum256(data)
	right, other := hex.EncodeToString(sum[:]), strings.Repeat("ab", 32)
	stores := map[string]func(string) (blob.Store, error){
		"log":   func(dir string) (blob.Store, error) { return blob.NewLog(dir) },
		"files": func(dir string) (blob.Store, error) { return blob.NewFS(dir) },
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			st, err := open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer st.(interface{ Close() error }).Close() //nolint:errcheck // test
			ctx := context.Background()
			if _, err := st.Create(ctx, "a", bytes.NewReader(data), int64(len(data)), blob.Meta{SHA256: other}); !errors.Is(err, blob.ErrDigestMismatch) {
				t.Errorf("unhashed wrong digest: %v, want ErrDigestMismatch", err)
			}
			if _, err := st.Create(ctx, "b", bytes.NewReader(data), int64(len(data)), blob.Meta{SHA256: right, Hashed: true}); err != nil {
				t.Fatal(err)
			}
			// Not hashed again: what the caller said is what is recorded.
			if _, err := st.Create(ctx, "c", bytes.NewReader(data), int64(len(data)), blob.Meta{SHA256: other, Hashed: true}); err != nil {
				t.Fatal(err)
			}
			for key, want := range map[string]string{"b": right, "c": other} {
				info, err := st.Stat(ctx, key)
				if err != nil || info.SHA256 != want {
					t.Errorf("%s: sha256 %s %v, want %s", key, info.SHA256, err, want)
				}
			}
		})
	}
}
