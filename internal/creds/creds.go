// Package creds keeps the bearer tokens operators issue and revoke at run
// time, from the console, on top of those in the configuration. Changes go
// to a compacted single-partition topic, <prefix>credentials, that every
// hub process follows from its start (bus.Follow), so a rotation reaches
// every replica within moments and survives restarts; a revoked token is
// refused even when the configuration still lists it.
//
// Only digests travel and are kept: a new token is shown once, to the
// operator who issued it. Each record carries an HMAC under a key the hub
// processes share (derived from the console's session key), so write
// access to the topic alone cannot mint or un-revoke a token.
package creds

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lienthong/lienthong/internal/bus"
)

// Actions of a change.
const (
	ActionIssue  = "issue"
	ActionRevoke = "revoke"
)

// Change is one record of the credentials topic, keyed by its digest so
// that compaction keeps a token's last change.
type Change struct {
	V       int       `json:"v"`
	OrganID string    `json:"organId"`
	Digest  string    `json:"digest"` // lowercase hex SHA-256 of the token
	Action  string    `json:"action"`
	By      string    `json:"by,omitempty"`
	At      time.Time `json:"at"`
	MAC     string    `json:"mac,omitempty"` // hex HMAC-SHA256 of the record without it
}

// mac is the record's HMAC under key.
func (c Change) mac(key []byte) string {
	c.MAC = ""
	return bus.RecordMAC(key, c)
}

// Authenticator maps a bearer token to its agency (api.Authenticator).
type Authenticator interface {
	Organ(token string) (string, bool)
}

// Errors.
var (
	ErrNotReady = errors.New("creds: the credentials topic is not read yet")
	ErrUnknown  = errors.New("creds: no such token")
)

// Config configures a Store.
type Config struct {
	Bus bus.Config
	// Publisher and Admin, when set, are the process's shared clients,
	// which the caller closes after the Store; when nil, New opens its
	// own from Bus and Close closes them.
	Publisher bus.Publisher
	Admin     *bus.Admin
	Topic     string // e.g. "lienthong.credentials"
	// ReplicationFactor of the topic; 0 leaves it to the broker.
	ReplicationFactor int
	// Base authenticates the tokens of the configuration.
	Base Authenticator
	// Key authenticates the records (at least 32 bytes); every process
	// following the topic needs the same one.
	Key []byte
	// Configured lists an agency's configured token digests, for Tokens
	// and for revoking them.
	Configured func(organ string) [][sha256.Size]byte
	// Canonical maps an agency's old code (alias) to its id; nil keeps
	// ids as they are.
	Canonical func(organ string) string
	Now       func() time.Time
}

// Store is the run-time overlay of tokens. Run must be going for changes
// made by other processes to arrive.
type Store struct {
	cfg   Config
	prod  bus.Publisher
	own   *bus.Producer // the producer New opened, if any
	ready chan struct{}
	once  sync.Once
	// lastRead is when Run last read a record or caught up (Unix nanoseconds).
	lastRead atomic.Int64

	mu      sync.RWMutex
	changes map[string]Change // by digest
}

// New creates the topic when missing.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Topic == "" || cfg.Base == nil {
		return nil, errors.New("creds: a topic and a base authenticator are needed")
	}
	if len(cfg.Key) < 32 {
		return nil, errors.New("creds: the record key must have at least 32 bytes")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Canonical == nil {
		cfg.Canonical = func(o string) string { return o }
	}
	admin, release, err := bus.AdminOf(cfg.Bus, cfg.Admin)
	if err != nil {
		return nil, err
	}
	defer release()
	err = admin.EnsureTopics(ctx, bus.TopicSpec{Name: cfg.Topic, Partitions: 1, ReplicationFactor: cfg.ReplicationFactor,
		Config: map[string]string{"cleanup.policy": "compact"}})
	var policy string
	if err == nil {
		// A topic made by someone else with the default "delete" policy
		// would drop revocations after its retention.
		policy, err = admin.TopicConfig(ctx, cfg.Topic, "cleanup.policy")
	}
	if err != nil {
		return nil, fmt.Errorf("creds: %w", err)
	}
	if policy != "compact" {
		return nil, fmt.Errorf("creds: topic %s has cleanup.policy %q: revocations would expire with retention; set it to compact", cfg.Topic, policy)
	}
	var own *bus.Producer
	if cfg.Publisher == nil {
		if own, err = bus.NewProducer(cfg.Bus); err != nil {
			return nil, err
		}
		cfg.Publisher = own
	}
	return &Store{cfg: cfg, prod: cfg.Publisher, own: own, ready: make(chan struct{}), changes: map[string]Change{}}, nil
}

// Close releases the producer New opened, if it opened one.
func (s *Store) Close() error {
	if s.own == nil {
		return nil
	}
	return s.own.Close()
}

// Run follows the topic until ctx ends.
func (s *Store) Run(ctx context.Context) error {
	return bus.Follow(ctx, s.cfg.Bus, s.cfg.Topic, func(m bus.Message) error {
		s.lastRead.Store(s.cfg.Now().UnixNano())
		var c Change
		if err := json.Unmarshal(m.Value, &c); err != nil || c.V != 1 || len(c.Digest) != 64 ||
			!hmac.Equal([]byte(c.MAC), []byte(c.mac(s.cfg.Key))) || string(m.Key) != c.Digest {
			return nil // not written by a hub with our key: it changes nothing
		}
		s.apply(c)
		return nil
	}, func() {
		s.lastRead.Store(s.cfg.Now().UnixNano())
		s.once.Do(func() { close(s.ready) })
	})
}

// LastRead is when Run last read a record of the topic or caught up with
// it (zero before): a replica whose value stops moving while others see
// issues and revocations is not following the topic.
func (s *Store) LastRead() time.Time {
	if n := s.lastRead.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// WaitReady waits until Run has read the changes made before it started.
func (s *Store) WaitReady(ctx context.Context) error {
	select {
	case <-s.ready:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrNotReady, ctx.Err())
	}
}

// IsReady tells, without waiting, whether Run has caught up.
func (s *Store) IsReady() bool { return s.isReady() }

func (s *Store) isReady() bool {
	select {
	case <-s.ready:
		return true
	default:
		return false
	}
}

func (s *Store) apply(c Change) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// A revocation is final: a replayed older issue does not undo it.
	if old, ok := s.changes[c.Digest]; ok && old.Action == ActionRevoke {
		return
	}
	s.changes[c.Digest] = c
}

// Organ authenticates tok: a revoked token is refused, an issued one
// names its agency, and any other goes to the configuration. Until the
// topic is read, every token is refused, so a revoked one never slips in
// at start-up.
func (s *Store) Organ(tok string) (string, bool) {
	if tok == "" || !s.isReady() {
		return "", false
	}
	sum := sha256.Sum256([]byte(tok))
	s.mu.RLock()
	c, ok := s.changes[hex.EncodeToString(sum[:])]
	s.mu.RUnlock()
	switch {
	case ok && c.Action == ActionRevoke:
		return "", false
	case ok && c.Action == ActionIssue:
		return c.OrganID, true
	}
	return s.cfg.Base.Organ(tok)
}

// Issue makes a new token for organ and returns it; only its digest is
// kept.
func (s *Store) Issue(ctx context.Context, organ, by string) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	tok := base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(tok))
	c := Change{V: 1, OrganID: s.cfg.Canonical(organ), Digest: hex.EncodeToString(sum[:]), Action: ActionIssue, By: by, At: s.cfg.Now().UTC()}
	if err := s.publish(ctx, c); err != nil {
		return "", err
	}
	return tok, nil
}

// Revoke refuses organ's token whose digest starts with prefix (at least
// 12 hex digits, as Tokens shows it), configured or issued.
func (s *Store) Revoke(ctx context.Context, organ, prefix, by string) error {
	prefix = strings.ToLower(prefix)
	if len(prefix) < 12 {
		return fmt.Errorf("%w: a fingerprint of at least 12 hex digits is needed", ErrUnknown)
	}
	var digest string
	for _, t := range s.Tokens(organ) {
		if strings.HasPrefix(t.Digest, prefix) {
			if digest != "" {
				return fmt.Errorf("%w: %s is ambiguous", ErrUnknown, prefix)
			}
			digest = t.Digest
		}
	}
	if digest == "" {
		return ErrUnknown
	}
	return s.publish(ctx, Change{V: 1, OrganID: s.cfg.Canonical(organ), Digest: digest, Action: ActionRevoke, By: by, At: s.cfg.Now().UTC()})
}

func (s *Store) publish(ctx context.Context, c Change) error {
	c.MAC = c.mac(s.cfg.Key)
	raw, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if err := s.prod.Produce(ctx, bus.Message{Topic: s.cfg.Topic, Key: []byte(c.Digest), Value: raw}); err != nil {
		return fmt.Errorf("creds: %w", err)
	}
	s.apply(c) // at once here; the other processes read it from the topic
	return nil
}

// Token describes one of an agency's tokens, never the token itself.
type Token struct {
	Digest  string // lowercase hex SHA-256
	Source  string // "config" or "console"
	Revoked bool
	By      string
	At      time.Time // when issued or revoked at run time
}

// Fingerprint is the short form operators see and revoke by.
func (t Token) Fingerprint() string { return t.Digest[:12] }

// Tokens lists organ's tokens: those of the configuration first, then
// those issued at run time, oldest first.
func (s *Store) Tokens(organ string) []Token {
	organ = s.cfg.Canonical(organ)
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []Token
	seen := map[string]bool{}
	if s.cfg.Configured != nil {
		for _, d := range s.cfg.Configured(organ) {
			t := Token{Digest: hex.EncodeToString(d[:]), Source: "config"}
			if c, ok := s.changes[t.Digest]; ok && c.Action == ActionRevoke {
				t.Revoked, t.By, t.At = true, c.By, c.At
			}
			seen[t.Digest] = true
			out = append(out, t)
		}
	}
	var issued []Token
	for _, c := range s.changes {
		if s.cfg.Canonical(c.OrganID) != organ || seen[c.Digest] {
			continue
		}
		issued = append(issued, Token{Digest: c.Digest, Source: "console", Revoked: c.Action == ActionRevoke, By: c.By, At: c.At})
	}
	slices.SortFunc(issued, func(a, b Token) int { return a.At.Compare(b.At) })
	return append(out, issued...)
}
