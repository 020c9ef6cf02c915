package evidence

import (
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
)

func testSigner(t *testing.T) note.Signer {
	t.Helper()
	skey, _, err := note.GenerateKey(rand.Reader, "lienthong.test/log")
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testLeaf(i int) []byte {
	return Leaf{V: 1, Type: LeafAccepted, ID: fmt.Sprintf("%064x", i%700), From: "000.00.00.G22", To: []string{"000.00.00.H29"},
		At: time.Unix(int64(i), 0).UTC().Format(time.RFC3339Nano)}.Marshal()
}

// A log kept on disk gives the root, proofs, leaves and index of the same
// log in memory, after a reopen too; what was appended after the last
// commit is gone after a crash (to be read again from the topic), and the
// repeat window is rebuilt as a full rebuild would have it.
func TestDiskTree(t *testing.T) {
	dir := t.TempDir()
	s := testSigner(t)
	mem, _ := New(Config{Signer: s, Origin: "lienthong.test/log"})
	disk, err := New(Config{Signer: s, Origin: "lienthong.test/log", Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		for _, l := range []*Log{mem, disk} {
			if err := l.Append(testLeaf(i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	disk.mu.Lock()
	disk.next = 1000
	disk.mu.Unlock()
	if err := disk.Close(); err != nil {
		t.Fatal(err)
	}
	same := func(what string, l *Log) {
		t.Helper()
		if l.Size() != mem.Size() {
			t.Fatalf("%s: %d leaves, want %d", what, l.Size(), mem.Size())
		}
		a, _ := l.Root(l.Size())
		b, _ := mem.Root(mem.Size())
		if a != b {
			t.Fatalf("%s: root %v, want %v", what, a, b)
		}
		p1, err1 := l.Inclusion(517, l.Size())
		p2, _ := mem.Inclusion(517, mem.Size())
		if err1 != nil || fmt.Sprint(p1) != fmt.Sprint(p2) {
			t.Errorf("%s: inclusion proof differs: %v", what, err1)
		}
		lf, _ := l.Leaf(999)
		want, _ := mem.Leaf(999)
		if string(lf) != string(want) {
			t.Errorf("%s: leaf 999 %s, want %s", what, lf, want)
		}
		if got, want := l.LeavesOf(fmt.Sprintf("%064x", 17)), mem.LeavesOf(fmt.Sprintf("%064x", 17)); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: leaves of packet 17 %v, want %v", what, got, want)
		}
	}
	reopened, err := New(Config{Signer: s, Origin: "lienthong.test/log", Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	same("reopened", reopened)
	if reopened.next != 1000 {
		t.Errorf("resumes from offset %d, want 1000", reopened.next)
	}
	// A repeat of a recent leaf is still skipped after the reopen.
	if err := reopened.Append(testLeaf(998)); err != nil || reopened.Size() != 1000 {
		t.Errorf("a repeat after a reopen: %d leaves, %v", reopened.Size(), err)
	}
	// Appended, not committed, then a crash: the files are cut back.
	for i := 1000; i < 1100; i++ {
		if err := reopened.Append(testLeaf(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := reopened.t.close(); err != nil { // no commit: as a kill -9
		t.Fatal(err)
	}
	after, err := New(Config{Signer: s, Origin: "lienthong.test/log", Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer after.Close()
	same("after a crash", after)
	for i := 1000; i < 1100; i++ {
		_ = mem.Append(testLeaf(i))
		if err := after.Append(testLeaf(i)); err != nil {
			t.Fatal(err)
		}
	}
	same("read again", after)
}
