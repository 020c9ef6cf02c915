package blob_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/lienthong/lienthong/internal/blob"
)

// A packet is stored once under the key derived from its id; a second
// Create of that key reports ErrExists, and the caller compares digests to
// tell an identical resubmission from a conflict.
func ExampleFS() {
	dir, err := os.MkdirTemp("", "blob-example-")
	if err != nil {
		panic(err)
	}
	defer func() { _ = os.RemoveAll(dir) }()
	store, err := blob.NewFS(dir)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	packet := "<edXMLEnvelope>...</edXMLEnvelope>"
	key := blob.PacketKey("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")

	info, err := store.Create(ctx, key, strings.NewReader(packet), int64(len(packet)), blob.Meta{ContentType: "application/xml"})
	if err != nil {
		panic(err)
	}
	fmt.Println("stored", info.Size, "bytes, sha256", info.SHA256[:12])

	_, err = store.Create(ctx, key, strings.NewReader(packet), int64(len(packet)), blob.Meta{})
	if errors.Is(err, blob.ErrExists) {
		old, _ := store.Stat(ctx, key)
		fmt.Println("exists; same bytes:", old.SHA256 == info.SHA256)
	}

	rc, _, err := store.Get(ctx, key, 0, 14)
	if err != nil {
		panic(err)
	}
	defer rc.Close()
	head, _ := io.ReadAll(rc)
	fmt.Println(string(head))
	// Output:
	// stored 34 bytes, sha256 f59593e08824
	// exists; same bytes: true
	// <edXMLEnvelope
}
