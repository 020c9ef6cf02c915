package bus_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/testwait"
)

// envChildBroker makes the test binary run a broker on the directory it
// names, print its address and wait to be killed (see TestMain).
const envChildBroker = "LIENTHONG_BUS_CHILD_BROKER"

func TestMain(m *testing.M) {
	if dir := os.Getenv(envChildBroker); dir != "" {
		runChildBroker(dir)
		return
	}
	os.Exit(m.Run())
}

func runChildBroker(dir string) {
	b, err := bus.StartBroker(context.Background(), bus.BrokerConfig{DataDir: dir})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child broker:", err)
		os.Exit(2)
	}
	fmt.Printf("ADDR %s\n", b.Addrs()[0])
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	_ = b.Close()
}

// startChildBroker re-executes the test binary as a broker process.
func startChildBroker(t *testing.T, dir string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envChildBroker+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "ADDR ")
	if err != nil || !ok {
		t.Fatalf("child broker said %q: %v", line, err)
	}
	return cmd, addr
}

// TestBrokerSurvivesKill produces with acks=all to a broker in a child
// process, SIGKILLs it mid-stream, restarts a broker on the same DataDir and
// checks that every acknowledged message and every committed offset
// survived.
func TestBrokerSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	t0 := time.Now()
	dir := t.TempDir()
	child, addr := startChildBroker(t, dir)
	brokers := []string{addr}
	topic, group := "packets.accepted", "route"
	ensureTopics(t, brokers, bus.TopicSpec{Name: topic, Partitions: 3})

	// Phase 1: 300 messages, all consumed and committed by the group.
	p := newProducer(t, testConfig(brokers))
	produceN(t, p, topic, 0, 300)
	col := newCollector()
	c, err := bus.NewConsumer(testConfig(brokers), testConsumerConfig(group, topic), col.handle)
	if err != nil {
		t.Fatal(err)
	}
	r := startConsumer(t, c)
	admin := newAdmin(t, brokers)
	testwait.Eventually(t, "the group to commit 300", func() bool {
		lag, err := admin.Lag(t.Context(), group, topic)
		return err == nil && lag == 0
	})
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}

	// Phase 2: concurrent producers; kill the broker while they run.
	var (
		mu     sync.Mutex
		acked  = map[string]bool{}
		next   atomic.Int64
		wg     sync.WaitGroup
		killed atomic.Bool
	)
	next.Store(300)
	for range 16 {
		wg.Go(func() {
			for !killed.Load() {
				v := strconv.FormatInt(next.Add(1), 10)
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				err := p.Produce(ctx, bus.Message{Topic: topic, Key: []byte(v), Value: []byte(v)})
				cancel()
				if err != nil {
					return
				}
				mu.Lock()
				acked[v] = true
				mu.Unlock()
			}
		})
	}
	testwait.Eventually(t, "2000 acknowledged messages in flight", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) >= 2000
	})
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed.Store(true)
	_ = child.Wait()
	t.Logf("killed at %v", time.Since(t0))
	wg.Wait()
	t.Logf("producers stopped at %v", time.Since(t0))
	mu.Lock()
	for i := range 300 {
		acked[strconv.Itoa(i)] = true
	}
	total := len(acked)
	mu.Unlock()
	t.Logf("%d messages acknowledged before SIGKILL", total)

	// Restart on the same directory (another port) and read everything.
	b, err := bus.StartBroker(t.Context(), bus.BrokerConfig{DataDir: dir})
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	defer b.Close()
	brokers = b.Addrs()
	t.Logf("restarted at %v", time.Since(t0))
	admin2 := newAdmin(t, brokers)
	lag, err := admin2.Lag(t.Context(), group, topic)
	if err != nil {
		t.Fatal(err)
	}
	all := newCollector()
	c2, err := bus.NewConsumer(testConfig(brokers), testConsumerConfig("audit", topic), all.handle)
	if err != nil {
		t.Fatal(err)
	}
	r2 := startConsumer(t, c2)
	testwait.Eventually(t, "every acknowledged message", func() bool {
		got := map[string]bool{}
		for _, m := range all.snapshot() {
			got[string(m.Value)] = true
		}
		for v := range acked {
			if !got[v] {
				return false
			}
		}
		return true
	})
	t.Logf("all read at %v", time.Since(t0))
	if err := r2.stop(t); err != nil {
		t.Fatal(err)
	}
	t.Logf("audit stopped at %v", time.Since(t0))
	stored := int64(len(all.snapshot()))
	// The group's commits survived too: only phase 2 is left for it.
	if want := stored - 300; lag != want {
		t.Errorf("route's lag after restart = %d, want %d (the %d stored minus the 300 it committed)", lag, want, stored)
	}
	// And the restarted broker takes new writes after the old ones.
	p2 := newProducer(t, testConfig(brokers))
	if err := p2.Produce(t.Context(), bus.Message{Topic: topic, Value: []byte("after")}); err != nil {
		t.Fatalf("produce after restart: %v", err)
	}
}

func TestBrokerRestartKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	b, err := bus.StartBroker(t.Context(), bus.BrokerConfig{DataDir: dir, NumPartitions: 2})
	if err != nil {
		t.Fatal(err)
	}
	topic := "inbox.000.00.00.g22"
	ensureTopics(t, b.Addrs(), bus.TopicSpec{Name: topic})
	if n := partitionCount(t, b.Addrs(), topic); n != 2 {
		t.Errorf("default partitions = %d, want NumPartitions 2", n)
	}
	p, err := bus.NewProducer(testConfig(b.Addrs()))
	if err != nil {
		t.Fatal(err)
	}
	produceN(t, p, topic, 0, 50)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	b2, err := bus.StartBroker(t.Context(), bus.BrokerConfig{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	lag, err := newAdmin(t, b2.Addrs()).Lag(t.Context(), "new", topic)
	if err != nil || lag != 50 {
		t.Fatalf("after a clean restart the topic holds %d (%v), want 50", lag, err)
	}
}

func TestStartBrokerErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		give bus.BrokerConfig
		want error
	}{
		{name: "no data dir", give: bus.BrokerConfig{}, want: bus.ErrNoDataDir},
		{name: "no port", give: bus.BrokerConfig{DataDir: dir, Addr: "127.0.0.1"}, want: bus.ErrBadBroker},
		{name: "bad port", give: bus.BrokerConfig{DataDir: dir, Addr: "127.0.0.1:http"}, want: bus.ErrBadBroker},
		{name: "unspecified host", give: bus.BrokerConfig{DataDir: dir, Addr: "0.0.0.0:0"}, want: bus.ErrBadBroker},
		{name: "empty host", give: bus.BrokerConfig{DataDir: dir, Addr: ":0"}, want: bus.ErrBadBroker},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := bus.StartBroker(t.Context(), tt.give)
			if !errors.Is(err, tt.want) {
				t.Errorf("StartBroker(%+v) = %v, want %v", tt.give, err, tt.want)
			}
			if b != nil {
				b.Close()
			}
		})
	}

	// One directory, one broker.
	b, err := bus.StartBroker(t.Context(), bus.BrokerConfig{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bus.StartBroker(t.Context(), bus.BrokerConfig{DataDir: dir}); !errors.Is(err, bus.ErrDataDirLocked) {
		t.Errorf("second broker on one dir = %v, want ErrDataDirLocked", err)
	}
	b.Close()
	b, err = bus.StartBroker(t.Context(), bus.BrokerConfig{DataDir: dir})
	if err != nil {
		t.Fatalf("StartBroker after Close: %v", err)
	}
	b.Close()
}

func TestStartBrokerFixedPort(t *testing.T) {
	// The test is of a fixed port, so it must name one: a port the kernel
	// just gave and took back. Another process may bind it in between;
	// then the broker finds it in use, and the test picks another.
	var addr string
	var b *bus.Broker
	for try := 0; ; try++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr = l.Addr().String()
		l.Close()
		b, err = bus.StartBroker(t.Context(), bus.BrokerConfig{Addr: addr, DataDir: t.TempDir()})
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EADDRINUSE) || try == 4 {
			t.Fatal(err)
		}
		t.Logf("%s taken meanwhile: %v", addr, err)
	}
	defer b.Close()
	if got := b.Addrs(); len(got) != 1 || got[0] != addr {
		t.Fatalf("Addrs = %v, want [%s]", got, addr)
	}
	// The port is taken now.
	if _, err := bus.StartBroker(t.Context(), bus.BrokerConfig{Addr: addr, DataDir: t.TempDir()}); err == nil {
		t.Fatal("a second broker on a taken port started")
	}
}

// TestBrokerNeverCreatesTopics checks auto-creation is off on the broker
// side: kafka-go's consumer-group reader asks for it when it reads metadata.
func TestBrokerNeverCreatesTopics(t *testing.T) {
	b, err := bus.StartBroker(t.Context(), bus.BrokerConfig{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	topic := "never.created"
	c, err := bus.NewConsumer(testConfig(b.Addrs()), testConsumerConfig("g", topic), newCollector().handle)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	if err := c.Run(ctx); err != nil {
		t.Logf("Run on a missing topic: %v", err)
	}
	if _, err := newAdmin(t, b.Addrs()).Lag(t.Context(), "g", topic); !errors.Is(err, bus.ErrUnknownTopic) {
		t.Fatalf("after a consumer asked for it, Lag = %v; want ErrUnknownTopic", err)
	}
}

func TestRunBroker(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	listening := listenLog(make(chan string, 1))
	go func() {
		done <- bus.RunBroker(ctx, bus.BrokerConfig{Addr: "127.0.0.1:0", DataDir: t.TempDir(), Logger: slog.New(listening)})
	}()
	var addr string
	select {
	case addr = <-listening:
	case err := <-done:
		t.Fatalf("RunBroker = %v before it listened", err)
	case <-time.After(testwait.Deadline):
		t.Fatal("RunBroker never said where it listens")
	}
	testwait.Eventually(t, "the broker port", func() bool {
		conn, err := net.Dial("tcp", addr)
		if err == nil {
			conn.Close()
		}
		return err == nil
	})
	ensureTopics(t, []string{addr}, bus.TopicSpec{Name: "t", Partitions: 1})
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("RunBroker = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("RunBroker did not return after cancel")
	}
}

// listenLog is a slog handler that passes on the addr of RunBroker's
// "kafka broker listening" line: where a broker on port 0 listens.
type listenLog chan string

func (l listenLog) Enabled(context.Context, slog.Level) bool { return true }
func (l listenLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l listenLog) WithGroup(string) slog.Handler            { return l }

func (l listenLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "kafka broker listening" {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key != "addr" {
			return true
		}
		select {
		case l <- a.Value.String():
		default:
		}
		return false
	})
	return nil
}
