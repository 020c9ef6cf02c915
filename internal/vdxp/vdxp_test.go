package vdxp_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/edxml"
	"github.com/lienthong/lienthong/internal/hubtest"
	"github.com/lienthong/lienthong/internal/organ"
	"github.com/lienthong/lienthong/internal/testwait"
	"github.com/lienthong/lienthong/internal/vdxp"
)

const fixtures = "../edxml/testdata/fixtures"

const (
	g22 = "000.00.00.G22"
	h29 = "000.00.00.H29"
	g12 = "000.00.00.G12"
)

// Secrets of the test systems; the log must never show any of them.
var secrets = map[string]string{
	"SYS-G22": "secret-of-the-g22-system-0001",
	"SYS-H29": "secret-of-the-h29-system-0002",
	"SYS-G12": "secret-of-the-g12-system-0003",
}

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// syncBuffer collects the handler's log across goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type env struct {
	th      *hubtest.Hub
	url     string // the /vdxp/ base of the default handler
	clients map[string]*vdxp.Client
	systems vdxp.StaticSystems
	dir     *organ.Directory
	log     *syncBuffer
}

// start runs a whole hub (hubtest) and mounts the VDXP handler on a server
// around it, with one system per demo agency.
func start(t *testing.T, extra ...vdxp.System) *env {
	t.Helper()
	th := hubtest.Start(t, hubtest.Options{})
	var list []organ.Agency
	for _, id := range hubtest.Agencies {
		list = append(list, organ.Agency{ID: organ.ID(id), Name: "Cơ quan " + id})
	}
	dir, err := organ.NewDirectory(list)
	if err != nil {
		t.Fatal(err)
	}
	systems := vdxp.StaticSystems{
		"SYS-G22": {ID: "SYS-G22", Secret: vdxp.Secret(secrets["SYS-G22"]), Organs: []string{g22}},
		"SYS-H29": {ID: "SYS-H29", Secret: vdxp.Secret(secrets["SYS-H29"]), Organs: []string{h29}},
		"SYS-G12": {ID: "SYS-G12", Secret: vdxp.Secret(secrets["SYS-G12"]), Organs: []string{g12}},
	}
	for _, sys := range extra {
		systems[sys.ID] = sys
	}
	e := &env{th: th, systems: systems, dir: dir, log: &syncBuffer{}, clients: map[string]*vdxp.Client{}}
	e.url = e.mount(t, vdxp.Options{})
	for id := range systems {
		e.clients[id] = e.client(id, e.url)
	}
	t.Cleanup(func() {
		for _, sys := range e.systems {
			if strings.Contains(e.log.String(), string(sys.Secret)) {
				t.Errorf("the log shows a system's secret:\n%s", e.log.String())
			}
		}
	})
	return e
}

// mount serves another VDXP handler over the same hub and returns its base URL.
func (e *env) mount(t *testing.T, o vdxp.Options) string {
	t.Helper()
	o.Log = slog.New(slog.NewJSONHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	mux := http.NewServeMux()
	mux.Handle("/vdxp/", vdxp.NewHandler(e.th.Hub, e.systems, e.dir, o))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + "/vdxp"
}

func (e *env) client(system, url string) *vdxp.Client {
	return &vdxp.Client{BaseURL: url, SystemID: system, Secret: e.systems[system].Secret}
}

func TestPullLoop(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	sysG22, sysH29 := e.clients["SYS-G22"], e.clients["SYS-H29"]
	doc, status03 := read(t, "edoc-new.xml"), read(t, "status-03.xml")

	// G22's system sends the edoc, unsigned: accepted with a warning.
	sent, err := sysG22.SendEdoc(ctx, g22, edxml.KindEdoc, doc)
	if err != nil {
		t.Fatal(err)
	}
	if sent.DocID == "" || !sent.Created || sent.Receipt == nil || sent.Receipt.SHA256 != sha(doc) {
		t.Fatalf("sendEdoc reply %+v", sent)
	}
	if !slices.ContainsFunc(sent.Warnings, func(p vdxp.Problem) bool { return p.Code == "sig.unsigned" }) {
		t.Errorf("an unsigned packet is accepted with the warning sig.unsigned, got %+v", sent.Warnings)
	}

	// H29's system lists it, gets it (the exact bytes), downloads it.
	var items []vdxp.ReceivedItem
	testwait.EventuallyState(t, "H29's edoc list", func() (bool, string) {
		items, err = sysH29.ReceivedList(ctx, edxml.KindEdoc, time.Time{}, time.Time{})
		return err == nil && len(items) == 1, printf(items, err)
	})
	it := items[0]
	if it.DocID != sent.DocID || it.From != g22 || it.To != h29 || it.MessageType != "edoc" || it.ServiceType != "eDoc" ||
		it.DocumentID != "000.00.00.G22,2025/11/20,1234/VPCP-KSTT" || it.CreatedTime == "" {
		t.Errorf("list item %+v", it)
	}
	if got, err := sysH29.ReceivedList(ctx, edxml.KindStatus, time.Time{}, time.Time{}); err != nil || len(got) != 0 {
		t.Errorf("H29's status list: %v %v", got, err)
	}
	if n, err := sysH29.CountReceiveEdoc(ctx); err != nil || n != 1 {
		t.Errorf("countReceiveEdoc = %d, %v; want 1", n, err)
	}
	got, err := sysH29.GetEdoc(ctx, it.DocID)
	if err != nil || !bytes.Equal(got, doc) {
		t.Fatalf("getEdoc: %v (identical: %v)", err, bytes.Equal(got, doc))
	}
	if raw, err := sysH29.DownloadEdoc(ctx, it.DocID); err != nil || !bytes.Equal(raw, doc) {
		t.Errorf("downloadEdoc: %v (identical: %v)", err, bytes.Equal(raw, doc))
	}
	// The download announces the SHA-256 of its bytes in base64, as RFC 9530
	// and RFC 3230 define the headers (not the stored hex).
	if req, err := sysH29.NewRequest(ctx, http.MethodGet, "downloadEdoc", []vdxp.Param{{"docId", it.DocID}}, "", nil); err != nil {
		t.Error(err)
	} else if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Error(err)
	} else {
		raw, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		sum := sha256.Sum256(raw)
		b64 := base64.StdEncoding.EncodeToString(sum[:])
		if cd, d := resp.Header.Get("Content-Digest"), resp.Header.Get("Digest"); cd != "sha-256=:"+b64+":" || d != "SHA-256="+b64 {
			t.Errorf("downloadEdoc: Content-Digest %q, Digest %q, want sha-256=:%s: and SHA-256=%s", cd, d, b64, b64)
		}
	}

	// processing keeps it pending; done removes it.
	if err := sysH29.UpdateStatus(ctx, it.DocID, "processing"); err != nil {
		t.Fatal(err)
	}
	if n, _ := sysH29.CountReceiveEdoc(ctx); n != 1 {
		t.Errorf("after processing countReceiveEdoc = %d, want 1", n)
	}
	if err := sysH29.UpdateStatus(ctx, it.DocID, "done"); err != nil {
		t.Fatal(err)
	}
	if n, err := sysH29.CountReceiveEdoc(ctx); err != nil || n != 0 {
		t.Errorf("after done countReceiveEdoc = %d, %v; want 0", n, err)
	}
	if got, _ := sysH29.ReceivedList(ctx, edxml.KindEdoc, time.Time{}, time.Time{}); len(got) != 0 {
		t.Errorf("after done the list still has %v", got)
	}

	// H29 answers with the business status 03, as a status packet.
	st, err := sysH29.SendEdoc(ctx, h29, edxml.KindStatus, status03)
	if err != nil {
		t.Fatal(err)
	}
	var statuses []vdxp.ReceivedItem
	testwait.EventuallyState(t, "G22's status list", func() (bool, string) {
		statuses, err = sysG22.ReceivedList(ctx, edxml.KindStatus, time.Time{}, time.Time{})
		return err == nil && len(statuses) == 1, printf(statuses, err)
	})
	if s := statuses[0]; s.DocID != st.DocID || s.From != h29 || s.MessageType != "status" || s.To != g22 {
		t.Errorf("status item %+v", s)
	}
	if n, _ := sysG22.CountReceiveStatus(ctx); n != 1 {
		t.Errorf("countReceiveStatus = %d, want 1", n)
	}
	if b, err := sysG22.GetEdoc(ctx, st.DocID); err != nil || !bytes.Equal(b, status03) {
		t.Fatalf("getEdoc of the status: %v", err)
	}
	if err := sysG22.UpdateStatus(ctx, st.DocID, "done"); err != nil {
		t.Fatal(err)
	}
	if n, _ := sysG22.CountReceiveStatus(ctx); n != 0 {
		t.Errorf("after done countReceiveStatus = %d, want 0", n)
	}

	// G22's outbox: H29 fetched it, acknowledged it (done) and accepted it (03).
	testwait.EventuallyState(t, "G22's sent list", func() (bool, string) {
		rows, err := sysG22.SentList(ctx, edxml.KindEdoc, time.Time{}, time.Time{})
		if err != nil || len(rows) != 1 {
			return false, printf(rows, err)
		}
		r := rows[0]
		return r.SenderDocID == sent.DocID && r.ToCode == h29 && r.FromCode == g22 && r.SendStatus == "done" &&
			r.ReceiveStatus == "03" && r.ReceivedTime != "" && r.SentTime != "" && r.Notation == "1234/VPCP-KSTT" &&
			r.ReceiveStatusDesc != "", printf(rows, err)
	})
	if rows, err := sysH29.SentList(ctx, edxml.KindStatus, time.Time{}, time.Time{}); err != nil || len(rows) != 1 || rows[0].SenderDocID != st.DocID {
		t.Errorf("H29's sent statuses: %v %v", rows, err)
	}
	// Date filters: nothing was sent tomorrow.
	if rows, err := sysG22.SentList(ctx, edxml.KindEdoc, time.Now().Add(24*time.Hour), time.Time{}); err != nil || len(rows) != 0 {
		t.Errorf("sent list from tomorrow: %v %v", rows, err)
	}

	// The directory.
	agencies, err := sysG22.Agencies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, a := range agencies {
		codes = append(codes, a.Code)
		if a.ID != a.Code || a.Name != "Cơ quan "+a.Code || !a.IsAgency || a.Deleted || a.Code102 != a.Code {
			t.Errorf("agency %+v", a)
		}
	}
	slices.Sort(codes)
	if want := []string{g12, g22, h29}; !slices.Equal(codes, want) {
		t.Errorf("agencies %v, want %v", codes, want)
	}
	if a := agencies[slices.IndexFunc(agencies, func(a vdxp.Agency) bool { return a.Code == h29 })]; a.CenterCode != "SYS-H29" {
		t.Errorf("centerCode of H29 = %q", a.CenterCode)
	}
	for _, alias := range []string{"getAgenciesListQD20", "getSynchronizeUnit"} {
		req, _ := sysG22.NewRequest(ctx, http.MethodPost, alias, nil, "application/json", strings.NewReader("{}"))
		var out vdxp.AgenciesReply
		if err := sysG22.Do(req, &out); err != nil || len(out.Data) != 3 {
			t.Errorf("%s: %v %d", alias, err, len(out.Data))
		}
	}
}

// A system serving two agencies sees a packet addressed to both once, and
// one acknowledgement clears it from both inboxes.
func TestSystemOfSeveralAgencies(t *testing.T) {
	both := vdxp.System{ID: "SYS-BOTH", Secret: vdxp.Secret("secret-of-the-two-agency-system"), Organs: []string{h29, g12}}
	e := start(t, both)
	ctx := context.Background()
	c := e.client("SYS-BOTH", e.url)
	sent, err := e.clients["SYS-G22"].SendEdoc(ctx, g22, edxml.KindEdoc, read(t, "edoc-new-two-recipients.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var items []vdxp.ReceivedItem
	testwait.EventuallyState(t, "the list", func() (bool, string) {
		items, err = c.ReceivedList(ctx, edxml.KindEdoc, time.Time{}, time.Time{})
		return err == nil && len(items) == 1 && len(strings.Split(items[0].To, ",")) == 2, printf(items, err)
	})
	if to := strings.Split(items[0].To, ","); items[0].DocID != sent.DocID || !slices.Contains(to, h29) || !slices.Contains(to, g12) {
		t.Errorf("item %+v", items[0])
	}
	if _, err := c.GetEdoc(ctx, sent.DocID); err != nil {
		t.Fatal(err)
	}
	if err := c.UpdateStatus(ctx, sent.DocID, "done"); err != nil {
		t.Fatal(err)
	}
	for _, sys := range []string{"SYS-BOTH", "SYS-H29", "SYS-G12"} {
		if n, err := e.client(sys, e.url).CountReceiveEdoc(ctx); err != nil || n != 0 {
			t.Errorf("%s: countReceiveEdoc = %d %v after done", sys, n, err)
		}
	}
	// Acknowledging again: nothing is pending any more.
	var re *vdxp.ReplyError
	if err := c.UpdateStatus(ctx, sent.DocID, "done"); !errors.As(err, &re) || re.Code != "packet.not_found" {
		t.Errorf("a second done: %v", err)
	}
	// Sending needs from: the system serves two agencies.
	req, _ := c.NewSendRequest(ctx, []vdxp.Param{{Name: "messagetype", Value: "status"}}, read(t, "status-03.xml"))
	var out vdxp.SendReply
	if err := c.Do(req, &out); !errors.As(err, &re) || re.Code != "request.missing_parameter" {
		t.Errorf("sendEdoc without from: %v", err)
	}
	if _, err := c.SendEdoc(ctx, h29, edxml.KindStatus, read(t, "status-03.xml")); err != nil {
		t.Errorf("sendEdoc from H29: %v", err)
	}
}

// Every way of uploading the file and every form of hash-file store the
// same exact bytes: the same packet id, resubmitted, is not a conflict.
func TestSendEdocForms(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	doc := read(t, "edoc-new-two-recipients.xml")
	// Find trailing whitespace that gives the digest a byte below 0x10, so
	// the padded and unpadded forms differ.
	for vdxp.HashFile(doc, true) == vdxp.HashFile(doc, false) {
		doc = append(doc, ' ')
	}
	tests := []struct {
		name   string
		upload vdxp.Upload
		padded bool
		hash   func(string) string
	}{
		{"the SDK's raw body and CRLF, unpadded hash", vdxp.UploadSDK, false, nil},
		{"the SDK's raw body and CRLF, padded hash", vdxp.UploadSDK, true, nil},
		{"multipart file_doc, unpadded hash", vdxp.UploadMultipart, false, nil},
		{"multipart file_doc, padded hash in uppercase", vdxp.UploadMultipart, true, strings.ToUpper},
		{"raw body without CRLF", vdxp.UploadRaw, false, nil},
	}
	var id string
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := e.client("SYS-G22", e.url)
			c.Upload = tt.upload
			hash := vdxp.HashFile(doc, tt.padded)
			if tt.hash != nil {
				hash = tt.hash(hash)
			}
			req, err := c.NewSendRequest(ctx, []vdxp.Param{{Name: "from", Value: g22}, {Name: "messagetype", Value: "edoc"}, {Name: "hash-file", Value: hash}}, doc)
			if err != nil {
				t.Fatal(err)
			}
			var out vdxp.SendReply
			if err := c.Do(req, &out); err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				id = out.DocID
			}
			if out.DocID != id || out.Created != (i == 0) || out.Receipt.SHA256 != sha(doc) {
				t.Errorf("reply %+v, want id %s, created %v, sha256 %s", out, id, i == 0, sha(doc))
			}
		})
	}
	got, err := e.clients["SYS-H29"].GetEdoc(ctx, id)
	if err != nil {
		// The item may not have reached the view yet.
		testwait.EventuallyState(t, "getEdoc", func() (bool, string) {
			got, err = e.clients["SYS-H29"].GetEdoc(ctx, id)
			return err == nil, printf(nil, err)
		})
	}
	if !bytes.Equal(got, doc) {
		t.Errorf("stored bytes differ from the file sent")
	}
}

func sha(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func printf(v any, err error) string {
	if err != nil {
		return fmt.Sprintf("error %v; %+v", err, v)
	}
	return fmt.Sprintf("%+v", v)
}
