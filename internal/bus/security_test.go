package bus_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl/scram"

	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/testwait"
	"github.com/lienthong/lienthong/internal/tlstest"
)

// testCA makes a CA and a server certificate for 127.0.0.1 and kafka.test
// signed by it: the broker's TLS config and a client's, which trusts only
// that CA.
func testCA(tb testing.TB) (server, client *tls.Config) {
	tb.Helper()
	s := tlstest.New(tb, tb.TempDir(), "kafka.test")
	return s.ServerConfig(), s.ClientConfig()
}

const (
	hubUser = "hub"
	hubPass = "hub-password-0123456789"
	prefix  = "lienthong."
)

// secureBroker starts a broker that speaks only TLS, requires SASL and
// checks ACLs, with hubUser as its superuser.
func secureBroker(tb testing.TB, dir string) (addrs []string, clientTLS *tls.Config) {
	tb.Helper()
	b, cli := secureBrokerOf(tb, dir)
	return b.Addrs(), cli
}

func secureBrokerOf(tb testing.TB, dir string) (*bus.Broker, *tls.Config) {
	tb.Helper()
	srv, cli := testCA(tb)
	b, err := bus.StartBroker(tb.Context(), bus.BrokerConfig{DataDir: dir, TLS: srv, ACLs: true,
		Superuser: bus.SASL{Mechanism: bus.MechanismSCRAM512, User: hubUser, Password: hubPass}})
	if err != nil {
		tb.Fatalf("StartBroker: %v", err)
	}
	tb.Cleanup(func() { _ = b.Close() })
	return b, cli
}

func secureConfig(addrs []string, tc *tls.Config, user, pass string) bus.Config {
	return bus.Config{Brokers: addrs, ClientID: "lienthong-test", TLS: tc, SASL: bus.SASL{User: user, Password: pass},
		DialTimeout: 2 * time.Second, WriteTimeout: 5 * time.Second}
}

// isKafka reports whether err carries the Kafka error code want, also
// inside kafka-go's WriteErrors, which do not unwrap.
func isKafka(err error, want kafka.Error) bool {
	if errors.Is(err, want) {
		return true
	}
	var werrs kafka.WriteErrors
	if errors.As(err, &werrs) {
		for _, e := range werrs {
			if e != nil && errors.Is(e, want) {
				return true
			}
		}
	}
	return false
}

// Every client of the package (admin, producer, consumer group, Follow,
// ReadTopic, Lag) reaches a TLS+SASL broker through bus.Config alone.
func TestSecuredBusEveryClient(t *testing.T) {
	addrs, tc := secureBroker(t, t.TempDir())
	cfg := secureConfig(addrs, tc, hubUser, hubPass)
	topic := prefix + "accepted"
	admin, err := bus.NewAdmin(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.EnsureTopics(t.Context(), bus.TopicSpec{Name: topic, Partitions: 2}); err != nil {
		t.Fatalf("EnsureTopics: %v", err)
	}
	p := newProducer(t, cfg)
	produceN(t, p, topic, 0, 4)

	col := newCollector()
	c, err := bus.NewConsumer(cfg, testConsumerConfig(prefix+"router", topic), col.handle)
	if err != nil {
		t.Fatal(err)
	}
	r := startConsumer(t, c)
	testwait.Eventually(t, "the group to read 4 messages", func() bool { return len(col.snapshot()) >= 4 })
	if err := r.stop(t); err != nil {
		t.Fatalf("consumer: %v", err)
	}
	if lag, err := admin.Lag(t.Context(), prefix+"router", topic); err != nil || lag != 0 {
		t.Errorf("Lag = %d, %v; want 0", lag, err)
	}
	if _, err := admin.TopicConfig(t.Context(), topic, "cleanup.policy"); err != nil {
		t.Errorf("TopicConfig: %v", err)
	}
	msgs, err := bus.ReadTopic(t.Context(), cfg, topic, 0)
	if err != nil || len(msgs) != 4 {
		t.Errorf("ReadTopic = %d messages, %v; want 4", len(msgs), err)
	}
	single := prefix + "credentials"
	if err := admin.EnsureTopics(t.Context(), bus.TopicSpec{Name: single, Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	produceN(t, p, single, 0, 1)
	ctx, cancel := context.WithCancel(t.Context())
	got := make(chan bus.Message, 1)
	done := make(chan error, 1)
	go func() {
		done <- bus.Follow(ctx, cfg, single, func(m bus.Message) error { got <- m; return nil }, nil)
	}()
	select {
	case <-got:
	case err := <-done:
		t.Fatalf("Follow: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("Follow read nothing")
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Follow = %v", err)
	}
}

// A client without TLS, with a CA that did not sign the broker, or with a
// wrong password gets nothing. TLS failures carry no Kafka code, and kfake
// closes the connection on a failed SASL exchange where Kafka answers
// SASLAuthenticationFailed first, so only the failure is asserted.
func TestSecuredBusRefusesClients(t *testing.T) {
	addrs, tc := secureBroker(t, t.TempDir())
	_, otherCA := testCA(t)
	tests := []struct {
		name string
		give bus.Config
	}{
		{"plaintext", secureConfig(addrs, nil, hubUser, hubPass)},
		{"unknown CA", secureConfig(addrs, otherCA, hubUser, hubPass)},
		{"no SASL", secureConfig(addrs, tc, "", "")},
		{"wrong password", secureConfig(addrs, tc, hubUser, "not-the-password")},
		{"unknown user", secureConfig(addrs, tc, "nobody", hubPass)},
		{"wrong mechanism", func() bus.Config {
			c := secureConfig(addrs, tc, hubUser, hubPass)
			c.SASL.Mechanism = bus.MechanismSCRAM256
			return c
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.give.DialTimeout, tt.give.WriteTimeout = time.Second, 2*time.Second
			a, err := bus.NewAdmin(tt.give)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			_, err = a.Lag(ctx, prefix+"router", prefix+"accepted")
			if err == nil {
				t.Fatal("Lag succeeded")
			}
		})
	}
}

func TestSASLValidate(t *testing.T) {
	tests := []struct {
		give bus.SASL
		want error
	}{
		{bus.SASL{}, nil},
		{bus.SASL{User: "u", Password: "p"}, nil},
		{bus.SASL{Mechanism: "PLAIN", User: "u", Password: "p"}, nil},
		{bus.SASL{Mechanism: "SCRAM-SHA-256", User: "u", Password: "p"}, nil},
		{bus.SASL{Mechanism: "GSSAPI", User: "u", Password: "p"}, bus.ErrBadMechanism},
		{bus.SASL{Mechanism: "scram-sha-512", User: "u", Password: "p"}, bus.ErrBadMechanism},
		{bus.SASL{User: "u"}, bus.ErrNoSASLUser},
		{bus.SASL{Password: "p"}, bus.ErrNoSASLUser},
	}
	for _, tt := range tests {
		if err := tt.give.Validate(); !errors.Is(err, tt.want) {
			t.Errorf("%v.Validate() = %v; want %v", tt.give, err, tt.want)
		}
		if _, err := bus.NewProducer(bus.Config{Brokers: []string{"127.0.0.1:1"}, SASL: tt.give}); !errors.Is(err, tt.want) {
			t.Errorf("NewProducer(%v) = %v; want %v", tt.give, err, tt.want)
		}
	}
	// The password never shows in a formatted, logged or dumped config.
	cfg := bus.Config{SASL: bus.SASL{User: "u", Password: "s3cret-pass"}}
	var outs []string
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%q", "%t", "%[1]v %[1]d"} {
		outs = append(outs, fmt.Sprintf(f, cfg), fmt.Sprintf(f, cfg.SASL), fmt.Sprintf(f, &cfg))
	}
	var text, js bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("m", "bus", cfg, "sasl", cfg.SASL)
	slog.New(slog.NewJSONHandler(&js, nil)).Info("m", "bus", cfg, "sasl", cfg.SASL)
	// The whole Config goes through slog's JSON above; json.Marshal of it
	// would trip on tls.Config's func fields, so the SASL alone here.
	dump, err := json.Marshal(cfg.SASL)
	if err != nil {
		t.Fatal(err)
	}
	outs = append(outs, text.String(), js.String(), string(dump))
	for _, s := range outs {
		if strings.Contains(s, "s3cret-pass") || !strings.Contains(s, "[redacted]") {
			t.Errorf("%s: shows the password, or no [redacted]", s)
		}
	}
}

// The broker's superuser takes the configured password even when an
// earlier run with the same data directory had another, or none.
func TestBrokerSuperuserPasswordChange(t *testing.T) {
	dir := t.TempDir()
	srv, cli := testCA(t)
	start := func(su bus.SASL) *bus.Broker {
		b, err := bus.StartBroker(t.Context(), bus.BrokerConfig{DataDir: dir, TLS: srv, Superuser: su, ACLs: su.User != ""})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	try := func(b *bus.Broker, user, pass string) error {
		a, err := bus.NewAdmin(secureConfig(b.Addrs(), cli, user, pass))
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		return a.EnsureTopics(ctx, bus.TopicSpec{Name: prefix + "events", Partitions: 1})
	}
	b := start(bus.SASL{})
	if err := try(b, "", ""); err != nil {
		t.Fatalf("no SASL: %v", err)
	}
	b.Close()
	for _, pass := range []string{"first-password-0123", "second-password-456"} {
		b = start(bus.SASL{User: "admin", Password: pass})
		if err := try(b, "admin", pass); err != nil {
			t.Errorf("superuser with %s: %v", pass, err)
		}
		b.Close()
	}
	b = start(bus.SASL{User: "admin", Password: "second-password-456"})
	defer b.Close()
	if err := try(b, "admin", "first-password-0123"); err == nil {
		t.Error("the old password still logs in")
	}
}

// A superuser rotated to another mechanism or another name leaves no
// credential behind: kfake makes a superuser of any credential under the
// configured name, and the old name would stay a user.
func TestBrokerSuperuserRotation(t *testing.T) {
	dir := t.TempDir()
	srv, cli := testCA(t)
	var b *bus.Broker
	start := func(su bus.SASL) {
		if b != nil {
			b.Close()
		}
		var err error
		b, err = bus.StartBroker(t.Context(), bus.BrokerConfig{DataDir: dir, TLS: srv, Superuser: su, ACLs: true})
		if err != nil {
			t.Fatal(err)
		}
	}
	defer func() { b.Close() }()
	login := func(su bus.SASL) error {
		a, err := bus.NewAdmin(bus.Config{Brokers: b.Addrs(), TLS: cli, SASL: su, DialTimeout: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		// Refused authorization is a login all the same.
		if _, err = a.ACLs(ctx); isKafka(err, kafka.ClusterAuthorizationFailed) {
			return nil
		}
		return err
	}
	steps := []struct {
		give bus.SASL
		gone []bus.SASL // earlier superusers that must no longer log in
	}{
		{give: bus.SASL{Mechanism: bus.MechanismSCRAM512, User: "admin", Password: "first-password-0123"}},
		{give: bus.SASL{Mechanism: bus.MechanismPlain, User: "admin", Password: "second-password-456"},
			gone: []bus.SASL{{Mechanism: bus.MechanismSCRAM512, User: "admin", Password: "first-password-0123"}}},
		{give: bus.SASL{Mechanism: bus.MechanismSCRAM256, User: "admin", Password: "third-password-7890"},
			gone: []bus.SASL{{Mechanism: bus.MechanismPlain, User: "admin", Password: "second-password-456"}}},
		{give: bus.SASL{Mechanism: bus.MechanismSCRAM256, User: "root", Password: "fourth-password-123"},
			gone: []bus.SASL{{Mechanism: bus.MechanismSCRAM256, User: "admin", Password: "third-password-7890"}}},
	}
	for i, st := range steps {
		start(st.give)
		if err := login(st.give); err != nil {
			t.Errorf("step %d: the superuser %s: %v", i, st.give, err)
		}
		for _, g := range st.gone {
			if err := login(g); err == nil {
				t.Errorf("step %d: the earlier superuser %s still logs in", i, g)
			}
		}
	}
}

func TestStartBrokerPlainNeedsTLS(t *testing.T) {
	srv, _ := testCA(t)
	tests := []struct {
		give *tls.Config
		want error
	}{{nil, bus.ErrPlainNeedsTLS}, {srv, nil}}
	for _, tt := range tests {
		b, err := bus.StartBroker(t.Context(), bus.BrokerConfig{DataDir: t.TempDir(),
			TLS: tt.give, Superuser: bus.SASL{Mechanism: bus.MechanismPlain, User: "admin", Password: "plain-password-0123"}})
		if !errors.Is(err, tt.want) {
			t.Errorf("StartBroker(PLAIN, TLS %v) = %v; want %v", tt.give != nil, err, tt.want)
		}
		if err == nil {
			b.Close()
		}
	}
}

func TestStartBrokerACLsNeedSuperuser(t *testing.T) {
	_, err := bus.StartBroker(t.Context(), bus.BrokerConfig{DataDir: t.TempDir(), ACLs: true})
	if !errors.Is(err, bus.ErrACLsNeedSuperuser) {
		t.Errorf("StartBroker = %v; want ErrACLsNeedSuperuser", err)
	}
}

// rawClient is a kafka-go client for requests the bus does not make, such
// as joining a group without reading it.
func rawClient(addrs []string, tc *tls.Config, user, pass string) *kafka.Client {
	mech, err := scram.Mechanism(scram.SHA512, user, pass)
	if err != nil {
		panic(err)
	}
	return &kafka.Client{Addr: kafka.TCP(addrs...), Timeout: 5 * time.Second,
		Transport: &kafka.Transport{TLS: tc, SASL: mech, DialTimeout: 2 * time.Second}}
}

// The client certificate and the server name of bus.Config.TLS reach the
// handshake: a broker that requires a client certificate takes the one
// given, and a server name the certificate does not carry is refused.
func TestSecuredBusClientCertificateAndServerName(t *testing.T) {
	srv, cli := testCA(t)
	clientCert, clientCAs := testClientCert(t)
	srv.ClientCAs, srv.ClientAuth = clientCAs, tls.RequireAndVerifyClientCert
	b, err := bus.StartBroker(t.Context(), bus.BrokerConfig{DataDir: t.TempDir(), TLS: srv})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	withCert := func(serverName string) *tls.Config {
		c := cli.Clone()
		c.Certificates, c.ServerName = []tls.Certificate{clientCert}, serverName
		return c
	}
	tests := []struct {
		name string
		give *tls.Config
		ok   bool
	}{
		{"client certificate", withCert(""), true},
		{"no client certificate", cli, false},
		{"server name on the certificate", withCert("kafka.test"), true},
		{"server name not on it", withCert("other.test"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := bus.NewAdmin(bus.Config{Brokers: b.Addrs(), TLS: tt.give, DialTimeout: time.Second, WriteTimeout: 2 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			_, err = a.Lag(ctx, "g", "t")
			// The topic does not exist: answering so is getting through.
			if got := errors.Is(err, bus.ErrUnknownTopic); got != tt.ok {
				t.Errorf("Lag = %v; want through %v", err, tt.ok)
			}
		})
	}
}

// testClientCert makes a self-signed client certificate and a pool that
// trusts it.
func testClientCert(tb testing.TB) (tls.Certificate, *x509.CertPool) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "lienthong-hub"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}
