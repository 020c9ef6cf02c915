// Package logouts keeps the console sessions signed out before they
// expire, shared by every hub replica. Sessions live in signed cookies
// that any replica with the session key accepts; a sign-out on one replica
// goes to the topic <prefix>sessions, which every process follows from
// its start (bus.Follow), so the cookie is refused everywhere within
// moments and after restarts. A record is kept only as long as the
// session could have lasted: the topic's retention (a week by default)
// must exceed the session lifetime (8 hours).
//
// Each record carries an HMAC under a key the processes share (derived
// from the console's session key), so write access to the topic alone can
// sign people out but not in.
package logouts

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/lienthong/lienthong/internal/bus"
)

// Retention is the default retention of the topic.
const Retention = 7 * 24 * time.Hour

// MinRetention is the least retention New accepts on an existing topic:
// a sign-out must outlive the session it ends (8 hours), with a margin.
const MinRetention = 24 * time.Hour

// ErrNotReady is the answer while the topic is not read up to date yet.
var ErrNotReady = errors.New("logouts: the sessions topic is not read yet")

// Config configures a Store.
type Config struct {
	Bus bus.Config
	// Publisher and Admin, when set, are the process's shared clients,
	// which the caller closes after the Store; when nil, New opens its
	// own from Bus and Close closes them.
	Publisher bus.Publisher
	Admin     *bus.Admin
	Topic     string // e.g. "lienthong.sessions"
	// ReplicationFactor of the topic; 0 leaves it to the broker.
	ReplicationFactor int
	// Key authenticates the records (at least 32 bytes).
	Key []byte
	// WriteWait bounds writing one sign-out to the topic (zero: 2 s), so
	// a sign-out answers while the broker is away.
	WriteWait time.Duration
	Now       func() time.Time
}

// DefaultWriteWait is WriteWait's default, the hub's wait for the broker.
const DefaultWriteWait = 2 * time.Second

type record struct {
	V     int       `json:"v"`
	ID    string    `json:"id"`
	Until time.Time `json:"until"`
	MAC   string    `json:"mac,omitempty"`
}

func (r record) mac(key []byte) string {
	r.MAC = ""
	return bus.RecordMAC(key, r)
}

// Store is the shared list; it implements console.Revocations. Run must
// be going for sign-outs on other replicas to arrive.
type Store struct {
	cfg   Config
	prod  bus.Publisher
	own   *bus.Producer // the producer New opened, if any
	ready chan struct{}
	once  sync.Once

	mu    sync.RWMutex
	until map[string]time.Time
	adds  int
}

// New creates the topic when missing.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Topic == "" || len(cfg.Key) < 32 {
		return nil, errors.New("logouts: a topic and a record key of at least 32 bytes are needed")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.WriteWait <= 0 {
		cfg.WriteWait = DefaultWriteWait
	}
	admin, release, err := bus.AdminOf(cfg.Bus, cfg.Admin)
	if err != nil {
		return nil, err
	}
	defer release()
	err = admin.EnsureTopics(ctx, bus.TopicSpec{Name: cfg.Topic, Partitions: 1, ReplicationFactor: cfg.ReplicationFactor,
		Config: map[string]string{"cleanup.policy": "delete", "retention.ms": strconv.FormatInt(Retention.Milliseconds(), 10)}})
	var retention string
	if err == nil {
		// A topic made by someone else with a short retention would let a
		// signed-out session back in once its record expired.
		retention, err = admin.TopicConfig(ctx, cfg.Topic, "retention.ms")
	}
	if err != nil {
		return nil, fmt.Errorf("logouts: %w", err)
	}
	if ms, err := strconv.ParseInt(retention, 10, 64); err == nil && ms >= 0 && time.Duration(ms)*time.Millisecond < MinRetention {
		return nil, fmt.Errorf("logouts: topic %s keeps records %v, less than the %v a sign-out must last; raise its retention.ms", cfg.Topic, time.Duration(ms)*time.Millisecond, MinRetention)
	}
	var own *bus.Producer
	if cfg.Publisher == nil {
		if own, err = bus.NewProducer(cfg.Bus); err != nil {
			return nil, err
		}
		cfg.Publisher = own
	}
	return &Store{cfg: cfg, prod: cfg.Publisher, own: own, ready: make(chan struct{}), until: map[string]time.Time{}}, nil
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
		var r record
		if err := json.Unmarshal(m.Value, &r); err != nil || r.V != 1 || r.ID == "" ||
			!hmac.Equal([]byte(r.MAC), []byte(r.mac(s.cfg.Key))) {
			return nil // not written by a hub with our key
		}
		s.apply(r.ID, r.Until)
		return nil
	}, func() { s.once.Do(func() { close(s.ready) }) })
}

// IsReady tells whether Run has read the sign-outs made before it started.
func (s *Store) IsReady() bool {
	select {
	case <-s.ready:
		return true
	default:
		return false
	}
}

func (s *Store) apply(id string, until time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.until[id] = until
	s.adds++
	if s.adds%1024 == 0 { // forget sessions that have expired anyway
		now := s.cfg.Now()
		for k, t := range s.until {
			if now.After(t) {
				delete(s.until, k)
			}
		}
	}
}

// Revoked tells whether session id was signed out; until the topic is
// read, every session counts as signed out.
func (s *Store) Revoked(id string) bool {
	if !s.IsReady() {
		return true
	}
	s.mu.RLock()
	_, ok := s.until[id]
	s.mu.RUnlock()
	return ok
}

// Revoke signs session id out on every replica; until is when it expires.
// It ends the session here at once, whatever the broker does; the write
// that tells the others waits at most WriteWait, and its failure is
// returned.
func (s *Store) Revoke(ctx context.Context, id string, until time.Time) error {
	s.apply(id, until) // at once here; the others read it from the topic
	r := record{V: 1, ID: id, Until: until.UTC()}
	r.MAC = r.mac(s.cfg.Key)
	raw, err := json.Marshal(r)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.WriteWait)
	defer cancel()
	if err := s.prod.Produce(ctx, bus.Message{Topic: s.cfg.Topic, Key: []byte(id), Value: raw}); err != nil {
		return fmt.Errorf("logouts: %w", err)
	}
	return nil
}
