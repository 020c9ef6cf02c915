package edxml

import (
	"io"
)

// Limits bound what Parse accepts. A zero field takes its default.
type Limits struct {
	MaxDepth           int   // element nesting; real packets reach about 8
	MaxMarkupBytes     int64 // bytes outside attachment content
	MaxFieldBytes      int   // text of one element outside attachment content
	MaxElements        int   // elements in the whole packet
	MaxAttrs           int   // attributes of one element
	MaxTotalAttrs      int   // attributes in the whole packet
	MaxRecipients      int   // To elements
	MaxAttachments     int   // Attachment elements, and Reference elements
	MaxAttachmentBytes int64 // decoded bytes of one attachment
	MaxTotalBytes      int64 // decoded bytes of all attachments
	MaxZipEntries      int   // entries of one zip attachment
	MaxZipBytes        int64 // uncompressed bytes of one zip attachment, counted as produced
	MaxZipRatio        int64 // uncompressed bytes per byte of zip, beyond the first MiB
}

// DefaultLimits are generous for real traffic (tens of MB per packet,
// thousands of recipients: a real header is a few KB) and bound the markup's
// DOM, which costs about ten times the markup's size in memory, to some tens
// of MiB per packet at worst.
var DefaultLimits = Limits{
	MaxDepth:           64,
	MaxMarkupBytes:     4 << 20,
	MaxFieldBytes:      64 << 10,
	MaxElements:        100_000,
	MaxAttrs:           64,
	MaxTotalAttrs:      20_000,
	MaxRecipients:      10_000,
	MaxAttachments:     1_000,
	MaxAttachmentBytes: 2 << 30,
	MaxTotalBytes:      4 << 30,
	MaxZipEntries:      1_000,
	MaxZipBytes:        1 << 30,
	MaxZipRatio:        100,
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	set := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	set64 := func(v *int64, def int64) {
		if *v <= 0 {
			*v = def
		}
	}
	set(&l.MaxDepth, d.MaxDepth)
	set64(&l.MaxMarkupBytes, d.MaxMarkupBytes)
	set(&l.MaxFieldBytes, d.MaxFieldBytes)
	set(&l.MaxElements, d.MaxElements)
	set(&l.MaxAttrs, d.MaxAttrs)
	set(&l.MaxTotalAttrs, d.MaxTotalAttrs)
	set(&l.MaxRecipients, d.MaxRecipients)
	set(&l.MaxAttachments, d.MaxAttachments)
	set64(&l.MaxAttachmentBytes, d.MaxAttachmentBytes)
	set64(&l.MaxTotalBytes, d.MaxTotalBytes)
	set(&l.MaxZipEntries, d.MaxZipEntries)
	set64(&l.MaxZipBytes, d.MaxZipBytes)
	set64(&l.MaxZipRatio, d.MaxZipRatio)
	return l
}

// Options control Parse.
type Options struct {
	Limits
	// Attachment, when set, is called as the content of the index-th
	// attachment (counting from 0) starts; its decoded bytes are written
	// to the returned writer, which is closed afterwards if it is an
	// io.Closer. The attachment's metadata may follow its content in the
	// packet, so it is known only from the parsed Packet.
	Attachment func(index int) (io.Writer, error)
	// NoZipCheck skips the bounded unzip of zip attachments.
	NoZipCheck bool
	// TempDir is where zip attachments are spooled for checking.
	TempDir string
	// AllowLowercaseIDs accepts lowercase OrganIds (test systems).
	AllowLowercaseIDs bool
	// Kind, when set, is the kind the caller declared (the axis's
	// messagetype); a packet of the other kind is edxml.kind_mismatch.
	Kind Kind
}
