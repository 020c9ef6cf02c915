//go:build !unix

package blob

import "os"

// tryLock is a no-op where flock is missing: NewFS then removes every
// temporary file, which is safe when one process uses the directory.
func tryLock(*os.File) (held bool, err error) { return false, nil }
