package blob

// OpenLogSegMax opens a log store whose segments roll at segMax bytes, so
// that tests see several segments.
func OpenLogSegMax(dir string, segMax int64) (*Log, error) { return openLog(dir, segMax) }

// Batches is how many batches of records the store has written.
func (s *Log) Batches() int64 { return s.batches.Load() }
