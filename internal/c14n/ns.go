package c14n

// nsStack holds namespace declarations of the open elements by prefix, so
// that a lookup costs the same however many declarations are in scope.
type nsStack struct {
	m     map[string][]string // prefix → namespace names, innermost last
	order []string            // prefixes in the order pushed
}

func (s *nsStack) push(prefix, uri string) {
	if s.m == nil {
		s.m = map[string][]string{}
	}
	s.m[prefix] = append(s.m[prefix], uri)
	s.order = append(s.order, prefix)
}

func (s *nsStack) lookup(prefix string) (string, bool) {
	if v := s.m[prefix]; len(v) > 0 {
		return v[len(v)-1], true
	}
	return "", false
}

func (s *nsStack) len() int { return len(s.order) }

// popTo drops the declarations pushed after the stack had n.
func (s *nsStack) popTo(n int) {
	for len(s.order) > n {
		p := s.order[len(s.order)-1]
		s.order = s.order[:len(s.order)-1]
		v := s.m[p]
		s.m[p] = v[:len(v)-1]
	}
}
