package console

// SetPasswordCheck replaces the password check (argon2id) for a test and
// returns what undoes it.
func SetPasswordCheck(f func(hash, pw string) bool) (undo func()) {
	old := passwordCheck
	passwordCheck = f
	return func() { passwordCheck = old }
}

// DummyHash is what unknown user names are checked against.
var DummyHash = dummyHash
