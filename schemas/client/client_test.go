package client_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/digitorus/pkcs7"

	"github.com/lienthong/lienthong/internal/edxml"
	"github.com/lienthong/lienthong/internal/hubtest"
	"github.com/lienthong/lienthong/internal/pki"
	"github.com/lienthong/lienthong/schemas/client"
)

const fixtures = "../../internal/edxml/testdata/fixtures"

const (
	g22 = "000.00.00.G22"
	h29 = "000.00.00.H29"
	g12 = "000.00.00.G12"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// hub is a test hub with a client per agency.
type hub struct {
	*hubtest.Hub
	c map[string]*client.Client
}

func startHub(t testing.TB) *hub {
	t.Helper()
	h := &hub{Hub: hubtest.Start(t, hubtest.Options{}), c: map[string]*client.Client{}}
	for id, a := range h.Agencies {
		h.c[id] = client.New(h.URL, a.Token)
	}
	return h
}

// sign makes agency's detached CMS over data.
func (h *hub) sign(t testing.TB, agency string, data []byte) []byte {
	t.Helper()
	a := h.Agencies[agency].Cert
	sig, err := pki.SignDetached(bytes.NewReader(data), a.Cert, a.Key, a.Chain, pki.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// send posts data as by, signed by signer ("" for unsigned).
func (h *hub) send(ctx context.Context, t testing.TB, by, signer string, data []byte) (*client.Receipt, bool, error) {
	t.Helper()
	var sig []byte
	if signer != "" {
		sig = h.sign(t, signer, data)
	}
	return h.c[by].Send(ctx, bytes.NewReader(data), int64(len(data)), sig)
}

// waitInbox waits until the agency's inbox holds n items of kind.
func waitInbox(t testing.TB, c *client.Client, kind string, n int) []client.InboxItem {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var items []client.InboxItem
		for it, err := range c.InboxAll(context.Background(), kind) {
			if err != nil {
				t.Fatal(err)
			}
			items = append(items, it)
		}
		if len(items) >= n || time.Now().After(deadline) {
			if len(items) != n {
				t.Fatalf("inbox has %d %s items, want %d: %+v", len(items), kind, n, items)
			}
			return items
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestFullLoop(t *testing.T) {
	h := startHub(t)
	ctx := t.Context()
	doc, doc2 := fixture(t, "edoc-new.xml"), fixture(t, "edoc-new-two-recipients.xml")

	// G22 sends two documents to H29.
	rc, created, err := h.send(ctx, t, g22, g22, doc)
	if err != nil || !created {
		t.Fatalf("send: created %v, %v", created, err)
	}
	if rc.Kind != "edoc" || rc.From != g22 || !slices.Equal(rc.To, []string{h29}) || rc.Size != int64(len(doc)) ||
		rc.Verification == nil || !rc.Verification.Valid {
		t.Errorf("receipt %+v", rc)
	}
	if err := client.VerifyReceiptBy(rc, []*x509.Certificate{h.CA.Root()}, "000.00.00.G01"); err != nil {
		t.Errorf("receipt: %v", err)
	}
	again, created, err := h.send(ctx, t, g22, g22, doc)
	if err != nil || created || again.ID != rc.ID || again.Receipt != rc.Receipt {
		t.Errorf("resubmission: created %v, %v, same receipt %v", created, err, again != nil && again.Receipt == rc.Receipt)
	}
	rc2, _, err := h.send(ctx, t, g22, g22, doc2)
	if err != nil {
		t.Fatal(err)
	}

	// H29's inbox, a page at a time and all at once.
	hc := h.c[h29]
	items := waitInbox(t, hc, "edoc", 2)
	if ids := []string{items[0].ID, items[1].ID}; !slices.Contains(ids, rc.ID) || !slices.Contains(ids, rc2.ID) {
		t.Fatalf("inbox %+v", items)
	}
	page, err := hc.Inbox(ctx, client.InboxQuery{Kind: "edoc", Limit: 1})
	if err != nil || len(page.Items) != 1 || page.Next == "" {
		t.Fatalf("first page: %+v %v", page, err)
	}
	page, err = hc.Inbox(ctx, client.InboxQuery{Kind: "edoc", Limit: 1, Cursor: page.Next})
	if err != nil || len(page.Items) != 1 || page.Next != "" {
		t.Fatalf("second page: %+v %v", page, err)
	}
	it := items[slices.IndexFunc(items, func(it client.InboxItem) bool { return it.ID == rc.ID })]
	if it.From != g22 || it.Kind != "edoc" || !slices.Equal(it.Organs, []string{h29}) || it.SHA256 != rc.SHA256 || it.Size != rc.Size ||
		it.DocumentID != "000.00.00.G22,2025/11/20,1234/VPCP-KSTT" || it.AcceptedAt.IsZero() {
		t.Errorf("item %+v", it)
	}
	// The inbox message's fields, for an edoc: v and its business type.
	if it.V != 1 || it.BusinessType != "0" || it.StatusCode != "" || it.StatusName != "" {
		t.Errorf("edoc item v %d businessType %q statusCode %q statusName %q, want 1, 0 and no status", it.V, it.BusinessType, it.StatusCode, it.StatusName)
	}

	// Fetch the exact bytes, acknowledge.
	var got bytes.Buffer
	sum, n, err := hc.Fetch(ctx, rc.ID, &got)
	if err != nil || !bytes.Equal(got.Bytes(), doc) || sum != rc.SHA256 || n != int64(len(doc)) {
		t.Fatalf("fetch: %v, identical %v, sum %s n %d", err, bytes.Equal(got.Bytes(), doc), sum, n)
	}
	if err := hc.Ack(ctx, rc.ID, "done", ""); err != nil {
		t.Fatalf("ack: %v", err)
	}
	waitInbox(t, hc, "edoc", 1)

	// H29 answers 03 with a status built from the fetched document.
	fetched, err := hc.FetchPacket(ctx, rc.ID)
	if err != nil || !fetched.Valid() {
		t.Fatalf("fetch packet: %v", err)
	}
	status, err := client.BuildStatus(fetched, client.StatusInput{From: edxml.Organization{OrganID: h29}, Code: "03",
		Description: "Đã vào sổ văn bản đến", Staff: edxml.StaffInfo{Staff: "Lê Văn C"}})
	if err != nil {
		t.Fatal(err)
	}
	src, _, err := h.send(ctx, t, h29, h29, status)
	if err != nil {
		t.Fatalf("send status: %v\n%s", err, status)
	}
	if src.Kind != "status" || src.From != h29 || src.DocumentID != rc.DocumentID {
		t.Errorf("status receipt %+v", src)
	}

	// G22 sees it in its inbox, and on the document's timeline.
	st := waitInbox(t, h.c[g22], "status", 1)[0]
	if st.ID != src.ID || st.From != h29 || st.DocumentID != rc.DocumentID {
		t.Errorf("status item %+v", st)
	}
	if st.V != 1 || st.Kind != "status" || st.StatusCode != "03" || st.StatusName != "Đã tiếp nhận" || st.BusinessType != "" {
		t.Errorf("status item v %d kind %s statusCode %q statusName %q businessType %q, want 1 status 03 Đã tiếp nhận and none",
			st.V, st.Kind, st.StatusCode, st.StatusName, st.BusinessType)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		tl, err := h.c[g22].Timeline(ctx, rc.ID)
		if err != nil {
			t.Fatal(err)
		}
		var seen []string
		for _, e := range tl.Recipients[0].Events {
			seen = append(seen, e.Type+e.Code)
		}
		want := []string{"accepted", "routed", "delivered", "fetched", "acked", "status03"}
		if tl.ID == rc.ID && tl.From == g22 && tl.Recipients[0].OrganID == h29 && slices.Equal(seen, want) && tl.Recipients[0].State == "03" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("timeline %v state %s, want %v state 03", seen, tl.Recipients[0].State, want)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// G22 takes the second document back from H29 (13).
	fetched2, err := h.c[g22].FetchPacket(ctx, rc2.ID)
	if err != nil {
		t.Fatal(err)
	}
	take, err := client.BuildStatus(fetched2, client.StatusInput{From: edxml.Organization{OrganID: g22}, Code: "13", To: h29, Description: "gửi nhầm"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.send(ctx, t, g22, g22, take); err != nil {
		t.Fatalf("send 13: %v", err)
	}
	if st := waitInbox(t, hc, "status", 1)[0]; st.From != g22 || st.DocumentID != rc2.DocumentID {
		t.Errorf("13 in H29's inbox: %+v", st)
	}
}

func TestErrors(t *testing.T) {
	h := startHub(t)
	ctx := t.Context()
	doc := fixture(t, "edoc-new.xml")
	rc, _, err := h.send(ctx, t, g22, g22, doc)
	if err != nil {
		t.Fatal(err)
	}
	altered := bytes.Replace(doc, []byte("năm 2025</edXML:Subject>"), []byte("năm 2025 (bản sửa)</edXML:Subject>"), 1)
	tests := []struct {
		name         string
		give         func() error
		wantStatus   int
		wantCode     string
		wantProblems bool
	}{
		{"401 bad token", func() error {
			_, err := client.New(h.URL, "wrong").Inbox(ctx, client.InboxQuery{})
			return err
		}, 401, "auth.required", false},
		{"401 no token", func() error {
			_, err := client.New(h.URL, "").Timeline(ctx, rc.ID)
			return err
		}, 401, "auth.required", false},
		{"404 stranger fetching, as an unknown id", func() error {
			_, _, err := h.c[g12].Fetch(ctx, rc.ID, io.Discard)
			return err
		}, 404, "packet.not_found", false},
		{"403 sending as another agency", func() error {
			_, _, err := h.send(ctx, t, g22, g12, fixture(t, "status-02.xml"))
			return err
		}, 403, "auth.forbidden", false},
		{"409 same id other bytes", func() error {
			_, _, err := h.send(ctx, t, g22, g22, altered)
			return err
		}, 409, "packet.conflict", false},
		{"422 unsigned", func() error {
			_, _, err := h.send(ctx, t, g22, "", fixture(t, "edoc-new-two-recipients.xml"))
			return err
		}, 422, "sig.missing", false},
		{"422 bad organ id", func() error {
			_, _, err := h.send(ctx, t, g22, g22, fixture(t, "invalid/bad-organ-id.xml"))
			return err
		}, 422, "edxml.bad_organ_id", true},
		{"404 unknown packet", func() error {
			_, err := h.c[g22].Timeline(ctx, strings.Repeat("0", 64))
			return err
		}, 404, "packet.not_found", false},
		{"400 bad ack result", func() error {
			return h.c[h29].Ack(ctx, rc.ID, "maybe", "")
		}, 400, "request.bad_result", false},
		{"400 bad kind", func() error {
			_, err := h.c[h29].Inbox(ctx, client.InboxQuery{Kind: "memo"})
			return err
		}, 400, "request.bad_kind", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.give()
			var e *client.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T), want *client.Error", err, err)
			}
			if e.Status != tt.wantStatus || e.Code != tt.wantCode || e.Detail == "" {
				t.Errorf("%d %s %q, want %d %s", e.Status, e.Code, e.Detail, tt.wantStatus, tt.wantCode)
			}
			if (len(e.Problems) > 0) != tt.wantProblems {
				t.Errorf("problems %+v", e.Problems)
			}
			if !client.IsCode(err, tt.wantCode) || client.Code(err) != tt.wantCode || client.IsCode(err, "hub.unavailable") {
				t.Errorf("IsCode/Code on %v", err)
			}
			if !errors.Is(err, &client.Error{Code: tt.wantCode}) || !errors.Is(err, &client.Error{Status: tt.wantStatus}) ||
				errors.Is(err, &client.Error{Code: "hub.unavailable"}) || errors.Is(err, &client.Error{}) {
				t.Errorf("errors.Is on %v", err)
			}
		})
	}

	// An unreachable hub is not a refusal.
	_, err = client.New("http://127.0.0.1:1", "x").Inbox(ctx, client.InboxQuery{})
	if err == nil || client.Code(err) != "" {
		t.Errorf("unreachable: %v", err)
	}
	// Nor is an error page that is not problem+json; its text is kept.
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "bad gateway from the proxy", http.StatusBadGateway)
	}))
	defer proxy.Close()
	err = client.New(proxy.URL, "x").Ack(ctx, "id", "done", "")
	var e *client.Error
	if !errors.As(err, &e) || e.Status != 502 || e.Code != "" || !strings.Contains(e.Detail, "bad gateway from the proxy") {
		t.Errorf("proxy error: %#v", err)
	}
}

// A hub that lies about the digest is caught.
func TestFetchDigest(t *testing.T) {
	body := []byte("<edXML>the exact bytes</edXML>\n")
	sum := sha256.Sum256(body)
	other := sha256.Sum256([]byte("other bytes"))
	tests := []struct {
		name    string
		give    []string // Digest header values
		content []string // Content-Digest header values
		wantErr error
	}{
		{"Content-Digest (RFC 9530)", nil, []string{"sha-256=:" + base64.StdEncoding.EncodeToString(sum[:]) + ":"}, nil},
		{"Content-Digest wins over Digest", []string{"sha-256=" + hex.EncodeToString(other[:])}, []string{"sha-512=:AAAA:, sha-256=:" + base64.StdEncoding.EncodeToString(sum[:]) + ":"}, nil},
		{"lying Content-Digest", []string{"sha-256=" + hex.EncodeToString(sum[:])}, []string{"sha-256=:" + base64.StdEncoding.EncodeToString(other[:]) + ":"}, client.ErrDigestMismatch},
		{"Content-Digest without its colons", nil, []string{"sha-256=" + base64.StdEncoding.EncodeToString(sum[:])}, client.ErrDigestMismatch},
		{"hex", []string{"sha-256=" + hex.EncodeToString(sum[:])}, nil, nil},
		{"base64 of RFC 3230, among others", []string{"md5=xyz, SHA-256=" + base64.StdEncoding.EncodeToString(sum[:])}, nil, nil},
		{"lying digest", []string{"sha-256=" + hex.EncodeToString(other[:])}, nil, client.ErrDigestMismatch},
		{"no digest", nil, nil, client.ErrDigestMismatch},
		{"unreadable digest", []string{"sha-256=zzz"}, nil, client.ErrDigestMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/v1/packets/abc" || r.Header.Get("Authorization") != "Bearer tok" {
					http.Error(w, "wrong request", http.StatusBadRequest)
					return
				}
				for _, d := range tt.give {
					w.Header().Add("Digest", d)
				}
				for _, d := range tt.content {
					w.Header().Add("Content-Digest", d)
				}
				_, _ = w.Write(body)
			}))
			defer srv.Close()
			var got bytes.Buffer
			s, n, err := client.New(srv.URL, "tok").Fetch(t.Context(), "abc", &got)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			if !bytes.Equal(got.Bytes(), body) || n != int64(len(body)) || s != hex.EncodeToString(sum[:]) {
				t.Errorf("got %q n %d sum %s", got.Bytes(), n, s)
			}
		})
	}
}

func TestVerifyReceipt(t *testing.T) {
	h := startHub(t)
	rc, _, err := h.send(t.Context(), t, g22, g22, fixture(t, "edoc-new.xml"))
	if err != nil {
		t.Fatal(err)
	}
	roots := []*x509.Certificate{h.CA.Root()}
	other, err := pki.Init(t.TempDir(), pki.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	der, err := base64.StdEncoding.DecodeString(rc.Receipt)
	if err != nil {
		t.Fatal(err)
	}
	// The signed content with one hex digit of its sha256 changed.
	at := bytes.Index(der, []byte(`"sha256":"`)) + len(`"sha256":"`)
	tampered := bytes.Clone(der)
	tampered[at] = map[bool]byte{true: '1', false: '0'}[tampered[at] == '0']
	// A receipt made by an agency, whose certificate chains to the same root.
	content := bytes.Clone(der[bytes.Index(der, []byte(`{"id":`)):])
	content = content[:bytes.Index(content, []byte(`"receipt":""}`))+len(`"receipt":""}`)]
	sd, err := pkcs7.NewSignedData(content)
	if err != nil {
		t.Fatal(err)
	}
	a := h.Agencies[g22].Cert
	if err := sd.AddSignerChain(a.Cert, a.Key, a.Chain, pkcs7.SignerInfoConfig{}); err != nil {
		t.Fatal(err)
	}
	forged, err := sd.Finish()
	if err != nil {
		t.Fatal(err)
	}
	with := func(f func(r *client.Receipt)) *client.Receipt {
		r := *rc
		f(&r)
		return &r
	}
	tests := []struct {
		name  string
		give  *client.Receipt
		roots []*x509.Certificate
		hub   string // VerifyReceiptBy's organ; "" for VerifyReceipt
		want  bool
	}{
		{"valid", rc, roots, "", true},
		{"valid, by the hub", rc, roots, "000.00.00.G01", true},
		{"receipt field changed", with(func(r *client.Receipt) { r.SHA256 = strings.Repeat("a", 64) }), roots, "", false},
		{"receipt size changed", with(func(r *client.Receipt) { r.Size++ }), roots, "", false},
		{"receipt recipients changed", with(func(r *client.Receipt) { r.To = []string{g12} }), roots, "", false},
		{"signed content tampered", with(func(r *client.Receipt) { r.Receipt = base64.StdEncoding.EncodeToString(tampered) }), roots, "", false},
		{"wrong root", rc, []*x509.Certificate{other.Root()}, "", false},
		{"no roots", rc, nil, "", false},
		{"unsigned", with(func(r *client.Receipt) { r.Receipt = "" }), roots, "", false},
		{"not base64", with(func(r *client.Receipt) { r.Receipt = "%%%" }), roots, "", false},
		{"signed by an agency chains", with(func(r *client.Receipt) { r.Receipt = base64.StdEncoding.EncodeToString(forged) }), roots, "", true},
		{"signed by an agency, not the hub", with(func(r *client.Receipt) { r.Receipt = base64.StdEncoding.EncodeToString(forged) }), roots, "000.00.00.G01", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.hub == "" {
				err = client.VerifyReceipt(tt.give, tt.roots)
			} else {
				err = client.VerifyReceiptBy(tt.give, tt.roots, tt.hub)
			}
			if (err == nil) != tt.want {
				t.Fatalf("err %v, want valid %v", err, tt.want)
			}
			if err != nil && !errors.Is(err, client.ErrReceipt) {
				t.Errorf("%v does not wrap ErrReceipt", err)
			}
		})
	}
}

func TestBuildStatus(t *testing.T) {
	parse := func(name string) *edxml.Packet {
		p, err := edxml.Parse(bytes.NewReader(fixture(t, name)), edxml.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	doc, doc2, st := parse("edoc-new.xml"), parse("edoc-new-two-recipients.xml"), parse("status-03.xml")
	at := time.Date(2025, 11, 20, 3, 2, 41, 0, time.UTC) // 10:02:41 in Hanoi
	tests := []struct {
		name    string
		doc     *edxml.Packet
		give    client.StatusInput
		wantErr bool
		wantRF  string // ResponseFor/OrganId
	}{
		{"03 by the recipient", doc, client.StatusInput{From: edxml.Organization{OrganID: h29}, Code: "03", Time: at}, false, g22},
		{"02 by the second recipient", doc2, client.StatusInput{From: edxml.Organization{OrganID: g12}, Code: "02", Description: "sai", Time: at}, false, g22},
		{"13 by the sender", doc2, client.StatusInput{From: edxml.Organization{OrganID: g22}, Code: "13", To: g12, Time: at}, false, g12},
		{"13 by a recipient", doc2, client.StatusInput{From: edxml.Organization{OrganID: h29}, Code: "13", To: g12}, true, ""},
		{"13 without --to", doc2, client.StatusInput{From: edxml.Organization{OrganID: g22}, Code: "13"}, true, ""},
		{"13 to a stranger", doc, client.StatusInput{From: edxml.Organization{OrganID: g22}, Code: "13", To: g12}, true, ""},
		{"unknown code", doc, client.StatusInput{From: edxml.Organization{OrganID: h29}, Code: "99"}, true, ""},
		{"alias code", doc, client.StatusInput{From: edxml.Organization{OrganID: h29}, Code: "3"}, true, ""},
		{"no sender", doc, client.StatusInput{Code: "03"}, true, ""},
		{"answering a status", st, client.StatusInput{From: edxml.Organization{OrganID: g22}, Code: "03"}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := client.BuildStatus(tt.doc, tt.give)
			if tt.wantErr {
				if !errors.Is(err, client.ErrStatus) {
					t.Fatalf("err %v, want ErrStatus", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p, err := edxml.Parse(bytes.NewReader(raw), edxml.Options{})
			if err != nil || !p.Valid() || p.Kind != edxml.KindStatus {
				t.Fatalf("built status does not parse: %v %+v\n%s", err, p.Errors, raw)
			}
			s, h := p.Status, tt.doc.Header
			want := edxml.ResponseFor{OrganID: tt.wantRF, Code: h.Code.String(), PromulgationDate: h.Promulgation.Date, DocumentID: h.DocumentID}
			if s.ResponseFor != want || s.StatusCode != tt.give.Code || s.Timestamp != "2025/11/20 10:02:41" || s.From.OrganID != tt.give.From.OrganID ||
				s.From.OrganName == "" || s.Description != tt.give.Description {
				t.Errorf("status %+v", s)
			}
		})
	}
}

// discardHub answers POST /v1/packets like the hub, reading the multipart
// body as a stream and keeping nothing.
type discardHub struct {
	lie      bool // answer another sha256
	sawLen   atomic.Int64
	sawBytes atomic.Int64
}

func (d *discardHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.sawLen.Store(r.ContentLength)
	cr := &countReader{r: r.Body}
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	mr := multipart.NewReader(cr, params["boundary"])
	h := sha256.New()
	var n int64
	var sig []byte
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		switch part.FormName() {
		case "packet":
			if n, err = io.Copy(h, part); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
		case "signature":
			sig, _ = io.ReadAll(part)
		}
	}
	d.sawBytes.Store(cr.n)
	sum := hex.EncodeToString(h.Sum(nil))
	if d.lie {
		sum = strings.Repeat("0", 64)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{"id": "x", "kind": "edoc", "sha256": sum, "size": n, "signatureBytes": len(sig)})
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// generated is a deterministic stream of n pseudo-random bytes.
func generated(n int64) io.Reader {
	return io.LimitReader(rand.NewChaCha8([32]byte{1}), n)
}

func TestSendShapes(t *testing.T) {
	const size = 1 << 20
	tests := []struct {
		name     string
		giveSize int64 // announced
		lie      bool
		wantErr  bool
		wantIs   error // what the error wraps, if anything in particular
	}{
		{"known size", size, false, false, nil},
		{"unknown size, chunked", -1, false, false, nil},
		{"packet shorter than announced", size + 10, false, true, nil},
		{"packet longer than announced", size - 10, false, true, nil},
		{"hub acknowledging other bytes", size, true, true, client.ErrReceipt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &discardHub{lie: tt.lie}
			srv := httptest.NewServer(d)
			defer srv.Close()
			var last atomic.Int64
			c := client.New(srv.URL, "tok", client.WithProgress(func(sent, total int64) {
				if total != tt.giveSize {
					t.Errorf("progress total %d, want %d", total, tt.giveSize)
				}
				last.Store(sent)
			}))
			rc, created, err := c.Send(t.Context(), generated(size), tt.giveSize, []byte("sig"))
			if (err != nil) != tt.wantErr || tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Fatalf("err %v, want an error %v (wrapping %v)", err, tt.wantErr, tt.wantIs)
			}
			if tt.wantErr {
				return
			}
			h := sha256.New()
			_, _ = io.Copy(h, generated(size))
			if !created || rc.SHA256 != hex.EncodeToString(h.Sum(nil)) || rc.Size != size || last.Load() != size {
				t.Errorf("created %v receipt %+v progress %d", created, rc, last.Load())
			}
			if want := map[bool]int64{true: d.sawBytes.Load(), false: -1}[tt.giveSize >= 0]; d.sawLen.Load() != want {
				t.Errorf("Content-Length %d, want %d", d.sawLen.Load(), want)
			}
		})
	}
}

// Sending 200 MB keeps the client's memory flat: the packet streams.
func TestSendStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 200 MB")
	}
	const size = 200 << 20
	srv := httptest.NewServer(&discardHub{})
	defer srv.Close()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	heap := func() int64 {
		metrics.Read(sample)
		return int64(sample[0].Value.Uint64())
	}
	runtime.GC()
	base := heap()
	var peak atomic.Int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if v := heap(); v > peak.Load() {
					peak.Store(v)
				}
			}
		}
	}()
	var calls atomic.Int64
	c := client.New(srv.URL, "tok", client.WithProgress(func(_, _ int64) { calls.Add(1) }))
	rc, _, err := c.Send(t.Context(), generated(size), size, nil)
	close(stop)
	<-sampled
	if err != nil {
		t.Fatal(err)
	}
	if rc.Size != size || calls.Load() < 100 {
		t.Errorf("size %d, %d progress calls", rc.Size, calls.Load())
	}
	growth := peak.Load() - base
	t.Logf("heap: base %d MiB, peak growth %d MiB", base>>20, growth>>20)
	if growth > 32<<20 {
		t.Errorf("heap grew by %d MiB sending %d MiB, want < 32 MiB", growth>>20, size>>20)
	}
}

// A packet that cannot be read, or a context that ends, stops Send.
func TestSendFailures(t *testing.T) {
	srv := httptest.NewServer(&discardHub{})
	defer srv.Close()
	errDisk := errors.New("disk on fire")
	tests := []struct {
		name   string
		give   io.Reader
		size   int64
		cancel time.Duration // cancel the context after this long; 0 never
		want   error
	}{
		{"read error", io.MultiReader(generated(1<<20), iotest.ErrReader(errDisk)), 2 << 20, 0, errDisk},
		{"read error, unknown size", io.MultiReader(generated(1<<20), iotest.ErrReader(errDisk)), -1, 0, errDisk},
		{"canceled", rand.NewChaCha8([32]byte{}), -1, 50 * time.Millisecond, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tt.cancel > 0 {
				time.AfterFunc(tt.cancel, cancel)
			}
			start := time.Now()
			_, _, err := client.New(srv.URL, "tok").Send(ctx, tt.give, tt.size, nil)
			if !errors.Is(err, tt.want) || client.Code(err) != "" {
				t.Errorf("err %v, want %v", err, tt.want)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

// InboxAll follows cursors, stops when told to, and yields a failing page's
// error.
func TestInboxAll(t *testing.T) {
	pages := map[string]string{ // cursor → answer
		"":   `{"items":[{"id":"a"},{"id":"b"}],"next":"c1"}`,
		"c1": `{"items":[{"id":"c"}],"next":"c2"}`,
		"c2": `{"items":[{"id":"d"}],"next":null}`,
	}
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if r.URL.Query().Get("kind") != "status" || r.URL.Query().Get("limit") != "1000" {
			http.Error(w, "bad query "+r.URL.RawQuery, http.StatusBadRequest)
			return
		}
		page, ok := pages[r.URL.Query().Get("cursor")]
		if !ok {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"code":"request.bad_cursor","detail":"track: bad cursor"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, page)
	}))
	defer srv.Close()
	c := client.New(srv.URL, "tok")
	tests := []struct {
		name      string
		give      map[string]string // replaces pages entries
		stopAfter int               // 0: never
		want      []string
		wantCode  string
		wantReqs  int64
	}{
		{name: "three pages", want: []string{"a", "b", "c", "d"}, wantReqs: 3},
		{name: "stop in the first page", stopAfter: 2, want: []string{"a", "b"}, wantReqs: 1},
		{name: "bad cursor on page two", give: map[string]string{"": `{"items":[{"id":"a"}],"next":"zz"}`}, want: []string{"a"}, wantCode: "request.bad_cursor", wantReqs: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			saved := maps.Clone(pages)
			defer func() { pages = saved }()
			maps.Copy(pages, tt.give)
			requests.Store(0)
			var got []string
			var gotErr error
			for it, err := range c.InboxAll(t.Context(), "status") {
				if err != nil {
					gotErr = err
					continue
				}
				got = append(got, it.ID)
				if len(got) == tt.stopAfter {
					break
				}
			}
			if !slices.Equal(got, tt.want) || client.Code(gotErr) != tt.wantCode || (gotErr != nil) != (tt.wantCode != "") || requests.Load() != tt.wantReqs {
				t.Errorf("got %v, err %v, %d requests; want %v, %s, %d", got, gotErr, requests.Load(), tt.want, tt.wantCode, tt.wantReqs)
			}
		})
	}
}

// Inbox decodes the fields an item shares with the inbox message, and reads
// an item of an older hub (without them) with those fields empty.
func TestInboxItemFields(t *testing.T) {
	id := strings.Repeat("ab", 32)
	base := `"id":"` + id + `","kind":"%s","from":"000.00.00.H29","organs":["000.00.00.G22"],"documentId":"d","subject":"",` +
		`"priority":0,"acceptedAt":"2025-11-20T09:15:00.000000000Z","sha256":"` + id + `","size":1`
	tests := []struct {
		name string
		give string
		want client.InboxItem
	}{
		{"edoc", `{"v":1,` + fmt.Sprintf(base, "edoc") + `,"businessType":"3"}`,
			client.InboxItem{V: 1, Kind: "edoc", BusinessType: "3"}},
		{"status", `{"v":1,` + fmt.Sprintf(base, "status") + `,"statusCode":"01","statusName":"Đã đến"}`,
			client.InboxItem{V: 1, Kind: "status", StatusCode: "01", StatusName: "Đã đến"}},
		{"older hub", `{` + fmt.Sprintf(base, "status") + `}`, client.InboxItem{Kind: "status"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, `{"items":[%s],"next":null}`, tt.give)
			}))
			defer srv.Close()
			page, err := client.New(srv.URL, "t").Inbox(t.Context(), client.InboxQuery{})
			if err != nil || len(page.Items) != 1 {
				t.Fatalf("%+v %v", page, err)
			}
			got := page.Items[0]
			if got.ID != id || got.V != tt.want.V || got.Kind != tt.want.Kind || got.BusinessType != tt.want.BusinessType ||
				got.StatusCode != tt.want.StatusCode || got.StatusName != tt.want.StatusName {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
