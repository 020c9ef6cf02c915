// Package pushtest provides a webhook receiver for tests of push delivery:
// an httptest server on 127.0.0.1 that checks every request the way a real
// receiver should (push.Verify) and records it.
package pushtest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/push"
)

// MaxAge is the replay window the receiver allows.
const MaxAge = 5 * time.Minute

// Request is one request the receiver got.
type Request struct {
	N           int // 1 for the first request
	ID          string
	Event       string
	ContentType string
	Timestamp   string
	Signature   string
	Attempt     string
	Traceparent string // W3C trace context, with tracing on
	Body        []byte
	At          time.Time
	// Verified is push.Verify's verdict; a request that fails it is
	// answered 401 whatever Respond says.
	Verified error
	Status   int // the answer
}

// Receiver is a webhook receiver. The zero Respond answers 200.
type Receiver struct {
	URL    string
	Secret []byte

	srv     *httptest.Server
	mu      sync.Mutex
	respond func(ctx context.Context, r Request) int
	reqs    []Request
	arrived int
	changed chan struct{} // closed and replaced on every request
}

// NewReceiver starts a receiver that checks signatures with secret and
// stops it when the test ends.
func NewReceiver(tb testing.TB, secret []byte) *Receiver {
	tb.Helper()
	r := &Receiver{Secret: slices.Clone(secret), changed: make(chan struct{})}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	r.URL = r.srv.URL + "/hook"
	tb.Cleanup(r.srv.Close)
	return r
}

// Respond sets how the receiver answers: f returns the status code. f runs
// in the request's goroutine and may block until ctx (the request's) ends.
func (r *Receiver) Respond(f func(ctx context.Context, req Request) int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.respond = f
}

func (r *Receiver) serve(w http.ResponseWriter, hr *http.Request) {
	body, err := io.ReadAll(hr.Body)
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	req := Request{ID: hr.Header.Get(push.HeaderID), Event: hr.Header.Get(push.HeaderEvent), ContentType: hr.Header.Get("Content-Type"),
		Timestamp: hr.Header.Get(push.HeaderTimestamp), Signature: hr.Header.Get(push.HeaderSignature), Attempt: hr.Header.Get(push.HeaderAttempt),
		Traceparent: hr.Header.Get("Traceparent"), Body: body, At: time.Now()}
	req.Verified = push.Verify(r.Secret, req.Signature, req.Timestamp, body, time.Now(), MaxAge)
	r.mu.Lock()
	r.arrived++
	req.N = r.arrived
	respond := r.respond
	r.mu.Unlock()
	req.Status = http.StatusOK
	switch {
	case req.Verified != nil:
		req.Status = http.StatusUnauthorized
	case respond != nil:
		req.Status = respond(hr.Context(), req)
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, req)
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
	w.WriteHeader(req.Status)
	if req.Status >= 300 {
		_, _ = io.WriteString(w, "receiver says no\n")
	}
}

// Requests returns every request answered so far, in order.
func (r *Receiver) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.reqs)
}

// Arrived counts the requests received, answered or not.
func (r *Receiver) Arrived() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.arrived
}

// Delivered returns the requests answered 2xx.
func (r *Receiver) Delivered() []Request { return delivered(r.Requests()) }

func delivered(reqs []Request) []Request {
	var out []Request
	for _, q := range reqs {
		if q.Status >= 200 && q.Status < 300 {
			out = append(out, q)
		}
	}
	return out
}

// Wait returns the requests once cond holds for them, or fails the test
// after timeout.
func (r *Receiver) Wait(tb testing.TB, timeout time.Duration, what string, cond func([]Request) bool) []Request {
	tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		reqs, changed := slices.Clone(r.reqs), r.changed
		r.mu.Unlock()
		if cond(reqs) {
			return reqs
		}
		select {
		case <-changed:
		case <-deadline.C:
			tb.Fatalf("receiver: after %s, still waiting for %s; got %d requests", timeout, what, len(reqs))
			return nil
		}
	}
}

// WaitDelivered waits until n requests were answered 2xx and returns them.
func (r *Receiver) WaitDelivered(tb testing.TB, n int, timeout time.Duration) []Request {
	tb.Helper()
	return delivered(r.Wait(tb, timeout, fmt.Sprintf("%d deliveries", n), func(reqs []Request) bool { return len(delivered(reqs)) >= n }))
}
