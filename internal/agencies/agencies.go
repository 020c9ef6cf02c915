// Package agencies lets operators add, change and retire agencies at run
// time, on top of those of the configuration, without a restart. Changes
// go to a compacted single-partition topic, <prefix>agencies, keyed by
// OrganId, that every hub process follows from its start (bus.Follow):
// each record is the agency's whole directory entry or a retirement. The
// live organ.Directory every component holds is replaced, at once, by the
// configuration's agencies overlaid by the topic's records.
//
// Records carry an HMAC under a key the hub processes share, as those of
// internal/creds do, so write access to the topic alone cannot route
// packets to an agency of its own. Every change is also appended to
// <prefix>agencies.audit, which is never compacted: the audit trail of
// who changed which agency and when.
package agencies

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/internal/organ"
)

// Actions of a change.
const (
	ActionSet    = "set"
	ActionRetire = "retire"
)

// Change is one record of the agencies topic, keyed by OrganId so that
// compaction keeps an agency's last change. A retirement is a record, not
// a Kafka tombstone: compaction would drop a tombstone, and an agency of
// the configuration would come back.
type Change struct {
	V       int           `json:"v"`
	OrganID string        `json:"organId"`
	Action  string        `json:"action"`
	Agency  *organ.Agency `json:"agency,omitempty"` // the whole entry, for ActionSet
	// Secrets, for ActionSet, are the agency's sealed Secrets, which then
	// replace those of the configuration; empty keeps the configuration's.
	Secrets string    `json:"secrets,omitempty"`
	By      string    `json:"by,omitempty"`
	At      time.Time `json:"at"`
	MAC     string    `json:"mac,omitempty"` // hex HMAC-SHA256 of the record without it
}

func (c Change) mac(key []byte) string {
	c.MAC = ""
	return bus.RecordMAC(key, c)
}

// valid reports whether c is well formed and signed with key.
func (c Change) valid(key []byte, msgKey string) bool {
	if c.V != 1 || c.OrganID == "" || msgKey != c.OrganID || !hmac.Equal([]byte(c.MAC), []byte(c.mac(key))) {
		return false
	}
	switch c.Action {
	case ActionSet:
		return c.Agency != nil && string(c.Agency.ID) == c.OrganID
	case ActionRetire:
		return c.Agency == nil && c.Secrets == ""
	}
	return false
}

// Errors.
var (
	ErrNotReady = errors.New("agencies: the agencies topic is not read yet")
	ErrInvalid  = errors.New("agencies: invalid change")
	ErrUnknown  = errors.New("agencies: no such agency")
)

// Config configures a Store.
type Config struct {
	Bus bus.Config
	// Publisher and Admin, when set, are the process's shared clients,
	// which the caller closes after the Store; when nil, New opens its
	// own from Bus and Close closes them.
	Publisher bus.Publisher
	Admin     *bus.Admin
	Topic     string // e.g. "lienthong.agencies"; the audit trail is Topic+".audit"
	// ReplicationFactor of the topics; 0 leaves it to the broker.
	ReplicationFactor int
	// Key authenticates the records (at least 32 bytes); every process
	// following the topic needs the same one.
	Key []byte
	// Directory is the live directory every component holds. Its entries
	// at New are the configuration's; Run replaces them with those
	// overlaid by the topic.
	Directory *organ.Directory
	Policy    organ.Policy
	// Base are the configuration's agencies with their credentials, which
	// Credentials overlays; Validate, when set, checks the overlaid list
	// (config.Config.ValidateAgencies) before a change is published and
	// as it is applied, so replicas refuse the same conflicting changes.
	Base     []config.Agency
	Validate func([]config.Agency) error
	// OnIgnored, when set, is told of each record of the topic that is
	// ignored: reason "unsigned" (not signed by a hub, or secrets that do
	// not open) or "conflict" (an entry the directory or the credentials'
	// rules refuse).
	OnIgnored func(reason string)
	// Inbox names an agency's inbox topic, which Set creates before the
	// change is published, so no replica routes to a missing topic.
	Inbox func(organID string) string
	Log   *slog.Logger
	Now   func() time.Time
}

// Store is the run-time overlay of agencies. Run must be going for changes
// made by other processes to arrive.
type Store struct {
	cfg   Config
	base  []organ.Agency // the configuration's
	prod  bus.Publisher
	own   *bus.Producer
	admin *bus.Admin
	close func()
	ready chan struct{}
	once  sync.Once

	changed chan struct{} // a token after each change applied

	mu      sync.Mutex
	changes map[string]Change     // by OrganId
	secrets map[string]*Secrets   // opened Change.Secrets, by OrganId
	waiting map[string]chan error // publishes waiting to be read back, by MAC
}

// New creates the topics when missing.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Topic == "" || cfg.Directory == nil || cfg.Inbox == nil {
		return nil, errors.New("agencies: a topic, a directory and inbox names are needed")
	}
	if len(cfg.Key) < 32 {
		return nil, errors.New("agencies: the record key must have at least 32 bytes")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.OnIgnored == nil {
		cfg.OnIgnored = func(string) {}
	}
	admin, release, err := bus.AdminOf(cfg.Bus, cfg.Admin)
	if err != nil {
		return nil, err
	}
	err = admin.EnsureTopics(ctx,
		bus.TopicSpec{Name: cfg.Topic, Partitions: 1, ReplicationFactor: cfg.ReplicationFactor, Config: map[string]string{"cleanup.policy": "compact"}},
		bus.TopicSpec{Name: cfg.Topic + ".audit", Partitions: 1, ReplicationFactor: cfg.ReplicationFactor})
	var policy string
	if err == nil {
		// With "delete", retirements would expire and retired agencies
		// come back.
		policy, err = admin.TopicConfig(ctx, cfg.Topic, "cleanup.policy")
	}
	if err == nil && policy != "compact" {
		err = fmt.Errorf("topic %s has cleanup.policy %q: changes would expire with retention; set it to compact", cfg.Topic, policy)
	}
	if err != nil {
		release()
		return nil, fmt.Errorf("agencies: %w", err)
	}
	s := &Store{cfg: cfg, base: cfg.Directory.Agencies(), admin: admin, close: release, ready: make(chan struct{}),
		changed: make(chan struct{}, 1), changes: map[string]Change{}, secrets: map[string]*Secrets{}, waiting: map[string]chan error{}}
	if cfg.Publisher == nil {
		if s.own, err = bus.NewProducer(cfg.Bus); err != nil {
			release()
			return nil, err
		}
		cfg.Publisher = s.own
	}
	s.prod = cfg.Publisher
	return s, nil
}

// Close releases the clients New opened.
func (s *Store) Close() error {
	s.close()
	if s.own == nil {
		return nil
	}
	return s.own.Close()
}

// Run follows the topic until ctx ends.
func (s *Store) Run(ctx context.Context) error {
	return bus.Follow(ctx, s.cfg.Bus, s.cfg.Topic, func(m bus.Message) error {
		var c Change
		if err := json.Unmarshal(m.Value, &c); err != nil || !c.valid(s.cfg.Key, string(m.Key)) {
			s.cfg.Log.Warn("agencies: a record not signed by a hub ignored", "offset", m.Offset)
			s.cfg.OnIgnored("unsigned")
			return nil
		}
		err := s.apply(c)
		defer s.settle(c.MAC, err)
		switch {
		case errors.Is(err, errSealed):
			s.cfg.Log.Warn("agencies: a record whose secrets do not open ignored", "organId", c.OrganID, "offset", m.Offset)
			s.cfg.OnIgnored("unsigned")
		case err != nil:
			// Two replicas may each publish a change that fits alone
			// (two agencies taking one alias): every replica applies the
			// first in the topic's order and ignores the second alike.
			s.cfg.Log.Warn("agencies: a change that does not fit the directory ignored", "organId", c.OrganID, "err", err)
			s.cfg.OnIgnored("conflict")
		}
		return nil
	}, func() { s.once.Do(func() { close(s.ready) }) })
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
func (s *Store) IsReady() bool {
	select {
	case <-s.ready:
		return true
	default:
		return false
	}
}

// Changed receives a token after changes were applied (one token for
// several when the reader lags): time to read Credentials again.
func (s *Store) Changed() <-chan struct{} { return s.changed }

// Credentials are the agencies with their credentials as the changes make
// them: the configuration's (Config.Base) overlaid by the topic, retired
// ones left out. Agencies of directory.file carry no credentials unless
// set at run time.
func (s *Store) Credentials() []config.Agency {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.credentials(s.changes, s.secrets)
}

func (s *Store) credentials(changes map[string]Change, secrets map[string]*Secrets) []config.Agency {
	var out []config.Agency
	seen := map[string]bool{}
	for _, a := range s.cfg.Base {
		seen[a.OrganID] = true
		c, ok := changes[a.OrganID]
		switch {
		case !ok:
			out = append(out, a)
		case c.Action == ActionSet:
			out = append(out, overlay(a, *c.Agency, secrets[a.OrganID]))
		}
	}
	for _, id := range slices.Sorted(maps.Keys(changes)) {
		if c := changes[id]; c.Action == ActionSet && !seen[id] {
			out = append(out, overlay(config.Agency{}, *c.Agency, secrets[id]))
		}
	}
	return out
}

// build is the configuration's agencies overlaid by changes.
func (s *Store) build(changes map[string]Change) (*organ.Directory, error) {
	var list []organ.Agency
	for _, a := range s.base {
		if _, ok := changes[string(a.ID)]; !ok {
			list = append(list, a)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(changes)) {
		if c := changes[id]; c.Action == ActionSet {
			list = append(list, *c.Agency)
		}
	}
	return s.cfg.Policy.NewDirectory(list)
}

// apply overlays c and replaces the live directory; a change the
// directory or the credentials' rules refuse (an alias or a national-axis
// system another agency holds) changes nothing.
func (s *Store) apply(c Change) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	next, secrets, d, err := s.next(c)
	if err != nil {
		return err
	}
	s.changes, s.secrets = next, secrets
	s.cfg.Directory.Replace(d)
	select {
	case s.changed <- struct{}{}:
	default:
	}
	return nil
}

// next is the state with c applied; s.mu is held.
func (s *Store) next(c Change) (map[string]Change, map[string]*Secrets, *organ.Directory, error) {
	next := maps.Clone(s.changes)
	next[c.OrganID] = c
	secrets := maps.Clone(s.secrets)
	delete(secrets, c.OrganID)
	if c.Secrets != "" {
		sec, err := open(s.cfg.Key, c.OrganID, c.Secrets)
		if err != nil {
			return nil, nil, nil, err
		}
		secrets[c.OrganID] = sec
	}
	d, err := s.build(next)
	if err == nil && s.cfg.Validate != nil {
		err = s.cfg.Validate(s.credentials(next, secrets))
	}
	if err != nil {
		return nil, nil, nil, err
	}
	return next, secrets, d, nil
}

// Set adds agency a, or replaces its entry, for every replica. Its inbox
// topic is created first. sec, when not nil, replaces the agency's
// credentials (those of the configuration too); nil keeps them.
func (s *Store) Set(ctx context.Context, a organ.Agency, sec *Secrets, by string) error {
	id, err := s.cfg.Policy.Parse(string(a.ID))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	a.ID = id
	c := Change{V: 1, OrganID: string(id), Action: ActionSet, Agency: &a, By: by, At: s.cfg.Now().UTC()}
	if sec != nil {
		if c.Secrets, err = seal(s.cfg.Key, c.OrganID, *sec); err != nil {
			return err
		}
	} else {
		s.mu.Lock()
		if prev := s.changes[c.OrganID]; prev.Action == ActionSet {
			c.Secrets = prev.Secrets // sealed for this agency: it opens here too
		}
		s.mu.Unlock()
	}
	if err := s.check(c); err != nil {
		return err
	}
	if err := s.admin.EnsureTopics(ctx, bus.TopicSpec{Name: s.cfg.Inbox(string(id)), Partitions: 1, ReplicationFactor: s.cfg.ReplicationFactor}); err != nil {
		return fmt.Errorf("agencies: inbox topic: %w", err)
	}
	return s.publish(ctx, c)
}

// Retire removes agency id, configured or added at run time, for every
// replica: packets to it are refused as to an unknown recipient.
func (s *Store) Retire(ctx context.Context, id, by string) error {
	if _, ok := s.cfg.Directory.Lookup(organ.ID(id)); !ok {
		return ErrUnknown
	}
	if c, ok := s.cfg.Directory.Canonical(organ.ID(id)); ok && string(c) != id {
		return fmt.Errorf("%w: %s is an alias of %s; retire %s", ErrInvalid, id, c, c)
	}
	c := Change{V: 1, OrganID: id, Action: ActionRetire, By: by, At: s.cfg.Now().UTC()}
	if err := s.check(c); err != nil {
		return err
	}
	return s.publish(ctx, c)
}

// check refuses, before anything is published, a change the directory
// would not take.
func (s *Store) check(c Change) error {
	if !s.IsReady() {
		return ErrNotReady
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, _, _, err := s.next(c); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

func (s *Store) publish(ctx context.Context, c Change) error {
	c.MAC = c.mac(s.cfg.Key)
	raw, err := json.Marshal(c)
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	s.mu.Lock()
	s.waiting[c.MAC] = done
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.waiting, c.MAC)
		s.mu.Unlock()
	}()
	err = s.prod.Produce(ctx,
		bus.Message{Topic: s.cfg.Topic, Key: []byte(c.OrganID), Value: raw},
		bus.Message{Topic: s.cfg.Topic + ".audit", Key: []byte(c.OrganID), Value: raw})
	if err != nil {
		return fmt.Errorf("agencies: %w", err)
	}
	s.cfg.Log.Info("agency changed", "audit", true, "organId", c.OrganID, "action", c.Action, "by", c.By)
	// Applied here as everywhere: when Run reads it back in the topic's
	// order. Applied at once instead, a change that conflicts with one
	// another replica published at the same moment would be in effect on
	// this replica and ignored on the others.
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("%w: another change, published at the same moment, came first: %w", ErrInvalid, err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("agencies: published, not yet read back: %w", ctx.Err())
	}
}

// settle tells a publish waiting for the record with this MAC how it went.
func (s *Store) settle(mac string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch, ok := s.waiting[mac]; ok {
		ch <- err
		delete(s.waiting, mac)
	}
}

// Changes lists the run-time changes in effect, by OrganId.
func (s *Store) Changes() []Change {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.SortedFunc(maps.Values(s.changes), func(a, b Change) int { return strings.Compare(a.OrganID, b.OrganID) })
}

// Audit reads the audit trail: every change, oldest first, signed ones
// only, until the records present when it began are read.
func Audit(ctx context.Context, cfg bus.Config, topic string, key []byte) ([]Change, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var out []Change
	err := bus.Follow(ctx, cfg, topic+".audit", func(m bus.Message) error {
		var c Change
		if json.Unmarshal(m.Value, &c) == nil && c.valid(key, string(m.Key)) {
			out = append(out, c)
		}
		return nil
	}, cancel)
	if err != nil && ctx.Err() == nil {
		return nil, err
	}
	return out, nil
}
