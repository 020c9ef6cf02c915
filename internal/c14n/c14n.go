package c14n

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
)

// The canonicalization algorithms, as named in XML-DSig.
const (
	Inclusive             = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
	InclusiveWithComments = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments"
	Exclusive             = "http://www.w3.org/2001/10/xml-exc-c14n#"
	ExclusiveWithComments = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments"
)

// DSigNamespace is the namespace of the Signature element that the
// enveloped-signature transform leaves out.
const DSigNamespace = "http://www.w3.org/2000/09/xmldsig#"

// Defaults for the zero fields of Options.
const (
	DefaultMaxDepth  = 64
	DefaultMaxMarkup = 8 << 20
)

// Options select the algorithm and bound the work.
type Options struct {
	Algorithm  string   // one of Inclusive, InclusiveWithComments, Exclusive, ExclusiveWithComments
	PrefixList []string // exclusive only: the InclusiveNamespaces PrefixList; "#default" is the default namespace
	MaxDepth   int      // element nesting; 0 means DefaultMaxDepth
	MaxMarkup  int64    // bytes of markup (all but text and CDATA content); 0 means DefaultMaxMarkup
}

// Sentinel errors, matched with errors.Is. A problem with the document is
// an *Error wrapping one of the first four; an I/O error from r or w is
// returned wrapped but otherwise as it is.
var (
	ErrMalformed = errors.New("not well-formed")
	ErrDTD       = errors.New("DOCTYPE and entity declarations are not allowed")
	ErrTooDeep   = errors.New("elements nest too deep")
	ErrTooLarge  = errors.New("too much markup")
	ErrOptions   = errors.New("bad canonicalization options")
)

// Error is a problem with the input document.
type Error struct {
	Offset int64  // input bytes read when the problem was found
	Msg    string // what is wrong
	Err    error  // ErrMalformed, ErrDTD, ErrTooDeep or ErrTooLarge
}

func (e *Error) Error() string {
	return fmt.Sprintf("c14n: at byte %d: %s", e.Offset, e.Msg)
}

func (e *Error) Unwrap() error { return e.Err }

// Enveloped writes to w the canonical form of the document read from r, as
// the octets a Reference with URI="" yields after the enveloped-signature
// transform (the first element {http://www.w3.org/2000/09/xmldsig#}Signature
// in document order is left out, with its subtree) and the canonicalization.
// Text of any size streams through in bounded memory.
//
// Comments are never output: URI="" selects the document without comments
// (XML-DSig §4.3.3.3), so the #WithComments algorithms give the same octets
// as the plain ones. The input must be UTF-8 without a DTD. On error, w
// may have received part of the output.
func Enveloped(w io.Writer, r io.Reader, opts Options) error {
	c, err := newCanon(opts)
	if err != nil {
		return err
	}
	st := statePool.Get().(*state)
	defer func() {
		st.br.Reset(nil)
		st.sink = sink{}
		st.bw.Reset(&st.sink)
		statePool.Put(st)
	}()
	st.br.Reset(r)
	st.sink = sink{w: w}
	st.bw.Reset(&st.sink)
	c.init(st)
	if err := c.run(); err != nil {
		return err
	}
	if err := st.bw.Flush(); err != nil {
		return fmt.Errorf("write canonical form: %w", err)
	}
	return nil
}

// state holds the buffers that outlive one call; allocating and zeroing
// them for every small document would cost more than canonicalising it.
type state struct {
	br   *bufio.Reader
	bw   *bufio.Writer
	sink sink
	raw  []byte // the current start tag or processing instruction
	val  []byte // an attribute value being normalised
}

const bufSize = 64 << 10

var statePool = sync.Pool{New: func() any {
	return &state{br: bufio.NewReaderSize(nil, bufSize), bw: bufio.NewWriterSize(nil, bufSize), raw: make([]byte, 0, 1024)}
}}

func newCanon(opts Options) (*canon, error) {
	c := &canon{maxDepth: opts.MaxDepth, maxMarkup: opts.MaxMarkup}
	switch opts.Algorithm {
	case Inclusive, InclusiveWithComments:
		if len(opts.PrefixList) > 0 {
			return nil, fmt.Errorf("%w: a PrefixList needs exclusive canonicalization", ErrOptions)
		}
	case Exclusive, ExclusiveWithComments:
		c.exclusive = true
	default:
		return nil, fmt.Errorf("%w: unknown algorithm %q", ErrOptions, opts.Algorithm)
	}
	for _, p := range opts.PrefixList {
		switch {
		case p == "#default":
			p = ""
		case p == "" || strings.ContainsAny(p, ": \t\r\n") || !isName([]byte(p)):
			return nil, fmt.Errorf("%w: bad prefix %q in PrefixList", ErrOptions, p)
		}
		c.prefixList = append(c.prefixList, p)
	}
	if c.maxDepth <= 0 {
		c.maxDepth = DefaultMaxDepth
	}
	if c.maxMarkup <= 0 {
		c.maxMarkup = DefaultMaxMarkup
	}
	return c, nil
}
