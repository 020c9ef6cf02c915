package bus

import (
	"context"
	"crypto/rand"
	"encoding/hex"
)

// HeaderCorrelationID carries the id that ties together every message caused
// by one request.
const HeaderCorrelationID = "x-correlation-id"

type correlationKey struct{}

// WithCorrelationID returns a context carrying id, which Produce copies into
// messages that have none.
func WithCorrelationID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, correlationKey{}, id)
}

// CorrelationID returns the correlation id in ctx, or "".
func CorrelationID(ctx context.Context) string {
	id, _ := ctx.Value(correlationKey{}).(string)
	return id
}

// NewCorrelationID returns a random 128-bit id in hex.
func NewCorrelationID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+).
	return hex.EncodeToString(b[:])
}

// Correlation ensures every message has an x-correlation-id header, creating
// one when it is missing, and puts it in the handler's context, from where
// CorrelationID reads it and Produce propagates it.
func Correlation() Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, msg Message) error {
			id := msg.Header(HeaderCorrelationID)
			if id == "" {
				id = NewCorrelationID()
				msg = msg.withHeader(HeaderCorrelationID, id)
			}
			return next(WithCorrelationID(ctx, id), msg)
		}
	}
}

// CarryCorrelation puts a message's x-correlation-id, when it has one, in
// the handler's context, from where Produce copies it onto what the
// handler produces. Unlike Correlation it never mints one: the hub mints
// the id at its HTTP edge (edge.Correlate), so a message without one was
// not caused by a request and stays without.
func CarryCorrelation() Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, msg Message) error {
			if id := msg.Header(HeaderCorrelationID); id != "" {
				ctx = WithCorrelationID(ctx, id)
			}
			return next(ctx, msg)
		}
	}
}
