package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/segmentio/kafka-go"

	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/config"
)

// busConfig is the bus.Config of every Kafka client of the hub (hub,
// pusher, credentials, console), with the TLS and SASL of cfg.Bus.
func busConfig(cfg *config.Config, brokers []string) (bus.Config, error) {
	tc, err := cfg.Bus.TLS.ClientTLS()
	if err != nil {
		return bus.Config{}, err
	}
	bc := bus.Config{Brokers: brokers, ClientID: cfg.Bus.ClientID, BatchTimeout: cfg.Bus.BatchTimeout, TLS: tc}
	if s := cfg.Bus.SASL; s.Enabled() {
		bc.SASL = bus.SASL{Mechanism: s.Mechanism, User: s.User, Password: s.Password.Reveal()}
	}
	return bc, nil
}

// embeddedBroker is the configuration of the embedded broker: TLS from
// bus.embeddedBroker, bus.sasl's user as its superuser, ACLs from
// bus.embeddedBroker.acls.
func embeddedBroker(cfg *config.Config, log *slog.Logger) (bus.BrokerConfig, error) {
	tc, err := cfg.Bus.EmbeddedBroker.ServerTLS()
	if err != nil {
		return bus.BrokerConfig{}, err
	}
	bc := bus.BrokerConfig{Addr: cfg.Bus.Addr, DataDir: cfg.Bus.DataDir, Logger: log, TLS: tc, ACLs: cfg.Bus.EmbeddedBroker.ACLs}
	if s := cfg.Bus.SASL; s.Enabled() {
		bc.Superuser = bus.SASL{Mechanism: s.Mechanism, User: s.User, Password: s.Password.Reveal()}
	}
	return bc, nil
}

// provisionAgencies gives the agencies with a Kafka user their principal
// and removes those of agencies that lost it (bus.Admin.ProvisionAgencies).
// It runs whenever the hub logs in with SASL, so removing the last
// agency's user revokes it too; a hub without the cluster ACLs for it and
// no agency user to provision only logs that it skipped.
func provisionAgencies(ctx context.Context, admin *bus.Admin, cfg *config.Config, log *slog.Logger) error {
	if !cfg.Bus.SASL.Enabled() {
		return nil
	}
	var users []bus.AgencyUser
	for _, a := range cfg.Agencies {
		if a.Kafka.User != "" {
			users = append(users, bus.AgencyUser{OrganID: a.OrganID, User: a.Kafka.User, Password: a.Kafka.Password.Reveal()})
		}
	}
	revoked, err := admin.ProvisionAgencies(ctx, cfg.Bus.TopicPrefix, cfg.Bus.SASL.User, users)
	if err != nil {
		if len(users) == 0 && (errors.Is(err, kafka.ClusterAuthorizationFailed) || errors.Is(err, kafka.SecurityDisabled)) {
			log.Info("agency Kafka principals: none configured, and the hub may not manage ACLs", "err", err)
			return nil
		}
		return fmt.Errorf("agency Kafka principals: %w", err)
	}
	for _, u := range users {
		log.Info("agency Kafka principal provisioned", "organ", u.OrganID, "user", u.User)
	}
	for _, u := range revoked {
		log.Warn("agency Kafka principal revoked", "user", u)
	}
	return nil
}

// brokerPasswordEnv holds the broker superuser's password for `lienthong
// broker`, so it appears neither in the process list nor in shell history.
const brokerPasswordEnv = "LIENTHONG_BROKER_SASL_PASSWORD"

func runBroker(ctx context.Context, args []string, _, stderr io.Writer) int {
	serverGC()
	fs := newFlags("broker", "--data DIR [--addr HOST:PORT] [--tls-cert FILE --tls-key FILE] [--sasl-user NAME [--sasl-password-file FILE] [--acls]]", stderr)
	data := fs.String("data", "", "where the broker persists (required)")
	addr := fs.String("addr", "127.0.0.1:9092", "listen address")
	cert := fs.String("tls-cert", "", "serve TLS only, with this PEM certificate (chain)")
	key := fs.String("tls-key", "", "the PEM private key of --tls-cert")
	user := fs.String("sasl-user", "", "require SASL; this user is the superuser")
	mech := fs.String("sasl-mechanism", bus.MechanismSCRAM512, "the superuser's mechanism: SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN")
	pwFile := fs.String("sasl-password-file", "", "file holding the superuser's password (default: $"+brokerPasswordEnv+")")
	acls := fs.Bool("acls", false, "check ACLs: other users get only what ACLs grant (needs --sasl-user)")
	if _, err := parseFlags(fs, args); err != nil {
		return flagsFailed(err) // flag printed the usage
	}
	if *data == "" {
		fs.Usage()
		return ExitUsage
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "lienthong broker: %v\n", err)
		return ExitUsage
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	bc := bus.BrokerConfig{Addr: *addr, DataDir: *data, Logger: log, ACLs: *acls}
	if (*cert == "") != (*key == "") {
		return fail(errors.New("--tls-cert and --tls-key go together"))
	}
	if *cert != "" {
		tc, err := (config.BusBroker{CertFile: *cert, KeyFile: *key}).ServerTLS()
		if err != nil {
			return fail(err)
		}
		bc.TLS = tc
	}
	if *user != "" {
		pw := os.Getenv(brokerPasswordEnv)
		if *pwFile != "" {
			b, err := os.ReadFile(*pwFile)
			if err != nil {
				return fail(err)
			}
			pw = strings.TrimRight(string(b), "\r\n")
		}
		if pw == "" {
			return fail(fmt.Errorf("--sasl-user needs a password: --sasl-password-file or $%s", brokerPasswordEnv))
		}
		bc.Superuser = bus.SASL{Mechanism: *mech, User: *user, Password: pw}
	} else if *pwFile != "" {
		return fail(errors.New("--sasl-password-file needs --sasl-user"))
	}
	if err := bus.RunBroker(ctx, bc); err != nil {
		return fail(err)
	}
	return ExitOK
}
