package config

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Secret is a value that must not appear in logs or dumps: it formats with
// every fmt verb, logs with slog and marshals to JSON, YAML and text as
// "[redacted]". Reveal returns the value.
type Secret string

const redacted = "[redacted]"

// Reveal returns the secret value.
func (s Secret) Reveal() string { return string(s) }

// String returns "[redacted]".
func (s Secret) String() string { return redacted }

// GoString returns "[redacted]", for %#v.
func (s Secret) GoString() string { return redacted }

// Format writes "[redacted]" for every verb and flag, so no formatting
// path reaches the underlying string.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// LogValue makes slog log "[redacted]".
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON returns "[redacted]" as a JSON string.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText returns "[redacted]"; YAML, TOML and XML encoders use it.
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

var (
	_ fmt.Formatter          = Secret("")
	_ fmt.GoStringer         = Secret("")
	_ slog.LogValuer         = Secret("")
	_ json.Marshaler         = Secret("")
	_ encoding.TextMarshaler = Secret("")
)

// TokenHashPrefix marks a token stored as its SHA-256 digest.
const TokenHashPrefix = "sha256:"

// MinSecretLen is the shortest plain token or VDXP secret Validate accepts.
const MinSecretLen = 16

// HashToken returns the form of a bearer token to store in the
// configuration: "sha256:" followed by the lowercase hex SHA-256 of tok.
func HashToken(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return TokenHashPrefix + hex.EncodeToString(sum[:])
}

// tokenDigest is the SHA-256 a stored token stands for: the decoded digest
// of a "sha256:<hex>" value, or the hash of a plain token.
func tokenDigest(stored Secret) ([sha256.Size]byte, error) {
	var d [sha256.Size]byte
	s := stored.Reveal()
	if len(s) >= len(TokenHashPrefix) && strings.EqualFold(s[:len(TokenHashPrefix)], TokenHashPrefix) {
		b, err := hex.DecodeString(s[len(TokenHashPrefix):])
		if err != nil || len(b) != sha256.Size {
			// The message must not echo the value: it may be a real token.
			return d, fmt.Errorf("%w: want %s followed by 64 hex digits", ErrBadToken, TokenHashPrefix)
		}
		copy(d[:], b)
		return d, nil
	}
	if s == "" {
		return d, fmt.Errorf("%w: empty", ErrBadToken)
	}
	return sha256.Sum256([]byte(s)), nil
}

// TokenDigests are the SHA-256 digests a's tokens stand for, leaving out
// malformed ones (Validate reports those).
func (a Agency) TokenDigests() [][sha256.Size]byte {
	var out [][sha256.Size]byte
	for _, stored := range a.Tokens {
		if d, err := tokenDigest(stored); err == nil {
			out = append(out, d)
		}
	}
	return out
}

// MatchToken reports whether tok is one of a's tokens. Tokens are compared
// as SHA-256 digests in constant time, and every stored token is compared,
// so the time taken tells nothing about which one matched or how close tok
// came. A malformed stored token matches nothing (Validate reports it).
func (a Agency) MatchToken(tok string) bool {
	if tok == "" {
		return false
	}
	got := sha256.Sum256([]byte(tok))
	match := 0
	for _, stored := range a.Tokens {
		want, err := tokenDigest(stored)
		ok := subtle.ConstantTimeCompare(got[:], want[:])
		if err != nil {
			ok = 0
		}
		match |= ok
	}
	return match == 1
}
