package push

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lienthong/lienthong/internal/bus"
)

// HeaderReplayOf marks a message Replay produced: "<topic>/<partition>/<offset>"
// of the dead-letter entry it came from. If it fails again, its new
// dead-letter entry carries the header too.
const HeaderReplayOf = "x-replay-of"

// Errors of ListDeadLetters and Replay.
var (
	// ErrNotReplayable: the entry has no x-original-topic, or one outside
	// the hub's prefix, or the dead-letter topics themselves.
	ErrNotReplayable = errors.New("push: dead-letter entry cannot be replayed")
)

// DeadLetter is one entry of the dead-letter topic, with the bookkeeping
// headers bus.DeadLetter and the Pusher add, and the replays recorded for it.
type DeadLetter struct {
	Topic     string
	Partition int
	Offset    int64
	Time      time.Time // when the entry was written
	Key       []byte
	Value     []byte
	Headers   map[string]string

	OriginalTopic     string
	OriginalPartition int   // -1 when unknown
	OriginalOffset    int64 // -1 when unknown
	FailedAt          time.Time
	Error             string
	Endpoint          string // x-endpoint: set for failed webhook deliveries
	ReplayOf          string // x-replay-of: this entry failed again after a replay

	Replays []Replayed // oldest first
}

// Ref names the entry as HeaderReplayOf does.
func (d DeadLetter) Ref() string {
	return d.Topic + "/" + strconv.Itoa(d.Partition) + "/" + strconv.FormatInt(d.Offset, 10)
}

// Replayed records one replay of a dead-letter entry. Replay writes it, as
// JSON, to Topics.Replays().
type Replayed struct {
	V          int       `json:"v"`
	Topic      string    `json:"topic"` // the dead-letter topic
	Partition  int       `json:"partition"`
	Offset     int64     `json:"offset"`
	Key        string    `json:"key"`
	To         string    `json:"to"` // the topic the message went back to
	ReplayedAt time.Time `json:"replayedAt"`
	By         string    `json:"by,omitempty"` // who ran the replay, e.g. user@host
}

// ListDeadLetters reads the whole dead-letter topic, every partition from
// its first offset to its end when called, and the replays recorded for
// its entries. It joins no consumer group and commits nothing. A missing
// dead-letter topic is an error wrapping bus.ErrUnknownTopic.
func ListDeadLetters(ctx context.Context, cfg bus.Config, t Topics) ([]DeadLetter, error) {
	return listDeadLetters(ctx, cfg, t, 0)
}

// ListNewestDeadLetters is ListDeadLetters keeping only the newest n
// entries of each partition while it reads, so memory stays bounded
// however long the topic.
func ListNewestDeadLetters(ctx context.Context, cfg bus.Config, t Topics, n int) ([]DeadLetter, error) {
	return listDeadLetters(ctx, cfg, t, max(n, 1))
}

func listDeadLetters(ctx context.Context, cfg bus.Config, t Topics, keep int) ([]DeadLetter, error) {
	msgs, err := bus.ReadTopic(ctx, cfg, t.DeadLetter(), keep)
	if err != nil {
		return nil, err
	}
	recs, err := bus.ReadTopic(ctx, cfg, t.Replays(), 0)
	if err != nil && !errors.Is(err, bus.ErrUnknownTopic) {
		return nil, err
	}
	replays := map[string][]Replayed{}
	for _, m := range recs {
		var rp Replayed
		if json.Unmarshal(m.Value, &rp) != nil {
			continue
		}
		ref := DeadLetter{Topic: rp.Topic, Partition: rp.Partition, Offset: rp.Offset}.Ref()
		replays[ref] = append(replays[ref], rp)
	}
	out := make([]DeadLetter, 0, len(msgs))
	for _, m := range msgs {
		d := DeadLetter{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Time: m.Time, Key: m.Key, Value: m.Value,
			Headers: m.Headers, OriginalTopic: m.Header(bus.HeaderOriginalTopic), OriginalPartition: -1, OriginalOffset: -1,
			Error: m.Header(bus.HeaderError), Endpoint: m.Header(HeaderEndpoint), ReplayOf: m.Header(HeaderReplayOf)}
		if n, err := strconv.Atoi(m.Header(bus.HeaderOriginalPartition)); err == nil {
			d.OriginalPartition = n
		}
		if n, err := strconv.ParseInt(m.Header(bus.HeaderOriginalOffset), 10, 64); err == nil {
			d.OriginalOffset = n
		}
		if ts, err := time.Parse(time.RFC3339Nano, m.Header(bus.HeaderFailedAt)); err == nil {
			d.FailedAt = ts
		}
		d.Replays = replays[d.Ref()]
		out = append(out, d)
	}
	return out, nil
}

// bookkeeping are the headers a dead-letter entry has that its original
// did not; Replay leaves them out.
var bookkeeping = []string{bus.HeaderError, bus.HeaderOriginalTopic, bus.HeaderOriginalPartition,
	bus.HeaderOriginalOffset, bus.HeaderFailedAt, HeaderEndpoint, HeaderReplayOf}

// ReplayMessage is the message Replay produces for d: its key and value
// back on its original topic, with its original headers (x-correlation-id
// among them) and HeaderReplayOf naming d. It fails with ErrNotReplayable
// for an entry that did not come from one of the hub's topics under t.
func ReplayMessage(d DeadLetter, t Topics) (bus.Message, error) {
	to := d.OriginalTopic
	switch {
	case to == "":
		return bus.Message{}, fmt.Errorf("%w: %s has no %s header", ErrNotReplayable, d.Ref(), bus.HeaderOriginalTopic)
	case !strings.HasPrefix(to, t.prefix()) || to == t.DeadLetter() || to == t.Replays():
		return bus.Message{}, fmt.Errorf("%w: %s came from %q, not one of the hub's topics (prefix %q)", ErrNotReplayable, d.Ref(), to, t.prefix())
	}
	m := bus.Message{Topic: to, Key: d.Key, Value: d.Value, Headers: map[string]string{}}
	for k, v := range d.Headers {
		if !slices.Contains(bookkeeping, k) {
			m.Headers[k] = v
		}
	}
	m.Headers[HeaderReplayOf] = d.Ref()
	return m, nil
}

// Replay produces each entry back to its original topic (acks=all) and
// then records the replay in Topics.Replays(), creating that topic when it
// is missing. It checks every entry (ReplayMessage) before it produces
// anything, and stops at the first failure, returning what it replayed so
// far. Replaying is safe to repeat: the hub's views keep one inbox item per
// packet and endpoint, and webhook receivers deduplicate on X-Lienthong-Id.
func Replay(ctx context.Context, cfg bus.Config, t Topics, entries []DeadLetter, by string, now time.Time) ([]Replayed, error) {
	msgs := make([]bus.Message, len(entries))
	for i, d := range entries {
		m, err := ReplayMessage(d, t)
		if err != nil {
			return nil, err
		}
		msgs[i] = m
	}
	if len(entries) == 0 {
		return nil, nil
	}
	admin, err := bus.NewAdmin(cfg)
	if err != nil {
		return nil, err
	}
	err = admin.EnsureTopics(ctx, bus.TopicSpec{Name: t.Replays(), Partitions: 1, ReplicationFactor: t.ReplicationFactor})
	_ = admin.Close()
	if err != nil {
		return nil, fmt.Errorf("replays topic: %w", err)
	}
	p, err := bus.NewProducer(cfg)
	if err != nil {
		return nil, err
	}
	var done []Replayed
	for i, d := range entries {
		if err := p.Produce(ctx, msgs[i]); err != nil {
			return done, errors.Join(fmt.Errorf("replay %s: %w", d.Ref(), err), p.Close())
		}
		rp := Replayed{V: 1, Topic: d.Topic, Partition: d.Partition, Offset: d.Offset, Key: string(d.Key), To: msgs[i].Topic,
			ReplayedAt: now.UTC(), By: by}
		raw, err := json.Marshal(rp)
		if err != nil {
			return done, errors.Join(err, p.Close())
		}
		if err := p.Produce(ctx, bus.Message{Topic: t.Replays(), Key: d.Key, Value: raw}); err != nil {
			return done, errors.Join(fmt.Errorf("replayed %s but could not record it: %w", d.Ref(), err), p.Close())
		}
		done = append(done, rp)
	}
	return done, p.Close()
}
