// Package atomicfile replaces a file so that a reader sees the old file or
// the new one, never a part, and a crash leaves no half-written file under
// the name.
package atomicfile

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Write makes path anew with perm from what fill writes: into a temporary
// file beside it, synced, then renamed over path. When fill or any step
// fails, path is untouched and the temporary file removed.
func Write(path string, perm fs.FileMode, fill func(w io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	fail := func(err error) error {
		_ = f.Close() // already failing; the first error is reported
		_ = os.Remove(tmp)
		return err
	}
	if err := fill(f); err != nil {
		return fail(err)
	}
	if err := f.Chmod(perm); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}

// WriteBytes is Write of data.
func WriteBytes(path string, data []byte, perm fs.FileMode) error {
	return Write(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}
