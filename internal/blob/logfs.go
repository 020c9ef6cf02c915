package blob

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/lienthong/lienthong/internal/boltgroup"
)

// Log is an embedded Store with a log-structured layout: objects are
// appended to segment files and found through an index in bbolt, so that a
// Create costs a pwrite and a share of one fdatasync and one index commit
// instead of a directory, a file and their fsyncs (docs/PERFORMANCE.md,
// issue 18).
//
// Layout under dir:
//
//	segments/NNNNNN.seg  records appended; rolled at about 256 MiB
//	files/obj-*          objects of unknown size or above 1 MiB, a file each
//	index.db             key → where the bytes are, with their metadata
//
// A record is "LTR1", the header's length and its CRC-32C (4 bytes each,
// big-endian), the header (size, created, SHA-256, key, content type), the
// bytes and their CRC-32C. Records are position-independent, so compaction
// moves them by copying.
//
// Durability and atomicity: Creates that arrive while a commit runs are
// committed together by one of them (the leader): their records are written
// at the segment's end and fdatasynced together, then their index
// entries and the segment's new end are committed in one bbolt transaction,
// while the next batch is written.
// An index entry thus only ever points at whole, synced bytes; a record
// without one is garbage. Whether the key is free is decided inside that
// transaction, so of concurrent Creates of a key exactly one wins. NewLog
// truncates the last segment to the committed end (a torn tail) and removes
// segments and files no commit refers to.
//
// Delete removes the index entry; Compact reclaims the space of sealed
// segments that hold mostly deleted records. One process at a time may use
// dir (index.db is flocked).
type Log struct {
	dir      string
	segDir   string
	filesDir string
	db       *bolt.DB
	deletes  *boltgroup.Group
	segMax   int64

	gmu   sync.Mutex
	busy  bool
	queue []*logReq

	// Touched only by the leader of a commit (or NewLog, Close).
	seg    *os.File
	segID  atomic.Uint32
	end    int64
	broken error // a segment write or sync failed: the store refuses Creates (under gmu)

	imu    sync.Mutex
	ibusy  bool
	iqueue []*logBatch

	compactMu sync.Mutex

	batches atomic.Int64 // of records written, for tests
}

var _ Store = (*Log)(nil)

const (
	logSegMax = 256 << 20
	// logInlineMax is the largest object written to a segment: a Create
	// holds its bytes in memory until its commit, so this bounds the
	// memory of each concurrent Create.
	logInlineMax = 1 << 20
	logMagic     = "LTR1"
	logPrefixLen = 12 // magic, header length, header CRC
)

var (
	bLogIndex  = []byte("index")
	bLogFiles  = []byte("files") // file name → key, to clean up files at open
	bLogMeta   = []byte("meta")
	kLogTail   = []byte("tail") // segment id (4 bytes) and its committed end (8)
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
)

// logEntry is an index value: where an object's bytes are and what they are.
type logEntry struct {
	file    bool
	seg     uint32
	off     int64 // the record's start in the segment
	recLen  int64
	dataOff int64 // the bytes' start in the segment
	size    int64
	crc     uint32 // CRC-32C of the bytes
	created int64  // unix nanoseconds
	sha     [32]byte
	ct      string
	name    string // under files/, when file
}

func (e *logEntry) encode() []byte {
	b := make([]byte, 0, 80+len(e.ct)+len(e.name))
	kind := byte(0)
	if e.file {
		kind = 1
	}
	b = append(b, kind)
	b = binary.BigEndian.AppendUint32(b, e.seg)
	for _, v := range []int64{e.off, e.recLen, e.dataOff, e.size} {
		b = binary.BigEndian.AppendUint64(b, uint64(v))
	}
	b = binary.BigEndian.AppendUint32(b, e.crc)
	b = binary.BigEndian.AppendUint64(b, uint64(e.created))
	b = append(b, e.sha[:]...)
	b = append(b, byte(len(e.ct)))
	b = append(b, e.ct...)
	b = append(b, byte(len(e.name)))
	return append(b, e.name...)
}

const logEntryFixed = 1 + 4 + 4*8 + 4 + 8 + 32

func decodeLogEntry(b []byte) (logEntry, error) {
	var e logEntry
	if len(b) < logEntryFixed+1 || b[0] > 1 {
		return e, errors.New("corrupt index entry")
	}
	e.file = b[0] == 1
	e.seg = binary.BigEndian.Uint32(b[1:])
	p := 5
	for _, v := range []*int64{&e.off, &e.recLen, &e.dataOff, &e.size} {
		*v = int64(binary.BigEndian.Uint64(b[p:]))
		p += 8
	}
	e.crc = binary.BigEndian.Uint32(b[p:])
	e.created = int64(binary.BigEndian.Uint64(b[p+4:]))
	p += 12
	copy(e.sha[:], b[p:])
	p += 32
	n := int(b[p])
	p++
	if p+n+1 > len(b) {
		return e, errors.New("corrupt index entry")
	}
	e.ct = string(b[p : p+n])
	p += n
	n = int(b[p])
	p++
	if p+n != len(b) {
		return e, errors.New("corrupt index entry")
	}
	e.name = string(b[p:])
	return e, nil
}

func (e *logEntry) info(key string) Info {
	return Info{Key: key, Size: e.size, SHA256: hex.EncodeToString(e.sha[:]), ContentType: e.ct, Created: time.Unix(0, e.created).UTC()}
}

// NewLog opens (creating it when missing) the log store in dir.
func NewLog(dir string) (*Log, error) {
	s, err := openLog(dir, logSegMax)
	if err != nil {
		return nil, fmt.Errorf("blob: log: %w", err)
	}
	return s, nil
}

func openLog(dir string, segMax int64) (*Log, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	s := &Log{dir: abs, segDir: filepath.Join(abs, "segments"), filesDir: filepath.Join(abs, "files"), segMax: segMax}
	for _, d := range []string{abs, s.segDir, s.filesDir} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, err
		}
	}
	for _, d := range []string{filepath.Dir(abs), abs} {
		if err := syncDir(d); err != nil {
			return nil, err
		}
	}
	s.db, err = bolt.Open(filepath.Join(abs, "index.db"), 0o600, &bolt.Options{Timeout: 5 * time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return nil, err
	}
	s.deletes = boltgroup.New(s.db)
	if err := s.recover(); err != nil {
		return nil, errors.Join(err, s.db.Close(), s.closeSeg())
	}
	return s, nil
}

func (s *Log) segPath(id uint32) string {
	return filepath.Join(s.segDir, fmt.Sprintf("%06d.seg", id))
}

// recover cuts the last segment back to its committed end and removes the
// segments and files no commit refers to.
func (s *Log) recover() error {
	tailSeg, tailEnd := uint32(1), int64(0)
	if err := s.db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bLogIndex, bLogFiles, bLogMeta} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		if v := tx.Bucket(bLogMeta).Get(kLogTail); len(v) == 12 {
			tailSeg, tailEnd = binary.BigEndian.Uint32(v), int64(binary.BigEndian.Uint64(v[4:]))
		}
		return nil
	}); err != nil {
		return err
	}
	// bbolt does not make its new file's name durable.
	if err := syncDir(s.dir); err != nil {
		return err
	}
	segs, err := s.segments()
	if err != nil {
		return err
	}
	removed := false
	for _, id := range segs {
		if id > tailSeg { // rolled to, never committed
			if err := os.Remove(s.segPath(id)); err != nil {
				return err
			}
			removed = true
		}
	}
	// The committed tail's segment is gone when Compact removed it, all
	// dead, after a roll whose batch failed to commit: start it afresh,
	// and say so in the index once the empty file is durable, or the next
	// open would find fewer bytes than the index's tail.
	restart := false
	if _, err := os.Stat(s.segPath(tailSeg)); errors.Is(err, fs.ErrNotExist) {
		tailEnd, restart = 0, true
	}
	f, err := os.OpenFile(s.segPath(tailSeg), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	s.seg = f
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() < tailEnd {
		return fmt.Errorf("segment %s holds %d bytes, the index says %d were committed", f.Name(), fi.Size(), tailEnd)
	}
	if fi.Size() > tailEnd {
		if err := f.Truncate(tailEnd); err != nil {
			return err
		}
		if err := f.Sync(); err != nil {
			return err
		}
	}
	if fi.Size() == 0 || removed {
		if err := syncDir(s.segDir); err != nil {
			return err
		}
	}
	if restart {
		if err := s.db.Update(func(tx *bolt.Tx) error {
			var v [12]byte
			binary.BigEndian.PutUint32(v[:4], tailSeg)
			return tx.Bucket(bLogMeta).Put(kLogTail, v[:])
		}); err != nil {
			return err
		}
	}
	s.segID.Store(tailSeg)
	s.end = tailEnd
	return s.cleanFiles()
}

// segments lists the ids of the segment files, in order.
func (s *Log) segments() ([]uint32, error) {
	entries, err := os.ReadDir(s.segDir)
	if err != nil {
		return nil, err
	}
	var ids []uint32
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".seg")
		if !ok {
			continue
		}
		id, err := strconv.ParseUint(name, 10, 32)
		if err != nil {
			continue
		}
		ids = append(ids, uint32(id))
	}
	slices.Sort(ids)
	return ids, nil
}

// cleanFiles removes the files of Creates that did not commit.
func (s *Log) cleanFiles() error {
	entries, err := os.ReadDir(s.filesDir)
	if err != nil {
		return err
	}
	return s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bLogFiles)
		for _, e := range entries {
			if b.Get([]byte(e.Name())) != nil {
				continue
			}
			if err := os.Remove(filepath.Join(s.filesDir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
		return nil
	})
}

// lookup returns key's index entry.
func (s *Log) lookup(key string) (logEntry, bool, error) {
	var e logEntry
	found := false
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bLogIndex).Get([]byte(key))
		if v == nil {
			return nil
		}
		found = true
		var err error
		e, err = decodeLogEntry(v)
		return err
	})
	return e, found, err
}

// Create implements Store.
func (s *Log) Create(ctx context.Context, key string, r io.Reader, size int64, meta Meta) (Info, error) {
	info, err := s.create(ctx, key, r, size, meta)
	if err != nil {
		return Info{}, fmt.Errorf("blob: create %s: %w", key, err)
	}
	return info, nil
}

func (s *Log) create(ctx context.Context, key string, r io.Reader, size int64, meta Meta) (Info, error) {
	meta, err := checkCreate(ctx, key, size, meta)
	if err != nil {
		return Info{}, err
	}
	// Advisory: saves reading the bytes when the key is taken. The commit
	// decides.
	if _, found, err := s.lookup(key); err != nil || found {
		if err == nil {
			err = ErrExists
		}
		return Info{}, err
	}
	if size >= 0 && size <= logInlineMax {
		return s.createRecord(ctx, key, r, size, meta)
	}
	return s.createFile(ctx, key, r, size, meta)
}

// createRecord reads the object into a record and appends it to the log.
func (s *Log) createRecord(ctx context.Context, key string, r io.Reader, size int64, meta Meta) (Info, error) {
	req, err := s.record(ctx, key, r, size, meta)
	if err != nil {
		return Info{}, err
	}
	if err := s.commit(req); err != nil {
		return Info{}, err
	}
	return req.ent.info(key), nil
}

// record reads the object into a record, ready to commit.
func (s *Log) record(ctx context.Context, key string, r io.Reader, size int64, meta Meta) (*logReq, error) {
	hdrLen := 8 + 8 + 32 + 2 + len(key) + 1 + len(meta.ContentType)
	dataRel := int64(logPrefixLen + hdrLen)
	rec := make([]byte, dataRel+size+4)
	data := rec[dataRel : dataRel+size]
	pl := newPayloadFor(ctx, r, size, meta)
	if _, err := io.ReadFull(pl, data); err != nil {
		return nil, err
	}
	var one [1]byte
	// Only io.EOF itself ends the stream (payload wraps a reader's failure).
	if _, err := pl.Read(one[:]); err != io.EOF { //nolint:errorlint // see above
		if err == nil {
			err = fmt.Errorf("%w: reader goes on after the declared %d bytes", ErrSizeMismatch, size)
		}
		return nil, err
	}
	if err := pl.check(meta.SHA256); err != nil {
		return nil, err
	}
	e := logEntry{size: size, crc: crc32.Checksum(data, castagnoli), created: time.Now().UTC().UnixNano(), ct: meta.ContentType}
	pl.h.Sum(e.sha[:0])

	copy(rec, logMagic)
	binary.BigEndian.PutUint32(rec[4:], uint32(hdrLen))
	h := rec[logPrefixLen:logPrefixLen]
	h = binary.BigEndian.AppendUint64(h, uint64(size))
	h = binary.BigEndian.AppendUint64(h, uint64(e.created))
	h = append(h, e.sha[:]...)
	h = binary.BigEndian.AppendUint16(h, uint16(len(key)))
	h = append(h, key...)
	h = append(h, byte(len(meta.ContentType)))
	h = append(h, meta.ContentType...)
	binary.BigEndian.PutUint32(rec[8:], crc32.Checksum(h, castagnoli))
	binary.BigEndian.PutUint32(rec[dataRel+size:], e.crc)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return &logReq{key: key, rec: rec, dataRel: dataRel, ent: e}, nil
}

// createFile writes an object of unknown or large size to a file of its own
// and commits its index entry.
func (s *Log) createFile(ctx context.Context, key string, r io.Reader, size int64, meta Meta) (info Info, err error) {
	f, err := os.CreateTemp(s.filesDir, "obj-*")
	if err != nil {
		return Info{}, err
	}
	keep := false
	defer func() {
		if f != nil {
			err = errors.Join(err, f.Close())
		}
		if !keep {
			if rerr := os.Remove(f.Name()); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
				err = errors.Join(err, rerr)
			}
		}
	}()
	pl := newPayloadFor(ctx, r, size, meta)
	crc := crc32.New(castagnoli)
	if _, err := io.CopyBuffer(io.MultiWriter(f, crc), pl, make([]byte, copyBufSize)); err != nil {
		return Info{}, err
	}
	if err := pl.check(meta.SHA256); err != nil {
		return Info{}, err
	}
	if err := f.Sync(); err != nil {
		return Info{}, err
	}
	if err := syncDir(s.filesDir); err != nil {
		return Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return Info{}, err
	}
	e := logEntry{file: true, size: pl.n, crc: crc.Sum32(), created: time.Now().UTC().UnixNano(), ct: meta.ContentType, name: filepath.Base(f.Name())}
	pl.h.Sum(e.sha[:0])
	req := &logReq{key: key, ent: e}
	err = s.commit(req)
	// Only a refused key makes the file certainly garbage; after another
	// error the entry may have been committed (NewLog removes it if not).
	keep = !errors.Is(err, ErrExists)
	if err != nil {
		return Info{}, err
	}
	return e.info(key), nil
}

// logReq is one write to the index, with its record when it has one; with
// no key, a barrier that returns once all batches before it are committed.
type logReq struct {
	key     string
	rec     []byte // nil: a file object
	dataRel int64  // the bytes' offset in rec
	ent     logEntry
	move    []byte // compaction: commit only if the entry is still this
	moved   bool
	after   *logReq // committed only if this earlier one of its batch was (CreatePair)
	err     error
	done    chan bool // true: lead the next commit; false: finished
}

// commit writes r with the others queued meanwhile and returns r's result.
//
// Two group commits in a row: writers queue for the segment; the first
// leads at once and writes and syncs the records of all queued, then hands
// the lead to the first of those who queued meanwhile (as boltgroup does)
// and queues its batch for the index. There one leader commits the entries
// of every batch queued, in their order, in one bbolt transaction. So the
// next batch's write and fdatasync overlap this one's index commit.
//
// More requests (CreatePair's) go into the same batch, in their order;
// commit then waits for them too.
func (s *Log) commit(r *logReq, more ...*logReq) error {
	for _, m := range more {
		m.done = make(chan bool, 1)
		defer func() { <-m.done }()
	}
	r.done = make(chan bool, 1)
	s.gmu.Lock()
	s.queue = append(s.queue, r)
	s.queue = append(s.queue, more...)
	if s.busy {
		s.gmu.Unlock()
		if lead := <-r.done; !lead {
			return r.err
		}
		s.gmu.Lock()
	}
	s.busy = true
	batch := s.queue
	s.queue = nil
	s.gmu.Unlock()
	s.commitBatch(r, batch)
	return r.err
}

func (s *Log) handOver() {
	s.gmu.Lock()
	defer s.gmu.Unlock()
	if len(s.queue) > 0 {
		s.queue[0].done <- true
	} else {
		s.busy = false
	}
}

// logBatch is a batch whose records are synced, waiting for its index
// commit.
type logBatch struct {
	reqs []*logReq
	n    int    // records
	tail []byte // the segment's end after them
	err  error  // of the write
	lead chan struct{}
}

var errLogPanic = errors.New("blob: log commit abandoned")

func (s *Log) commitBatch(r *logReq, reqs []*logReq) {
	b := &logBatch{reqs: reqs, lead: make(chan struct{})}
	queued := false
	defer func() {
		if !queued { // panicking: nobody may wait for ever
			s.handOver()
			finishBatch(b, errLogPanic)
		}
	}()
	b.n, b.tail, b.err = s.writeRecords(reqs)
	s.imu.Lock()
	s.iqueue = append(s.iqueue, b)
	lead := !s.ibusy
	s.ibusy = true
	s.imu.Unlock()
	queued = true
	s.handOver()
	if !lead {
		select {
		case <-b.lead:
		case <-r.done: // another leader committed the batch
			return
		}
	}
	s.indexBatches()
}

// indexBatches commits the entries of the queued batches, then hands the
// lead to the first batch queued meanwhile.
func (s *Log) indexBatches() {
	s.imu.Lock()
	batches := s.iqueue
	s.iqueue = nil
	s.imu.Unlock()
	defer func() {
		s.imu.Lock()
		defer s.imu.Unlock()
		if len(s.iqueue) > 0 {
			close(s.iqueue[0].lead)
		} else {
			s.ibusy = false
		}
	}()
	var reqs []*logReq
	var tail []byte
	n := 0
	for _, b := range batches {
		if b.err == nil {
			reqs = append(reqs, b.reqs...)
			n += b.n
			if b.tail != nil {
				tail = b.tail
			}
		}
	}
	err := errLogPanic
	defer func() {
		for _, b := range batches {
			finishBatch(b, cmp.Or(b.err, err))
		}
	}()
	err = nil
	if len(reqs) > 0 {
		err = s.indexRecords(reqs, n, tail)
	}
}

func finishBatch(b *logBatch, err error) {
	for _, r := range b.reqs {
		if err != nil && !errors.Is(r.err, ErrExists) {
			r.err = err
		}
		r.done <- false
	}
}

// writeRecords appends the batch's records to the segment and syncs them;
// it returns how many there were and the segment's new end, as stored.
func (s *Log) writeRecords(batch []*logReq) (int, []byte, error) {
	if s.broken != nil {
		return 0, nil, s.broken
	}
	var total int64
	n := 0
	for _, r := range batch {
		total += int64(len(r.rec))
		if r.rec != nil {
			n++
		}
	}
	if n == 0 {
		return 0, nil, nil
	}
	if s.end > 0 && s.end+total > s.segMax {
		if err := s.roll(); err != nil {
			return 0, nil, err
		}
	}
	off := s.end
	for _, r := range batch {
		if r.rec == nil {
			continue
		}
		r.ent.seg, r.ent.off, r.ent.recLen, r.ent.dataOff = s.segID.Load(), off, int64(len(r.rec)), off+r.dataRel
		off += int64(len(r.rec))
	}
	// A failed write (ENOSPC) leaves bytes past s.end that no entry
	// points at; the next batch writes over them.
	for _, r := range batch {
		if r.rec == nil {
			continue
		}
		if _, err := s.seg.WriteAt(r.rec, r.ent.off); err != nil {
			return 0, nil, fmt.Errorf("write segment: %w", err)
		}
	}
	if err := fdatasync(s.seg); err != nil {
		// The kernel may have dropped the pages: nothing written
		// since can be trusted to be on disk.
		return 0, nil, s.breaks(fmt.Errorf("sync segment: %w", err))
	}
	// Past here an index entry may be committed even if the commit
	// reports an error: never write over these bytes.
	s.end = off
	s.batches.Add(1)
	tail := make([]byte, 12)
	binary.BigEndian.PutUint32(tail, s.segID.Load())
	binary.BigEndian.PutUint64(tail[4:], uint64(s.end))
	return n, tail, nil
}

// indexRecords commits the batch's index entries, deciding which Creates
// win their key.
func (s *Log) indexRecords(batch []*logReq, n int, tail []byte) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		idx, files := tx.Bucket(bLogIndex), tx.Bucket(bLogFiles)
		for _, r := range batch {
			r.err = nil
			if r.key == "" { // a barrier
				continue
			}
			if r.after != nil && r.after.err != nil {
				r.err = r.after.err
				continue
			}
			k := []byte(r.key)
			cur := idx.Get(k)
			if r.move != nil {
				if r.moved = bytes.Equal(cur, r.move); !r.moved {
					continue
				}
			} else if cur != nil {
				r.err = ErrExists
				continue
			}
			if err := idx.Put(k, r.ent.encode()); err != nil {
				return err
			}
			if r.ent.file {
				if err := files.Put([]byte(r.ent.name), k); err != nil {
					return err
				}
			}
		}
		if n == 0 {
			return nil
		}
		return tx.Bucket(bLogMeta).Put(kLogTail, tail)
	})
}

// breaks marks the store failed.
func (s *Log) breaks(err error) error {
	s.gmu.Lock()
	defer s.gmu.Unlock()
	s.broken = err
	return err
}

// roll starts the next segment.
func (s *Log) roll() error {
	id := s.segID.Load() + 1
	f, err := os.OpenFile(s.segPath(id), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if err := syncDir(s.segDir); err != nil {
		return errors.Join(err, f.Close(), os.Remove(f.Name()))
	}
	old := s.seg
	s.seg, s.end = f, 0
	s.segID.Store(id)
	return old.Close()
}

func fdatasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// Get implements Store.
func (s *Log) Get(ctx context.Context, key string, off, n int64) (io.ReadCloser, Info, error) {
	rc, info, err := s.get(ctx, key, off, n)
	if err != nil {
		return nil, Info{}, fmt.Errorf("blob: get %s: %w", key, err)
	}
	return rc, info, nil
}

func (s *Log) get(ctx context.Context, key string, off, n int64) (io.ReadCloser, Info, error) {
	if err := checkRange(off, n); err != nil {
		return nil, Info{}, err
	}
	if err := ValidateKey(key); err != nil {
		return nil, Info{}, err
	}
	// Compaction may move the record and remove its segment between the
	// lookup and the open: look again.
	for range 3 {
		if err := ctx.Err(); err != nil {
			return nil, Info{}, err
		}
		e, found, err := s.lookup(key)
		if err != nil {
			return nil, Info{}, err
		}
		if !found {
			return nil, Info{}, ErrNotFound
		}
		if off > e.size {
			return nil, Info{}, fmt.Errorf("%w: offset %d beyond size %d", ErrInvalidRange, off, e.size)
		}
		p, base := s.segPath(e.seg), e.dataOff
		if e.file {
			p, base = filepath.Join(s.filesDir, e.name), 0
		}
		f, err := os.Open(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, Info{}, err
		}
		end := e.size
		if n >= 0 && n < end-off {
			end = off + n
		}
		lr := &logReader{SectionReader: io.NewSectionReader(f, base+off, end-off), f: f}
		if off == 0 && end == e.size { // a whole read is checked
			lr.crc, lr.want = crc32.New(castagnoli), e.crc
		}
		return lr, e.info(key), nil
	}
	return nil, Info{}, errors.New("the object keeps moving")
}

// logReader reads an object's bytes and, on a whole read, checks their
// CRC-32C at the end.
type logReader struct {
	*io.SectionReader
	f    *os.File
	crc  hash.Hash32
	want uint32
}

func (r *logReader) Read(p []byte) (int, error) {
	n, err := r.SectionReader.Read(p)
	if r.crc != nil {
		r.crc.Write(p[:n])
		if err == io.EOF && r.crc.Sum32() != r.want {
			return n, fmt.Errorf("corrupt object in %s: CRC-32C %08x, expected %08x", r.f.Name(), r.crc.Sum32(), r.want)
		}
	}
	return n, err
}

func (r *logReader) Close() error { return r.f.Close() }

// Stat implements Store.
func (s *Log) Stat(ctx context.Context, key string) (Info, error) {
	if err := ValidateKey(key); err != nil {
		return Info{}, fmt.Errorf("blob: stat %s: %w", key, err)
	}
	e, found, err := s.lookup(key)
	if err == nil && !found {
		err = ErrNotFound
	}
	if err != nil {
		return Info{}, fmt.Errorf("blob: stat %s: %w", key, err)
	}
	return e.info(key), ctx.Err()
}

// Delete implements Store. A record's space comes back with Compact; a
// file's at once.
func (s *Log) Delete(ctx context.Context, key string) error {
	if err := ValidateKey(key); err != nil {
		return fmt.Errorf("blob: delete %s: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("blob: delete %s: %w", key, err)
	}
	if _, found, err := s.lookup(key); err != nil || !found {
		if err != nil {
			return fmt.Errorf("blob: delete %s: %w", key, err)
		}
		return nil
	}
	var file string
	err := s.deletes.Update(func(tx *bolt.Tx) error {
		file = ""
		idx := tx.Bucket(bLogIndex)
		v := idx.Get([]byte(key))
		if v == nil {
			return nil
		}
		e, err := decodeLogEntry(v)
		if err != nil {
			return err
		}
		if e.file {
			file = e.name
			if err := tx.Bucket(bLogFiles).Delete([]byte(e.name)); err != nil {
				return err
			}
		}
		return idx.Delete([]byte(key))
	})
	if err == nil && file != "" {
		// Open readers keep their descriptor; a crash before this is
		// cleaned up by NewLog.
		err = os.Remove(filepath.Join(s.filesDir, file))
	}
	if err != nil {
		return fmt.Errorf("blob: delete %s: %w", key, err)
	}
	return nil
}

// List implements Store: the index's keys are in byte order. Entries are
// read a chunk at a time, so that fn runs outside a read transaction (fn
// may write to the store, and a bbolt writer growing the file waits for
// readers).
func (s *Log) List(ctx context.Context, prefix string, fn func(Info) error) error {
	if err := validatePrefix(prefix); err != nil {
		return fmt.Errorf("blob: list %q: %w", prefix, err)
	}
	after := ""
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("blob: list %q: %w", prefix, err)
		}
		var chunk []Info
		done := false
		err := s.db.View(func(tx *bolt.Tx) error {
			c := tx.Bucket(bLogIndex).Cursor()
			k, v := c.Seek([]byte(prefix))
			if after != "" {
				if k, v = c.Seek([]byte(after)); k != nil && string(k) == after {
					k, v = c.Next()
				}
			}
			for ; k != nil && strings.HasPrefix(string(k), prefix); k, v = c.Next() {
				e, err := decodeLogEntry(v)
				if err != nil {
					return fmt.Errorf("%s: %w", k, err)
				}
				chunk = append(chunk, e.info(string(k)))
				if len(chunk) == smallListChunk {
					return nil
				}
			}
			done = true
			return nil
		})
		if err != nil {
			return fmt.Errorf("blob: list %q: %w", prefix, err)
		}
		for _, info := range chunk {
			if err := fn(info); err != nil {
				return err
			}
		}
		if done {
			return nil
		}
		after = chunk[len(chunk)-1].Key
	}
}

// Ping implements Store.
func (s *Log) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.gmu.Lock()
	broken := s.broken
	s.gmu.Unlock()
	if broken != nil {
		return fmt.Errorf("blob: ping: %w", broken)
	}
	if _, err := os.Stat(s.segDir); err != nil {
		return fmt.Errorf("blob: ping: %w", err)
	}
	if err := s.db.View(func(*bolt.Tx) error { return nil }); err != nil {
		return fmt.Errorf("blob: ping: %w", err)
	}
	return nil
}

// Close implements Store.
func (s *Log) Close() error {
	return errors.Join(s.closeSeg(), s.db.Close())
}

func (s *Log) closeSeg() error {
	if s.seg == nil {
		return nil
	}
	err := s.seg.Close()
	s.seg = nil
	return err
}

// CompactEvery runs Compact(ctx, 0.5) every interval until ctx ends, so
// that deleted objects give their space back without an operator. A
// failure is logged and tried again next time: it must not stop the hub
// that uses the store.
func (s *Log) CompactEvery(ctx context.Context, every time.Duration, log *slog.Logger) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		st, err := s.Compact(ctx, 0.5)
		switch {
		case err != nil && ctx.Err() == nil:
			log.WarnContext(ctx, "blob log compaction failed", "err", err, "segments", st.Segments, "moved", st.Moved)
		case st.Segments > 0:
			log.InfoContext(ctx, "blob log compacted", "segments", st.Segments, "moved", st.Moved, "freed_bytes", st.Freed)
		}
	}
}

// moving is a live record of a segment being compacted, with its index
// entry as read (raw) so that its move commits only if it is unchanged.
type moving struct {
	key string
	raw []byte
	e   logEntry
}

// CompactStats says what Compact did.
type CompactStats struct {
	Segments int   // segments removed
	Moved    int   // live records copied to the log's end
	Freed    int64 // bytes of the removed segments, less those moved
}

// Compact reclaims the space of deleted records: each sealed segment whose
// live records take less than maxLive of its size (0.5: half) has them
// copied to the log's end, as new Creates are, and is then removed. A crash
// in between leaves the old segment, which the next Compact removes.
func (s *Log) Compact(ctx context.Context, maxLive float64) (CompactStats, error) {
	s.compactMu.Lock()
	defer s.compactMu.Unlock()
	st, err := s.compact(ctx, maxLive)
	if err != nil {
		return st, fmt.Errorf("blob: log: compact: %w", err)
	}
	return st, nil
}

func (s *Log) compact(ctx context.Context, maxLive float64) (CompactStats, error) {
	var st CompactStats
	active := s.segID.Load()
	// Batches written to the segments before active may still wait for
	// their index commit: one passes after them, in order.
	if err := s.commit(&logReq{}); err != nil {
		return st, err
	}
	segs, err := s.segments()
	if err != nil {
		return st, err
	}
	live := map[uint32]int64{}
	var moves map[uint32][]moving
	victims := map[uint32]bool{}
	if err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bLogIndex).ForEach(func(_, v []byte) error {
			e, err := decodeLogEntry(v)
			if err == nil && !e.file {
				live[e.seg] += e.recLen
			}
			return err
		})
	}); err != nil {
		return st, err
	}
	sizes := map[uint32]int64{}
	for _, id := range segs {
		if id >= active {
			continue
		}
		fi, err := os.Stat(s.segPath(id))
		if err != nil {
			return st, err
		}
		if float64(live[id]) < maxLive*float64(fi.Size()) || live[id] == 0 {
			victims[id], sizes[id] = true, fi.Size()
		}
	}
	if len(victims) == 0 {
		return st, nil
	}
	moves = map[uint32][]moving{}
	if err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bLogIndex).ForEach(func(k, v []byte) error {
			e, err := decodeLogEntry(v)
			if err == nil && !e.file && victims[e.seg] {
				moves[e.seg] = append(moves[e.seg], moving{key: string(k), raw: bytes.Clone(v), e: e})
			}
			return err
		})
	}); err != nil {
		return st, err
	}
	var bad []error
	for _, id := range slices.Sorted(maps.Keys(victims)) {
		moved, movedBytes, err := s.moveAll(ctx, id, moves[id])
		st.Moved += moved
		st.Freed -= movedBytes
		if err != nil {
			if ctx.Err() != nil {
				return st, err
			}
			// A damaged record keeps its segment (and the record's bytes,
			// for whoever repairs it); the other segments are still
			// compacted.
			bad = append(bad, err)
			continue
		}
		if err := os.Remove(s.segPath(id)); err != nil {
			return st, err
		}
		st.Segments++
		st.Freed += sizes[id]
	}
	if err := syncDir(s.segDir); err != nil {
		bad = append(bad, err)
	}
	return st, errors.Join(bad...)
}

// compactBatch and compactBytes bound the records of a segment moved at
// once (and so held in memory): their writes share one fdatasync and one
// index commit, as concurrent Creates' do.
const (
	compactBatch = 64
	compactBytes = 8 << 20
)

// compactChunks splits ms into runs of at most compactBatch records and,
// unless one record alone is larger, compactBytes.
func compactChunks(ms []moving) [][]moving {
	var chunks [][]moving
	start, size := 0, int64(0)
	for i, m := range ms {
		if i > start && (i-start == compactBatch || size+m.e.recLen > compactBytes) {
			chunks = append(chunks, ms[start:i])
			start, size = i, 0
		}
		size += m.e.recLen
	}
	if start < len(ms) {
		chunks = append(chunks, ms[start:])
	}
	return chunks
}

// moveAll copies segment id's live records to the log's end, a chunk at a
// time (compactChunks). A damaged record
// stops it and keeps the segment: the records moved before it are dead
// copies there. It returns how many records it moved and their bytes (a
// record deleted meanwhile is not moved: it is dead).
func (s *Log) moveAll(ctx context.Context, id uint32, ms []moving) (moved int, movedBytes int64, err error) {
	f, err := os.Open(s.segPath(id))
	if err != nil {
		return 0, 0, err
	}
	defer func() { err = errors.Join(err, f.Close()) }()
	for _, batch := range compactChunks(ms) {
		reqs := make([]*logReq, len(batch))
		for i, m := range batch {
			if err := ctx.Err(); err != nil {
				return moved, movedBytes, err
			}
			rec := make([]byte, m.e.recLen)
			if _, err := f.ReadAt(rec, m.e.off); err != nil {
				return moved, movedBytes, fmt.Errorf("record of %s in %s: %w", m.key, f.Name(), err)
			}
			rel := m.e.dataOff - m.e.off
			if crc32.Checksum(rec[rel:rel+m.e.size], castagnoli) != m.e.crc {
				return moved, movedBytes, fmt.Errorf("record of %s in %s: CRC mismatch", m.key, f.Name())
			}
			reqs[i] = &logReq{key: m.key, rec: rec, dataRel: rel, ent: m.e, move: m.raw}
		}
		errs := make([]error, len(reqs))
		var wg sync.WaitGroup
		for i, r := range reqs {
			wg.Go(func() { errs[i] = s.commit(r) })
		}
		wg.Wait()
		for _, r := range reqs {
			if r.moved {
				moved++
				movedBytes += r.ent.recLen
			}
		}
		if err := errors.Join(errs...); err != nil {
			return moved, movedBytes, err
		}
	}
	return moved, movedBytes, nil
}
