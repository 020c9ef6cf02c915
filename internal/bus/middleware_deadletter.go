package bus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Headers that DeadLetter adds to a parked message.
const (
	HeaderError             = "x-error"
	HeaderOriginalTopic     = "x-original-topic"
	HeaderOriginalPartition = "x-original-partition"
	HeaderOriginalOffset    = "x-original-offset"
	HeaderFailedAt          = "x-failed-at"
)

// DeadLetter parks messages that the handler (normally wrapped in Retry)
// failed on: it produces a copy to topic, with the original key, value and
// headers plus the reason and origin in the x-error, x-original-topic,
// x-original-partition, x-original-offset and x-failed-at (RFC 3339, UTC)
// headers, and reports success so that the consumer commits and moves on.
// If producing the copy fails, both errors are returned and the message
// stays uncommitted. A failure caused by the consumer shutting down (ctx
// ended) is returned as is: the message will be handled again, not parked.
func DeadLetter(p Publisher, topic string) Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, msg Message) error {
			err := next(ctx, msg)
			if err == nil || ctx.Err() != nil {
				return err
			}
			dl := Message{
				Topic:   topic,
				Key:     msg.Key,
				Value:   msg.Value,
				Headers: make(map[string]string, len(msg.Headers)+5),
			}
			for k, v := range msg.Headers {
				dl.Headers[k] = v
			}
			dl.Headers[HeaderError] = err.Error()
			dl.Headers[HeaderOriginalTopic] = msg.Topic
			dl.Headers[HeaderOriginalPartition] = strconv.Itoa(msg.Partition)
			dl.Headers[HeaderOriginalOffset] = strconv.FormatInt(msg.Offset, 10)
			dl.Headers[HeaderFailedAt] = time.Now().UTC().Format(time.RFC3339Nano)
			if perr := p.Produce(ctx, dl); perr != nil {
				return errors.Join(err, fmt.Errorf("dead-letter to %s: %w", topic, perr))
			}
			setOutcome(ctx, outcomeDeadLetter)
			return nil
		}
	}
}
