package blob

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Small objects (a receipt, a detached signature: a few KB) are kept in one
// bbolt file, small.db, instead of a file each. Creating an inode per
// object was the fs store's largest cost on ext4 (docs/PERFORMANCE.md);
// here concurrent Creates share one transaction and one fdatasync
// (boltgroup). A record is the footer's JSON, its length before it as
// 4 bytes big-endian, then the bytes. Objects whose size is not given, or
// larger than smallMax, stay files.
const smallMax = 16 << 10

var bSmall = []byte("objects")

func openSmall(path string) (*bolt.DB, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, err
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bSmall)
		return err
	}); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	return db, nil
}

// Close releases the small-object file; the store is unusable after.
func (s *FS) Close() error { return s.small.Close() }

func encodeSmall(ft footer, data []byte) ([]byte, error) {
	js, err := json.Marshal(ft)
	if err != nil {
		return nil, err
	}
	rec := make([]byte, 4, 4+len(js)+len(data))
	binary.BigEndian.PutUint32(rec, uint32(len(js)))
	return append(append(rec, js...), data...), nil
}

// decodeSmall returns a copy of a record's bytes and its info.
func decodeSmall(key string, rec []byte) ([]byte, Info, error) {
	if len(rec) < 4 {
		return nil, Info{}, fmt.Errorf("corrupt small object %s", key)
	}
	jl := int(binary.BigEndian.Uint32(rec))
	if jl > len(rec)-4 {
		return nil, Info{}, fmt.Errorf("corrupt small object %s", key)
	}
	var ft footer
	if err := json.Unmarshal(rec[4:4+jl], &ft); err != nil {
		return nil, Info{}, fmt.Errorf("corrupt small object %s: %w", key, err)
	}
	data := bytes.Clone(rec[4+jl:])
	if int64(len(data)) != ft.Size {
		return nil, Info{}, fmt.Errorf("corrupt small object %s: %d bytes, footer says %d", key, len(data), ft.Size)
	}
	return data, Info{Key: key, Size: ft.Size, SHA256: ft.SHA256, ContentType: ft.ContentType, Created: ft.Created}, nil
}

// createSmall stores an object of known size at most smallMax.
func (s *FS) createSmall(ctx context.Context, key, final string, r io.Reader, size int64, meta Meta) (Info, error) {
	pl := newPayloadFor(ctx, r, size, meta)
	data, err := io.ReadAll(pl)
	if err != nil {
		return Info{}, err
	}
	if err := pl.check(meta.SHA256); err != nil {
		return Info{}, err
	}
	ft := footer{Size: pl.n, SHA256: pl.sum(), ContentType: meta.ContentType, Created: time.Now().UTC()}
	rec, err := encodeSmall(ft, data)
	if err != nil {
		return Info{}, err
	}
	mu := s.keyLock(key)
	mu.Lock()
	defer mu.Unlock()
	// A large object of the same key wins too (link holds the lock).
	if _, err := os.Lstat(final); err == nil {
		return Info{}, ErrExists
	}
	// A conflict is reported after the batch, not as its error, which
	// would roll back the other Creates sharing the commit.
	var exists bool
	err = s.smallW.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bSmall)
		exists = b.Get([]byte(key)) != nil
		if exists {
			return nil
		}
		return b.Put([]byte(key), rec)
	})
	if err != nil {
		return Info{}, err
	}
	if exists {
		return Info{}, ErrExists
	}
	return Info{Key: key, Size: ft.Size, SHA256: ft.SHA256, ContentType: ft.ContentType, Created: ft.Created}, nil
}

// keyLock is the lock of key's stripe.
func (s *FS) keyLock(key string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(key))
	return &s.keyLocks[h.Sum32()%uint32(len(s.keyLocks))]
}

// link publishes a large object's file at its final name, unless the key
// is taken, as a file or a small object.
func (s *FS) link(key, tmp, final string) error {
	mu := s.keyLock(key)
	mu.Lock()
	defer mu.Unlock()
	if ok, err := s.hasSmall(key); err != nil || ok {
		return cmp.Or(err, ErrExists)
	}
	if err := os.Link(tmp, final); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return ErrExists
		}
		return err
	}
	return nil
}

// getSmall returns a small object's bytes and info; found is false when
// the key is not a small object.
func (s *FS) getSmall(key string) (data []byte, info Info, found bool, err error) {
	err = s.small.View(func(tx *bolt.Tx) error {
		rec := tx.Bucket(bSmall).Get([]byte(key))
		if rec == nil {
			return nil
		}
		found = true
		data, info, err = decodeSmall(key, rec)
		return err
	})
	return data, info, found, err
}

func (s *FS) hasSmall(key string) (bool, error) {
	found := false
	err := s.small.View(func(tx *bolt.Tx) error {
		found = tx.Bucket(bSmall).Get([]byte(key)) != nil
		return nil
	})
	return found, err
}

// deleteSmall removes a small object, if there is one.
func (s *FS) deleteSmall(key string) error {
	if ok, err := s.hasSmall(key); err != nil || !ok {
		return err
	}
	return s.small.Update(func(tx *bolt.Tx) error { return tx.Bucket(bSmall).Delete([]byte(key)) })
}

// smallLister hands out the small objects under a prefix in key order, a
// few at a time, so that List can merge them with the files it walks
// without holding a read transaction (fn may write to the store).
type smallLister struct {
	s      *FS
	prefix string
	after  string // the last key handed out
	queue  []Info
	done   bool
}

const smallListChunk = 256

func (l *smallLister) fill() error {
	if len(l.queue) > 0 || l.done {
		return nil
	}
	return l.s.small.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bSmall).Cursor()
		k, v := c.Seek([]byte(l.prefix))
		if l.after != "" {
			k, v = c.Seek([]byte(l.after))
			if k != nil && string(k) == l.after {
				k, v = c.Next()
			}
		}
		for ; k != nil && strings.HasPrefix(string(k), l.prefix); k, v = c.Next() {
			_, info, err := decodeSmall(string(k), v)
			if err != nil {
				return err
			}
			l.queue = append(l.queue, info)
			if len(l.queue) == smallListChunk {
				l.after = string(k)
				return nil
			}
		}
		l.done = true
		return nil
	})
}

// emitBefore hands fn the small objects whose keys sort before key ("" for
// all that are left).
func (l *smallLister) emitBefore(key string, fn func(Info) error) error {
	for {
		if err := l.fill(); err != nil {
			return err
		}
		if len(l.queue) == 0 {
			return nil
		}
		next := l.queue[0]
		if key != "" && next.Key >= key {
			return nil
		}
		l.queue = l.queue[1:]
		if len(l.queue) == 0 && !l.done {
			l.after = next.Key
		}
		if err := fn(next); err != nil {
			return err
		}
	}
}
