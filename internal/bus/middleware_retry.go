package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"
)

// Retry defaults, applied to zero RetryConfig fields.
const (
	DefaultRetryMaxAttempts     = 5
	DefaultRetryInitialInterval = 100 * time.Millisecond
	DefaultRetryMaxInterval     = 10 * time.Second
	DefaultRetryMultiplier      = 2.0
	DefaultRetryJitter          = 0.5
)

// RetryConfig configures Retry.
type RetryConfig struct {
	// MaxAttempts counts the first call too (default 5).
	MaxAttempts int
	// InitialInterval is the wait before the second attempt (default
	// 100 ms); each later wait is Multiplier (default 2) times longer, up
	// to MaxInterval (default 10 s).
	InitialInterval time.Duration
	MaxInterval     time.Duration
	Multiplier      float64
	// Jitter spreads each wait uniformly over ±Jitter of it (default 0.5),
	// so that consumers failing together do not retry together.
	Jitter float64
	// Logger receives one line per failed attempt; nil discards them.
	Logger *slog.Logger
}

func (c RetryConfig) withDefaults() RetryConfig {
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultRetryMaxAttempts
	}
	if c.InitialInterval <= 0 {
		c.InitialInterval = DefaultRetryInitialInterval
	}
	if c.MaxInterval <= 0 {
		c.MaxInterval = DefaultRetryMaxInterval
	}
	if c.Multiplier < 1 {
		c.Multiplier = DefaultRetryMultiplier
	}
	if c.Jitter <= 0 || c.Jitter > 1 {
		c.Jitter = DefaultRetryJitter
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// backoff returns the wait after the given failed attempt (1-based).
func (c RetryConfig) backoff(attempt int) time.Duration {
	d := float64(c.InitialInterval)
	for range attempt - 1 {
		d *= c.Multiplier
		if d >= float64(c.MaxInterval) {
			break
		}
	}
	d = min(d, float64(c.MaxInterval))
	d *= 1 - c.Jitter + 2*c.Jitter*rand.Float64()
	return time.Duration(d)
}

// permanentError marks an error that retrying cannot fix.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err as not worth retrying: Retry returns it at once (and
// DeadLetter then parks the message). Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// Retry calls the handler again, after a growing and jittered wait, while
// it fails, up to MaxAttempts calls. It gives up early on a Permanent error
// or when ctx ends, and returns the last error.
func Retry(cfg RetryConfig) Middleware {
	cfg = cfg.withDefaults()
	return func(next Handler) Handler {
		return func(ctx context.Context, msg Message) error {
			for attempt := 1; ; attempt++ {
				err := next(ctx, msg)
				if err == nil {
					return nil
				}
				if IsPermanent(err) {
					return err
				}
				if attempt >= cfg.MaxAttempts {
					return fmt.Errorf("after %d attempts: %w", attempt, err)
				}
				wait := cfg.backoff(attempt)
				cfg.Logger.WarnContext(ctx, "handler failed, retrying", "topic", msg.Topic,
					"partition", msg.Partition, "offset", msg.Offset, "attempt", attempt,
					"wait", wait, "correlation_id", CorrelationID(ctx), "err", err)
				t := time.NewTimer(wait)
				select {
				case <-ctx.Done():
					t.Stop()
					return fmt.Errorf("retry interrupted after %d attempts: %w", attempt, err)
				case <-t.C:
				}
			}
		}
	}
}
