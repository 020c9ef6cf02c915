package blob

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Layouts of the embedded store's directory.
const (
	LayoutLog   = "log"   // segments and an index: Log
	LayoutFiles = "files" // a file per object and small.db: FS
)

// OpenDir opens the embedded store in dir with layout. An empty layout
// keeps the files layout of a directory that already holds it (a hub from
// before the log store) and is log otherwise. A layout other than the one
// dir holds is an error: its objects would seem lost.
func OpenDir(dir, layout string) (Store, error) {
	has := func(names ...string) (bool, error) {
		for _, n := range names {
			_, err := os.Stat(filepath.Join(dir, n))
			if err == nil {
				return true, nil
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return false, fmt.Errorf("blob: %w", err)
			}
		}
		return false, nil
	}
	files, err := has("objects", "small.db")
	if err != nil {
		return nil, err
	}
	log, err := has("index.db", "segments")
	if err != nil {
		return nil, err
	}
	if layout == "" {
		layout = LayoutLog
		if files && !log {
			layout = LayoutFiles
		}
	}
	switch {
	case layout == LayoutLog && files:
		return nil, fmt.Errorf("blob: %s holds the %q layout, not %q", dir, LayoutFiles, layout)
	case layout == LayoutFiles && log:
		return nil, fmt.Errorf("blob: %s holds the %q layout, not %q", dir, LayoutLog, layout)
	case layout == LayoutLog:
		return NewLog(dir)
	case layout == LayoutFiles:
		return NewFS(dir)
	}
	return nil, fmt.Errorf("blob: unknown fs layout %q (want %q or %q)", layout, LayoutLog, LayoutFiles)
}

// Shared tells whether s may be used by several hub processes at once
// (S3), which during a rolling upgrade may be of different versions. The
// embedded stores are locked to one process.
func Shared(s Store) bool {
	switch s := s.(type) {
	case *S3:
		return true
	case *metricsStore:
		return Shared(s.s)
	}
	return false
}
