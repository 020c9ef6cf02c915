package hub

import (
	"bytes"
	"errors"
	"io"
	"os"
	"sync"
	"sync/atomic"
)

// spools keeps the files submitted packets are spooled to, for reuse.
// Each is unlinked as soon as it is made, so it holds no name and leaves
// nothing behind when the process ends, and it is truncated, not deleted,
// between packets: on ext4 a stream of created-then-deleted files makes
// every new inode slow to allocate (docs/PERFORMANCE.md), and the spool
// made one such file per packet.
type spools struct {
	dir  string
	open func() (*os.File, error) // Options.OpenSpool
	mu   sync.Mutex
	free []*os.File
}

// maxFreeSpools bounds the files kept between requests.
const maxFreeSpools = 64

func (p *spools) get() (*os.File, error) {
	p.mu.Lock()
	if n := len(p.free); n > 0 {
		f := p.free[n-1]
		p.free = p.free[:n-1]
		p.mu.Unlock()
		return f, nil
	}
	p.mu.Unlock()
	if p.open != nil {
		return p.open()
	}
	f, err := os.CreateTemp(p.dir, "spool-*")
	if err != nil {
		return nil, err
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close() //nolint:errcheck // failing
		return nil, err
	}
	return f, nil
}

// put empties f and keeps it, or closes it when enough are kept or it
// cannot be emptied.
func (p *spools) put(f *os.File) {
	if f.Truncate(0) == nil {
		if _, err := f.Seek(0, io.SeekStart); err == nil {
			p.mu.Lock()
			if len(p.free) < maxFreeSpools {
				p.free = append(p.free, f)
				p.mu.Unlock()
				return
			}
			p.mu.Unlock()
		}
	}
	f.Close() //nolint:errcheck // nothing to keep
}

// Spool holds a packet's bytes while it is submitted: in memory up to the
// hub's SpoolMemory (1 MiB by default) within a process-wide budget, in
// an unlinked file from the pool beyond. A letter then costs no write, no
// read back and no truncate of a file: three system calls a pass, and the
// hub reads a packet three times (parse, verify, store).
type Spool struct {
	p    *spools
	max  int64
	mem  []byte
	held int64 // of spoolMemHeld
	f    *os.File
	size int64
}

// spoolMemBudget bounds the memory all spools of the process hold, so many
// concurrent submissions spill to files rather than grow the heap.
const spoolMemBudget = 64 << 20

var spoolMemHeld atomic.Int64

// NewSpool hands out an empty spool, for a caller that spools a packet
// itself (the API's multipart parts) and submits it as
// Submission.Spooled. Release it once Submit has returned.
func (h *Hub) NewSpool() *Spool { return &Spool{p: h.spools, max: h.o.SpoolMemory} }

// Write appends to the spool; only a spill to the file can fail.
func (s *Spool) Write(b []byte) (int, error) {
	if s.f == nil {
		if s.grow(int64(len(b))) {
			s.mem = append(s.mem, b...)
			s.size += int64(len(b))
			return len(b), nil
		}
		if err := s.spill(); err != nil {
			return 0, err
		}
	}
	n, err := s.f.Write(b)
	s.size += int64(n)
	return n, err
}

// grow makes room in memory for n more bytes, within the spool's limit
// and the budget, which counts the buffer's capacity; false when there is
// none.
func (s *Spool) grow(n int64) bool {
	need := s.size + n
	if need > s.max {
		return false
	}
	if need <= int64(cap(s.mem)) {
		return true
	}
	c := min(max(2*int64(cap(s.mem)), need, 64<<10), s.max)
	more := c - int64(cap(s.mem))
	if spoolMemHeld.Add(more) > spoolMemBudget {
		spoolMemHeld.Add(-more) // over the budget: not taken
		return false
	}
	m := make([]byte, len(s.mem), c)
	copy(m, s.mem)
	s.mem, s.held = m, s.held+more
	return true
}

func (s *Spool) spill() error {
	f, err := s.p.get()
	if err != nil {
		return err
	}
	s.f = f
	_, err = f.Write(s.mem)
	s.freeMem()
	return err
}

func (s *Spool) freeMem() {
	spoolMemHeld.Add(-s.held)
	s.mem, s.held = nil, 0
}

// Size is how many bytes were written.
func (s *Spool) Size() int64 { return s.size }

// ReaderAt reads what was written.
func (s *Spool) ReaderAt() io.ReaderAt {
	if s.f != nil {
		return s.f
	}
	return bytes.NewReader(s.mem)
}

// Release gives back the spool's memory or file.
func (s *Spool) Release() {
	s.freeMem()
	if s.f != nil {
		s.p.put(s.f)
		s.f = nil
	}
}

// CopyToSpool copies r to the spool w. A failure to write w (a full
// disk, an I/O error) is the hub's, never the client's: it comes back as
// 503 hub.unavailable, to be retried. A failure to read r is returned as
// it is, for the caller to blame on the request.
func CopyToSpool(w io.Writer, r io.Reader) (int64, error) {
	var n int64
	var err error
	if s, ok := w.(*Spool); ok {
		n, err = s.readFrom(r)
	} else {
		n, err = io.Copy(spoolWriter{w}, r)
	}
	if we, ok := errors.AsType[*spoolWriteError](err); ok {
		return n, unavailable("the spool", we.err)
	}
	return n, err
}

// readFrom reads r to its end into the spool: straight into its memory
// while the packet fits, without io.Copy's buffer and its copy, else on
// into the file. Its own failures are *spoolWriteError.
func (s *Spool) readFrom(r io.Reader) (int64, error) {
	start := s.size
	for s.f == nil {
		if len(s.mem) == cap(s.mem) && !s.grow(1) {
			// No room left in memory: spill only if there is more.
			var one [1]byte
			n, err := io.ReadFull(r, one[:])
			if n == 0 {
				if errors.Is(err, io.EOF) {
					err = nil
				}
				return s.size - start, err
			}
			if err := s.spill(); err != nil {
				return s.size - start, &spoolWriteError{err}
			}
			if _, err := s.Write(one[:]); err != nil {
				return s.size - start, &spoolWriteError{err}
			}
			break
		}
		n, err := r.Read(s.mem[len(s.mem):cap(s.mem)])
		s.mem = s.mem[:len(s.mem)+n]
		s.size += int64(n)
		if errors.Is(err, io.EOF) {
			return s.size - start, nil
		}
		if err != nil {
			return s.size - start, err
		}
	}
	_, err := io.Copy(spoolWriter{s}, r)
	return s.size - start, err
}

// spoolWriter marks the errors of the spool's own writes.
type spoolWriter struct{ w io.Writer }

func (w spoolWriter) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	if err != nil {
		err = &spoolWriteError{err}
	}
	return n, err
}

type spoolWriteError struct{ err error }

func (e *spoolWriteError) Error() string { return "write spool: " + e.err.Error() }
func (e *spoolWriteError) Unwrap() error { return e.err }
