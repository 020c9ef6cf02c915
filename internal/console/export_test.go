package console

import "errors"

// SetPasswordCheck replaces the password check (argon2id) for a test and
// returns what undoes it.
func SetPasswordCheck(f func(hash, pw string) bool) (undo func()) {
	old := passwordCheck
	passwordCheck = f
	return func() { passwordCheck = old }
}

// HashPasswordWith hashes pw with argon2id parameters other than the
// defaults (memory in KiB, time, threads), as an older or another tool's
// hash may carry.
func HashPasswordWith(pw string, memory, time uint32, threads uint8) (string, error) {
	if pw == "" {
		return "", errors.New("empty password")
	}
	return hashWith(pw, phc{memory: memory, time: time, threads: threads, key: make([]byte, argonKeyLen)})
}

// FailKeys captures the consoles New builds from now on and returns what
// lists the sign-in failure keys they track, and what stops capturing.
func FailKeys() (keys func() []string, undo func()) {
	var servers []*server
	onNew = func(s *server) { servers = append(servers, s) }
	return func() []string {
		var ks []string
		for _, s := range servers {
			s.guard.mu.Lock()
			for k := range s.guard.fails {
				ks = append(ks, k)
			}
			s.guard.mu.Unlock()
		}
		return ks
	}, func() { onNew = nil }
}
