package edxml

import (
	"archive/zip"
	"errors"
	"io"
	"strings"
)

// ratioFloor is the output allowed before the ratio limit applies, so that
// a small zip of a very compressible file is not taken for a bomb.
const ratioFloor = 1 << 20

// checkZip opens a spooled zip attachment and inflates every entry into
// nothing, counting the bytes produced (declared sizes may lie). It expands
// one level only, allows Store and Deflate, and refuses encryption.
func (ps *parser) checkZip(a *attachmentState) error {
	size := a.size
	zr, err := zip.NewReader(a.spool, size)
	if err != nil {
		a.fail(CodeAttachmentEncoding, "zip attachment cannot be read: %s", ps.zipError(a, err))
		return nil
	}
	if len(zr.File) > ps.lim.MaxZipEntries {
		a.fail(CodeAttachmentTooLarge, "zip attachment has %d entries, more than %d", len(zr.File), ps.lim.MaxZipEntries)
		return nil
	}
	budget := min(ps.lim.MaxZipBytes, max(size*ps.lim.MaxZipRatio, ratioFloor))
	var produced int64
	for _, f := range zr.File {
		if f.Flags&0x1 != 0 {
			a.fail(CodeAttachmentEncoding, "zip entry %q is encrypted", f.Name)
			return nil
		}
		if f.Method != zip.Store && f.Method != zip.Deflate {
			a.fail(CodeAttachmentEncoding, "zip entry %q uses compression method %d", f.Name, f.Method)
			return nil
		}
		rc, err := f.Open()
		if err != nil {
			a.fail(CodeAttachmentEncoding, "zip entry %q: %s", f.Name, ps.zipError(a, err))
			return nil
		}
		n, err := io.Copy(io.Discard, io.LimitReader(rc, budget-produced+1))
		rc.Close() //nolint:errcheck // read-only
		produced += n
		if produced > budget {
			a.fail(CodeAttachmentTooLarge, "zip attachment inflates beyond %d bytes (limit %d bytes, ratio %d:1)", budget, ps.lim.MaxZipBytes, ps.lim.MaxZipRatio)
			return nil
		}
		if err != nil {
			if errors.Is(err, zip.ErrChecksum) {
				a.fail(CodeAttachmentEncoding, "zip entry %q fails its CRC check", f.Name)
			} else {
				a.fail(CodeAttachmentEncoding, "zip entry %q: %s", f.Name, ps.zipError(a, err))
			}
			return nil
		}
		a.entries = append(a.entries, ZipEntry{Name: f.Name, Size: n})
	}
	return nil
}

// zipError is err's text without the spool file's name, which archive/zip's
// read errors quote: the message goes back to the sender.
func (ps *parser) zipError(a *attachmentState, err error) string {
	return strings.ReplaceAll(err.Error(), a.spool.Name(), "the spooled zip")
}
