package blob

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/lienthong/lienthong/internal/boltgroup"
)

// FS is the embedded Store: small objects in one bbolt file, larger ones a
// file each, under a directory.
//
// Layout under dir:
//
//	objects/<key>@blob   one file per object
//	small.db             objects of at most 16 KiB (fs_small.go)
//	.tmp/                files being written
//
// An object file holds the exact bytes, followed by a footer: a JSON object
// ({"size","sha256","contentType","created"}), its length as a 4-byte
// big-endian integer and the 8-byte magic "LTBLOB1\n". The metadata lives in
// the same file as the bytes because a separate sidecar cannot be published
// atomically together with them: a loser of a concurrent Create would
// overwrite the winner's sidecar, and a crash between two renames would leave
// one without the other. Stat reads only the footer. `head -c SIZE` of a file
// gives the bytes back. The "@blob" suffix (a character keys cannot hold)
// lets a key be both an object and a prefix of others ("a/b" and "a/b/c"),
// as on S3.
//
// Create writes a temporary file under .tmp while hashing, fsyncs it, and
// publishes it with link(2) to the final name, which fails with EEXIST when
// the name exists: publication is atomic, and of concurrent Creates of one
// key exactly one wins. Then it fsyncs the directory and removes the
// temporary name. New directories are fsynced into their parents before an
// object is linked into them. NewFS removes temporary files left by a crash,
// except those a live writer holds (each holds an flock on its file).
//
// The directory must be on a local filesystem with hard links and working
// fsync (ext4, xfs, btrfs, tmpfs for tests). One process at a time should
// use it.
type FS struct {
	objects string
	tmp     string
	small   *bolt.DB
	smallW  *boltgroup.Group
	// keyLocks make a key's If-None-Match hold across small objects (in
	// small.db) and files: each form checks for the other and publishes
	// under the key's lock. A small Create holds its stripe through a
	// commit, so there are many stripes.
	keyLocks [1024]sync.Mutex

	mu      sync.Mutex
	durable map[string]struct{} // directories created and fsynced into their parent
}

var _ Store = (*FS)(nil)

const (
	fsSuffix      = "@blob"
	footerMagic   = "LTBLOB1\n"
	footerTail    = 4 + len(footerMagic)
	maxFooterJSON = 4096
	// maxDurableCache bounds FS.durable; when full it is emptied, which only
	// costs an extra fsync per directory.
	maxDurableCache = 1 << 16
	copyBufSize     = 256 << 10
)

type footer struct {
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	ContentType string    `json:"contentType"`
	Created     time.Time `json:"created"`
}

// NewFS opens (creating it when missing) the store in dir and removes
// temporary files left behind by a crash.
func NewFS(dir string) (*FS, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("blob: fs dir %q: %w", dir, err)
	}
	s := &FS{
		objects: filepath.Join(abs, "objects"),
		tmp:     filepath.Join(abs, ".tmp"),
		durable: make(map[string]struct{}),
	}
	for _, d := range []string{abs, s.objects, s.tmp} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, fmt.Errorf("blob: fs: %w", err)
		}
	}
	for _, d := range []string{filepath.Dir(abs), abs} {
		if err := syncDir(d); err != nil {
			return nil, fmt.Errorf("blob: fs: %w", err)
		}
	}
	if err := s.cleanTemp(); err != nil {
		return nil, err
	}
	if s.small, err = openSmall(filepath.Join(abs, "small.db")); err != nil {
		return nil, fmt.Errorf("blob: fs: %w", err)
	}
	s.smallW = boltgroup.New(s.small)
	// bbolt does not make its new file's name durable.
	if err := syncDir(abs); err != nil {
		return nil, errors.Join(fmt.Errorf("blob: fs: %w", err), s.small.Close())
	}
	return s, nil
}

// cleanTemp removes the temporary files no live writer holds.
func (s *FS) cleanTemp() error {
	entries, err := os.ReadDir(s.tmp)
	if err != nil {
		return fmt.Errorf("blob: fs: clean temporary files: %w", err)
	}
	for _, e := range entries {
		p := filepath.Join(s.tmp, e.Name())
		f, err := os.Open(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("blob: fs: clean temporary files: %w", err)
		}
		held, err := tryLock(f)
		if err == nil && !held {
			err = os.Remove(p)
		}
		cerr := f.Close()
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("blob: fs: clean temporary files: %w", err)
		}
		if cerr != nil {
			return fmt.Errorf("blob: fs: clean temporary files: %w", cerr)
		}
	}
	return nil
}

func (s *FS) path(key string) string {
	return filepath.Join(s.objects, filepath.FromSlash(key)) + fsSuffix
}

// Create implements Store.
func (s *FS) Create(ctx context.Context, key string, r io.Reader, size int64, meta Meta) (Info, error) {
	info, err := s.create(ctx, key, r, size, meta)
	if err != nil {
		return Info{}, fmt.Errorf("blob: create %s: %w", key, err)
	}
	return info, nil
}

func (s *FS) create(ctx context.Context, key string, r io.Reader, size int64, meta Meta) (Info, error) {
	meta, err := checkCreate(ctx, key, size, meta)
	if err != nil {
		return Info{}, err
	}
	final := s.path(key)
	// Advisory: saves writing the bytes when the key is taken. The link
	// in publish decides.
	if _, err := os.Lstat(final); err == nil {
		return Info{}, ErrExists
	}
	if size >= 0 && size <= smallMax {
		return s.createSmall(ctx, key, final, r, size, meta)
	}
	// Advisory too: link decides, under the key's lock.
	if ok, err := s.hasSmall(key); err != nil || ok {
		return Info{}, cmp.Or(err, ErrExists)
	}
	return s.publish(ctx, key, final, r, size, meta)
}

// publish writes the object to a temporary file and links it into place.
func (s *FS) publish(ctx context.Context, key, final string, r io.Reader, size int64, meta Meta) (info Info, err error) {
	f, err := os.CreateTemp(s.tmp, "create-*")
	if err != nil {
		return Info{}, err
	}
	tmp := f.Name()
	defer func() {
		if f != nil {
			err = errors.Join(err, f.Close())
		}
		if rerr := os.Remove(tmp); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			err = errors.Join(err, rerr)
		}
	}()
	if _, err := tryLock(f); err != nil {
		return Info{}, err
	}

	pl := newPayloadFor(ctx, r, size, meta)
	bufSize := copyBufSize
	if size >= 0 && size < int64(bufSize) {
		bufSize = max(int(size)+1, 512)
	}
	// Hide os.File's ReaderFrom so that io.CopyBuffer uses our buffer.
	if _, err := io.CopyBuffer(struct{ io.Writer }{f}, pl, make([]byte, bufSize)); err != nil {
		return Info{}, err
	}
	if err := pl.check(meta.SHA256); err != nil {
		return Info{}, err
	}
	ft := footer{Size: pl.n, SHA256: pl.sum(), ContentType: meta.ContentType, Created: time.Now().UTC()}
	if err := writeFooter(f, ft); err != nil {
		return Info{}, err
	}
	if err := f.Sync(); err != nil {
		return Info{}, err
	}
	cerr := f.Close()
	f = nil
	if cerr != nil {
		return Info{}, cerr
	}
	if err := ctx.Err(); err != nil {
		return Info{}, err
	}

	dir := filepath.Dir(final)
	if err := s.mkdirs(dir); err != nil {
		return Info{}, err
	}
	if err := s.link(key, tmp, final); err != nil {
		return Info{}, err
	}
	// From here the object is visible and whole; an error only says that
	// its durability is not confirmed.
	if err := syncDir(dir); err != nil {
		return Info{}, err
	}
	return Info{Key: key, Size: ft.Size, SHA256: ft.SHA256, ContentType: ft.ContentType, Created: ft.Created}, nil
}

func writeFooter(w io.Writer, ft footer) error {
	js, err := json.Marshal(ft)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	b.Write(js)
	b.Write(binary.BigEndian.AppendUint32(nil, uint32(len(js))))
	b.WriteString(footerMagic)
	_, err = w.Write(b.Bytes())
	return err
}

// readFooter returns the Info of an open object file.
func readFooter(f *os.File, key string) (Info, error) {
	fi, err := f.Stat()
	if err != nil {
		return Info{}, err
	}
	total := fi.Size()
	if total < int64(footerTail) {
		return Info{}, fmt.Errorf("corrupt object file %s: %d bytes, no footer", f.Name(), total)
	}
	tail := make([]byte, footerTail)
	if _, err := f.ReadAt(tail, total-int64(footerTail)); err != nil {
		return Info{}, fmt.Errorf("read footer of %s: %w", f.Name(), err)
	}
	if string(tail[4:]) != footerMagic {
		return Info{}, fmt.Errorf("corrupt object file %s: bad footer magic", f.Name())
	}
	jl := int64(binary.BigEndian.Uint32(tail[:4]))
	if jl > maxFooterJSON || jl > total-int64(footerTail) {
		return Info{}, fmt.Errorf("corrupt object file %s: footer length %d", f.Name(), jl)
	}
	js := make([]byte, jl)
	if _, err := f.ReadAt(js, total-int64(footerTail)-jl); err != nil {
		return Info{}, fmt.Errorf("read footer of %s: %w", f.Name(), err)
	}
	var ft footer
	if err := json.Unmarshal(js, &ft); err != nil {
		return Info{}, fmt.Errorf("corrupt object file %s: footer: %w", f.Name(), err)
	}
	if ft.Size != total-int64(footerTail)-jl {
		return Info{}, fmt.Errorf("corrupt object file %s: footer says %d bytes, file holds %d", f.Name(), ft.Size, total-int64(footerTail)-jl)
	}
	return Info{Key: key, Size: ft.Size, SHA256: ft.SHA256, ContentType: ft.ContentType, Created: ft.Created}, nil
}

// open opens the object file of key and reads its footer.
func (s *FS) open(ctx context.Context, key string) (*os.File, Info, error) {
	if err := ValidateKey(key); err != nil {
		return nil, Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return nil, Info{}, err
	}
	f, err := os.Open(s.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, Info{}, ErrNotFound
	}
	if err != nil {
		return nil, Info{}, err
	}
	info, err := readFooter(f, key)
	if err != nil {
		return nil, Info{}, errors.Join(err, f.Close())
	}
	return f, info, nil
}

// Get implements Store.
func (s *FS) Get(ctx context.Context, key string, off, n int64) (io.ReadCloser, Info, error) {
	if err := checkRange(off, n); err != nil {
		return nil, Info{}, fmt.Errorf("blob: get %s: %w", key, err)
	}
	if err := ValidateKey(key); err != nil {
		return nil, Info{}, fmt.Errorf("blob: get %s: %w", key, err)
	}
	if data, info, ok, err := s.getSmall(key); err != nil || ok {
		if err == nil && off > info.Size {
			err = fmt.Errorf("%w: offset %d beyond size %d", ErrInvalidRange, off, info.Size)
		}
		if err != nil {
			return nil, Info{}, fmt.Errorf("blob: get %s: %w", key, err)
		}
		end := info.Size
		if n >= 0 && n < end-off {
			end = off + n
		}
		return io.NopCloser(bytes.NewReader(data[off:end])), info, nil
	}
	f, info, err := s.open(ctx, key)
	if err != nil {
		return nil, Info{}, fmt.Errorf("blob: get %s: %w", key, err)
	}
	if off > info.Size {
		return nil, Info{}, errors.Join(fmt.Errorf("blob: get %s: %w: offset %d beyond size %d", key, ErrInvalidRange, off, info.Size), f.Close())
	}
	end := info.Size
	if n >= 0 && n < end-off {
		end = off + n
	}
	return &fileReader{SectionReader: io.NewSectionReader(f, off, end-off), f: f}, info, nil
}

type fileReader struct {
	*io.SectionReader
	f *os.File
}

func (r *fileReader) Close() error { return r.f.Close() }

// Stat implements Store.
func (s *FS) Stat(ctx context.Context, key string) (Info, error) {
	if err := ValidateKey(key); err != nil {
		return Info{}, fmt.Errorf("blob: stat %s: %w", key, err)
	}
	if _, info, ok, err := s.getSmall(key); err != nil || ok {
		if err != nil {
			return Info{}, fmt.Errorf("blob: stat %s: %w", key, err)
		}
		return info, ctx.Err()
	}
	f, info, err := s.open(ctx, key)
	if err != nil {
		return Info{}, fmt.Errorf("blob: stat %s: %w", key, err)
	}
	if err := f.Close(); err != nil {
		return Info{}, fmt.Errorf("blob: stat %s: %w", key, err)
	}
	return info, nil
}

// Delete implements Store.
func (s *FS) Delete(ctx context.Context, key string) error {
	if err := ValidateKey(key); err != nil {
		return fmt.Errorf("blob: delete %s: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("blob: delete %s: %w", key, err)
	}
	if err := s.deleteSmall(key); err != nil {
		return fmt.Errorf("blob: delete %s: %w", key, err)
	}
	p := s.path(key)
	err := os.Remove(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err == nil {
		err = syncDir(filepath.Dir(p))
	}
	if err != nil {
		return fmt.Errorf("blob: delete %s: %w", key, err)
	}
	return nil
}

// List implements Store. Directories are read one at a time, so memory
// stays bounded by the widest directory, not by the number of objects.
func (s *FS) List(ctx context.Context, prefix string, fn func(Info) error) error {
	if err := validatePrefix(prefix); err != nil {
		return fmt.Errorf("blob: list %q: %w", prefix, err)
	}
	// Start in the deepest directory the prefix names whole.
	start := ""
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		start = prefix[:i]
	}
	// Small objects are merged in, in key order, before each file's key.
	small := &smallLister{s: s, prefix: prefix}
	err := s.list(ctx, start, prefix, func(info Info) error {
		if err := small.emitBefore(info.Key, fn); err != nil {
			return err
		}
		return fn(info)
	})
	if err != nil {
		return err
	}
	return small.emitBefore("", fn)
}

func (s *FS) list(ctx context.Context, rel, prefix string, fn func(Info) error) error {
	entries, err := os.ReadDir(filepath.Join(s.objects, filepath.FromSlash(rel)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("blob: list %q: %w", prefix, err)
	}
	type entry struct {
		name string // key segment
		sort string // segment, plus "/" for a directory: keys order so
		dir  bool
	}
	list := make([]entry, 0, len(entries))
	for _, e := range entries {
		switch name := e.Name(); {
		case e.IsDir():
			list = append(list, entry{name: name, sort: name + "/", dir: true})
		case strings.HasSuffix(name, fsSuffix):
			name = strings.TrimSuffix(name, fsSuffix)
			list = append(list, entry{name: name, sort: name})
		}
	}
	slices.SortFunc(list, func(a, b entry) int { return strings.Compare(a.sort, b.sort) })
	for _, e := range list {
		key := e.name
		if rel != "" {
			key = rel + "/" + e.name
		}
		if e.dir {
			if d := key + "/"; strings.HasPrefix(d, prefix) || strings.HasPrefix(prefix, d) {
				if err := s.list(ctx, key, prefix, fn); err != nil {
					return err
				}
			}
			continue
		}
		if !strings.HasPrefix(key, prefix) {
			continue
		}
		f, info, err := s.open(ctx, key)
		if errors.Is(err, ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return fmt.Errorf("blob: list %q: %w", prefix, err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("blob: list %q: %w", prefix, err)
		}
		if err := fn(info); err != nil {
			return err
		}
	}
	return nil
}

// Ping implements Store: the directory must exist and take a new file.
func (s *FS) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, err := os.Stat(s.objects); err != nil {
		return fmt.Errorf("blob: ping: %w", err)
	}
	f, err := os.CreateTemp(s.tmp, "ping-*")
	if err != nil {
		return fmt.Errorf("blob: ping: %w", err)
	}
	return errors.Join(f.Close(), os.Remove(f.Name()))
}

// mkdirs creates dir and its missing parents up to the objects directory and
// makes each durable in its parent before an object is linked into it. It
// fsyncs the parent also when another writer created the directory, since
// that writer may not have fsynced it yet.
func (s *FS) mkdirs(dir string) error {
	if dir == s.objects {
		return nil
	}
	if !strings.HasPrefix(dir, s.objects+string(filepath.Separator)) {
		return fmt.Errorf("directory %s outside %s", dir, s.objects)
	}
	s.mu.Lock()
	_, ok := s.durable[dir]
	s.mu.Unlock()
	if ok {
		return nil
	}
	parent := filepath.Dir(dir)
	if err := s.mkdirs(parent); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o750); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	if err := syncDir(parent); err != nil {
		return err
	}
	s.mu.Lock()
	if len(s.durable) >= maxDurableCache {
		clear(s.durable)
	}
	s.durable[dir] = struct{}{}
	s.mu.Unlock()
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}
