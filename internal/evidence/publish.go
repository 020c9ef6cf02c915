package evidence

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/lienthong/lienthong/internal/blob"
)

// DefaultInterval is how often a growing log gets a new checkpoint.
const DefaultInterval = 2 * time.Second

// Published is a checkpoint as published: the signed note and, when a TSA
// is configured, an RFC 3161 time-stamp token over its SHA-256.
type Published struct {
	Size       int64
	At         time.Time // when it was signed, by this process's clock
	Checkpoint []byte
	Timestamp  []byte // DER TimeStampToken; nil without a TSA
}

// Checkpointer signs a checkpoint every Interval while the log grows (and
// at once when asked, Now), has it time-stamped when Stamp is set, and
// copies it with the tiles it completes to Store under Prefix: a C2SP
// tlog-tiles tree ("checkpoint", "tile/<L>/<N>") any static file server
// can mirror. Hash tiles only: the leaves name the parties of every
// exchange, which a public mirror must not show.
type Checkpointer struct {
	Log      *Log
	Interval time.Duration
	Store    blob.Store // nil: nothing is copied
	Prefix   string     // e.g. "log/"
	// Witnesses are asked to cosign each checkpoint; one that fails is
	// logged and asked again with the next.
	Witnesses []WitnessPeer
	// Stamp returns an RFC 3161 token over digest (SHA-256); nil: none.
	Stamp  func(ctx context.Context, digest []byte) ([]byte, error)
	Logger *slog.Logger
	Clock  func() time.Time // Published.At; default time.Now

	mu    sync.Mutex       // held while one checkpoint is made
	tiles int64            // the tree size up to which tiles were copied
	sizes map[string]int64 // by witness: the size it cosigned last
	// latest is read without mu: a checkpoint being cosigned and stamped
	// (network calls) must not hold back readers of the previous one.
	latest atomic.Pointer[Published]
}

// Latest is the last checkpoint published; Size -1 before the first.
func (c *Checkpointer) Latest() Published {
	if p := c.latest.Load(); p != nil {
		return *p
	}
	return Published{Size: -1}
}

// Run publishes until ctx ends.
func (c *Checkpointer) Run(ctx context.Context) error {
	if c.Interval <= 0 {
		c.Interval = DefaultInterval
	}
	if err := c.Log.WaitReady(ctx); err != nil {
		return nil //nolint:nilerr // ctx ended
	}
	t := time.NewTicker(c.Interval)
	defer t.Stop()
	for {
		if _, err := c.Now(ctx); err != nil && ctx.Err() == nil {
			c.log().Warn("evidence: checkpoint not published", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (c *Checkpointer) log() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}

// Now publishes a checkpoint of the log as it is, unless the latest
// already covers it, and returns the latest. Before the log has read its
// topic it publishes nothing (ErrNotReady): a checkpoint of part of the
// tree would replace a larger one in the store. Witnesses and the TSA are
// called under ctx, which a caller answering a request should detach.
func (c *Checkpointer) Now(ctx context.Context) (Published, error) {
	return c.Covering(ctx, -1)
}

// Covering returns a checkpoint of at least size leaves: the latest when
// it is large enough (also after waiting for one being made), else a new
// one (as Now). Requests that need one leaf in a proof share checkpoints
// instead of each making one, with its witnesses and time-stamp.
func (c *Checkpointer) Covering(ctx context.Context, size int64) (Published, error) {
	if !c.Log.IsReady() {
		return c.Latest(), ErrNotReady
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.Log.Size()
	if last := c.latest.Load(); last != nil && (last.Size >= n || size >= 0 && last.Size >= size) {
		return *last, nil
	}
	cp, err := c.Log.checkpointAt(n)
	if err != nil {
		return c.Latest(), err
	}
	clock := c.Clock
	if clock == nil {
		clock = time.Now
	}
	p := Published{Size: n, At: clock().UTC(), Checkpoint: cp}
	for _, w := range c.Witnesses {
		if c.sizes == nil {
			c.sizes = map[string]int64{}
		}
		old := c.sizes[w.Name]
		sig, err := c.cosign(ctx, w, &old, cp, n)
		c.sizes[w.Name] = old
		if err != nil {
			c.log().Warn("evidence: checkpoint not cosigned", "witness", w.Name, "size", n, "err", err)
			continue
		}
		p.Checkpoint = append(p.Checkpoint[:len(p.Checkpoint):len(p.Checkpoint)], sig...)
	}
	if c.Stamp != nil {
		// Over the checkpoint as published, cosignatures included.
		sum := sha256.Sum256(p.Checkpoint)
		if p.Timestamp, err = c.Stamp(ctx, sum[:]); err != nil {
			// An unstamped checkpoint proves less, not nothing: it is
			// published, and the next one tries again.
			c.log().Warn("evidence: checkpoint not time-stamped", "size", n, "err", err)
		}
	}
	if c.Store != nil {
		if err := c.copy(ctx, p); err != nil {
			c.log().Warn("evidence: checkpoint not copied to the store", "size", n, "err", err)
		}
	}
	c.latest.Store(&p)
	return p, nil
}

// copy writes the tiles between the last copy and p, then the checkpoint.
// Tiles are immutable (a partial one has its width in its name), so a
// replica writing the same one finds it there; the checkpoint is
// replaced, and a mirror may briefly see none or an older one.
func (c *Checkpointer) copy(ctx context.Context, p Published) error {
	for _, t := range tlog.NewTiles(8, c.tiles, p.Size) {
		data, err := tlog.ReadTileData(t, c.Log.hashReader())
		if err != nil {
			return err
		}
		key := c.Prefix + strings.Replace(t.Path(), "tile/8/", "tile/", 1)
		if _, err := c.Store.Create(ctx, key, bytes.NewReader(data), int64(len(data)), blob.Meta{}); err != nil && !errors.Is(err, blob.ErrExists) {
			return err
		}
	}
	c.tiles = p.Size
	for _, o := range []struct {
		name string
		data []byte
	}{{"checkpoint", p.Checkpoint}, {"checkpoint.tst", p.Timestamp}} {
		key := c.Prefix + o.name
		if err := c.Store.Delete(ctx, key); err != nil && !errors.Is(err, blob.ErrNotFound) {
			return err
		}
		if o.data == nil {
			continue // no token for this checkpoint: none left over from the last
		}
		if _, err := c.Store.Create(ctx, key, bytes.NewReader(o.data), int64(len(o.data)), blob.Meta{ContentType: "text/plain; charset=utf-8"}); err != nil && !errors.Is(err, blob.ErrExists) {
			return err
		}
	}
	return nil
}

// Signature is one signature line of a published checkpoint: the log's
// own or a witness's cosignature.
type Signature struct {
	Name string    // the key's name: the log's origin or the witness's
	At   time.Time // a cosignature's time; zero for the log's own
}

// Signatures lists the checkpoint's signature lines as written (the
// log's first), without checking them: the verifier of each key does.
func (p Published) Signatures() []Signature {
	_, sigs, ok := strings.Cut(string(p.Checkpoint), "\n\n")
	if !ok {
		return nil
	}
	var out []Signature
	for line := range strings.Lines(sigs) {
		rest, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), "— ")
		if !ok {
			continue
		}
		name, b64, _ := strings.Cut(rest, " ")
		s := Signature{Name: name}
		if at, err := fnote.CoSigV1Timestamp(note.Signature{Name: name, Base64: b64}); err == nil {
			s.At = at
		}
		out = append(out, s)
	}
	return out
}
