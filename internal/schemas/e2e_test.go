package schemas_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/segmentio/kafka-go"

	"github.com/lienthong/lienthong/internal/edxml"
	"github.com/lienthong/lienthong/internal/hubtest"
	"github.com/lienthong/lienthong/internal/pdfsig"
	"github.com/lienthong/lienthong/internal/pdfsig/pdfsigtest"
	"github.com/lienthong/lienthong/internal/pki"
	"github.com/lienthong/lienthong/internal/schemas"
	"github.com/lienthong/lienthong/schemas/events"
)

const (
	fixtures = "../edxml/testdata/fixtures"
	prefix   = "lienthong." // hubtest's topics use the default prefix
)

// exchange is one HTTP answer, kept to be validated against the OpenAPI
// document: the operation (method and path template as the document
// writes them), the status and the body.
type exchange struct {
	method, path string
	status       int
	mediaType    string
	body         []byte
}

type client struct {
	t    *testing.T
	url  string
	seen []exchange
}

// do sends a request and records the answer under the path template.
func (c *client) do(method, template, path, token, ctype string, body io.Reader) exchange {
	c.t.Helper()
	req, err := http.NewRequest(method, c.url+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close() //nolint:errcheck // read-only
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	x := exchange{method: method, path: template, status: resp.StatusCode, mediaType: mt, body: raw}
	if template == "/v1/packets" && (x.status == 200 || x.status == 201) {
		if loc := resp.Header.Get("Location"); loc != "/v1/packets/"+field(c.t, raw, "id") {
			c.t.Errorf("Location %q for receipt %s", loc, raw)
		}
	}
	c.seen = append(c.seen, x)
	return x
}

// send posts a packet as multipart, with a detached CMS by signer if any.
func (c *client) send(token string, packet []byte, signer *hubtest.Agency) exchange {
	c.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if signer != nil {
		sig, err := pki.SignDetached(bytes.NewReader(packet), signer.Cert.Cert, signer.Cert.Key, signer.Cert.Chain, pki.SignOptions{})
		if err != nil {
			c.t.Fatal(err)
		}
		w, _ := mw.CreateFormFile("signature", "packet.p7s")
		_, _ = w.Write(sig)
	}
	w, _ := mw.CreateFormFile("packet", "packet.xml")
	_, _ = w.Write(packet)
	_ = mw.Close()
	return c.do(http.MethodPost, "/v1/packets", "/v1/packets", token, mw.FormDataContentType(), &body)
}

// inbox waits until the agency's inbox lists n items of kind.
func (c *client) inbox(a *hubtest.Agency, kind string, n int) []map[string]any {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		x := c.do(http.MethodGet, "/v1/inbox", "/v1/inbox?kind="+kind, a.Token, "", nil)
		if x.status != 200 {
			c.t.Fatalf("inbox: %d %s", x.status, x.body)
		}
		var page struct{ Items []map[string]any }
		if err := json.Unmarshal(x.body, &page); err != nil {
			c.t.Fatal(err)
		}
		if len(page.Items) >= n || time.Now().After(deadline) {
			if len(page.Items) != n {
				c.t.Fatalf("%s inbox has %d %s items, want %d: %s", a.ID, len(page.Items), kind, n, x.body)
			}
			return page.Items
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *client) expect(x exchange, status int, code string) {
	c.t.Helper()
	if x.status != status || (code != "" && field(c.t, x.body, "code") != code) {
		c.t.Fatalf("%s %s: %d %s, want %d %s", x.method, x.path, x.status, x.body, status, code)
	}
}

func field(t *testing.T, raw []byte, name string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	s, _ := m[name].(string)
	return s
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRealPayloadsValidate runs a whole hub through the data path (edocs,
// statuses, fetches, acknowledgements, refusals), then validates every HTTP
// answer against the OpenAPI document and every message on the hub's
// topics against its event schema, published and strict: a field renamed,
// dropped or added in the Go payloads without the schemas fails here.
func TestRealPayloadsValidate(t *testing.T) {
	published, err := schemas.Load(false)
	if err != nil {
		t.Fatal(err)
	}
	strict, err := schemas.Load(true)
	if err != nil {
		t.Fatal(err)
	}
	h := hubtest.Start(t, hubtest.Options{PDF: true})
	c := &client{t: t, url: h.URL}
	g22, h29, g12 := h.Agencies["000.00.00.G22"], h.Agencies["000.00.00.H29"], h.Agencies["000.00.00.G12"]

	// Two edocs, one resubmitted.
	doc1234, doc1250 := fixture(t, "edoc-new.xml"), fixture(t, "edoc-new-two-recipients.xml")
	r1234 := c.send(g22.Token, doc1234, g22)
	c.expect(r1234, 201, "")
	r1250 := c.send(g22.Token, doc1250, g22)
	c.expect(r1250, 201, "")
	c.expect(c.send(g22.Token, doc1234, g22), 200, "")
	id1234, id1250 := field(t, r1234.body, "id"), field(t, r1250.body, "id")

	// Delivered, fetched, acknowledged (done by H29, fail with a reason by G12).
	c.inbox(h29, "edoc", 2)
	c.inbox(g12, "edoc", 1)
	c.expect(c.do(http.MethodGet, "/v1/packets/{id}", "/v1/packets/"+id1234, h29.Token, "", nil), 200, "")
	c.expect(c.do(http.MethodGet, "/v1/packets/{id}", "/v1/packets/"+id1250, g12.Token, "", nil), 200, "")
	ack := func(a *hubtest.Agency, id, body string) exchange {
		return c.do(http.MethodPost, "/v1/inbox/{id}/ack", "/v1/inbox/"+id+"/ack", a.Token, "application/json", strings.NewReader(body))
	}
	c.expect(ack(h29, id1234, `{"result":"done"}`), 200, "")
	c.expect(ack(g12, id1250, `{"result":"fail","reason":"cannot open the appendix"}`), 200, "")

	// Statuses: 03 then 01 (out of order) from H29, 02 from G12, a take-back
	// 13 from G22 to H29, and a 05 about a document the hub does not know.
	unknownDoc := bytes.ReplaceAll(fixture(t, "status-05.xml"), []byte("1234/VPCP-KSTT"), []byte("9999/VPCP-KSTT"))
	var id03 string
	for i, st := range []struct {
		packet []byte
		by     *hubtest.Agency
	}{
		{fixture(t, "status-03.xml"), h29}, {fixture(t, "status-01.xml"), h29}, {fixture(t, "status-02.xml"), g12},
		{fixture(t, "status-13.xml"), g22}, {unknownDoc, h29},
	} {
		x := c.send(st.by.Token, st.packet, st.by)
		c.expect(x, 201, "")
		if i == 0 {
			id03 = field(t, x.body, "id")
		}
	}
	c.inbox(g22, "status", 4)
	c.inbox(h29, "status", 1)

	// Timelines: the sender's whole view once the statuses are on it, and a
	// recipient's own part.
	deadline := time.Now().Add(20 * time.Second)
	for {
		x := c.do(http.MethodGet, "/v1/packets/{id}/timeline", "/v1/packets/"+id1234+"/timeline", g22.Token, "", nil)
		c.expect(x, 200, "")
		if bytes.Contains(x.body, []byte(`"code":"01"`)) && bytes.Contains(x.body, []byte(`"acked"`)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("timeline never showed the statuses: %s", x.body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.expect(c.do(http.MethodGet, "/v1/packets/{id}/timeline", "/v1/packets/"+id1250+"/timeline", g12.Token, "", nil), 200, "")

	// A letter sealed by its sender, its annex zipped: the verdicts on the
	// PDFs' signatures travel with it.
	sealed := sealedLetter(t, h, g12, g22)
	rSealed := c.send(g12.Token, sealed, g12)
	c.expect(rSealed, 201, "")
	idSealed := field(t, rSealed.body, "id")
	c.inbox(g22, "edoc", 1)
	c.expect(c.do(http.MethodGet, "/v1/packets/{id}/timeline", "/v1/packets/"+idSealed+"/timeline", g22.Token, "", nil), 200, "")

	// Refusals, each a problem+json.
	altered := bytes.Replace(doc1234, []byte("năm 2025</edXML:Subject>"), []byte("năm 2025 (bản sửa)</edXML:Subject>"), 1)
	// A replacement of 1234 (it names the replaced document).
	c.expect(c.send(g22.Token, fixture(t, "edoc-replace.xml"), g22), 201, "")
	c.expect(c.send(g22.Token, altered, g22), 409, "packet.conflict")
	c.expect(c.send(g22.Token, fixture(t, "edoc-update.xml"), nil), 422, "sig.missing")
	c.expect(c.send(g22.Token, fixture(t, "edoc-update.xml"), h29), 422, "sig.signer_mismatch")
	c.expect(c.send(g22.Token, fixture(t, "invalid/bad-organ-id.xml"), g22), 422, "edxml.bad_organ_id")
	c.expect(c.send(g22.Token, fixture(t, "invalid/dtd-external-entity.xml"), g22), 400, "xml.dtd_forbidden")
	c.expect(c.send(g12.Token, fixture(t, "status-04.xml"), g12), 403, "auth.forbidden")
	c.expect(c.do(http.MethodPost, "/v1/packets", "/v1/packets", g22.Token, "text/plain", bytes.NewReader(doc1234)), 415, "request.media_type")
	c.expect(c.do(http.MethodGet, "/v1/inbox", "/v1/inbox", "", "", nil), 401, "auth.required")
	c.expect(c.do(http.MethodGet, "/v1/inbox", "/v1/inbox?kind=memo", g22.Token, "", nil), 400, "request.bad_kind")
	c.expect(c.do(http.MethodGet, "/v1/inbox", "/v1/inbox?cursor=zz", g22.Token, "", nil), 400, "request.bad_cursor")
	c.expect(c.do(http.MethodGet, "/v1/packets/{id}", "/v1/packets/"+id1234, g12.Token, "", nil), 404, "packet.not_found") // a non-party: as an unknown id
	c.expect(c.do(http.MethodGet, "/v1/packets/{id}/timeline", "/v1/packets/"+strings.Repeat("0", 64)+"/timeline", g22.Token, "", nil), 404, "packet.not_found")
	c.expect(ack(h29, id1234, `{"result":"done"}`), 404, "packet.not_found")
	c.expect(ack(h29, id1250, `{"result":"maybe"}`), 400, "request.bad_result")
	c.expect(ack(h29, id1250, `not json`), 400, "request.json")
	c.expect(c.do(http.MethodGet, "/healthz", "/healthz", "", "", nil), 200, "")
	c.expect(c.do(http.MethodGet, "/readyz", "/readyz", "", "", nil), 200, "")

	for _, x := range c.seen {
		if x.method == http.MethodGet && x.path == "/v1/packets/{id}" && x.status == 200 {
			continue // the packet's bytes, XML
		}
		for _, set := range []*schemas.Set{published, strict} {
			sch, err := set.Response(x.method, x.path, x.status, x.mediaType)
			if err != nil {
				t.Errorf("%s %s answered %d %s: %v", x.method, x.path, x.status, x.mediaType, err)
				continue
			}
			if err := validateBody(sch, x); err != nil {
				t.Errorf("%s %s %d does not match openapi.yaml: %v\n%s", x.method, x.path, x.status, err, x.body)
			}
		}
	}

	inboxes := checkTopics(t, h.Broker.Addrs(), published, strict)

	// An agency acts on its inbox message without fetching the packet: the
	// real document and the real status carry what it needs.
	var sealedItem *events.Delivery
	for _, d := range inboxes[prefix+"inbox.000.00.00.G22"] {
		if d.ID == idSealed {
			sealedItem = &d
		}
	}
	if sealedItem == nil || len(sealedItem.Attachments) != 2 || !sealedItem.Attachments[0].OrganSigned ||
		sealedItem.Attachments[0].Signatures[0].OrganID != g12.ID || sealedItem.Attachments[1].Entry != "phu-luc.pdf" {
		t.Errorf("the sealed letter's inbox message: %+v", sealedItem)
	}

	doc1234ID := field(t, r1234.body, "documentId")
	for _, tt := range []struct {
		topic, id string
		want      events.Delivery
	}{
		{prefix + "inbox.000.00.00.H29", id1234, events.Delivery{V: 1, Kind: "edoc", From: "000.00.00.G22", DocumentID: doc1234ID, BusinessType: "0"}},
		{prefix + "inbox.000.00.00.G22", id03, events.Delivery{V: 1, Kind: "status", From: "000.00.00.H29", DocumentID: doc1234ID,
			StatusCode: "03", StatusName: "Đã tiếp nhận"}},
	} {
		var got *events.Delivery
		for _, d := range inboxes[tt.topic] {
			if d.ID == tt.id {
				got = &d
			}
		}
		if got == nil {
			t.Errorf("%s has no message for %s", tt.topic, tt.id)
			continue
		}
		if got.V != tt.want.V || got.Kind != tt.want.Kind || got.From != tt.want.From || got.DocumentID != tt.want.DocumentID ||
			got.BusinessType != tt.want.BusinessType || got.StatusCode != tt.want.StatusCode || got.StatusName != tt.want.StatusName {
			t.Errorf("%s %s: %+v, want %+v", tt.topic, tt.id, *got, tt.want)
		}
	}
}

func validateBody(sch *jsonschema.Schema, x exchange) error {
	if strings.HasPrefix(x.mediaType, "text/") {
		return sch.Validate(string(x.body))
	}
	return schemas.Validate(sch, x.body)
}

var correlationID = regexp.MustCompile(`^[0-9a-f]{32}$`)

// checkTopics reads every partition of every hub topic from the first
// offset to the end and validates each message: its value against its
// topic's schema, its key (the packet id), its headers. It also checks that
// the run wrote every field each schema describes, so the schemas' optional
// fields were exercised too, and that each value decodes into its public Go
// type (schemas/events) and encodes back to the same bytes. It returns the
// inbox messages by topic.
func checkTopics(t *testing.T, addrs []string, sets ...*schemas.Set) map[string][]events.Delivery {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := kafka.DialContext(ctx, "tcp", addrs[0])
	if err != nil {
		t.Fatal(err)
	}
	parts, err := conn.ReadPartitions()
	_ = conn.Close()
	if err != nil {
		t.Fatal(err)
	}
	written := map[string]map[string]bool{} // schema → top-level fields seen
	count := map[string]int{}
	types := map[string]bool{}
	inboxes := map[string][]events.Delivery{}
	for _, p := range parts {
		if !strings.HasPrefix(p.Topic, prefix) {
			continue
		}
		msgs := readPartition(ctx, t, addrs, p.Topic, p.ID)
		name := schemas.EventFor(prefix, p.Topic)
		if name == "" {
			if p.Topic != prefix+"dead-letter" {
				t.Errorf("topic %s has no schema", p.Topic)
			}
			for _, m := range msgs {
				t.Errorf("%s holds a parked message: %s: %s", p.Topic, header(m, "x-error"), m.Value)
			}
			continue
		}
		for _, m := range msgs {
			count[name]++
			for _, set := range sets {
				sch, err := set.Event(name)
				if err != nil {
					t.Fatal(err)
				}
				if err := schemas.Validate(sch, m.Value); err != nil {
					t.Errorf("%s[%d]@%d does not match %s.schema.json: %v\n%s", m.Topic, m.Partition, m.Offset, name, err, m.Value)
				}
			}
			var v map[string]any
			if err := json.Unmarshal(m.Value, &v); err != nil {
				t.Fatal(err)
			}
			if written[name] == nil {
				written[name] = map[string]bool{}
			}
			for k := range v {
				written[name][k] = true
			}
			if string(m.Key) != v["id"] {
				t.Errorf("%s@%d: key %q, id %v", m.Topic, m.Offset, m.Key, v["id"])
			}
			if ep, ok := strings.CutPrefix(m.Topic, prefix+"inbox."); ok && v["endpoint"] != ep {
				t.Errorf("%s@%d: endpoint %v", m.Topic, m.Offset, v["endpoint"])
			}
			for _, hd := range m.Headers {
				if hd.Key != "x-correlation-id" || !correlationID.Match(hd.Value) {
					t.Errorf("%s@%d: undocumented header %s=%q", m.Topic, m.Offset, hd.Key, hd.Value)
				}
			}
			types[name+"/"+kindOrType(v)] = true
			d, err := publicType(name, m.Value)
			if err != nil {
				t.Errorf("%s@%d as its Go type in schemas/events: %v", m.Topic, m.Offset, err)
			}
			if d != nil {
				checkKindFields(t, m, *d)
				inboxes[m.Topic] = append(inboxes[m.Topic], *d)
			}
		}
	}
	t.Logf("validated %v messages", count)
	for _, want := range []string{"accepted/edoc", "accepted/status", "delivery/edoc", "delivery/status", "transport/fetched", "transport/acked"} {
		if !types[want] {
			t.Errorf("no %s message on the topics", want)
		}
	}
	// Every documented field was written at least once.
	for name, doc := range sets[0].Events {
		props, _ := doc["properties"].(map[string]any)
		for k := range props {
			// hops is written only by federated hubs (TestFederation in
			// internal/cli covers it).
			if !written[name][k] && k != "hops" {
				t.Errorf("no %s message had %q: untested, or no longer written", name, k)
			}
		}
	}
	return inboxes
}

// publicType decodes value into the Go type of schema name, refusing a
// field the type lacks, and encodes it back: the bytes must be the hub's.
// It returns the inbox message.
func publicType(name string, value []byte) (*events.Delivery, error) {
	var v any
	var d events.Delivery
	switch name {
	case schemas.EventAccepted:
		v = &events.Accepted{}
	case schemas.EventDelivery:
		v = &d
	case schemas.EventTransport:
		v = &events.Transport{}
	default:
		return nil, fmt.Errorf("no Go type for %s", name)
	}
	dec := json.NewDecoder(bytes.NewReader(value))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return nil, err
	}
	back, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(back, value) {
		return nil, fmt.Errorf("encodes back as\n%s\nnot\n%s", back, value)
	}
	if name != schemas.EventDelivery {
		return nil, nil
	}
	return &d, nil
}

// checkKindFields checks what an inbox message says of its packet's kind:
// an edoc its business type, a status its code and the code's name.
func checkKindFields(t *testing.T, m kafka.Message, d events.Delivery) {
	t.Helper()
	ok := d.V == events.Version
	switch d.Kind {
	case events.KindEdoc:
		ok = ok && d.BusinessType != "" && d.StatusCode == "" && d.StatusName == ""
	case events.KindStatus:
		ok = ok && d.BusinessType == "" && d.StatusCode != "" && d.StatusName == edxml.StatusCode(d.StatusCode).Name()
	default:
		ok = false
	}
	if !ok {
		t.Errorf("%s@%d: %+v", m.Topic, m.Offset, d)
	}
}

func kindOrType(v map[string]any) string {
	if k, ok := v["kind"].(string); ok {
		return k
	}
	s, _ := v["type"].(string)
	return s
}

func header(m kafka.Message, k string) string {
	for _, h := range m.Headers {
		if h.Key == k {
			return string(h.Value)
		}
	}
	return ""
}

// readPartition reads a partition from its first offset to its end, with
// a kafka.Reader without a group (one partition each).
func readPartition(ctx context.Context, t *testing.T, addrs []string, topic string, partition int) []kafka.Message {
	t.Helper()
	lc, err := kafka.DialLeader(ctx, "tcp", addrs[0], topic, partition)
	if err != nil {
		t.Fatal(err)
	}
	first, last, err := lc.ReadOffsets()
	_ = lc.Close()
	if err != nil {
		t.Fatal(err)
	}
	if last <= first {
		return nil
	}
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: addrs, Topic: topic, Partition: partition, MaxWait: 100 * time.Millisecond})
	defer r.Close() //nolint:errcheck // read-only
	if err := r.SetOffset(kafka.FirstOffset); err != nil {
		t.Fatal(err)
	}
	var msgs []kafka.Message
	for {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("%s[%d]: read up to %d: %v", topic, partition, last, err)
		}
		msgs = append(msgs, m)
		if m.Offset >= last-1 {
			return slices.Clip(msgs)
		}
	}
}

// sealedLetter is an edoc from one agency to another whose letter is
// sealed with the sender's key (pdfsig.Engine.Sign) and whose unsigned
// annex travels zipped, as the axis's SDK sends files.
func sealedLetter(t *testing.T, h *hubtest.Hub, from, to *hubtest.Agency) []byte {
	t.Helper()
	e, err := h.PDF.Engine(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	unsigned := pdfsigtest.Write(pdfsigtest.Page1, pdfsigtest.Page2)
	var letter bytes.Buffer
	if err := e.Sign(t.Context(), &letter, bytes.NewReader(unsigned), int64(len(unsigned)),
		pdfsig.SignOptions{Cert: from.Cert.Cert, Chain: from.Cert.Chain, Key: from.Cert.Key}); err != nil {
		t.Fatal(err)
	}
	var annex bytes.Buffer
	zw := zip.NewWriter(&annex)
	w, err := zw.Create("phu-luc.pdf")
	if err == nil {
		_, err = w.Write(unsigned)
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	return pdfsigtest.Letter(t, from.ID, to.ID, "77", letter.Bytes(), annex.Bytes())
}
