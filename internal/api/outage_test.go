package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/hub"
	"github.com/lienthong/lienthong/internal/hubtest"
)

// call makes a request with a bound the test fails on (an answer, not a
// hang), returning the status, the Retry-After header and the body.
func (th *testHub) call(t *testing.T, method, path, token, ctype string, body io.Reader) (int, string, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, th.url+path, body)
	req.Header.Set("Authorization", "Bearer "+token)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: no answer: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After"), raw
}

// With the broker down, submit and ack answer 503 with Retry-After, while
// the inbox list and the fetch of stored bytes keep working; the fetch's
// event waits in the view's outbox and reaches the events topic once the
// broker is back.
func TestBrokerDownFailsFast(t *testing.T) {
	// The wait is short here and the bus's own timeouts (hubtest: 3 s to
	// write) long, so an answer well before them is the wait's doing.
	const wait, bound = 200 * time.Millisecond, 2 * time.Second
	h := hubtest.Start(t, hubtest.Options{Hub: func(o *hub.Options) { o.BrokerWait = wait }})
	th := wrap(h)
	h29 := th.agencies["000.00.00.H29"]
	p := th.packet(t, 1)
	code, _, raw := th.submit(t, p)
	if code != 201 {
		t.Fatalf("submit: %d %s", code, raw)
	}
	id := decodeReceipt(t, raw).ID
	th.inbox(t, h29, "edoc", 1)

	addr := h.Broker.Addrs()[0]
	if err := h.Broker.Close(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if code, retry, raw := th.submit(t, th.packet(t, 2)); code != 503 || retry == "" || !bytes.Contains(raw, []byte("hub.unavailable")) {
		t.Errorf("submit, broker down: %d Retry-After %q %s", code, retry, raw)
	}
	if took := time.Since(start); took > bound {
		t.Errorf("submit answered after %v, past the broker wait (%v)", took, wait)
	}
	start = time.Now()
	if code, retry, raw := th.call(t, "POST", "/v1/inbox/"+id+"/ack", h29.token, "application/json", strings.NewReader(`{"result":"done"}`)); code != 503 || retry == "" {
		t.Errorf("ack, broker down: %d Retry-After %q %s", code, retry, raw)
	}
	if took := time.Since(start); took > bound {
		t.Errorf("ack answered after %v, past the broker wait (%v)", took, wait)
	}
	start = time.Now()
	if code, retry, raw := th.call(t, "GET", "/readyz", h29.token, "", nil); code != 503 || retry == "" {
		t.Errorf("/readyz, broker down: %d Retry-After %q %s", code, retry, raw)
	}
	if took := time.Since(start); took > bound {
		t.Errorf("/readyz answered after %v, past the broker wait (%v)", took, wait)
	}
	if code, _, raw := th.call(t, "GET", "/v1/inbox", h29.token, "", nil); code != 200 || !bytes.Contains(raw, []byte(id)) {
		t.Errorf("inbox, broker down: %d %s", code, raw)
	}
	if code, _, raw := th.call(t, "GET", "/v1/packets/"+id, h29.token, "", nil); code != 200 || !bytes.Equal(raw, p.data) {
		t.Errorf("fetch, broker down: %d", code)
	}

	b, err := bus.StartBroker(context.Background(), bus.BrokerConfig{Addr: addr, DataDir: filepath.Join(h.Dir, "kafka")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		msgs, _ := bus.ReadTopic(ctx, bus.Config{Brokers: b.Addrs()}, "lienthong.events", 0)
		for _, m := range msgs {
			var e struct{ Type, ID, Endpoint string }
			if json.Unmarshal(m.Value, &e) == nil && e.Type == "fetched" && e.ID == id && e.Endpoint == h29.id {
				return
			}
		}
		if ctx.Err() != nil {
			t.Fatal("the fetch made while the broker was down never reached the events topic")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A spool that cannot be written (a full disk: /dev/full answers ENOSPC)
// is the hub's failure: 503 with Retry-After, for a plain body and a
// multipart part alike; a broken request body stays a 4xx.
func TestSpoolWriteFailure(t *testing.T) {
	full := func() (*os.File, error) { return os.OpenFile("/dev/full", os.O_RDWR, 0) }
	if f, err := full(); err != nil {
		t.Skip("no /dev/full here")
	} else {
		f.Close()
	}
	// Nothing held in memory: every packet is spooled to the full disk.
	th := wrap(hubtest.Start(t, hubtest.Options{Hub: func(o *hub.Options) { o.OpenSpool, o.SpoolMemory = full, -1 }}))
	g22 := th.agencies["000.00.00.G22"]
	p := th.packet(t, 1)
	if code, retry, raw := th.call(t, "POST", "/v1/packets", g22.token, "application/xml", bytes.NewReader(p.data)); code != 503 || retry == "" || !bytes.Contains(raw, []byte("hub.unavailable")) {
		t.Errorf("plain body, spool full: %d Retry-After %q %s", code, retry, raw)
	}
	if code, retry, raw := th.submit(t, p); code != 503 || retry == "" || !bytes.Contains(raw, []byte("hub.unavailable")) {
		t.Errorf("multipart, spool full: %d Retry-After %q %s", code, retry, raw)
	}
	// A multipart body cut short is the client's, with a spool that works.
	th = wrap(hubtest.Start(t, hubtest.Options{}))
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	w, _ := mw.CreateFormFile("packet", "packet.xml")
	_, _ = w.Write(p.data)
	cut := body.Bytes()[:body.Len()/2]
	if code, _, raw := th.call(t, "POST", "/v1/packets", g22.token, mw.FormDataContentType(), bytes.NewReader(cut)); code != 400 {
		t.Errorf("truncated multipart: %d %s", code, raw)
	}
}

// /readyz turns 503 when the free space of the hub's disks falls below
// hub.minFreeSpace.
func TestReadyzFreeSpace(t *testing.T) {
	tests := []struct {
		name string
		give int64
		want int
	}{
		{"room", 1, 200},
		{"below the threshold", math.MaxInt64, 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := hubtest.Start(t, hubtest.Options{Hub: func(o *hub.Options) { o.MinFreeBytes = tt.give }})
			resp, err := http.Get(h.URL + "/readyz")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want || (tt.want == 503 && resp.Header.Get("Retry-After") == "") {
				t.Errorf("/readyz: %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
			}
		})
	}
}
