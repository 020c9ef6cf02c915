package edxml

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// ID returns the packet id: the lowercase hex SHA-256 of the identifying
// fields joined with "\n", kind first (docs/contracts.md). For an edoc they
// are From, DocumentId, BussinessDocType and the sender's TraceHeader
// Timestamp; for a status From, ResponseFor/DocumentId, StatusCode and
// Timestamp. Timestamps are taken in canonical form when they parse, and
// status codes after their aliases are resolved.
func (p *Packet) ID() string {
	var fields []string
	switch p.Kind {
	case KindEdoc:
		ts := ""
		if p.Trace != nil && len(p.Trace.Headers) > 0 {
			ts = canonicalTimestamp(p.Trace.Headers[0].Timestamp)
		}
		fields = []string{string(KindEdoc), p.From(), p.DocumentID(), p.BusinessType(), ts}
	case KindStatus:
		fields = []string{string(KindStatus), p.From(), p.DocumentID(), string(p.Status.Code()), canonicalTimestamp(p.Status.Timestamp)}
	default:
		return ""
	}
	sum := sha256.Sum256([]byte(strings.Join(fields, "\n")))
	return hex.EncodeToString(sum[:])
}

func canonicalTimestamp(s string) string {
	if t, _, err := ParseTimestamp(s); err == nil {
		return FormatTimestamp(t)
	}
	return s
}
