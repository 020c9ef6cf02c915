package cli

import sdktrace "go.opentelemetry.io/otel/sdk/trace"

// testSpanExporter, set by a test, turns tracing on in every hub the test
// serves and receives their spans (tracing.Config.Exporter).
var testSpanExporter sdktrace.SpanExporter
