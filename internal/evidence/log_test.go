package evidence_test

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/lienthong/lienthong/internal/evidence"
	"github.com/lienthong/lienthong/internal/schemas"
)

const origin = "lienthong.test/log"

func keys(t testing.TB) (note.Signer, note.Verifier) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

func leaf(i int) []byte {
	return evidence.Leaf{V: 1, Type: evidence.LeafAccepted, ID: fmt.Sprintf("%064x", i), From: "000.00.00.G22", To: []string{"000.00.00.H29"},
		At: time.Date(2026, 12, 7, 0, 0, 0, i, time.UTC).Format(time.RFC3339Nano)}.Marshal()
}

func filled(t testing.TB, n int, s note.Signer) *evidence.Log {
	t.Helper()
	l, err := evidence.New(evidence.Config{Signer: s, Origin: origin})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := l.Append(leaf(i)); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

func bundle(t *testing.T, l *evidence.Log, index int64) evidence.Bundle {
	t.Helper()
	cp, err := l.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	p, err := l.Inclusion(index, l.Size())
	if err != nil {
		t.Fatal(err)
	}
	lf, _ := l.Leaf(index)
	return evidence.Bundle{V: 1, Checkpoint: string(cp), Leaves: []evidence.Proven{{Index: index, Leaf: lf, Proof: p}}}
}

// Every leaf of logs of many sizes proves against the signed checkpoint,
// and every smaller tree is consistent with the larger.
func TestProofs(t *testing.T) {
	s, v := keys(t)
	l := filled(t, 600, s)
	for _, i := range []int64{0, 1, 255, 256, 511, 599} {
		got, cp, err := evidence.VerifyBundle(bundle(t, l, i), v)
		if err != nil {
			t.Fatalf("leaf %d: %v", i, err)
		}
		if cp.Size != 600 || got[0].ID != fmt.Sprintf("%064x", i) {
			t.Errorf("leaf %d: size %d, id %s", i, cp.Size, got[0].ID)
		}
	}
	small := filled(t, 37, s)
	oldCP, _ := small.Checkpoint()
	newCP, _ := l.Checkpoint()
	p, err := l.Consistency(37, 600)
	if err != nil {
		t.Fatal(err)
	}
	if err := evidence.VerifyConsistency(oldCP, newCP, p, v); err != nil {
		t.Errorf("consistency 37 → 600: %v", err)
	}
	// A repeat of a recent leaf (the feeder's at-least-once) is skipped.
	if err := l.Append(leaf(598)); err != nil || l.Size() != 600 {
		t.Errorf("a repeated leaf appended: size %d, %v", l.Size(), err)
	}
}

// A tampered leaf, proof byte or checkpoint is caught with its code, and
// a log that rewrote a leaf is caught as a fork.
func TestTamperingCaught(t *testing.T) {
	s, v := keys(t)
	l := filled(t, 300, s)
	tests := []struct {
		name   string
		tamper func(b *evidence.Bundle)
		want   string
	}{
		{name: "leaf byte", tamper: func(b *evidence.Bundle) {
			b.Leaves[0].Leaf = bytes.Replace(b.Leaves[0].Leaf, []byte("H29"), []byte("H30"), 1)
		}, want: evidence.CodeBadProof},
		{name: "proof byte", tamper: func(b *evidence.Bundle) { b.Leaves[0].Proof[2][5] ^= 1 }, want: evidence.CodeBadProof},
		{name: "index", tamper: func(b *evidence.Bundle) { b.Leaves[0].Index++ }, want: evidence.CodeBadProof},
		{name: "checkpoint size", tamper: func(b *evidence.Bundle) { b.Checkpoint = strings.Replace(b.Checkpoint, "\n300\n", "\n301\n", 1) }, want: evidence.CodeBadCheckpoint},
		{name: "no leaf", tamper: func(b *evidence.Bundle) { b.Leaves = nil }, want: evidence.CodeBadProof},
	}
	for _, tt := range tests {
		b := bundle(t, l, 42)
		tt.tamper(&b)
		if _, _, err := evidence.VerifyBundle(b, v); evidence.Code(err) != tt.want {
			t.Errorf("%s: %v, want %s", tt.name, err, tt.want)
		}
	}
	// Signed by another key.
	other, _ := keys(t)
	if _, _, err := evidence.VerifyBundle(bundle(t, filled(t, 300, other), 42), v); evidence.Code(err) != evidence.CodeBadCheckpoint {
		t.Errorf("another key: %v", err)
	}

	// A fork: the same log key signs a history whose leaf 10 was changed.
	forked, err := evidence.New(evidence.Config{Signer: s, Origin: origin})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 400 {
		b := leaf(i)
		if i == 10 {
			b = leaf(10_000)
		}
		if err := forked.Append(b); err != nil {
			t.Fatal(err)
		}
	}
	oldCP, _ := l.Checkpoint()
	newCP, _ := forked.Checkpoint()
	p, err := forked.Consistency(300, 400)
	if err != nil {
		t.Fatal(err)
	}
	if err := evidence.VerifyConsistency(oldCP, newCP, p, v); evidence.Code(err) != evidence.CodeFork {
		t.Errorf("a forked log: %v, want %s", err, evidence.CodeFork)
	}
}

// The tiles served let a client that holds only them and a checkpoint
// rebuild the tree's hashes (C2SP tlog-tiles, as golang.org/x/mod reads
// them), and entry bundles hold the leaves.
func TestTiles(t *testing.T) {
	s, v := keys(t)
	l := filled(t, 70_000, s)
	signed, _ := l.Checkpoint()
	cp, err := evidence.OpenCheckpoint(signed, v)
	if err != nil {
		t.Fatal(err)
	}
	tree := tlog.Tree{N: int64(cp.Size), Hash: tlog.Hash(cp.Hash)}
	fetched := 0
	r := tlog.TileHashReader(tree, tileReader{func(tile tlog.Tile) ([]byte, error) {
		fetched++
		return l.Tile(strings.Replace(tile.Path(), "tile/8/", "tile/", 1))
	}})
	root, err := tlog.TreeHash(tree.N, r)
	if err != nil || root != tree.Hash {
		t.Fatalf("the root from the tiles: %v %v", root, err)
	}
	if fetched == 0 {
		t.Fatal("no tile read")
	}
	bundle, err := l.Tile("tile/entries/273.p/112") // the last, partial: leaves 273×256 …
	if err != nil {
		t.Fatal(err)
	}
	want, _ := l.Leaf(273 * 256)
	if n := int(bundle[0])<<8 | int(bundle[1]); !bytes.Equal(bundle[2:2+n], want) {
		t.Errorf("entry bundle starts with %q, want %q", bundle[2:2+n], want)
	}
	for _, bad := range []string{"tile/0/x001/999", "tile/3/000", "tile/entries/x999/000", "tile/../x", "nope",
		"tile/0/x036/x028/x797/x018/x963/968", "tile/0/x072/x057/x594/x037/x927/936", "tile/entries/x072/x057/x594/x037/x927/936"} {
		if _, err := l.Tile(bad); err == nil {
			t.Errorf("tile %q served", bad)
		}
	}
}

type tileReader struct {
	read func(tlog.Tile) ([]byte, error)
}

func (tileReader) Height() int { return 8 }
func (r tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		b, err := r.read(t)
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}
func (tileReader) SaveTiles([]tlog.Tile, [][]byte) {}

// The leaves made from real event shapes follow schemas/log, and their
// canonical bytes are the only encoding ParseLeaf takes.
func TestLeavesFollowSchema(t *testing.T) {
	c := jsonschema.NewCompiler()
	raw, err := schemas.FS.ReadFile("log/leaf.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddResource("leaf.json", doc); err != nil {
		t.Fatal(err)
	}
	c.AssertFormat()
	sch, err := c.Compile("leaf.json")
	if err != nil {
		t.Fatal(err)
	}
	id := strings.Repeat("ab", 32)
	accepted, err := evidence.FromAccepted([]byte(`{"v":1,"id":"` + id + `","kind":"status","from":"000.00.00.H29","documentId":"d","statusCode":"03","sha256":"` + id +
		`","size":1234,"acceptedAt":"2026-12-07T05:06:07.1+07:00","deliveries":[{"endpoint":"000.00.00.G22"},{"endpoint":"000.00.00.G22"}],"subject":"<&>"}`))
	if err != nil {
		t.Fatal(err)
	}
	acked, err := evidence.FromTransport([]byte(`{"v":1,"type":"acked","id":"` + id + `","endpoint":"000.00.00.G22","result":"done","at":"2026-12-07T00:00:00Z"}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, lf := range []evidence.Leaf{accepted, acked} {
		b := lf.Marshal()
		v, _ := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err := sch.Validate(v); err != nil {
			t.Errorf("%s: %v", b, err)
		}
		if _, err := evidence.ParseLeaf(b); err != nil {
			t.Errorf("ParseLeaf(%s): %v", b, err)
		}
		spaced := bytes.Replace(b, []byte(`,"`), []byte(`, "`), 1)
		if _, err := evidence.ParseLeaf(spaced); err == nil {
			t.Errorf("a leaf not in canonical form was taken: %s", spaced)
		}
	}
	if got := string(accepted.Marshal()); !strings.Contains(got, `"to":["000.00.00.G22"]`) || !strings.Contains(got, `"at":"2026-12-06T22:06:07.1Z"`) {
		t.Errorf("accepted leaf %s", got)
	}
	if _, err := evidence.FromTransport([]byte(`{"v":1,"type":"deleted","id":"` + id + `","at":"2026-12-07T00:00:00Z"}`)); err == nil {
		t.Error("an unknown transport type made a leaf")
	}
}
