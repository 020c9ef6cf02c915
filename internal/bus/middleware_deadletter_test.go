package bus_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/testwait"
)

// recordingPublisher keeps what it is asked to produce, or fails.
type recordingPublisher struct {
	mu   sync.Mutex
	msgs []bus.Message
	err  error
}

func (p *recordingPublisher) Produce(_ context.Context, msgs ...bus.Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return p.err
	}
	p.msgs = append(p.msgs, msgs...)
	return nil
}

func TestDeadLetter(t *testing.T) {
	errBoom := errors.New("boom")
	errDown := errors.New("broker down")
	msg := bus.Message{Topic: "in", Key: []byte("k"), Value: []byte("v"), Partition: 2, Offset: 41,
		Headers: map[string]string{"kind": "edoc"}}
	tests := []struct {
		name       string
		handlerErr error
		pubErr     error
		cancelled  bool
		wantErr    []error
		wantParked bool
	}{
		{name: "success is not parked"},
		{name: "failure is parked and acknowledged", handlerErr: errBoom, wantParked: true},
		{name: "failure to park keeps both errors", handlerErr: errBoom, pubErr: errDown, wantErr: []error{errBoom, errDown}},
		{name: "shutdown is not parked", handlerErr: context.Canceled, cancelled: true, wantErr: []error{context.Canceled}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub := &recordingPublisher{err: tt.pubErr}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tt.cancelled {
				cancel()
			}
			before := time.Now().UTC()
			h := bus.DeadLetter(pub, "in.dlq")(func(context.Context, bus.Message) error { return tt.handlerErr })
			err := h(ctx, msg)
			for _, want := range tt.wantErr {
				if !errors.Is(err, want) {
					t.Errorf("err = %v, want it to wrap %v", err, want)
				}
			}
			if len(tt.wantErr) == 0 && err != nil {
				t.Errorf("err = %v, want nil", err)
			}
			if got := len(pub.msgs); got != map[bool]int{true: 1}[tt.wantParked] {
				t.Fatalf("parked %d messages", got)
			}
			if !tt.wantParked {
				return
			}
			dl := pub.msgs[0]
			want := map[string]string{
				"kind":                      "edoc",
				bus.HeaderError:             "boom",
				bus.HeaderOriginalTopic:     "in",
				bus.HeaderOriginalPartition: "2",
				bus.HeaderOriginalOffset:    "41",
			}
			for k, v := range want {
				if dl.Headers[k] != v {
					t.Errorf("header %s = %q, want %q", k, dl.Headers[k], v)
				}
			}
			failedAt, perr := time.Parse(time.RFC3339Nano, dl.Headers[bus.HeaderFailedAt])
			if perr != nil || failedAt.Before(before.Add(-time.Second)) {
				t.Errorf("x-failed-at %q: %v", dl.Headers[bus.HeaderFailedAt], perr)
			}
			if dl.Topic != "in.dlq" || string(dl.Key) != "k" || string(dl.Value) != "v" {
				t.Errorf("parked %s %q=%q", dl.Topic, dl.Key, dl.Value)
			}
			if len(msg.Headers) != 1 {
				t.Errorf("the original message's headers were modified: %v", msg.Headers)
			}
		})
	}
}

// TestDeadLetterOverKafka runs the recommended chain in a consumer: bad
// messages are retried, parked with their headers, and committed.
func TestDeadLetterOverKafka(t *testing.T) {
	brokers := testBrokers(t)
	topic, dlq, group := uniqueName(t, "in"), uniqueName(t, "dlq"), uniqueName(t, "g")
	ensureTopics(t, brokers, bus.TopicSpec{Name: topic, Partitions: 2}, bus.TopicSpec{Name: dlq, Partitions: 1})
	p := newProducer(t, testConfig(brokers))
	produceN(t, p, topic, 0, 20)

	var (
		mu    sync.Mutex
		tries = map[string]int{}
		good  = map[string]bool{}
	)
	handler := func(_ context.Context, m bus.Message) error {
		mu.Lock()
		defer mu.Unlock()
		n, _ := strconv.Atoi(string(m.Value))
		tries[string(m.Value)]++
		if n%5 == 0 {
			return errors.New("not a valid edXML packet")
		}
		if n == 7 {
			panic("handler bug")
		}
		good[string(m.Value)] = true
		return nil
	}
	c, err := bus.NewConsumer(testConfig(brokers), testConsumerConfig(group, topic), handler,
		bus.Correlation(),
		bus.DeadLetter(p, dlq),
		bus.Retry(bus.RetryConfig{MaxAttempts: 3, InitialInterval: time.Millisecond}),
		bus.Recover(),
		bus.Timeout(5*time.Second),
	)
	if err != nil {
		t.Fatal(err)
	}
	r := startConsumer(t, c)
	parked := newCollector()
	dc, err := bus.NewConsumer(testConfig(brokers), testConsumerConfig(uniqueName(t, "dg"), dlq), parked.handle)
	if err != nil {
		t.Fatal(err)
	}
	startConsumer(t, dc)
	testwait.Eventually(t, "5 parked messages", func() bool { return len(parked.snapshot()) >= 5 })
	testwait.Eventually(t, "15 good messages", func() bool { mu.Lock(); defer mu.Unlock(); return len(good) == 15 })
	if err := r.stop(t); err != nil {
		t.Fatalf("Run: %v", err)
	}

	for _, m := range parked.snapshot() {
		v := string(m.Value)
		if tries[v] != 3 {
			t.Errorf("message %s tried %d times, want 3", v, tries[v])
		}
		if m.Header(bus.HeaderOriginalTopic) != topic || m.Header(bus.HeaderCorrelationID) == "" ||
			m.Header(bus.HeaderFailedAt) == "" || m.Header(bus.HeaderOriginalOffset) == "" || m.Header(bus.HeaderOriginalPartition) == "" {
			t.Errorf("parked %s has headers %v", v, m.Headers)
		}
		want := "after 3 attempts: not a valid edXML packet"
		if v == "7" {
			want = "after 3 attempts: handler panic: handler bug"
		}
		if n, _ := strconv.Atoi(v); n%5 != 0 && n != 7 {
			t.Errorf("good message %s was parked", v)
		}
		if got := m.Header(bus.HeaderError); got != want {
			t.Errorf("parked %s x-error %q, want %q", v, got, want)
		}
	}
	if lag, err := newAdmin(t, brokers).Lag(t.Context(), group, topic); err != nil || lag != 0 {
		t.Errorf("lag = %d, %v; want 0: parked messages are committed", lag, err)
	}
}
