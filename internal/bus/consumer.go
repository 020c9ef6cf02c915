package bus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
)

// Consumer defaults, applied to zero ConsumerConfig fields.
const (
	DefaultHeartbeatInterval = time.Second
	DefaultSessionTimeout    = 30 * time.Second
	DefaultRebalanceTimeout  = 30 * time.Second
	DefaultMaxWait           = 500 * time.Millisecond
	DefaultMaxBytes          = 10 << 20
	// DefaultCommitEvery bounds how many messages one batch may hold.
	DefaultCommitEvery = 100
	// DefaultCommitInterval is how long handled messages may wait for
	// their offsets' commit: one OffsetCommit request per consumer and
	// interval, where committing each partition as its queue ran dry made
	// one per message at a few hundred messages a second (a request the
	// broker serves and, on kfake, persists).
	DefaultCommitInterval = 100 * time.Millisecond
)

// commitTimeout bounds the final commit made after ctx ended.
const commitTimeout = 5 * time.Second

// ConsumerConfig configures a consumer-group member.
type ConsumerConfig struct {
	// Group is the consumer group id; members of one group share the
	// partitions of Topics. A group that has committed nothing starts at
	// the oldest message.
	Group string
	// Topics are consumed together.
	Topics []string
	// HeartbeatInterval, SessionTimeout and RebalanceTimeout tune group
	// membership (defaults 1 s, 30 s, 30 s). A member that stops
	// heartbeating for SessionTimeout loses its partitions.
	HeartbeatInterval time.Duration
	SessionTimeout    time.Duration
	RebalanceTimeout  time.Duration
	// MaxWait is how long a fetch waits on the broker for new messages
	// (default 500 ms); it also bounds how long shutdown waits for a fetch.
	MaxWait time.Duration
	// MaxBytes caps one fetch response (default 10 MiB); it must exceed the
	// largest message.
	MaxBytes int
	// CommitEvery is the most messages given to Batch at once (default
	// 100).
	CommitEvery int
	// CommitInterval is how often the offsets of handled messages are
	// committed, every partition's in one request (default 100 ms). They
	// are also committed when the member loses its partitions in a
	// rebalance and when Run returns. A crash loses at most an interval's
	// commits: those messages are delivered again, which the handlers
	// must bear (at least once; the hub's are idempotent, docs/hub.md).
	CommitInterval time.Duration
	// Logger receives kafka-go's errors and the consumer's warnings; nil
	// discards them.
	Logger *slog.Logger
	// Batch, when set, is given the messages already waiting for a
	// partition (up to CommitEvery) at once, so a handler can apply them
	// in one transaction. If it fails, the same messages go one by one
	// through the handler and its middleware, so Batch must be safe to
	// repeat (idempotent). A lone message goes to the handler.
	Batch func(ctx context.Context, msgs []Message) error
}

// Validate reports the first problem with c.
func (c ConsumerConfig) Validate() error {
	if c.Group == "" {
		return ErrNoGroup
	}
	if len(c.Topics) == 0 {
		return ErrNoTopics
	}
	for _, t := range c.Topics {
		if t == "" {
			return ErrNoTopic
		}
	}
	if c.HeartbeatInterval < 0 || c.SessionTimeout < 0 || c.RebalanceTimeout < 0 || c.MaxWait < 0 || c.CommitInterval < 0 {
		return ErrBadDuration
	}
	if c.MaxBytes < 0 || c.CommitEvery < 0 {
		return ErrBadBatchSize
	}
	return nil
}

func (c ConsumerConfig) withDefaults() ConsumerConfig {
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if c.SessionTimeout == 0 {
		c.SessionTimeout = DefaultSessionTimeout
	}
	if c.RebalanceTimeout == 0 {
		c.RebalanceTimeout = DefaultRebalanceTimeout
	}
	if c.MaxWait == 0 {
		c.MaxWait = DefaultMaxWait
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.CommitEvery == 0 {
		c.CommitEvery = DefaultCommitEvery
	}
	if c.CommitInterval == 0 {
		c.CommitInterval = DefaultCommitInterval
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Consumer runs a Handler for every message of its topics as a member of a
// consumer group. Partitions are handled concurrently, each in offset order
// by its own goroutine. A message's offset is committed only after the
// handler returned nil for it and for every earlier message of its
// partition, so delivery is at least once.
type Consumer struct {
	cfg     Config
	cc      ConsumerConfig
	handler Handler
}

// NewConsumer returns a Consumer that runs h wrapped in mws (the first is
// outermost, see Chain). It does not contact the brokers.
func NewConsumer(cfg Config, cc ConsumerConfig, h Handler, mws ...Middleware) (*Consumer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := cc.Validate(); err != nil {
		return nil, err
	}
	if h == nil {
		return nil, ErrNoHandler
	}
	return &Consumer{cfg: cfg.withDefaults(), cc: cc.withDefaults(), handler: Chain(h, mws...)}, nil
}

// Run joins the group and handles messages until ctx ends, when it lets the
// handlers in progress finish, commits what they handled, leaves the group
// and returns nil. If a handler returns an error, Run stops the same way but
// leaves that message uncommitted, so it is delivered again when a member
// next runs, and returns the error. Put DeadLetter in the chain to keep
// going past messages that cannot be handled. Run may be called again after
// it returned.
func (c *Consumer) Run(ctx context.Context) error {
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:     c.cfg.Brokers,
		GroupID:     c.cc.Group,
		GroupTopics: c.cc.Topics,
		Dialer:      c.cfg.dialer(),
		StartOffset: kafka.FirstOffset,
		// CommitMessages only stashes the offsets; kafka-go commits the
		// stash every interval, at the end of a generation (a rebalance)
		// and on Close, and keeps it after a failed commit to try again.
		CommitInterval:    c.cc.CommitInterval,
		HeartbeatInterval: c.cc.HeartbeatInterval,
		SessionTimeout:    c.cc.SessionTimeout,
		RebalanceTimeout:  c.cc.RebalanceTimeout,
		MaxWait:           c.cc.MaxWait,
		MaxBytes:          c.cc.MaxBytes,
		ReadLagInterval:   -1,
		ErrorLogger:       kafkaLogger{c.cc.Logger, slog.LevelWarn},
	})
	unstat := c.cfg.Stats.addReader(c.cc.Group, r)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()

	var (
		wg       sync.WaitGroup
		workers  = make(map[partitionKey]chan kafka.Message)
		failOnce sync.Once
		failErr  error
	)
	fail := func(err error) {
		failOnce.Do(func() { failErr = err })
		cancel()
	}
	fetchErr := c.dispatch(runCtx, r, func(key partitionKey) chan kafka.Message {
		ch, ok := workers[key]
		if !ok {
			ch = make(chan kafka.Message, c.cc.CommitEvery)
			workers[key] = ch
			wg.Go(func() { c.work(runCtx, fail, r, key, ch) })
		}
		return ch
	})
	for _, ch := range workers {
		close(ch)
	}
	wg.Wait()
	closeErr := r.Close()
	unstat()

	if failErr != nil {
		return errors.Join(failErr, closeErr)
	}
	if fetchErr != nil {
		return errors.Join(fetchErr, closeErr)
	}
	if closeErr != nil {
		return fmt.Errorf("consumer %s: close: %w", c.cc.Group, closeErr)
	}
	return nil
}

type partitionKey struct {
	topic     string
	partition int
}

// dispatch fetches messages and hands each to its partition's worker until
// ctx ends. Fetch errors other than the end of ctx are logged: kafka-go
// rejoins the group and reconnects by itself.
func (c *Consumer) dispatch(ctx context.Context, r *kafka.Reader, worker func(partitionKey) chan kafka.Message) error {
	for {
		km, err := r.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) {
				return fmt.Errorf("consumer %s: fetch: %w", c.cc.Group, err)
			}
			c.cc.Logger.WarnContext(ctx, "kafka fetch failed, retrying", "group", c.cc.Group, "err", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
			continue
		}
		ch := worker(partitionKey{km.Topic, km.Partition})
		select {
		case ch <- km:
		case <-ctx.Done():
			return nil
		}
	}
}

// work handles one partition's messages in order and hands the offsets of
// those it handled to the reader's commit stash (CommitInterval) when the
// queue runs dry, CommitEvery messages were handled, and on exit.
func (c *Consumer) work(ctx context.Context, fail func(error), r *kafka.Reader, key partitionKey, ch <-chan kafka.Message) {
	var (
		last    kafka.Message
		pending int
	)
	commit := func() {
		if pending == 0 {
			return
		}
		cctx := ctx
		if ctx.Err() != nil {
			// Work that is done is worth committing on the way out.
			var cancel context.CancelFunc
			cctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
			defer cancel()
		}
		if err := r.CommitMessages(cctx, last); err != nil {
			// The messages stay uncommitted and will be delivered
			// again (after a rebalance that is expected).
			c.cc.Logger.WarnContext(ctx, "kafka commit failed", "group", c.cc.Group,
				"topic", key.topic, "partition", key.partition, "offset", last.Offset, "err", err)
		}
		pending = 0
	}
	defer commit()

	for km := range ch {
		if ctx.Err() != nil {
			return
		}
		batch := []kafka.Message{km}
		if c.cc.Batch != nil {
			batch = drain(batch, ch, c.cc.CommitEvery)
		}
		if len(batch) > 1 {
			msgs := make([]Message, len(batch))
			for i, m := range batch {
				msgs[i] = fromKafka(m)
			}
			err := c.batch(ctx, msgs)
			if err == nil {
				last = batch[len(batch)-1]
				pending += len(batch)
				if len(ch) == 0 || pending >= c.cc.CommitEvery {
					commit()
				}
				continue
			}
			if ctx.Err() != nil {
				return
			}
			c.cc.Logger.WarnContext(ctx, "batch failed, handling its messages one by one", "group", c.cc.Group,
				"topic", key.topic, "partition", key.partition, "messages", len(batch), "err", err)
		}
		for _, km := range batch {
			if err := c.handler(ctx, fromKafka(km)); err != nil {
				if ctx.Err() == nil {
					fail(fmt.Errorf("consumer %s: handle %s/%d@%d: %w", c.cc.Group, km.Topic, km.Partition, km.Offset, err))
				}
				return
			}
			last = km
			pending++
			if len(ch) == 0 || pending >= c.cc.CommitEvery {
				commit()
			}
		}
	}
}

// batch runs the Batch function; a panic becomes an error, so its
// messages go through the handler and its middleware (Recover among them)
// one by one.
func (c *Consumer) batch(ctx context.Context, msgs []Message) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("batch panicked: %v", r)
		}
	}()
	return c.cc.Batch(ctx, msgs)
}

// drain adds to batch the messages waiting in ch, up to max in all.
func drain(batch []kafka.Message, ch <-chan kafka.Message, limit int) []kafka.Message {
	for len(batch) < limit {
		select {
		case m, ok := <-ch:
			if !ok {
				return batch
			}
			batch = append(batch, m)
		default:
			return batch
		}
	}
	return batch
}

// kafkaLogger adapts kafka-go's Printf logging to slog.
type kafkaLogger struct {
	log   *slog.Logger
	level slog.Level
}

func (l kafkaLogger) Printf(format string, args ...any) {
	ctx := context.Background()
	if l.log.Enabled(ctx, l.level) {
		l.log.Log(ctx, l.level, fmt.Sprintf(format, args...), "component", "kafka-go")
	}
}
