package tracing_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/tracing"
)

type recorder struct{ got []bus.Message }

func (r *recorder) Produce(_ context.Context, msgs ...bus.Message) error {
	r.got = append(r.got, msgs...)
	return nil
}

// Off, nothing is wrapped and nothing is added: no span, no header.
func TestOff(t *testing.T) {
	tr, err := tracing.New(t.Context(), tracing.Config{SampleRatio: 1})
	if err != nil || tr != nil {
		t.Fatalf("New without an endpoint = %v, %v; want nil, nil", tr, err)
	}
	rec := &recorder{}
	if p := tr.Publisher(rec); p != bus.Publisher(rec) {
		t.Errorf("Publisher wraps when off")
	}
	mux := http.NewServeMux()
	if h := tr.Handler(mux); h != http.Handler(mux) {
		t.Errorf("Handler wraps when off")
	}
	ctx, span := tr.Start(t.Context(), "x")
	if ctx != t.Context() || span.IsRecording() {
		t.Errorf("Start when off changed the context or records")
	}
	allocs := testing.AllocsPerRun(100, func() {
		_, span := tr.Start(context.Background(), "x")
		span.End()
	})
	if allocs != 0 {
		t.Errorf("Start when off allocates %v times", allocs)
	}
}

// On, a produced message carries traceparent, and the consumer's span is a
// child of the producer's span.
func TestKafkaHeaders(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tr, err := tracing.New(t.Context(), tracing.Config{Exporter: exp, Instance: "000.00.00.G01"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
	rec := &recorder{}
	ctx, root := tr.Start(bus.WithCorrelationID(t.Context(), "cid-1"), "submit")
	own := map[string]string{"x-own": "1"}
	if err := tr.Publisher(rec).Produce(ctx, bus.Message{Topic: "lienthong.accepted", Key: []byte("p1"), Headers: own}); err != nil {
		t.Fatal(err)
	}
	root.End()
	if len(own) != 1 {
		t.Errorf("the caller's headers were modified: %v", own)
	}
	m := rec.got[0]
	if m.Header("traceparent") == "" || m.Header("x-own") != "1" {
		t.Fatalf("produced headers %v: want traceparent and x-own", m.Headers)
	}
	var inHandler trace.SpanContext
	h := bus.Chain(func(ctx context.Context, _ bus.Message) error {
		inHandler = trace.SpanContextFromContext(ctx)
		return nil
	}, tr.Consume("route"))
	if err := h(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	spans := exp.GetSpans()
	byName := map[string]tracetest.SpanStub{}
	for _, s := range spans {
		byName[s.Name] = s
	}
	pub, route := byName["publish lienthong.accepted"], byName["route"]
	if pub.Parent.SpanID() != root.SpanContext().SpanID() {
		t.Errorf("publish's parent %s, want submit %s", pub.Parent.SpanID(), root.SpanContext().SpanID())
	}
	if route.Parent.SpanID() != pub.SpanContext.SpanID() || route.SpanContext.TraceID() != root.SpanContext().TraceID() {
		t.Errorf("route's parent %s, want publish %s", route.Parent.SpanID(), pub.SpanContext.SpanID())
	}
	if inHandler.SpanID() != route.SpanContext.SpanID() {
		t.Errorf("the handler's context is not in the route span")
	}
}

// The server span continues the caller's trace and is named without ids.
func TestHandler(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tr, err := tracing.New(t.Context(), tracing.Config{Exporter: exp})
	if err != nil {
		t.Fatal(err)
	}
	ctx, caller := tr.Start(t.Context(), "forward")
	h := tr.Handler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	tests := []struct {
		give     string
		wantSpan string // "" means none
	}{
		{give: "/v1/packets/abc/timeline", wantSpan: "GET /v1/packets"},
		{give: "/vdxp/getEdoc", wantSpan: "GET /vdxp/getEdoc"},
		{give: "/healthz"},
	}
	for _, tt := range tests {
		exp.Reset()
		req := httptest.NewRequest(http.MethodGet, tt.give, nil)
		tr.InjectHTTP(ctx, req.Header)
		h.ServeHTTP(httptest.NewRecorder(), req)
		spans := exp.GetSpans()
		if tt.wantSpan == "" {
			if len(spans) != 0 {
				t.Errorf("%s: %d spans, want none", tt.give, len(spans))
			}
			continue
		}
		if len(spans) != 1 || spans[0].Name != tt.wantSpan || spans[0].Parent.SpanID() != caller.SpanContext().SpanID() {
			t.Errorf("%s: spans %v, want one %q under the caller's", tt.give, spans, tt.wantSpan)
		}
	}
}

// A caller's traceparent does not force recording past sampleRatio, and
// its tracestate is not carried on.
func TestCallerContextBounded(t *testing.T) {
	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" // sampled
	for _, tt := range []struct {
		ratio     float64
		wantSpans int
	}{{1e-12, 0}, {1, 1}} {
		exp := tracetest.NewInMemoryExporter()
		tr, err := tracing.New(t.Context(), tracing.Config{Exporter: exp, SampleRatio: tt.ratio})
		if err != nil {
			t.Fatal(err)
		}
		var inner string
		h := tr.Handler(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			inner = trace.SpanContextFromContext(r.Context()).TraceState().String()
		}))
		req := httptest.NewRequest(http.MethodGet, "/v1/inbox", nil)
		req.Header.Set("traceparent", parent)
		req.Header.Set("tracestate", "agency=secret")
		h.ServeHTTP(httptest.NewRecorder(), req)
		spans := exp.GetSpans()
		if len(spans) != tt.wantSpans {
			t.Errorf("ratio %g: %d spans, want %d", tt.ratio, len(spans), tt.wantSpans)
		}
		if inner != "" {
			t.Errorf("ratio %g: the caller's tracestate %q went on", tt.ratio, inner)
		}
	}
}

// With an endpoint, spans go to <endpoint>/v1/traces as OTLP/HTTP protobuf
// (what a collector's otlphttp receiver takes), at the latest on Shutdown.
func TestOTLPEndpoint(t *testing.T) {
	got := make(chan string, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Method + " " + r.URL.Path + " " + r.Header.Get("Content-Type")
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	tr, err := tracing.New(t.Context(), tracing.Config{Endpoint: srv.URL + "/"})
	if err != nil || tr == nil {
		t.Fatalf("New: %v, %v", tr, err)
	}
	_, span := tr.Start(t.Context(), "submit")
	span.End()
	if err := tr.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	select {
	case req := <-got:
		if want := "POST /v1/traces application/x-protobuf"; req != want {
			t.Errorf("the collector got %q, want %q", req, want)
		}
	default:
		t.Fatal("no export reached the collector")
	}
}
