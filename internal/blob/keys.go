package blob

import (
	"fmt"
	"strings"
)

// MaxKeyLen is the longest key a Store accepts, in bytes.
const MaxKeyLen = 512

// MaxSegmentLen is the longest segment (between "/") of a key, in bytes: a
// segment becomes a file name on the fs Store and on versitygw's posix
// backend, where names stop at 255 bytes.
const MaxSegmentLen = 200

// PacketKey is the key of a packet's exact bytes:
// packets/<id[0:2]>/<id>/packet.xml. id is the packet id, 64 lowercase hex
// digits; for anything else PacketKey returns "", which every Store rejects
// with ErrInvalidKey.
func PacketKey(id string) string { return packetObjectKey(id, "packet.xml") }

// ReportKey is the key of a packet's verification report:
// packets/<id[0:2]>/<id>/verification.json, or "" when id is not a packet
// id (see PacketKey).
func ReportKey(id string) string { return packetObjectKey(id, "verification.json") }

// SignatureKey is the key of the detached CMS signature a packet was
// submitted with: packets/<id[0:2]>/<id>/signature.p7s, or "" when id is not
// a packet id. Kept so the signature stays verifiable after the fact.
func SignatureKey(id string) string { return packetObjectKey(id, "signature.p7s") }

// ReceiptKey is the key of the hub's receipt for a packet:
// packets/<id[0:2]>/<id>/receipt.json, or "" when id is not a packet id.
func ReceiptKey(id string) string { return packetObjectKey(id, "receipt.json") }

// packetObjectKey is the one place keys are built. The two-hex-digit fan-out
// keeps directories small on the fs Store and spreads S3 prefixes.
func packetObjectKey(id, name string) string {
	if !isLowerHex(id, 64) {
		return ""
	}
	return "packets/" + id[:2] + "/" + id + "/" + name
}

// ValidateKey reports whether key is acceptable to a Store: 1 to MaxKeyLen
// bytes of [A-Za-z0-9._/-], no leading or trailing "/", no empty segment,
// no "." segment, no segment longer than MaxSegmentLen and no "..". The
// rules keep keys safe as file paths and identical on every backend. The
// error wraps ErrInvalidKey.
func ValidateKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: empty", ErrInvalidKey)
	case len(key) > MaxKeyLen:
		return fmt.Errorf("%w: %d bytes, longer than %d", ErrInvalidKey, len(key), MaxKeyLen)
	case strings.Contains(key, ".."):
		return fmt.Errorf("%w: %q contains \"..\"", ErrInvalidKey, key)
	}
	if i := strings.IndexFunc(key, func(r rune) bool { return !keyByte(r) }); i >= 0 {
		return fmt.Errorf("%w: %q has a character outside [A-Za-z0-9._/-] at byte %d", ErrInvalidKey, key, i)
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch seg {
		case "":
			return fmt.Errorf("%w: %q has an empty segment", ErrInvalidKey, key)
		case ".":
			return fmt.Errorf("%w: %q has a \".\" segment", ErrInvalidKey, key)
		}
		if len(seg) > MaxSegmentLen {
			return fmt.Errorf("%w: a segment of %d bytes, longer than %d", ErrInvalidKey, len(seg), MaxSegmentLen)
		}
	}
	return nil
}

// validatePrefix checks a List prefix: any beginning of a valid key.
func validatePrefix(prefix string) error {
	if len(prefix) > MaxKeyLen {
		return fmt.Errorf("%w: prefix of %d bytes", ErrInvalidKey, len(prefix))
	}
	if i := strings.IndexFunc(prefix, func(r rune) bool { return !keyByte(r) }); i >= 0 {
		return fmt.Errorf("%w: prefix %q has a character outside [A-Za-z0-9._/-]", ErrInvalidKey, prefix)
	}
	return nil
}

func keyByte(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		r == '.' || r == '_' || r == '/' || r == '-'
}
