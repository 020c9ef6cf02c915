package edxml

import "io"

// ParseReference reads every token through encoding/xml, as Parse did
// before the header tokenizer: the reference FuzzTokenizer checks against.
func ParseReference(r io.Reader, opts Options) (*Packet, error) { return parse(r, opts, true) }

// Internals are the fields WithTrace and Size rely on.
func Internals(p *Packet) (traceAt int64, tracePrefix string, size int64) {
	return p.traceAt, p.tracePrefix, p.size
}
