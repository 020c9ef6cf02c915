package console

import "strings"

// navEntry is the header's navigation entry a path belongs to, "" for
// none: a packet's trace is part of the search, the rest of /ops/… of its
// own page. A document opened from a list marks no entry, since it may
// be incoming or outgoing.
func navEntry(path string) string {
	switch {
	case path == "/inbox", path == "/outbox", path == "/compose", path == "/ops",
		path == "/ops/search", path == "/ops/dead-letters", path == "/ops/directory", path == "/ops/log":
		return path
	case strings.HasPrefix(path, "/ops/packet/"):
		return "/ops/search"
	case strings.HasPrefix(path, "/ops/directory/"), strings.HasPrefix(path, "/ops/agencies/"):
		return "/ops/directory"
	case path == "/registers", strings.HasPrefix(path, "/registers/"):
		return "/registers"
	}
	return ""
}
