package console

// SetRegisterRows sets the rows of a register's page, for a test.
func SetRegisterRows(n int) (undo func()) {
	old := registerRows.Swap(int64(n))
	return func() { registerRows.Store(old) }
}
