package vdxp_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/edxml"
	"github.com/lienthong/lienthong/internal/hub"
	"github.com/lienthong/lienthong/internal/track"
	"github.com/lienthong/lienthong/internal/vdxp"
)

// timelineDown is the hub with its view failing under timelines (the
// vdxp.Hub seam): a 503 with its cause, as hub.Timeline answers a view
// that cannot read one.
type timelineDown struct{ *hub.Hub }

func (timelineDown) Timeline(string, string) (track.Timeline, error) {
	return track.Timeline{}, &hub.Error{Status: http.StatusServiceUnavailable, Code: "hub.unavailable", Message: "the view is unavailable",
		Err: errors.New("view: input/output error")}
}

// getSentEdocList fails with hub.unavailable, logged, when the hub cannot
// read a sent packet's timeline, instead of listing it as never delivered.
func TestSentListTimelineDown(t *testing.T) {
	e := start(t)
	sendToH29(t, e, read(t, "edoc-new.xml"))
	ctx := context.Background()
	rows, err := e.clients["SYS-G22"].SentList(ctx, edxml.KindEdoc, time.Time{}, time.Time{})
	if err != nil || len(rows) != 1 || rows[0].SendStatus == track.EventAccepted {
		t.Fatalf("the sent list, the hub up: %+v %v", rows, err)
	}

	mux := http.NewServeMux()
	mux.Handle("/vdxp/", vdxp.NewHandlerWith(timelineDown{e.th.Hub}, e.systems, e.dir,
		vdxp.Options{Log: slog.New(slog.NewJSONHandler(e.log, nil))}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	rows, err = e.client("SYS-G22", srv.URL+"/vdxp").SentList(ctx, edxml.KindEdoc, time.Time{}, time.Time{})
	var re *vdxp.ReplyError
	if !errors.As(err, &re) || re.Code != "hub.unavailable" {
		t.Errorf("the sent list, timelines unreadable: %+v %v, want hub.unavailable", rows, err)
	}
	if !strings.Contains(e.log.String(), "input/output error") {
		t.Errorf("the cause is not logged: %s", e.log.String())
	}
}
