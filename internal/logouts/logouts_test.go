package logouts_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/logouts"
	"github.com/lienthong/lienthong/internal/testwait"
)

func replica(t *testing.T, cfg bus.Config, key []byte) *logouts.Store {
	t.Helper()
	s, err := logouts.New(t.Context(), logouts.Config{Bus: cfg, Topic: "lienthong.sessions", Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if s.Revoked("anything") != true {
		t.Error("a store not read yet lets sessions through")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("run: %v", err)
		}
		_ = s.Close()
	})
	testwait.Eventually(t, "the store ready", s.IsReady)
	return s
}

// A sign-out reaches the other replicas and the ones started later; one
// written under another key changes nothing.
func TestSharedSignOut(t *testing.T) {
	b, err := bus.StartBroker(t.Context(), bus.BrokerConfig{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	cfg := bus.Config{Brokers: b.Addrs()}
	key := bytes.Repeat([]byte{1}, 32)
	a, other := replica(t, cfg, key), replica(t, cfg, key)
	forger := replica(t, cfg, bytes.Repeat([]byte{2}, 32))
	until := time.Now().Add(time.Hour)
	if err := forger.Revoke(t.Context(), "clerk-session", until); err != nil {
		t.Fatal(err)
	}
	if err := a.Revoke(t.Context(), "old-session", until); err != nil {
		t.Fatal(err)
	}
	if !a.Revoked("old-session") || a.Revoked("new-session") {
		t.Fatal("the writing replica does not see its own sign-out at once")
	}
	testwait.Eventually(t, "the sign-out on the other replica", func() bool { return other.Revoked("old-session") })
	late := replica(t, cfg, key)
	if !late.Revoked("old-session") {
		t.Error("a replica started later misses the sign-out")
	}
	for _, s := range []*logouts.Store{a, other, late} {
		if s.Revoked("clerk-session") {
			t.Error("a record under another key signed a session out")
		}
	}
}

// A sessions topic made elsewhere with a retention shorter than a session
// would forget sign-outs while their sessions still work: New refuses it.
func TestShortRetentionRefused(t *testing.T) {
	b, err := bus.StartBroker(t.Context(), bus.BrokerConfig{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	cfg := bus.Config{Brokers: b.Addrs()}
	admin, err := bus.NewAdmin(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	tests := []struct {
		give    string // the topic's retention.ms
		wantErr bool
	}{
		{"3600000", true},    // an hour
		{"604800000", false}, // a week
		{"-1", false},        // for ever
	}
	for _, tt := range tests {
		topic := "lienthong.sessions-" + strings.TrimPrefix(tt.give, "-")
		if err := admin.EnsureTopics(t.Context(), bus.TopicSpec{Name: topic, Partitions: 1, Config: map[string]string{"retention.ms": tt.give}}); err != nil {
			t.Fatal(err)
		}
		s, err := logouts.New(t.Context(), logouts.Config{Bus: cfg, Topic: topic, Key: bytes.Repeat([]byte{1}, 32)})
		if (err != nil) != tt.wantErr {
			t.Errorf("retention.ms %s: New error %v, want an error: %v", tt.give, err, tt.wantErr)
		}
		if s != nil {
			_ = s.Close()
		}
	}
}

// With the broker hung (its address answering nothing) and the bus's own
// timeouts long, Revoke returns its error after WriteWait, not after
// them, and the session is signed out on this replica meanwhile.
func TestRevokeBoundedWhenBrokerHangs(t *testing.T) {
	b, err := bus.StartBroker(t.Context(), bus.BrokerConfig{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	cfg := bus.Config{Brokers: b.Addrs(), WriteTimeout: time.Minute, DialTimeout: time.Minute}
	s, err := logouts.New(t.Context(), logouts.Config{Bus: cfg, Topic: "lienthong.sessions", Key: bytes.Repeat([]byte{1}, 32),
		WriteWait: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("run: %v", err)
		}
	}()
	testwait.Eventually(t, "the store ready", s.IsReady)
	_ = b.Close()
	ln, err := net.Listen("tcp", b.Addrs()[0])
	if err != nil {
		t.Fatalf("taking the stopped broker's address: %v", err)
	}
	var mu sync.Mutex
	var held []net.Conn
	defer func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			_ = c.Close()
		}
	}()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c) // never answered; closed when the test ends
			mu.Unlock()
		}
	}()

	revoked := make(chan error, 1)
	go func() { revoked <- s.Revoke(context.Background(), "clerk-session", time.Now().Add(time.Hour)) }()
	select {
	case err := <-revoked:
		if err == nil {
			t.Error("Revoke with the broker hung: no error")
		}
	case <-time.After(30 * time.Second): // generous: the bus's own timeouts are a minute
		t.Fatal("Revoke still waiting on the hung broker after 30 s")
	}
	if !s.Revoked("clerk-session") {
		t.Error("the session is not signed out on this replica")
	}
}
