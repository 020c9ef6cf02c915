package bus

import (
	"context"
	"time"
)

// Timeout gives each handler call a context that ends after d. It is
// cooperative: the handler must watch ctx. (Abandoning a handler that does
// not would let it run on beside the next message of its partition and
// break the per-partition order.)
func Timeout(d time.Duration) Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, msg Message) error {
			ctx, cancel := context.WithTimeout(ctx, d)
			defer cancel()
			return next(ctx, msg)
		}
	}
}
