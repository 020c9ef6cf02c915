package c14n

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// validURI reports whether s is an absolute URI by RFC 3986 (a fragment
// allowed), the test libxml2's C14N applies to namespace names.
func validURI(s string) bool {
	colon := strings.IndexByte(s, ':')
	if colon < 1 || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < colon; i++ {
		if b := s[i]; !isAlpha(b) && !isDigit(b) && b != '+' && b != '-' && b != '.' {
			return false
		}
	}
	rest := s[colon+1:]
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		if !uriChars(rest[i+1:], "/?") {
			return false
		}
		rest = rest[:i]
	}
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		if !uriChars(rest[i+1:], "/?") {
			return false
		}
		rest = rest[:i]
	}
	if auth, ok := strings.CutPrefix(rest, "//"); ok {
		path := ""
		if i := strings.IndexByte(auth, '/'); i >= 0 {
			auth, path = auth[:i], auth[i:]
		}
		return validAuthority(auth) && uriChars(path, "/")
	}
	return uriChars(rest, "/")
}

func validAuthority(s string) bool {
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		if !uriChars(s[:i], "") || strings.ContainsRune(s[:i], '@') {
			return false
		}
		s = s[i+1:]
	}
	host, port := s, ""
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return false
		}
		for _, b := range []byte(s[1:end]) {
			if !isHex(b) && b != ':' && b != '.' && !isAlpha(b) {
				return false
			}
		}
		host, port = "", s[end+1:]
		if port != "" && port[0] != ':' {
			return false
		}
	} else if i := strings.LastIndexByte(s, ':'); i >= 0 {
		host, port = s[:i], s[i:]
	}
	for _, b := range []byte(strings.TrimPrefix(port, ":")) {
		if !isDigit(b) {
			return false
		}
	}
	return !strings.ContainsAny(host, ":@") && uriChars(host, "")
}

// uriChars reports whether s is made of pchar (unreserved, pct-encoded,
// sub-delims, ':' and '@') and the bytes of extra.
func uriChars(s, extra string) bool {
	for i := 0; i < len(s); i++ {
		b := s[i]
		switch {
		case isAlpha(b), isDigit(b), strings.IndexByte("-._~!$&'()*+,;=:@", b) >= 0, strings.IndexByte(extra, b) >= 0:
		case b == '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return false
			}
			i += 2
		default:
			return false
		}
	}
	return true
}

func isAlpha(b byte) bool { return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' }
func isDigit(b byte) bool { return '0' <= b && b <= '9' }
func isHex(b byte) bool   { return isDigit(b) || 'a' <= b && b <= 'f' || 'A' <= b && b <= 'F' }

// isName is a loose NCName test for PrefixList entries.
func isName(b []byte) bool {
	for i := 0; len(b) > 0; i++ {
		r, size := utf8.DecodeRune(b)
		switch {
		case r == utf8.RuneError && size == 1:
			return false
		case unicode.IsLetter(r) || r == '_':
		case i > 0 && (unicode.IsDigit(r) || r == '-' || r == '.' || unicode.In(r, unicode.Mn, unicode.Mc)):
		default:
			return false
		}
		b = b[size:]
	}
	return true
}
