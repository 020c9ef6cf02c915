package blob

import (
	"fmt"
	"log/slog"
)

// SecretString holds a secret (an S3 secret key). It prints, logs and
// marshals as "[REDACTED]" (or "" when empty); Reveal returns the value.
type SecretString string

const redacted = "[REDACTED]"

// Reveal returns the secret itself, for the one place that needs it.
func (s SecretString) Reveal() string { return string(s) }

func (s SecretString) shown() string {
	if s == "" {
		return ""
	}
	return redacted
}

// String implements fmt.Stringer.
func (s SecretString) String() string { return s.shown() }

// GoString implements fmt.GoStringer (%#v).
func (s SecretString) GoString() string { return fmt.Sprintf("blob.SecretString(%q)", s.shown()) }

// Format implements fmt.Formatter, so that no verb (%x, %q, %d) prints the
// value.
func (s SecretString) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, s.GoString())
		return
	}
	fmt.Fprint(f, s.shown())
}

// LogValue implements slog.LogValuer.
func (s SecretString) LogValue() slog.Value { return slog.StringValue(s.shown()) }

// MarshalText implements encoding.TextMarshaler (JSON, YAML, slog's JSON
// handler). It redacts: a marshalled config never carries the secret.
func (s SecretString) MarshalText() ([]byte, error) { return []byte(s.shown()), nil }
