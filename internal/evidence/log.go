package evidence

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/lienthong/lienthong/internal/bus"
)

// Errors.
var (
	ErrNotReady = errors.New("evidence: the log topic is not read yet")
	ErrRange    = errors.New("evidence: index or size out of range")
	errNotLeaf  = errors.New("evidence: not a leaf")
)

// dedupWindow is how many recent leaves a repeat is looked for in: the
// feeder delivers at least once, and a leaf produced again after a crash
// follows its first copy closely. Every replica skips the same repeats,
// since the rule reads only the topic.
const dedupWindow = 4096

// Config configures a Log.
type Config struct {
	Bus bus.Config
	// Topic is the single-partition log topic, e.g. "lienthong.log"; empty
	// for a log filled by Append alone (tools, tests), ready at once.
	Topic string
	// Signer signs checkpoints (a note signer, Ed25519); Origin is the
	// checkpoint's first line, the log's name, e.g. "lienthong.example.vn/log".
	Signer note.Signer
	Origin string
	// Dir, when set, keeps the tree on disk there (hashes, leaves, an
	// index by packet), so that it scales past memory and a restart
	// resumes from its last commit; empty keeps it in memory and reads
	// the whole topic at each start.
	Dir string
	Log *slog.Logger
}

// Log is one replica's copy of the verifiable log. The topic is the
// record; the tree is derived from it, in Config.Dir or in memory.
type Log struct {
	cfg   Config
	ready chan struct{}
	once  sync.Once

	mu       sync.RWMutex
	t        tree
	lastSync time.Time
	recent   map[tlog.Hash]int // leaf hash → count within the window
	ring     []tlog.Hash
	cp       []byte // the last checkpoint signed, for cpSize
	cpSize   int64
	next     int64 // the topic offset Run applies next; -1 before the first
}

// New returns a Log; Run fills it.
func New(cfg Config) (*Log, error) {
	if cfg.Signer == nil || cfg.Origin == "" {
		return nil, errors.New("evidence: a signer and an origin are needed")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	l := &Log{cfg: cfg, ready: make(chan struct{}), t: newMemTree(), recent: map[tlog.Hash]int{}, cpSize: -1, next: -1}
	if cfg.Dir != "" {
		dt, err := openDiskTree(cfg.Dir)
		if err != nil {
			return nil, err
		}
		l.t, l.next = dt, dt.next()
		// The repeat window as a rebuild would have it: the last leaves.
		for i := max(0, dt.size()-dedupWindow); i < dt.size(); i++ {
			b, err := dt.leaf(i)
			if err != nil {
				_ = dt.close()
				return nil, err
			}
			l.remember(tlog.RecordHash(b))
		}
	}
	if cfg.Topic == "" {
		close(l.ready)
	}
	return l, nil
}

// Close commits and closes the tree's files.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return errors.Join(l.t.commit(l.next), l.t.close())
}

// remember puts h in the repeat window; l.mu is held.
func (l *Log) remember(h tlog.Hash) {
	l.recent[h]++
	l.ring = append(l.ring, h)
	if len(l.ring) > dedupWindow {
		old := l.ring[0]
		l.ring = l.ring[1:]
		if l.recent[old]--; l.recent[old] == 0 {
			delete(l.recent, old)
		}
	}
}

// commitEvery bounds what a crash makes a restarted replica read again.
const commitEvery = time.Second

// Run follows the log topic until ctx ends, from the offset after the
// last record applied (or committed, after a restart): run again after a
// failure (bus.Router), the tree never takes a leaf twice.
func (l *Log) Run(ctx context.Context) error {
	if l.cfg.Topic == "" {
		return errors.New("evidence: a log without a topic is filled by Append")
	}
	l.mu.RLock()
	from := max(l.next, 0)
	l.mu.RUnlock()
	defer func() {
		l.mu.Lock()
		if err := l.t.commit(l.next); err != nil {
			l.cfg.Log.Error("evidence: the log's files not committed", "err", err)
		}
		l.mu.Unlock()
	}()
	return bus.FollowFrom(ctx, l.cfg.Bus, l.cfg.Topic, from, func(m bus.Message) error {
		l.mu.RLock()
		seen := m.Offset < l.next
		l.mu.RUnlock()
		if seen {
			return nil
		}
		err := l.Append(m.Value)
		if errors.Is(err, errNotLeaf) {
			l.cfg.Log.Warn("evidence: a record that is not a leaf skipped", "offset", m.Offset, "err", err)
			err = nil
		}
		if err != nil {
			return err
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		l.next = max(l.next, m.Offset+1)
		if time.Since(l.lastSync) >= commitEvery {
			l.lastSync = time.Now()
			return l.t.commit(l.next)
		}
		return nil
	}, func() { l.once.Do(func() { close(l.ready) }) })
}

// IsReady tells, without waiting, whether Run has read the leaves present
// when it started.
func (l *Log) IsReady() bool {
	select {
	case <-l.ready:
		return true
	default:
		return false
	}
}

// WaitReady waits until Run has read the leaves present when it started.
func (l *Log) WaitReady(ctx context.Context) error {
	select {
	case <-l.ready:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrNotReady, ctx.Err())
	}
}

// hashReader reads the stored hashes under the read lock.
func (l *Log) hashReader() tlog.HashReader {
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		l.mu.RLock()
		defer l.mu.RUnlock()
		return held{l}.ReadHashes(indexes)
	})
}

// held reads the stored hashes while l.mu is held.
type held struct{ l *Log }

func (h held) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	l := h.l
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		h, err := l.t.hash(x)
		if err != nil {
			return nil, err
		}
		out[i] = h
	}
	return out, nil
}

// Append adds a leaf (its canonical bytes) unless it repeats one of the
// last dedupWindow leaves. Run calls it in the topic's order; bytes that
// are not a canonical leaf are refused, as every replica refuses them.
func (l *Log) Append(leaf []byte) error {
	lf, err := ParseLeaf(leaf)
	if err != nil {
		return fmt.Errorf("%w: %w", errNotLeaf, err)
	}
	h := tlog.RecordHash(leaf)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.recent[h] > 0 {
		return nil
	}
	n := l.t.size()
	hs, err := tlog.StoredHashesForRecordHash(n, h, held{l})
	if err != nil {
		return err
	}
	var id *[32]byte
	if b, err := hex.DecodeString(lf.ID); err == nil && len(b) == 32 {
		id = (*[32]byte)(b)
	}
	if err := l.t.add(leaf, id, hs); err != nil {
		return err
	}
	l.remember(h)
	return nil
}

// Size is the number of leaves.
func (l *Log) Size() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.t.size()
}

// Root is the tree hash at size n.
func (l *Log) Root(n int64) (tlog.Hash, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if n < 0 || n > l.t.size() {
		return tlog.Hash{}, ErrRange
	}
	if n == 0 {
		return tlog.Hash(rfc6962.DefaultHasher.EmptyRoot()), nil
	}
	return tlog.TreeHash(n, held{l})
}

// Checkpoint is a signed note of the tree as it is now (C2SP
// tlog-checkpoint: origin, size, root hash in base64).
func (l *Log) Checkpoint() ([]byte, error) { return l.checkpointAt(l.Size()) }

// checkpointAt signs the checkpoint of size n (Ed25519 signatures are
// deterministic: every replica signs the same bytes for the same size).
func (l *Log) checkpointAt(n int64) ([]byte, error) {
	l.mu.RLock()
	if n == l.cpSize {
		cp := l.cp
		l.mu.RUnlock()
		return cp, nil
	}
	l.mu.RUnlock()
	root, err := l.Root(n)
	if err != nil {
		return nil, err
	}
	text := log.Checkpoint{Origin: l.cfg.Origin, Size: uint64(n), Hash: root[:]}.Marshal()
	signed, err := note.Sign(&note.Note{Text: string(text)}, l.cfg.Signer)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	if n > l.cpSize {
		l.cp, l.cpSize = signed, n
	}
	l.mu.Unlock()
	return signed, nil
}

// nodeHashes fetches and rehashes the nodes of a proof.
func (l *Log) nodeHashes(nodes proof.Nodes) ([][]byte, error) {
	idx := make([]int64, len(nodes.IDs))
	for i, id := range nodes.IDs {
		idx[i] = tlog.StoredHashIndex(int(id.Level), int64(id.Index))
	}
	hs, err := held{l}.ReadHashes(idx)
	if err != nil {
		return nil, err
	}
	raw := make([][]byte, len(hs))
	for i := range hs {
		raw[i] = hs[i][:]
	}
	return nodes.Rehash(raw, rfc6962.DefaultHasher.HashChildren)
}

// Inclusion is the proof that leaf index is in the tree of size n.
func (l *Log) Inclusion(index, n int64) ([][]byte, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if index < 0 || n > l.t.size() || index >= n {
		return nil, ErrRange
	}
	nodes, err := proof.Inclusion(uint64(index), uint64(n))
	if err != nil {
		return nil, err
	}
	return l.nodeHashes(nodes)
}

// Consistency is the proof that the tree of size n1 is a prefix of the
// tree of size n2.
func (l *Log) Consistency(n1, n2 int64) ([][]byte, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if n1 < 0 || n1 > n2 || n2 > l.t.size() {
		return nil, ErrRange
	}
	nodes, err := proof.Consistency(uint64(n1), uint64(n2))
	if err != nil {
		return nil, err
	}
	return l.nodeHashes(nodes)
}

// Leaf returns leaf index's bytes.
func (l *Log) Leaf(index int64) ([]byte, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.t.leaf(index)
}

// LeavesOf lists the indexes of the leaves of packet id.
func (l *Log) LeavesOf(id string) []int64 {
	b, err := hex.DecodeString(id)
	if err != nil || len(b) != sha256.Size {
		return nil
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	out, err := l.t.leavesOf([32]byte(b))
	if err != nil {
		l.cfg.Log.Error("evidence: the log's index", "err", err)
	}
	return out
}

// Tile returns a tile's data (C2SP tlog-tiles, height 8): a hash tile at
// "tile/<L>/<N>[.p/<W>]" or an entry bundle at "tile/entries/<N>[.p/<W>]".
func (l *Log) Tile(path string) ([]byte, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	rest, ok := strings.CutPrefix(path, "tile/entries/")
	if ok {
		// An entry bundle: the leaves of data tile N, each as a
		// big-endian uint16 length and the bytes.
		t, err := tlog.ParseTilePath("tile/8/0/" + rest)
		if err != nil {
			return nil, err
		}
		// N is checked before it is multiplied: a huge one would wrap.
		if t.N > l.t.size()>>8 {
			return nil, ErrRange
		}
		start, end := t.N<<8, t.N<<8+int64(t.W)
		if end > l.t.size() {
			return nil, ErrRange
		}
		var out []byte
		for i := start; i < end; i++ {
			lf, err := l.t.leaf(i)
			if err != nil {
				return nil, err
			}
			if len(lf) > 0xffff {
				return nil, fmt.Errorf("%w: a leaf of %d bytes does not fit an entry bundle", ErrRange, len(lf))
			}
			out = append(out, byte(len(lf)>>8), byte(len(lf)))
			out = append(out, lf...)
		}
		return out, nil
	}
	rest, ok = strings.CutPrefix(path, "tile/")
	if !ok {
		return nil, ErrRange
	}
	t, err := tlog.ParseTilePath("tile/8/" + rest)
	if err != nil || t.L < 0 {
		return nil, fmt.Errorf("%w: %s", ErrRange, path)
	}
	// The tile's hashes must cover complete subtrees within the tree.
	if t.L > 6 || t.N > l.t.size()>>(uint(t.L+1)*8) || (t.N*256+int64(t.W))<<(uint(t.L)*8) > l.t.size() {
		return nil, fmt.Errorf("%w: %s", ErrRange, path)
	}
	return tlog.ReadTileData(t, held{l})
}
