package hub

import (
	"errors"
	"io"
	"os"
	"sync"
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

// SpoolFile hands out an empty, unlinked file in the hub's spool directory,
// for a caller that spools a packet itself (the API's multipart parts) and
// submits it as Submission.Spooled. Give it back with ReleaseSpool once
// Submit has returned.
func (h *Hub) SpoolFile() (*os.File, error) { return h.spools.get() }

// ReleaseSpool takes back a file from SpoolFile.
func (h *Hub) ReleaseSpool(f *os.File) { h.spools.put(f) }

// CopyToSpool copies r to the spool file f. A failure to write f (a full
// disk, an I/O error) is the hub's, never the client's: it comes back as
// 503 hub.unavailable, to be retried. A failure to read r is returned as
// it is, for the caller to blame on the request.
func CopyToSpool(f *os.File, r io.Reader) (int64, error) {
	n, err := io.Copy(spoolWriter{f}, r)
	if we, ok := errors.AsType[*spoolWriteError](err); ok {
		return n, unavailable("the spool", we.err)
	}
	return n, err
}

// spoolWriter marks the errors of the spool file's own writes.
type spoolWriter struct{ f *os.File }

func (w spoolWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if err != nil {
		err = &spoolWriteError{err}
	}
	return n, err
}

type spoolWriteError struct{ err error }

func (e *spoolWriteError) Error() string { return "write spool: " + e.err.Error() }
func (e *spoolWriteError) Unwrap() error { return e.err }
