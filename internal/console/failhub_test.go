package console_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/lienthong/lienthong/internal/blob"
	"github.com/lienthong/lienthong/internal/console"
	"github.com/lienthong/lienthong/internal/hubtest"
	"github.com/lienthong/lienthong/internal/testwait"
)

// readsFail is a real store whose objects fail to read while broken is
// set, as a connection to S3 dropped in the middle of a body would.
type readsFail struct {
	blob.Store
	broken atomic.Bool
}

func (s *readsFail) Get(ctx context.Context, key string, off, n int64) (io.ReadCloser, blob.Info, error) {
	rc, info, err := s.Store.Get(ctx, key, off, n)
	if err != nil || !s.broken.Load() {
		return rc, info, err
	}
	_ = rc.Close()
	return io.NopCloser(failingReader{}), info, nil
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("connection reset by peer") }

// A failure of the hub's that is no refusal (storage I/O here) is a 503
// with Retry-After, as the API answers it, not a 500 a clerk would take
// for final.
func TestHubIOFailureIs503(t *testing.T) {
	store := &readsFail{Store: hubtest.NewStore(t, t.TempDir())}
	h := hubtest.Start(t, hubtest.Options{Store: store})
	_, clerk := senderAndRecipient(t, h)
	id := sendREST(t, h)
	testwait.Eventually(t, "the letter in H29's inbox", func() bool {
		items, _, err := h.Hub.Inbox(h29, "edoc", 100, "")
		return err == nil && len(items) == 1
	})
	store.broken.Store(true)
	code, body, header := clerk.do(http.MethodGet, "/doc/"+id, nil)
	if code != http.StatusServiceUnavailable || header.Get("Retry-After") != "2" {
		t.Errorf("a document whose bytes cannot be read: %d Retry-After %q, want 503 and 2: %s", code, header.Get("Retry-After"), body)
	}
}

// A view that fails (its file closed) is a 503 with Retry-After on the
// clerk's inbox, and its cause is logged: the hub returns it unlogged.
func TestHubViewFailureIsLogged(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	var logs strings.Builder
	var mu sync.Mutex
	hash, err := console.HashPassword("mật khẩu đúng")
	if err != nil {
		t.Fatal(err)
	}
	base := serveConsole(t, console.Options{Hub: h.Hub, Log: slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil)),
		Accounts: []console.Account{{Username: "vanthu.h29", PasswordHash: hash, Role: console.RoleClerk, OrganID: h29}}})
	clerk := newBrowser(t, base)
	if code, _ := clerk.login("vanthu.h29", "mật khẩu đúng"); code != http.StatusSeeOther {
		t.Fatalf("sign in: %d", code)
	}
	if code, body, _ := clerk.do(http.MethodGet, "/inbox", nil); code != http.StatusOK {
		t.Fatalf("inbox: %d %s", code, body)
	}
	if err := h.View.Close(); err != nil {
		t.Fatal(err)
	}
	code, body, header := clerk.do(http.MethodGet, "/inbox", nil)
	if code != http.StatusServiceUnavailable || header.Get("Retry-After") != "2" {
		t.Errorf("the inbox, the view closed: %d Retry-After %q, want 503 and 2: %s", code, header.Get("Retry-After"), body)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), "database not open") {
		t.Errorf("the view's failure is not logged: %q", logs.String())
	}
}
