package organ

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxLen is the longest OrganId QCVN 102 allows, in characters (all ASCII).
const MaxLen = 35

// ErrEmpty reports an empty or whitespace-only id (edxml.missing_field).
var ErrEmpty = errors.New("empty agency id")

// ErrInvalid reports a malformed id (edxml.bad_organ_id).
var ErrInvalid = errors.New("invalid agency id")

// ID is a validated agency identifier (OrganId) such as 000.00.00.G22.
// Values built by conversion instead of Parse are not validated; methods on
// them do not panic but their results are meaningless.
type ID string

// Form tells which standard an ID follows.
type Form int

// The zero Form is no form, so an unset struct field is not mistaken for one.
const (
	Form2016 Form = iota + 1 // QCVN 102:2016, DDD.DD.DD.Xnn
	FormQD20                 // QĐ 20/2020, up to 35 chars of [0-9A-Z.]
)

func (f Form) String() string {
	switch f {
	case Form2016:
		return "2016"
	case FormQD20:
		return "QD20"
	}
	return fmt.Sprintf("Form(%d)", int(f))
}

// Policy relaxes parsing for environments that need it.
type Policy struct {
	// AllowLowercase admits [a-z], which test systems use (vxp.saas.03).
	// Production traffic must not rely on it: ids are compared case-sensitively.
	AllowLowercase bool
}

// Parse validates s after trimming surrounding whitespace, which XML
// pretty-printing and copy-paste add. Errors wrap ErrEmpty or ErrInvalid.
func Parse(s string) (ID, error) { return Policy{}.Parse(s) }

// Parse validates s under the policy; see the package-level Parse.
func (p Policy) Parse(s string) (ID, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		if s == "" {
			return "", ErrEmpty
		}
		return "", fmt.Errorf("%w: only whitespace", ErrEmpty)
	}
	if reason := p.check(t); reason != "" {
		return "", fmt.Errorf("%w %q: %s", ErrInvalid, clip(t), reason)
	}
	return ID(t), nil
}

// check returns why t is not a valid id, or "" when it is.
func (p Policy) check(t string) string {
	// Characters first: a length in bytes would misreport non-ASCII input.
	for i, r := range t {
		switch {
		case r >= '0' && r <= '9', r >= 'A' && r <= 'Z', r == '.':
		case r >= 'a' && r <= 'z':
			if !p.AllowLowercase {
				return fmt.Sprintf("lowercase letter %q at offset %d (only test systems may use lowercase)", r, i)
			}
		case r == utf8.RuneError && !validRuneAt(t, i):
			return fmt.Sprintf("invalid UTF-8 at offset %d", i)
		case r >= utf8.RuneSelf:
			return fmt.Sprintf("non-ASCII character %q (%U) at offset %d", r, r, i)
		case r < ' ' || r == 0x7f:
			return fmt.Sprintf("control character %U at offset %d", r, i)
		default:
			return fmt.Sprintf("character %q at offset %d (allowed: 0-9, A-Z and '.')", r, i)
		}
	}
	if len(t) > MaxLen {
		return fmt.Sprintf("%d characters, more than %d", len(t), MaxLen)
	}
	switch {
	case !strings.Contains(t, "."):
		return "no dot"
	case t[0] == '.':
		return "leading dot"
	case t[len(t)-1] == '.':
		return "trailing dot"
	}
	if i := strings.Index(t, ".."); i >= 0 {
		return fmt.Sprintf("doubled dot at offset %d", i)
	}
	return ""
}

// validRuneAt tells a literal U+FFFD from a decoding error.
func validRuneAt(s string, i int) bool {
	_, size := utf8.DecodeRuneInString(s[i:])
	return size == 3
}

// clip keeps error messages bounded when the input is hostile.
func clip(s string) string {
	const limit = 48
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// is2016 matches ^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$ with ASCII digits only.
func is2016(s string) bool {
	if len(s) != 13 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 3, 6, 9:
			if c != '.' {
				return false
			}
		case 10:
			if c < 'A' || c > 'Z' {
				return false
			}
		default:
			if c < '0' || c > '9' {
				return false
			}
		}
	}
	return true
}

// groups2016 are the byte ranges of the numeric groups, leftmost (lowest
// level) first.
var groups2016 = [3][2]int{{0, 3}, {4, 6}, {7, 9}}

func isZero(s string) bool { return strings.Trim(s, "0") == "" }

// Form reports the standard id follows. A string matching the 2016 pattern is
// 2016 form; anything else is QĐ 20 form.
func (id ID) Form() Form {
	if is2016(string(id)) {
		return Form2016
	}
	return FormQD20
}

// Parent returns the id one level up, computed from the string alone. It is
// false at level 1.
//
// A QĐ 20 parent drops the rightmost group. Since a valid id needs a dot, a
// two-group QĐ 20 id (A.B) is level 1: dropping a group would leave "A", which
// is not an id, and every parent must itself be a valid id. A QĐ 20 id whose
// first four groups form a 2016 id (000.00.00.G22.X) continues into the 2016
// hierarchy, since that prefix is 2016 form by the format's own rule.
func (id ID) Parent() (ID, bool) {
	s := string(id)
	if is2016(s) {
		for _, g := range groups2016 {
			if !isZero(s[g[0]:g[1]]) {
				b := []byte(s)
				for i := g[0]; i < g[1]; i++ {
					b[i] = '0'
				}
				return ID(b), true
			}
		}
		return "", false
	}
	i := strings.LastIndexByte(s, '.')
	if i <= 0 || !strings.Contains(s[:i], ".") {
		return "", false
	}
	return ID(s[:i]), true
}

// Ancestors lists the computed ancestors, nearest first.
func (id ID) Ancestors() []ID {
	var out []ID
	for p, ok := id.Parent(); ok; p, ok = p.Parent() {
		out = append(out, p)
	}
	return out
}

// IsUnder reports whether id is a strict descendant of anc.
func (id ID) IsUnder(anc ID) bool {
	for p, ok := id.Parent(); ok; p, ok = p.Parent() {
		if p == anc {
			return true
		}
	}
	return false
}

// Level is 1 at the top and grows by one per Parent step, so it always equals
// len(id.Ancestors())+1.
func (id ID) Level() int {
	s := string(id)
	n := 1
	for !is2016(s) {
		i := strings.LastIndexByte(s, '.')
		if i <= 0 || !strings.Contains(s[:i], ".") {
			return n
		}
		s = s[:i]
		n++
	}
	for _, g := range groups2016 {
		if !isZero(s[g[0]:g[1]]) {
			n++
		}
	}
	return n
}
