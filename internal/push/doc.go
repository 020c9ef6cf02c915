// Package push delivers inbox items to agencies that registered a webhook
// URL instead of polling GET /v1/inbox (docs/push.md).
//
// A Pusher consumes the inbox topic (<prefix>inbox.<OrganId>) of every
// webhook endpoint in the consumer group <prefix>push and POSTs each item,
// byte for byte the inbox message value (schemas/events/delivery.schema.json),
// to the endpoint's URL, signed with HMAC-SHA256 under the endpoint's secret
// (Sign, Verify). A 2xx answer delivers it; anything else is retried with
// exponential backoff and full jitter, in order, and after MaxAttempts the
// item is parked in <prefix>dead-letter (bus.DeadLetter) and the next one
// goes. Each endpoint has a consumer of its own, so a slow or failing
// receiver holds back only its own inbox.
//
// Bodies carry references, never payloads: the receiver fetches the packet
// with GET /v1/packets/{id} and its own token. Delivery is at least once
// (a restart, a rebalance or a replay from the dead letter can repeat one),
// so receivers deduplicate on X-Lienthong-Id.
//
// ListDeadLetters and Replay are the operator's side of the dead-letter
// topic (`lienthong dlq list|replay`).
package push
