package bus

import "context"

type outcomeKey struct{}

// setOutcome lets an inner middleware (DeadLetter) refine the outcome that
// Metrics.Consumed records for a message the handler chain reported as
// handled.
func setOutcome(ctx context.Context, outcome string) {
	if p, ok := ctx.Value(outcomeKey{}).(*string); ok {
		*p = outcome
	}
}

// Consumed counts every handled message in lienthong_bus_consumed_total by
// topic and outcome: ok, error, or dead_letter when a DeadLetter inside it
// parked the message. Place it outside DeadLetter and Retry so that each
// message counts once.
func (m *Metrics) Consumed() Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, msg Message) error {
			outcome := ""
			err := next(context.WithValue(ctx, outcomeKey{}, &outcome), msg)
			switch {
			case err != nil:
				outcome = outcomeError
			case outcome == "":
				outcome = outcomeOK
			}
			m.consumed.WithLabelValues(msg.Topic, outcome).Inc()
			return err
		}
	}
}
