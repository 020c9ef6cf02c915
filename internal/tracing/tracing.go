// Package tracing is the hub's OpenTelemetry tracing: one trace per packet,
// from the HTTP request that submits it through verify, store, the
// accepted event, the router and the delivery (webhook push or forwarding
// to a peer hub). The context travels in W3C traceparent headers: on HTTP
// requests and on Kafka messages.
//
// Tracing is off unless configured. Off, a *Tracer is nil and every method
// is a no-op that allocates nothing: no provider, no exporter, no headers.
package tracing

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/lienthong/lienthong/internal/bus"
)

// Name is the instrumentation scope of the hub's spans.
const Name = "github.com/lienthong/lienthong"

// Config turns tracing on.
type Config struct {
	// Endpoint is the OTLP/HTTP collector's base URL, such as
	// http://otel-collector:4318 (traces go to <Endpoint>/v1/traces).
	Endpoint string
	// SampleRatio is the share of traces recorded, 0 to 1 (0 means 1),
	// new ones and those a caller continues alike: a caller's sampled flag
	// does not force recording.
	SampleRatio float64
	// Service names the process in the traces (default lienthong), and
	// Instance the hub (its OrganId).
	Service, Instance string
	// Exporter, when set, replaces the OTLP exporter and exports each span
	// as it ends (tests: tracetest.NewInMemoryExporter).
	Exporter sdktrace.SpanExporter
}

// Tracer starts the hub's spans. A nil *Tracer is off.
type Tracer struct {
	provider *sdktrace.TracerProvider
	tracer   trace.Tracer
	prop     propagation.TextMapPropagator
}

// New returns the tracer for cfg, or nil when neither an endpoint nor an
// exporter is configured. It does not contact the collector.
func New(ctx context.Context, cfg Config) (*Tracer, error) {
	exp := cfg.Exporter
	var opts []sdktrace.TracerProviderOption
	switch {
	case exp != nil:
		opts = append(opts, sdktrace.WithSyncer(exp))
	case cfg.Endpoint != "":
		e, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(strings.TrimSuffix(cfg.Endpoint, "/")+"/v1/traces"))
		if err != nil {
			return nil, fmt.Errorf("tracing: %w", err)
		}
		opts = append(opts, sdktrace.WithBatcher(e))
	default:
		return nil, nil
	}
	ratio := cfg.SampleRatio
	if ratio <= 0 || ratio > 1 {
		ratio = 1
	}
	service := cfg.Service
	if service == "" {
		service = "lienthong"
	}
	attrs := []attribute.KeyValue{semconv.ServiceName(service)}
	if cfg.Instance != "" {
		attrs = append(attrs, semconv.ServiceInstanceID(cfg.Instance))
	}
	// A caller's sampled flag does not force recording: a remote parent is
	// sampled by the ratio too; the hub's own spans follow their parent.
	sample := sdktrace.TraceIDRatioBased(ratio)
	opts = append(opts, sdktrace.WithSampler(sdktrace.ParentBased(sample, sdktrace.WithRemoteParentSampled(sample))),
		sdktrace.WithResource(resource.NewSchemaless(attrs...)))
	tp := sdktrace.NewTracerProvider(opts...)
	return &Tracer{provider: tp, tracer: tp.Tracer(Name), prop: propagation.TraceContext{}}, nil
}

// Shutdown exports what is buffered and stops the exporter.
func (t *Tracer) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.provider.Shutdown(ctx)
}

// noSpan is what Start returns when tracing is off.
var noSpan = trace.SpanFromContext(context.Background())

// Start starts a span that is a child of ctx's.
func (t *Tracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if t == nil {
		return ctx, noSpan
	}
	ctx, span := t.tracer.Start(ctx, name, opts...)
	if cid := bus.CorrelationID(ctx); cid != "" {
		span.SetAttributes(AttrCorrelationID.String(cid))
	}
	return ctx, span
}

// AttrCorrelationID is the x-correlation-id of the request a span serves.
const AttrCorrelationID = attribute.Key("lienthong.correlation_id")

// AttrPacketID is the packet a span handles.
const AttrPacketID = attribute.Key("lienthong.packet_id")

// End ends span, marking it failed when *err is not nil (for defer).
func End(span trace.Span, err *error) {
	if !span.IsRecording() {
		return
	}
	if err != nil && *err != nil {
		span.RecordError(*err)
		span.SetStatus(codes.Error, (*err).Error())
	}
	span.End()
}

// InjectHTTP writes ctx's trace context into h (a request to a peer hub).
func (t *Tracer) InjectHTTP(ctx context.Context, h http.Header) {
	if t == nil {
		return
	}
	t.prop.Inject(ctx, propagation.HeaderCarrier(h))
}

// mapCarrier carries the trace context in a message's headers.
type mapCarrier map[string]string

func (c mapCarrier) Get(k string) string { return c[k] }
func (c mapCarrier) Set(k, v string)     { c[k] = v }
func (c mapCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

// Publisher returns p, its messages carrying the trace context of the
// Produce call (traceparent), within a span per call. Off, it is p.
func (t *Tracer) Publisher(p bus.Publisher) bus.Publisher {
	if t == nil {
		return p
	}
	return &publisher{t: t, next: p}
}

type publisher struct {
	t    *Tracer
	next bus.Publisher
}

func (p *publisher) Produce(ctx context.Context, msgs ...bus.Message) (err error) {
	if len(msgs) == 0 || !trace.SpanContextFromContext(ctx).IsValid() {
		// Not part of a packet's trace (the outbox, credentials): no span.
		return p.next.Produce(ctx, msgs...)
	}
	ctx, span := p.t.Start(ctx, "publish "+msgs[0].Topic, trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(semconv.MessagingSystemKafka, semconv.MessagingDestinationName(msgs[0].Topic),
			semconv.MessagingOperationTypeSend, semconv.MessagingBatchMessageCount(len(msgs)), AttrPacketID.String(string(msgs[0].Key))))
	defer End(span, &err)
	out := make([]bus.Message, len(msgs))
	for i, m := range msgs {
		// Fresh maps: the callers' messages are never modified (the
		// outbox and the dead-letter queue keep theirs).
		h := make(mapCarrier, len(m.Headers)+1)
		for k, v := range m.Headers {
			h[k] = v
		}
		p.t.prop.Inject(ctx, h)
		m.Headers = h
		out[i] = m
	}
	return p.next.Produce(ctx, out...)
}

// Consume is a consumer middleware that continues the trace of each
// message in a span named name. Off, it changes nothing.
func (t *Tracer) Consume(name string) bus.Middleware {
	return func(next bus.Handler) bus.Handler {
		if t == nil {
			return next
		}
		return func(ctx context.Context, m bus.Message) (err error) {
			ctx = t.prop.Extract(ctx, mapCarrier(m.Headers))
			if !trace.SpanContextFromContext(ctx).IsValid() {
				// A message from before tracing, or from outside a trace.
				return next(ctx, m)
			}
			ctx, span := t.Start(ctx, name, trace.WithSpanKind(trace.SpanKindConsumer),
				trace.WithAttributes(semconv.MessagingSystemKafka, semconv.MessagingDestinationName(m.Topic),
					semconv.MessagingOperationTypeProcess, semconv.MessagingKafkaOffset(int(m.Offset)),
					semconv.MessagingDestinationPartitionID(fmt.Sprint(m.Partition)), AttrPacketID.String(string(m.Key)),
					attribute.Float64("messaging.kafka.wait_seconds", time.Since(m.Time).Seconds())))
			defer End(span, &err)
			return next(ctx, m)
		}
	}
}

// traced are the paths whose requests get a span: the API and VDXP, not
// probes, metrics or the console's pages.
func traced(path string) bool {
	return strings.HasPrefix(path, "/v1/") || strings.HasPrefix(path, "/vdxp/")
}

// Handler serves next in a server span per API or VDXP request, continuing
// the caller's trace (a peer hub's forward) when it sends traceparent.
// Off, it is next.
func (t *Tracer) Handler(next http.Handler) http.Handler {
	if t == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !traced(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		ctx := t.prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		// A caller's tracestate is its own: it is not carried on into
		// Kafka, peer hubs or other agencies' webhooks.
		if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
			ctx = trace.ContextWithRemoteSpanContext(ctx, sc.WithTraceState(trace.TraceState{}))
		}
		ctx, span := t.Start(ctx, r.Method+" "+route(r.URL.Path), trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(semconv.HTTPRequestMethodKey.String(r.Method), semconv.URLPath(r.URL.Path)))
		defer span.End()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r.WithContext(ctx))
		span.SetAttributes(semconv.HTTPResponseStatusCode(sw.status))
		if sw.status >= 500 {
			span.SetStatus(codes.Error, http.StatusText(sw.status))
		}
	})
}

// route names a request's span by its first two path segments
// (/v1/packets, /vdxp/sendEdoc): ids stay out of span names.
func route(path string) string {
	parts := strings.SplitN(strings.TrimPrefix(path, "/"), "/", 3)
	if len(parts) > 2 {
		parts = parts[:2]
	}
	return "/" + strings.Join(parts, "/")
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// ReadFrom keeps the server's own ReadFrom (sendfile) for packet downloads.
func (w *statusWriter) ReadFrom(r io.Reader) (int64, error) {
	w.wrote = true
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(w.ResponseWriter, r)
}

// Unwrap lets http.ResponseController reach the connection (flushes,
// deadlines for large downloads).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
