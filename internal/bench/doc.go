// Package bench is `lienthong bench`, the load generator of issue 4: it submits signed
// packets concurrently to a hub (its own embedded one unless --hub is
// given), waits until every recipient's inbox holds them, and measures in
// the same run the raw floor: as many blob creates and acks=all produces of
// the same sizes, at the same concurrency, against the same store and
// broker, with no parsing, verification or HTTP. docs/PERFORMANCE.md holds
// the figures.
package bench
