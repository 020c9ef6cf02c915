package evidence

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"
)

// tree holds a replica's copy of the log: the stored hashes (indexed by
// tlog.StoredHashIndex), the leaves and their index by packet. Its
// methods are called with Log.mu held (read or write as they change it).
type tree interface {
	size() int64
	hashCount() int64
	hash(i int64) (tlog.Hash, error)
	leaf(i int64) ([]byte, error)
	leavesOf(id [32]byte) ([]int64, error)
	// add appends a leaf with the hashes it adds; id is its packet's.
	add(leaf []byte, id *[32]byte, hashes []tlog.Hash) error
	// commit makes what was added durable, with next, the topic offset
	// to resume from; next is what the last commit stored (-1: none).
	commit(next int64) error
	next() int64
	close() error
}

// memTree keeps everything in memory: for tools and tests, and a log
// without a directory.
type memTree struct {
	hashes []tlog.Hash
	leaves [][]byte
	byID   map[[32]byte][]int64
}

func newMemTree() *memTree { return &memTree{byID: map[[32]byte][]int64{}} }

func (m *memTree) size() int64      { return int64(len(m.leaves)) }
func (m *memTree) hashCount() int64 { return int64(len(m.hashes)) }
func (m *memTree) hash(i int64) (tlog.Hash, error) {
	if i < 0 || i >= int64(len(m.hashes)) {
		return tlog.Hash{}, fmt.Errorf("%w: stored hash %d of %d", ErrRange, i, len(m.hashes))
	}
	return m.hashes[i], nil
}

func (m *memTree) leaf(i int64) ([]byte, error) {
	if i < 0 || i >= int64(len(m.leaves)) {
		return nil, ErrRange
	}
	return m.leaves[i], nil
}

func (m *memTree) leavesOf(id [32]byte) ([]int64, error) {
	return append([]int64(nil), m.byID[id]...), nil
}

func (m *memTree) add(leaf []byte, id *[32]byte, hashes []tlog.Hash) error {
	if id != nil {
		m.byID[*id] = append(m.byID[*id], int64(len(m.leaves)))
	}
	m.hashes = append(m.hashes, hashes...)
	m.leaves = append(m.leaves, leaf)
	return nil
}

func (m *memTree) commit(int64) error { return nil }
func (m *memTree) next() int64        { return -1 }
func (m *memTree) close() error       { return nil }

// diskTree keeps the log in a directory, so that it scales past memory and
// a restart resumes where the last commit left off instead of reading the
// whole topic again:
//
//	hashes   the stored hashes, 32 bytes each
//	leaves   each leaf as a big-endian uint32 length and its bytes
//	offsets  each leaf's position in leaves, 8 bytes each
//	index.db (bbolt) the leaves by packet id, and the committed sizes
//
// The files are appended to and fsynced before index.db records their
// sizes; at open they are cut back to those sizes, and what was appended
// after the last commit is read again from the topic.
type diskTree struct {
	hashes, leaves, offsets *os.File
	db                      *bolt.DB
	nHashes, nLeaves, end   int64 // counts, and the leaves file's length
	pending                 []idRef
	committed               int64
}

type idRef struct {
	id    [32]byte
	index int64
}

var (
	bucketIDs  = []byte("ids")
	bucketMeta = []byte("meta")
)

func openDiskTree(dir string) (*diskTree, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	t := &diskTree{committed: -1}
	var err error
	open := func(name string) *os.File {
		if err != nil {
			return nil
		}
		var f *os.File
		f, err = os.OpenFile(filepath.Join(dir, name), os.O_RDWR|os.O_CREATE, 0o640)
		return f
	}
	t.hashes, t.leaves, t.offsets = open("hashes"), open("leaves"), open("offsets")
	if err == nil {
		t.db, err = bolt.Open(filepath.Join(dir, "index.db"), 0o640, nil)
	}
	if err == nil {
		err = t.db.Update(func(tx *bolt.Tx) error {
			if _, err := tx.CreateBucketIfNotExists(bucketIDs); err != nil {
				return err
			}
			m, err := tx.CreateBucketIfNotExists(bucketMeta)
			if err != nil {
				return err
			}
			get := func(k string) int64 {
				if v := m.Get([]byte(k)); len(v) == 8 {
					return int64(binary.BigEndian.Uint64(v))
				}
				return 0
			}
			t.nHashes, t.nLeaves, t.end = get("hashes"), get("leaves"), get("end")
			t.committed = get("next") - 1 // stored +1: absent reads as -1
			// Index entries of leaves beyond the commit (none: they
			// are written in the same transaction) cannot exist.
			return nil
		})
	}
	if err == nil {
		// Cut back what was appended after the last commit.
		for _, c := range []struct {
			f *os.File
			n int64
		}{{t.hashes, 32 * t.nHashes}, {t.leaves, t.end}, {t.offsets, 8 * t.nLeaves}} {
			var fi os.FileInfo
			if fi, err = c.f.Stat(); err != nil {
				break
			}
			if fi.Size() < c.n {
				err = fmt.Errorf("evidence: %s is shorter (%d bytes) than committed (%d)", c.f.Name(), fi.Size(), c.n)
				break
			}
			if err = c.f.Truncate(c.n); err != nil {
				break
			}
		}
	}
	if err != nil {
		_ = t.close()
		return nil, fmt.Errorf("evidence: open %s: %w", dir, err)
	}
	return t, nil
}

func (t *diskTree) size() int64      { return t.nLeaves }
func (t *diskTree) hashCount() int64 { return t.nHashes }
func (t *diskTree) next() int64      { return t.committed }

func (t *diskTree) hash(i int64) (tlog.Hash, error) {
	var h tlog.Hash
	if i < 0 || i >= t.nHashes {
		return h, fmt.Errorf("%w: stored hash %d of %d", ErrRange, i, t.nHashes)
	}
	_, err := t.hashes.ReadAt(h[:], 32*i)
	return h, err
}

func (t *diskTree) leaf(i int64) ([]byte, error) {
	if i < 0 || i >= t.nLeaves {
		return nil, ErrRange
	}
	var b [8]byte
	if _, err := t.offsets.ReadAt(b[:], 8*i); err != nil {
		return nil, err
	}
	off := int64(binary.BigEndian.Uint64(b[:]))
	if _, err := t.leaves.ReadAt(b[:4], off); err != nil {
		return nil, err
	}
	out := make([]byte, binary.BigEndian.Uint32(b[:4]))
	if _, err := t.leaves.ReadAt(out, off+4); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return out, nil
}

func (t *diskTree) leavesOf(id [32]byte) ([]int64, error) {
	var out []int64
	err := t.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketIDs).Cursor()
		for k, _ := c.Seek(id[:]); len(k) == 40 && [32]byte(k[:32]) == id; k, _ = c.Next() {
			out = append(out, int64(binary.BigEndian.Uint64(k[32:])))
		}
		return nil
	})
	for _, p := range t.pending {
		if p.id == id {
			out = append(out, p.index)
		}
	}
	return out, err
}

func (t *diskTree) add(leaf []byte, id *[32]byte, hashes []tlog.Hash) error {
	buf := make([]byte, 0, 32*len(hashes))
	for _, h := range hashes {
		buf = append(buf, h[:]...)
	}
	if _, err := t.hashes.WriteAt(buf, 32*t.nHashes); err != nil {
		return err
	}
	rec := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(leaf)), uint32(len(leaf)))
	rec = append(rec, leaf...)
	if _, err := t.leaves.WriteAt(rec, t.end); err != nil {
		return err
	}
	if _, err := t.offsets.WriteAt(binary.BigEndian.AppendUint64(nil, uint64(t.end)), 8*t.nLeaves); err != nil {
		return err
	}
	if id != nil {
		t.pending = append(t.pending, idRef{*id, t.nLeaves})
	}
	t.nHashes += int64(len(hashes))
	t.end += int64(len(rec))
	t.nLeaves++
	return nil
}

func (t *diskTree) commit(next int64) error {
	for _, f := range []*os.File{t.hashes, t.leaves, t.offsets} {
		if err := f.Sync(); err != nil {
			return err
		}
	}
	err := t.db.Update(func(tx *bolt.Tx) error {
		ids := tx.Bucket(bucketIDs)
		for _, p := range t.pending {
			k := binary.BigEndian.AppendUint64(append(make([]byte, 0, 40), p.id[:]...), uint64(p.index))
			if err := ids.Put(k, nil); err != nil {
				return err
			}
		}
		m := tx.Bucket(bucketMeta)
		for k, v := range map[string]int64{"hashes": t.nHashes, "leaves": t.nLeaves, "end": t.end, "next": next + 1} {
			if err := m.Put([]byte(k), binary.BigEndian.AppendUint64(nil, uint64(v))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	t.pending, t.committed = t.pending[:0], next
	return nil
}

func (t *diskTree) close() error {
	var errs []error
	for _, f := range []*os.File{t.hashes, t.leaves, t.offsets} {
		if f != nil {
			errs = append(errs, f.Close())
		}
	}
	if t.db != nil {
		errs = append(errs, t.db.Close())
	}
	return errors.Join(errs...)
}
