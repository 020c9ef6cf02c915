// Package bus is the Kafka seam of lienthong: a synchronous producer, a
// consumer-group runner with handler middleware, topic administration and an
// embedded broker.
//
// Every client speaks the Kafka wire protocol over TCP through
// github.com/segmentio/kafka-go, so the same code runs against Apache Kafka in
// production and against the embedded kfake broker (StartBroker) in
// development and tests; only the broker addresses differ. Nothing outside
// broker.go knows which broker answers.
//
// Delivery is at least once. Produce returns only when every message is
// acknowledged by all in-sync replicas (acks=all), which is the hub's commit
// point. A Consumer commits a message's offset only after its handler
// returned nil, so a handler error, a crash or a shutdown before the commit
// delivers the message again; handlers must therefore be idempotent (the hub
// keys every step by packet id).
//
// Handlers are composed from middleware in the watermill style: Recover,
// Correlation, Metrics, DeadLetter, Retry and Timeout each live in their own
// file and wrap a Handler.
package bus
