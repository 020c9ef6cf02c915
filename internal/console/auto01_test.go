package console_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/lienthong/lienthong/internal/blob"
	"github.com/lienthong/lienthong/internal/edxml"
	"github.com/lienthong/lienthong/internal/hubtest"
	"github.com/lienthong/lienthong/internal/testwait"
	"github.com/lienthong/lienthong/internal/track"
)

// createDown is a real store whose Creates fail while down is set.
type createDown struct {
	blob.Store
	down atomic.Bool
}

func (s *createDown) Create(ctx context.Context, key string, r io.Reader, size int64, meta blob.Meta) (blob.Info, error) {
	if s.down.Load() {
		return blob.Info{}, errors.New("store unreachable")
	}
	return s.Store.Create(ctx, key, r, size, meta)
}

// The automatic 01 is owed until the recipient's status is on the
// timeline, not until the letter was fetched: a fetch whose 01 never got
// through (a crash between them) gets it on the next opening; a 01 that
// cannot be sent is shown to the clerk and sent on a later opening; once
// sent, no other follows.
func TestAuto01AtLeastOnce(t *testing.T) {
	store := &createDown{Store: hubtest.NewStore(t, t.TempDir())}
	h := hubtest.Start(t, hubtest.Options{Store: store})
	_, clerk := senderAndRecipient(t, h)
	id := sendREST(t, h)
	testwait.Eventually(t, "the letter in H29's inbox", func() bool {
		items, _, err := h.Hub.Inbox(h29, "edoc", 100, "")
		return err == nil && len(items) == 1
	})
	// Fetched, and the 01 after it lost.
	rc, _, err := h.Hub.Fetch(t.Context(), h29, id)
	if err != nil {
		t.Fatal(err)
	}
	rc.Close()

	store.down.Store(true)
	if body := clerk.page("/doc/" + id); !strings.Contains(body, "Không tự động gửi được trạng thái «Đã đến»") {
		t.Errorf("the clerk is not told the 01 failed: %s", body)
	}
	store.down.Store(false)
	clerk.page("/doc/" + id)
	clerk.page("/doc/" + id)
	tl, err := h.Hub.Timeline(h29, id)
	if err != nil {
		t.Fatal(err)
	}
	var codes []edxml.StatusCode
	for _, e := range tl.Recipients[0].Events {
		if e.Type == track.EventStatus {
			codes = append(codes, e.Code)
		}
	}
	if len(codes) != 1 || codes[0] != "01" {
		t.Errorf("statuses on the timeline after three openings: %v, want one 01", codes)
	}
	testwait.Eventually(t, "the 01 at G22", func() bool {
		items, _, err := h.Hub.Inbox(g22, "status", 100, "")
		return err == nil && len(items) == 1
	})
}
