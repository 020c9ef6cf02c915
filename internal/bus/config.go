package bus

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"
)

// Defaults applied by Config.withDefaults.
const (
	// DefaultBatchTimeout bounds how long a partial batch waits for more
	// messages. kafka-go's own default of 1 s would make every synchronous
	// Produce take a second. kafka-go sends one batch per partition at a
	// time and a partial batch only when its timer fires, so N concurrent
	// synchronous callers reach at most N messages per BatchTimeout plus a
	// round trip. Measured against kfake on 2 cores, 64 callers of 1 KiB:
	// 5 ms gives ~10k msg/s, 1 ms 22-30k, 500 µs 30-39k (1 to 10
	// partitions); see BenchmarkProduce.
	DefaultBatchTimeout = 500 * time.Microsecond
	// DefaultTopicPrefix starts the name of every topic the hub and its
	// pushers use (config bus.topicPrefix).
	DefaultTopicPrefix = "lienthong."
	// DefaultBatchSize is the number of messages after which a partition's
	// batch is sent without waiting for BatchTimeout.
	DefaultBatchSize = 100
	// batchBytes caps one batch below Kafka's default message.max.bytes
	// (1 MiB + 12), which kafka-go's size estimate could overshoot.
	batchBytes = 1_000_000
	// DefaultWriteTimeout bounds one produce request.
	DefaultWriteTimeout = 10 * time.Second
	// DefaultDialTimeout bounds establishing a broker connection.
	DefaultDialTimeout = 5 * time.Second
)

// Errors returned by Config.Validate and the constructors.
var (
	ErrNoBrokers     = errors.New("bus: no broker addresses")
	ErrBadBroker     = errors.New("bus: broker address is not host:port")
	ErrBadDuration   = errors.New("bus: negative duration")
	ErrNoTopic       = errors.New("bus: message has no topic")
	ErrUnknownTopic  = errors.New("bus: unknown topic")
	ErrNoGroup       = errors.New("bus: consumer has no group id")
	ErrNoTopics      = errors.New("bus: consumer has no topics")
	ErrNoHandler     = errors.New("bus: consumer has no handler")
	ErrClosed        = errors.New("bus: closed")
	ErrBadTopicSpec  = errors.New("bus: invalid topic spec")
	ErrBadBatchSize  = errors.New("bus: negative batch size")
	ErrNoDataDir     = errors.New("bus: broker needs a data directory")
	ErrDataDirLocked = errors.New("bus: data directory is in use by another broker")
)

// Config addresses a Kafka cluster and tunes the producer. The zero value of
// each optional field selects its default. Acknowledgements are not
// configurable: every write waits for all in-sync replicas (acks=all).
type Config struct {
	// Brokers are the bootstrap addresses, host:port.
	Brokers []string
	// ClientID names this process in broker logs and quotas.
	ClientID string
	// BatchTimeout is how long a partial batch may wait for more messages
	// before it is sent (default DefaultBatchTimeout). It is the latency
	// floor of a lone Produce call; concurrent calls share batches.
	BatchTimeout time.Duration
	// BatchSize sends a partition's batch as soon as it holds this many
	// messages (default DefaultBatchSize).
	BatchSize int
	// WriteTimeout bounds one produce request (default DefaultWriteTimeout).
	WriteTimeout time.Duration
	// DialTimeout bounds connecting to a broker (default DefaultDialTimeout).
	DialTimeout time.Duration
	// TLS, when set, wraps every connection to the brokers: RootCAs
	// verify them, Certificates hold the client certificate, and
	// ServerName defaults to the broker's host.
	TLS *tls.Config
	// SASL, when set, authenticates every connection.
	SASL SASL
	// Stats, when set, exports the statistics of every writer and reader
	// made with this Config (NewKafkaStats).
	Stats *KafkaStats
}

// Validate reports the first problem with c, as one of the Err* sentinels.
func (c Config) Validate() error {
	if len(c.Brokers) == 0 {
		return ErrNoBrokers
	}
	for _, b := range c.Brokers {
		if _, _, err := net.SplitHostPort(b); err != nil {
			return fmt.Errorf("%w: %q", ErrBadBroker, b)
		}
	}
	if c.BatchTimeout < 0 || c.WriteTimeout < 0 || c.DialTimeout < 0 {
		return ErrBadDuration
	}
	if c.BatchSize < 0 {
		return ErrBadBatchSize
	}
	return c.SASL.Validate()
}

func (c Config) withDefaults() Config {
	if c.BatchTimeout == 0 {
		c.BatchTimeout = DefaultBatchTimeout
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	return c
}
