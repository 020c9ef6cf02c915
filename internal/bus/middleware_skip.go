package bus

import (
	"context"
	"log/slog"
)

// SkipPermanent logs a message whose handling failed for good (Permanent)
// and lets the consumer go past it, for consumers that keep derived state
// and have no dead-letter topic of their own: without it, one malformed
// message stops the partition, and the process, at every start. Place it
// outside Retry, so that only errors Retry gave up on reach it.
func SkipPermanent(log *slog.Logger) Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, msg Message) error {
			err := next(ctx, msg)
			if err != nil && IsPermanent(err) {
				log.ErrorContext(ctx, "message skipped: it cannot be handled", "topic", msg.Topic,
					"partition", msg.Partition, "offset", msg.Offset, "err", err)
				return nil
			}
			return err
		}
	}
}
