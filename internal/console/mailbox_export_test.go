package console

// SetListPageSize lowers the rows of a list page for a test and returns
// what undoes it.
func SetListPageSize(n int) (undo func()) {
	old := listPageSize
	listPageSize = n
	return func() { listPageSize = old }
}
