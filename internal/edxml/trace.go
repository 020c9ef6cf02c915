package edxml

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// ErrNoTraceList means the packet has no TraceHeaderList to add a hop to
// (status packets have none).
var ErrNoTraceList = errors.New("packet has no TraceHeaderList")

// WithTrace writes to dst a derived copy of src, the exact bytes p was
// parsed from, with a TraceHeader for the relay organID at time at added
// after the sender's TraceHeaders, as a peer such as the national axis
// expects. The copy no longer matches a signature over the original; the
// hub stores and serves the original and uses copies only on such bridges.
func WithTrace(dst io.Writer, src io.Reader, p *Packet, organID string, at time.Time) error {
	if p.traceAt < 0 {
		return ErrNoTraceList
	}
	var b strings.Builder
	x := &xmlWriter{}
	pfx := ""
	if p.tracePrefix != "" {
		pfx = p.tracePrefix + ":"
	}
	b.WriteString("<" + pfx + "TraceHeader><" + pfx + "OrganId>")
	b.WriteString(escape(x, organID))
	b.WriteString("</" + pfx + "OrganId><" + pfx + "Timestamp>" + FormatTimestamp(at))
	b.WriteString("</" + pfx + "Timestamp></" + pfx + "TraceHeader>")
	if x.err != nil {
		return x.err
	}
	n, err := io.CopyN(dst, src, p.traceAt)
	if err != nil {
		return fmt.Errorf("copy packet: %w", err)
	}
	if _, err := io.WriteString(dst, b.String()); err != nil {
		return fmt.Errorf("copy packet: %w", err)
	}
	m, err := io.Copy(dst, src)
	if err != nil {
		return fmt.Errorf("copy packet: %w", err)
	}
	if n+m != p.size {
		return fmt.Errorf("copy packet: read %d bytes, but the packet parsed had %d", n+m, p.size)
	}
	return nil
}
