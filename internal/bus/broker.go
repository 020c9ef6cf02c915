package bus

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"

	"github.com/twmb/franz-go/pkg/kfake"
)

// DefaultBrokerPartitions is the partition count the embedded broker gives a
// topic created without one.
const DefaultBrokerPartitions = 3

// BrokerConfig configures the embedded broker.
type BrokerConfig struct {
	// Addr is the host:port to listen on and to advertise to clients;
	// port 0 picks a free port. Default "127.0.0.1:0".
	Addr string
	// DataDir holds the log segments, topics, group offsets and producer
	// state. It is required: without it kfake keeps every record on the
	// heap.
	DataDir string
	// NumPartitions is used by CreateTopics requests that leave the count
	// to the broker (TopicSpec.Partitions 0). Default
	// DefaultBrokerPartitions.
	NumPartitions int
	// SyncWrites fsyncs every batch before acknowledging it. Without it a
	// batch is written to the OS before the acknowledgement, which
	// survives the broker process being killed but not the machine losing
	// power (Apache Kafka's default, log.flush.interval.messages=MAX).
	SyncWrites bool
	// Logger receives the broker's warnings and errors; nil discards them.
	Logger *slog.Logger
	// TLS, when set, makes the broker speak TLS only; its Certificates
	// hold the broker's certificate, ClientCAs and ClientAuth ask for
	// client certificates.
	TLS *tls.Config
	// Superuser, when its User is set, turns SASL on: every client must
	// authenticate, and this user passes every ACL. Its password is the
	// one given here, whatever an earlier run with the same DataDir had.
	Superuser SASL
	// ACLs turns ACL checks on: a principal other than Superuser may do
	// only what ACLs (CreateACLs, kept in DataDir) allow it. It needs
	// Superuser, or no one could grant anything.
	ACLs bool
}

// Errors of BrokerConfig.
var (
	// ErrACLsNeedSuperuser refuses a broker with ACLs but no superuser.
	ErrACLsNeedSuperuser = errors.New("bus: broker ACLs need a SASL superuser")
	// ErrPlainNeedsTLS refuses PLAIN without TLS: every client would
	// send its password in the clear.
	ErrPlainNeedsTLS = errors.New("bus: SASL PLAIN needs TLS")
)

// Broker is a running embedded Kafka broker: one kfake node speaking the
// Kafka protocol over TCP, persisting to DataDir. Topics are never created
// implicitly: a client must create them (Admin.EnsureTopics), as on a
// production cluster with auto.create.topics.enable=false.
type Broker struct {
	cluster *kfake.Cluster
	addrs   []string
	unlock  func() error
	once    sync.Once
	err     error
}

// StartBroker starts a broker and returns once its port accepts connections
// (ctx bounds that wait). It reloads whatever an earlier broker, killed or
// closed, left in cfg.DataDir. Two brokers cannot share a DataDir.
func StartBroker(ctx context.Context, cfg BrokerConfig) (*Broker, error) {
	if cfg.DataDir == "" {
		return nil, ErrNoDataDir
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.NumPartitions <= 0 {
		cfg.NumPartitions = DefaultBrokerPartitions
	}
	host, portStr, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("%w: %q", ErrBadBroker, cfg.Addr)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Errorf("%w: %q", ErrBadBroker, cfg.Addr)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		// The broker advertises its listen address in metadata, and
		// clients then connect to it: it must be a reachable one.
		return nil, fmt.Errorf("%w: %q: listen on a concrete address, it is advertised to clients", ErrBadBroker, cfg.Addr)
	}
	if cfg.ACLs && cfg.Superuser.User == "" {
		return nil, ErrACLsNeedSuperuser
	}
	if cfg.Superuser.Enabled() {
		if err := cfg.Superuser.Validate(); err != nil {
			return nil, fmt.Errorf("broker superuser: %w", err)
		}
		if cfg.Superuser.mechanism() == MechanismPlain && cfg.TLS == nil {
			return nil, ErrPlainNeedsTLS
		}
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("create broker data dir: %w", err)
	}
	unlock, err := lockDir(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	if cfg.Superuser.Enabled() {
		if err := persistSuperuser(cfg.DataDir, cfg.Superuser); err != nil {
			return nil, errors.Join(err, unlock())
		}
	}

	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		// kfake always formats "127.0.0.1:port"; listen on the
		// configured host instead.
		kfake.ListenFn(func(network, address string) (net.Listener, error) {
			_, p, err := net.SplitHostPort(address)
			if err != nil {
				return nil, err
			}
			return net.Listen(network, net.JoinHostPort(host, p))
		}),
		kfake.DataDir(cfg.DataDir),
		kfake.DefaultNumPartitions(cfg.NumPartitions),
		kfake.WithLogger(kfakeLogger{log}),
		// Auto topic creation stays off: it is opt-in in kfake
		// (AllowAutoTopicCreation) and we never opt in.
	}
	if port != 0 {
		opts = append(opts, kfake.Ports(port))
	}
	if cfg.SyncWrites {
		opts = append(opts, kfake.SyncWrites())
	}
	if cfg.TLS != nil {
		opts = append(opts, kfake.TLS(cfg.TLS))
	}
	if cfg.Superuser.Enabled() {
		opts = append(opts, kfake.EnableSASL(), kfake.Superuser(cfg.Superuser.mechanism(), cfg.Superuser.User, cfg.Superuser.Password))
	}
	if cfg.ACLs {
		opts = append(opts, kfake.EnableACLs())
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("start broker: %w", err), unlock())
	}
	b := &Broker{cluster: c, addrs: c.ListenAddrs(), unlock: unlock}
	if cfg.Superuser.Enabled() {
		if err := advertiseSASLHandshakeV0(c); err != nil {
			return nil, errors.Join(err, b.Close())
		}
	}
	if err := waitListening(ctx, b.addrs[0]); err != nil {
		return nil, errors.Join(err, b.Close())
	}
	return b, nil
}

// Addrs returns the broker addresses to give clients as Config.Brokers.
func (b *Broker) Addrs() []string { return append([]string(nil), b.addrs...) }

// Close persists the broker's state, stops it and releases DataDir.
func (b *Broker) Close() error {
	b.once.Do(func() {
		b.cluster.Close()
		if err := b.unlock(); err != nil {
			b.err = fmt.Errorf("close broker: %w", err)
		}
	})
	return b.err
}

func waitListening(ctx context.Context, addr string) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("broker at %s does not answer: %w", addr, err)
	}
	return conn.Close()
}

// RunBroker runs an embedded broker until ctx ends, then shuts it down
// cleanly. It backs `lienthong broker`.
func RunBroker(ctx context.Context, cfg BrokerConfig) error {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b, err := StartBroker(ctx, cfg)
	if err != nil {
		return err
	}
	log.Info("kafka broker listening", "addr", b.Addrs()[0], "data", cfg.DataDir, "pid", os.Getpid(),
		"tls", cfg.TLS != nil, "sasl", cfg.Superuser.Enabled(), "acls", cfg.ACLs)
	<-ctx.Done()
	log.Info("kafka broker stopping", "addr", b.Addrs()[0])
	return b.Close()
}

// kfakeLogger forwards kfake's log lines to slog. kfake logs every request
// at info, so its info and debug become slog debug.
type kfakeLogger struct{ log *slog.Logger }

func (l kfakeLogger) Logf(level kfake.LogLevel, format string, args ...any) {
	var lvl slog.Level
	switch level {
	case kfake.LogLevelError:
		lvl = slog.LevelError
	case kfake.LogLevelWarn:
		lvl = slog.LevelWarn
	case kfake.LogLevelInfo:
		lvl = slog.LevelDebug
	default:
		lvl = slog.LevelDebug - 4
	}
	ctx := context.Background()
	if !l.log.Enabled(ctx, lvl) {
		return
	}
	l.log.Log(ctx, lvl, fmt.Sprintf(format, args...), "component", "kfake")
}
