package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/track"
)

// viewGroup is this process's view's consumer group.
func (h *Hub) viewGroup() string {
	return h.o.Topics.viewGroup(h.o.InstanceID + "." + h.o.View.Epoch())
}

// viewTopics are the topics the view reads: everything.
func (h *Hub) viewTopics() []string {
	topics := []string{h.o.Topics.accepted(), h.o.Topics.events()}
	for _, a := range h.o.Directory.Agencies() {
		topics = append(topics, h.o.Topics.inbox(string(a.ID)))
	}
	return topics
}

// Run routes accepted packets to inbox topics (one consumer group shared
// by every hub process) and keeps this process's view (a group of its own,
// reading every topic), until ctx ends. The view's group is named after the
// view file's epoch: a new or lost view file is rebuilt from the topics.
func (h *Hub) Run(ctx context.Context) error {
	if h.o.DirectoryReady != nil {
		if err := h.o.DirectoryReady(ctx); err != nil {
			return err
		}
	}
	mws := h.parking("route", bus.RetryConfig{MaxAttempts: 5, InitialInterval: 100 * time.Millisecond, MaxInterval: 5 * time.Second})
	// A killed process holds its partitions until its session times out:
	// 10 s (the default 30 s delayed deliveries that long after a crash).
	const session = 10 * time.Second
	router, err := bus.NewConsumer(h.o.Bus, bus.ConsumerConfig{Group: h.o.Topics.routerGroup(), Topics: []string{h.o.Topics.accepted()}, SessionTimeout: session, RebalanceTimeout: session}, h.route, mws...)
	if err != nil {
		return err
	}
	view := func(topics []string) (*bus.Consumer, error) {
		return bus.NewConsumer(h.o.Bus, bus.ConsumerConfig{Group: h.viewGroup(), Topics: topics, SessionTimeout: session, RebalanceTimeout: session,
			Batch: h.applyBatch}, h.apply,
			// A message the view can never read (not JSON) is logged and
			// passed: the router dead-letters a bad accepted event, and
			// stopping here would stop the process at every start.
			bus.SkipPermanent(h.o.Log), bus.Recover(), bus.Retry(bus.RetryConfig{MaxAttempts: 5, InitialInterval: 100 * time.Millisecond, MaxInterval: 5 * time.Second}))
	}
	if _, err := view(h.viewTopics()); err != nil {
		return err
	}
	// One owner, one restart policy (bus.Router): a consumer that fails
	// is restarted, and the hub fails once its restarts are spent.
	g := &bus.Router{Policy: h.o.Restart, Log: h.o.Log}
	g.Add("router", router.Run)
	g.Add("view", func(ctx context.Context) error { return h.rerun(ctx, h.viewTopics, view) })
	g.Add("outbox", func(ctx context.Context) error { h.drainOutbox(ctx); return nil })
	// The federated inboxes change with agencies set at run time: an
	// agency moved to a peer hub is forwarded without a restart.
	g.Add("forwarder", func(ctx context.Context) error {
		return h.rerun(ctx, h.forwardTopics, func(topics []string) (*bus.Consumer, error) {
			return bus.NewConsumer(h.o.Bus, bus.ConsumerConfig{Group: h.o.Topics.forwardGroup(), Topics: topics, SessionTimeout: session, RebalanceTimeout: session}, h.forward,
				h.parking("forward", forwardRetry)...)
		})
	})
	return g.Run(ctx)
}

// topicsRecheck is how often the view and the forwarder look for inbox
// topics of agencies added, moved or retired at run time.
var topicsRecheck = time.Second

// rerun runs a consumer made by newConsumer over topics(), and again, in
// the same group, when topics() changes as agencies are added or retired
// at run time (internal/agencies): a new agency's inbox is read without a
// restart. With no topics it waits for some.
func (h *Hub) rerun(ctx context.Context, topics func() []string, newConsumer func([]string) (*bus.Consumer, error)) error {
	every := topicsRecheck
	for {
		current := topics()
		run := func(ctx context.Context) error { <-ctx.Done(); return nil }
		if len(current) > 0 {
			c, err := newConsumer(current)
			if err != nil {
				return err
			}
			run = c.Run
		}
		cctx, cancel := context.WithCancel(ctx)
		changed := make(chan struct{})
		watched := make(chan struct{})
		go func() {
			defer close(watched)
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				select {
				case <-cctx.Done():
					return
				case <-t.C:
					if !slices.Equal(topics(), current) {
						close(changed)
						cancel()
						return
					}
				}
			}
		}()
		err := run(cctx)
		cancel()
		<-watched
		select {
		case <-changed:
			if ctx.Err() == nil {
				continue
			}
		default:
		}
		return err
	}
}

// forwardRetry spans a peer's short outage, and this view lagging the
// forwarder (the hops are read in the view).
var forwardRetry = bus.RetryConfig{MaxAttempts: 8, InitialInterval: 200 * time.Millisecond, MaxInterval: 30 * time.Second}

// parking is the middleware of a consumer that parks in the dead-letter
// topic what it failed on after retry's attempts (or at once, when the
// failure is permanent). DeadLetter is outside Retry: inside, it parked
// every first failure, and a view lagging the forwarder by a moment sent
// the packet to the dead letters. The correlation id minted at the HTTP
// edge (edge.Correlate) is carried, never minted, and the packet's trace
// continues in a span named span.
func (h *Hub) parking(span string, retry bus.RetryConfig) []bus.Middleware {
	// Recover also outermost: a panic in the outer steps must not end the
	// process either.
	return []bus.Middleware{bus.Recover(), bus.CarryCorrelation(), h.o.Tracer.Consume(span),
		bus.DeadLetter(h.o.Publisher, h.o.Topics.deadLetter()), bus.Retry(retry), bus.Recover()}
}

// route fans an accepted packet out: one delivery event per endpoint, keyed
// by packet id, so a replay produces the same events and the view keeps one.
func (h *Hub) route(ctx context.Context, m bus.Message) error {
	var a accepted
	if err := json.Unmarshal(m.Value, &a); err != nil {
		return bus.Permanent(fmt.Errorf("accepted event: %w", err))
	}
	msgs := make([]bus.Message, 0, len(a.Deliveries))
	for _, d := range a.Deliveries {
		raw, err := json.Marshal(a.delivery(d))
		if err != nil {
			return err
		}
		msgs = append(msgs, bus.Message{Topic: h.o.Topics.inbox(d.Endpoint), Key: []byte(a.ID), Value: raw})
	}
	return h.o.Publisher.Produce(ctx, msgs...)
}

// applyBatch applies what one poll of a partition brought in one view
// transaction: accepted events, or one endpoint's inbox items. Events of
// the events topic are few and go one by one. An error sends the batch
// through apply, message by message.
func (h *Hub) applyBatch(ctx context.Context, msgs []bus.Message) error {
	topic := msgs[0].Topic
	if topic == h.o.Topics.events() {
		for _, m := range msgs {
			if err := h.apply(ctx, m); err != nil {
				return err
			}
		}
		return nil
	}
	type delivered struct {
		kind    string
		latency time.Duration
	}
	var counted []delivered
	err := h.o.View.Batch(func(w *track.Writer) error {
		// The view may run this again when a shared commit fails.
		counted = counted[:0]
		for _, m := range msgs {
			if topic == h.o.Topics.accepted() {
				var a accepted
				if err := json.Unmarshal(m.Value, &a); err != nil {
					return bus.Permanent(err)
				}
				// Routed at AcceptedAt, not the message's time, as the
				// request records it: a rebuilt view is the live one.
				if err := w.AcceptedRouted(a.packet(), a.deliveries(), a.AcceptedAt); err != nil {
					return err
				}
				continue
			}
			var it track.Item
			if err := json.Unmarshal(m.Value, &it); err != nil {
				return bus.Permanent(err)
			}
			// Count an item once: only when it becomes pending here (not a
			// replay of one pending or acknowledged already).
			created, err := w.Delivered(it, m.Time)
			if err != nil {
				return err
			}
			if created {
				counted = append(counted, delivered{it.Kind, m.Time.Sub(it.AcceptedAt)})
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, d := range counted {
		h.o.Metrics.Delivered(d.kind, d.latency)
	}
	return nil
}

// apply updates this process's view from any of the hub's topics.
func (h *Hub) apply(ctx context.Context, m bus.Message) error {
	if m.Topic != h.o.Topics.events() {
		return h.applyBatch(ctx, []bus.Message{m})
	}
	v := h.o.View
	var e event
	if err := json.Unmarshal(m.Value, &e); err != nil {
		return bus.Permanent(err)
	}
	switch e.Type {
	case "fetched":
		return v.Fetched(e.Endpoint, e.ID, e.At)
	case "acked":
		return v.Acked(e.Endpoint, e.ID, e.Result, e.At)
	case "forwarded":
		return v.Forwarded(e.Endpoint, e.ID, e.Result, e.At)
	}
	return bus.Permanent(errors.New("unknown event type " + e.Type))
}
