package push_test

import (
	"context"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/push"
	"github.com/lienthong/lienthong/internal/push/pushtest"
	"github.com/lienthong/lienthong/internal/tracing"
)

// With tracing on, the webhook delivery continues the trace the inbox
// item carries (traceparent in its Kafka headers) in a deliver span, and
// the POST carries it on to the agency's receiver.
func TestDeliverTraced(t *testing.T) {
	cfg := startBroker(t)
	const organ = "000.00.00.H29"
	exp := tracetest.NewInMemoryExporter()
	tr, err := tracing.New(t.Context(), tracing.Config{Exporter: exp})
	if err != nil {
		t.Fatal(err)
	}
	a, err := bus.NewAdmin(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.EnsureTopics(t.Context(), bus.TopicSpec{Name: topics.Inbox(organ), Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	p, err := bus.NewProducer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, root := tr.Start(context.Background(), "route")
	id, v := item(organ, 1)
	if err := tr.Publisher(p).Produce(ctx, bus.Message{Topic: topics.Inbox(organ), Key: []byte(id), Value: v}); err != nil {
		t.Fatal(err)
	}
	root.End()

	rcv := pushtest.NewReceiver(t, secret(organ))
	run(t, push.Config{Bus: cfg, Tracer: tr, Endpoints: []push.Endpoint{{OrganID: organ, URL: rcv.URL, Secret: secret(organ)}}})
	got := rcv.WaitDelivered(t, 1, wait)
	consumed(t, cfg, organ)

	traceID := root.SpanContext().TraceID().String()
	// traceparent: version-traceid-spanid-flags
	if parts := strings.Split(got[0].Traceparent, "-"); len(parts) != 4 || parts[1] != traceID {
		t.Errorf("the receiver got traceparent %q, want one of trace %s", got[0].Traceparent, traceID)
	}
	var deliver, publish tracetest.SpanStub
	for _, s := range exp.GetSpans() {
		switch s.Name {
		case "deliver":
			deliver = s
		case "publish " + topics.Inbox(organ):
			publish = s
		}
	}
	if !deliver.SpanContext.IsValid() || deliver.Parent.SpanID() != publish.SpanContext.SpanID() {
		t.Errorf("deliver span %v under %s, want one under the publish span %s", deliver.Name, deliver.Parent.SpanID(), publish.SpanContext.SpanID())
	}
}
