package evidence

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"

	"github.com/lienthong/lienthong/internal/tsa"
)

// Stable codes of what an audit finds wrong (docs/evidence.md).
const (
	CodeBadCheckpoint = "log.bad_checkpoint"
	CodeBadProof      = "log.bad_proof"
	CodeFork          = "log.fork"
	CodeBadTimestamp  = "log.bad_timestamp"
)

// Error is an audit failure with its stable code.
type Error struct {
	Code string
	Err  error
}

func (e *Error) Error() string { return e.Code + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func fail(code, format string, a ...any) error {
	return &Error{Code: code, Err: fmt.Errorf(format, a...)}
}

// Code is err's stable code, "" when it has none.
func Code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// Proven is one leaf with its inclusion proof.
type Proven struct {
	Index int64    `json:"index"`
	Leaf  []byte   `json:"leaf"`  // canonical bytes (base64 in JSON)
	Proof [][]byte `json:"proof"` // node hashes, leaf to root
}

// Bundle is what GET /v1/packets/{id}/proof answers: a packet's leaves
// proven against one signed checkpoint. An auditor checks it with the
// log's public key alone (VerifyBundle).
type Bundle struct {
	V          int    `json:"v"`
	Checkpoint string `json:"checkpoint"` // the signed note
	// Timestamp is an RFC 3161 token over the SHA-256 of Checkpoint, when
	// the hub has a TSA (base64 DER in JSON).
	Timestamp []byte   `json:"timestamp,omitempty"`
	Leaves    []Proven `json:"leaves"`
}

// OpenCheckpoint checks a signed checkpoint against the log's key (the
// note's key name is the log's origin).
func OpenCheckpoint(signed []byte, v note.Verifier) (*log.Checkpoint, error) {
	cp, _, _, err := log.ParseCheckpoint(signed, v.Name(), v)
	if err != nil {
		return nil, fail(CodeBadCheckpoint, "%v", err)
	}
	return cp, nil
}

// Cosigned checks that signed carries a valid cosignature of every
// witness key given, besides the log's signature.
func Cosigned(signed []byte, v note.Verifier, witnesses []note.Verifier) error {
	n, err := note.Open(signed, note.VerifierList(append([]note.Verifier{v}, witnesses...)...))
	if err != nil {
		return fail(CodeBadCheckpoint, "%v", err)
	}
	for _, w := range witnesses {
		found := false
		for _, s := range n.Sigs {
			found = found || (s.Name == w.Name() && s.Hash == w.KeyHash())
		}
		if !found {
			return fail(CodeBadCheckpoint, "no valid cosignature of witness %s", w.Name())
		}
	}
	return nil
}

// VerifyBundle checks the checkpoint's signature, the cosignatures of
// the witnesses given, and every leaf's inclusion in it, and returns the
// leaves.
func VerifyBundle(b Bundle, v note.Verifier, witnesses ...note.Verifier) ([]Leaf, *log.Checkpoint, error) {
	cp, err := OpenCheckpoint([]byte(b.Checkpoint), v)
	if err != nil {
		return nil, nil, err
	}
	if err := Cosigned([]byte(b.Checkpoint), v, witnesses); err != nil {
		return nil, cp, err
	}
	if len(b.Leaves) == 0 {
		return nil, cp, fail(CodeBadProof, "no leaf to prove")
	}
	var out []Leaf
	for _, p := range b.Leaves {
		lf, err := ParseLeaf(p.Leaf)
		if err != nil {
			return nil, cp, fail(CodeBadProof, "leaf %d: %v", p.Index, err)
		}
		if p.Index < 0 {
			return nil, cp, fail(CodeBadProof, "leaf index %d", p.Index)
		}
		h := rfc6962.DefaultHasher.HashLeaf(p.Leaf)
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(p.Index), cp.Size, h, p.Proof, cp.Hash); err != nil {
			return nil, cp, fail(CodeBadProof, "leaf %d is not in the tree of size %d: %v", p.Index, cp.Size, err)
		}
		out = append(out, lf)
	}
	return out, cp, nil
}

// VerifyConsistency checks that the log of checkpoint newer extends that
// of older: both signed by v, and the proof links their roots. A failure
// of the proof between two validly signed checkpoints is a fork.
func VerifyConsistency(older, newer []byte, consistency [][]byte, v note.Verifier) error {
	a, err := OpenCheckpoint(older, v)
	if err != nil {
		return err
	}
	b, err := OpenCheckpoint(newer, v)
	if err != nil {
		return err
	}
	if a.Size > b.Size {
		a, b = b, a
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, a.Size, b.Size, consistency, a.Hash, b.Hash); err != nil {
		return fail(CodeFork, "the tree of size %d is not a prefix of the tree of size %d: %v", a.Size, b.Size, err)
	}
	return nil
}

// VerifyTimestamp checks the bundle's RFC 3161 token: over the SHA-256 of
// its checkpoint, by a TSA chaining to roots. It returns the TSA's time:
// the checkpoint, and every leaf it proves, existed then.
func VerifyTimestamp(b Bundle, roots *x509.CertPool) (time.Time, error) {
	if len(b.Timestamp) == 0 {
		return time.Time{}, fail(CodeBadTimestamp, "the bundle carries no time-stamp")
	}
	sum := sha256.Sum256([]byte(b.Checkpoint))
	at, err := tsa.Verify(b.Timestamp, sum[:], crypto.SHA256, roots, nil)
	if err != nil {
		return time.Time{}, fail(CodeBadTimestamp, "%v", err)
	}
	return at, nil
}
