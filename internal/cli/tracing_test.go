package cli

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/lienthong/lienthong/internal/pki"
	"github.com/lienthong/lienthong/internal/testwait"
	"github.com/lienthong/lienthong/internal/tracing"
)

// One packet's trace across two federated hubs: submitted at the national
// hub, routed there to the provincial hub's endpoint, forwarded, and
// accepted and routed again at the provincial hub. The spans form one
// tree, joined through the Kafka headers (route under publish) and the
// forward's HTTP request (the peer's request under forward), and every
// span carries the correlation id the national hub's edge minted.
func TestTracingFederation(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	testSpanExporter = exp
	t.Cleanup(func() { testSpanExporter = nil })

	dir := t.TempDir()
	ca, g22 := testCA(t, dir)
	national, _ := startFedPair(t, dir, ca.RootPath())

	edoc, err := os.ReadFile(filepath.Join("..", "edxml", "testdata", "fixtures", "edoc-new.xml"))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := pki.SignDetached(bytes.NewReader(edoc), g22.Cert, g22.Key, g22.Chain, pki.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	w, _ := mw.CreateFormFile("packet", "p.xml")
	_, _ = w.Write(edoc)
	w, _ = mw.CreateFormFile("signature", "p.p7s")
	_, _ = w.Write(sig)
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, "http://"+national+"/v1/packets", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+fedG22Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("submit at the national hub: %s", resp.Status)
	}
	cid := resp.Header.Get("X-Correlation-Id")
	if len(cid) != 32 {
		t.Fatalf("X-Correlation-Id %q: want the id minted at the edge", cid)
	}

	type node struct{ hub, name string }
	instance := func(s tracetest.SpanStub) string {
		v, _ := s.Resource.Set().Value(semconv.ServiceInstanceIDKey)
		return v.AsString()
	}
	// From the provincial hub's route of the packet up to the root, once
	// every span of the way has ended (the national forward ends after the
	// peer's answer, maybe after the peer routed the packet).
	var (
		last  tracetest.SpanStub
		spans tracetest.SpanStubs
		chain []node
	)
	testwait.Eventually(t, "the trace from the national request to the provincial route", func() bool {
		spans, chain = exp.GetSpans(), nil
		byID := map[trace.SpanID]tracetest.SpanStub{}
		found := false
		for _, s := range spans {
			byID[s.SpanContext.SpanID()] = s
			if instance(s) == "000.00.99.H29" && s.Name == "route" {
				last, found = s, true
			}
		}
		if !found {
			return false
		}
		for s := last; ; {
			chain = append(chain, node{instance(s), s.Name})
			if !s.Parent.IsValid() {
				return true
			}
			var ok bool
			if s, ok = byID[s.Parent.SpanID()]; !ok {
				return false
			}
		}
	})
	for _, s := range spans {
		if s.SpanContext.TraceID() != last.SpanContext.TraceID() {
			continue
		}
		if got := attr(s.Attributes, tracing.AttrCorrelationID); got != cid {
			t.Errorf("span %s of %s: correlation id %q, want %q", s.Name, instance(s), got, cid)
		}
	}
	slices.Reverse(chain)
	want := []node{
		{"000.00.00.G01", "POST /v1/packets"},
		{"000.00.00.G01", "submit"},
		{"000.00.00.G01", "publish lienthong.accepted"},
		{"000.00.00.G01", "route"},
		{"000.00.00.G01", "publish lienthong.inbox.000.00.00.H29"},
		{"000.00.00.G01", "forward"},
		{"000.00.99.H29", "POST /v1/packets"},
		{"000.00.99.H29", "submit"},
		{"000.00.99.H29", "publish lienthong.accepted"},
		{"000.00.99.H29", "route"},
	}
	if !slices.Equal(chain, want) {
		t.Errorf("the span tree from the root to the provincial route:\n got %v\nwant %v", chain, want)
	}
	// The submission's stages are spans under each hub's submit.
	for _, hub := range []string{"000.00.00.G01", "000.00.99.H29"} {
		var submit tracetest.SpanStub
		var stages []string
		for _, s := range spans {
			if instance(s) == hub && s.Name == "submit" && s.SpanContext.TraceID() == last.SpanContext.TraceID() {
				submit = s
			}
		}
		for _, s := range spans {
			if s.Parent.SpanID() == submit.SpanContext.SpanID() && !strings.HasPrefix(s.Name, "publish") {
				stages = append(stages, s.Name)
			}
		}
		slices.Sort(stages)
		if want := []string{"broker", "parse", "receipt", "store", "verify", "view"}; !slices.Equal(stages, want) {
			t.Errorf("%s: spans under submit %v, want %v", hub, stages, want)
		}
		if got := attr(submit.Attributes, tracing.AttrPacketID); got == "" {
			t.Errorf("%s: submit has no packet id", hub)
		}
	}
}

func attr(kvs []attribute.KeyValue, k attribute.Key) string {
	for _, kv := range kvs {
		if kv.Key == k {
			return kv.Value.AsString()
		}
	}
	return ""
}
