package blob

// OpenLogSegMax opens a log store whose segments roll at segMax bytes, so
// that tests see several segments.
func OpenLogSegMax(dir string, segMax int64) (*Log, error) { return openLog(dir, segMax) }
