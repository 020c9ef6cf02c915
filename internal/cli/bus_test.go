package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl/scram"

	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/internal/pki"
)

// A hub whose embedded broker serves TLS, SASL and ACLs: every Kafka
// client of the hub (hub, pusher, the console's token store) logs in as
// bus.sasl's user (from the environment), and
// H29's principal, made by the hub, reads H29's inbox topic and nothing
// else; once its kafka entry is gone, a restart revokes it.
func TestServeSecuredBus(t *testing.T) {
	dir := t.TempDir()
	ca, g22 := testCA(t, dir)
	cert, key, pool := serverCert(t, dir)
	t.Setenv("LIENTHONG_BUS_SASL_PASSWORD", "hub-kafka-password-0123")
	const h29Kafka = `
    kafka:
      user: agency-h29
      password: agency-h29-kafka-password`
	yaml := `hub:
  organId: "000.00.00.G01"
  addr: ` + anyAddr + `
  dataDir: ` + filepath.Join(dir, "data") + `
bus:
  addr: ` + anyAddr + `
  tls:
    enabled: true
    caFile: ` + cert + `
  sasl:
    user: lienthong-hub
  embeddedBroker:
    certFile: ` + cert + `
    keyFile: ` + key + `
    acls: true
trust:
  roots: [` + ca.RootPath() + `]
console:
  # The console's run-time token store reads and writes the credentials
  # topic: /readyz waits for it.
  sessionKey: session-key-of-the-secured-bus-test-0123
agencies:
  - organId: "000.00.00.G22"
    name: Văn phòng Chính phủ
    tokens: ["g22-token-0123456789"]
  - organId: "000.00.00.H29"
    name: UBND TP HCM
    tokens: ["h29-token-0123456789"]` + h29Kafka + `
`
	path := filepath.Join(dir, "lienthong.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := run(t, "serve", "--check-config", path); code != 0 {
		t.Fatalf("check-config: %d %s %s", code, out, errOut)
	}
	logs := &lockedWriter{}
	// Each start has the hub and its embedded broker on new ports.
	var addr, kafkaAddr string
	start := func() (stop func()) {
		from := len(logs.String())
		addr, stop = startServe(t, path, logs)
		kafkaAddr = logAddr(t, logs, from, "embedded kafka broker")
		if err := waitReady("http://"+addr, http.DefaultClient); err != nil {
			t.Fatalf("not ready: %v\n%s", err, logs.String())
		}
		return stop
	}
	stop := start()
	packet, err := os.ReadFile(filepath.Join("..", "edxml", "testdata", "fixtures", "edoc-new.xml"))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := pki.SignDetached(bytes.NewReader(packet), g22.Cert, g22.Key, g22.Chain, pki.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := fedPost(t, addr, "g22-token-0123456789", packet, sig); code != 201 {
		t.Fatalf("submit: %d", code)
	}
	waitInbox(t, addr, "h29-token-0123456789")

	tc := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	agency := bus.Config{Brokers: []string{kafkaAddr}, ClientID: "agency-h29", TLS: tc, DialTimeout: 2 * time.Second, WriteTimeout: 5 * time.Second,
		SASL: bus.SASL{User: "agency-h29", Password: "agency-h29-kafka-password"}}
	msgs, err := bus.ReadTopic(t.Context(), agency, "lienthong.inbox.000.00.00.H29", 0)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("H29 reads its inbox topic: %d messages, %v; want 1", len(msgs), err)
	}
	if err := kafkaMetadata(t, kafkaAddr, tc, "agency-h29", "agency-h29-kafka-password", "lienthong.inbox.000.00.00.G22"); !errors.Is(err, kafka.TopicAuthorizationFailed) {
		t.Errorf("H29 describes G22's inbox: %v; want TopicAuthorizationFailed", err)
	}
	if err := kafkaMetadata(t, kafkaAddr, tc, "agency-h29", "agency-h29-kafka-password", "lienthong.accepted"); !errors.Is(err, kafka.TopicAuthorizationFailed) {
		t.Errorf("H29 describes the accepted topic: %v; want TopicAuthorizationFailed", err)
	}
	// lienthong dlq reaches the secured bus with the hub's configuration,
	// and not without it.
	if code, out, errOut := run(t, "dlq", "list", "--config", path, "--brokers", kafkaAddr, "--json", "--timeout", "20s"); code != ExitOK {
		t.Errorf("dlq list --config: %d %s %s", code, out, errOut)
	}
	if code, _, _ := run(t, "dlq", "list", "--brokers", kafkaAddr, "--json", "--timeout", "3s"); code == ExitOK {
		t.Error("dlq list without the bus's TLS and SASL succeeded")
	}
	stop()
	for _, s := range []string{"hub-kafka-password-0123", "agency-h29-kafka-password"} {
		if strings.Contains(logs.String(), s) {
			t.Errorf("the log shows the password %q", s)
		}
	}

	// H29's Kafka access removed from the configuration: revoked at start.
	if err := os.WriteFile(path, []byte(strings.Replace(yaml, h29Kafka, "", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	stop = start()
	defer stop()
	agency.Brokers = []string{kafkaAddr}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := bus.ReadTopic(ctx, agency, "lienthong.inbox.000.00.00.H29", 0); err == nil {
		t.Error("H29 still reads its inbox after its kafka entry was removed")
	}
	if !strings.Contains(logs.String(), "agency Kafka principal revoked") {
		t.Errorf("no revocation in the log:\n%s", logs.String())
	}
}

// kafkaMetadata asks for topic's metadata as user over one connection and
// returns the topic's error.
func kafkaMetadata(t *testing.T, addr string, tc *tls.Config, user, pass, topic string) error {
	t.Helper()
	mech, err := scram.Mechanism(scram.SHA512, user, pass)
	if err != nil {
		t.Fatal(err)
	}
	d := &kafka.Dialer{Timeout: 5 * time.Second, TLS: tc, SASLMechanism: mech}
	conn, err := d.DialContext(t.Context(), "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = conn.ReadPartitions(topic)
	return err
}

// `lienthong broker` with TLS, a SASL superuser whose password comes from
// a file, and ACLs: the superuser gets in, a client without SASL does not.
func TestBrokerCommandSecured(t *testing.T) {
	dir := t.TempDir()
	cert, key, pool := serverCert(t, dir)
	pwFile := filepath.Join(dir, "password")
	if err := os.WriteFile(pwFile, []byte("broker-superuser-pw-01\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &lockedWriter{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"broker", "--data", filepath.Join(dir, "kafka"), "--addr", anyAddr, "--tls-cert", cert, "--tls-key", key,
			"--sasl-user", "admin", "--sasl-password-file", pwFile, "--acls"}, io.Discard, logs)
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("broker exited %d: %s", code, logs.String())
		}
	}()
	addr := logAddr(t, logs, 0, "kafka broker listening")
	tc := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	ensure := func(cfg bus.Config) error {
		a, err := bus.NewAdmin(cfg)
		if err != nil {
			return err
		}
		defer a.Close()
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		return a.EnsureTopics(ctx, bus.TopicSpec{Name: "lienthong.accepted", Partitions: 1})
	}
	super := bus.Config{Brokers: []string{addr}, TLS: tc, SASL: bus.SASL{User: "admin", Password: "broker-superuser-pw-01"}, DialTimeout: time.Second}
	deadline := time.Now().Add(10 * time.Second)
	var err error
	for err = ensure(super); err != nil && time.Now().Before(deadline); err = ensure(super) {
		time.Sleep(100 * time.Millisecond) // the broker is starting
	}
	if err != nil {
		t.Fatalf("superuser: %v", err)
	}
	if err := ensure(bus.Config{Brokers: []string{addr}, TLS: tc, DialTimeout: time.Second}); err == nil {
		t.Error("a client without SASL created a topic")
	}
	if strings.Contains(logs.String(), "broker-superuser-pw-01") {
		t.Error("the broker logged its superuser's password")
	}
}

func TestBrokerCommandUsage(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(brokerPasswordEnv, "")
	tests := []struct {
		name string
		give []string
	}{
		{"cert without key", []string{"--tls-cert", filepath.Join(dir, "c.pem")}},
		{"user without password", []string{"--sasl-user", "admin"}},
		{"password file without user", []string{"--sasl-password-file", filepath.Join(dir, "pw")}},
		{"acls without user", []string{"--acls"}},
		{"bad mechanism", []string{"--sasl-user", "admin", "--sasl-mechanism", "GSSAPI"}},
		{"plain without tls", []string{"--sasl-user", "admin", "--sasl-mechanism", "PLAIN"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "bad mechanism" || tt.name == "plain without tls" {
				t.Setenv(brokerPasswordEnv, "some-password-0123")
			}
			args := append([]string{"broker", "--data", filepath.Join(dir, tt.name), "--addr", "127.0.0.1:0"}, tt.give...)
			if code, _, errOut := run(t, args...); code != ExitUsage || errOut == "" {
				t.Errorf("broker %v = %d %q; want %d and a message", tt.give, code, errOut, ExitUsage)
			}
		})
	}
}

// lockedWriter is a log sink that a test reads while the server writes.
type lockedWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// `lienthong dev --secure-bus` runs the whole hub over a TLS, SASL and ACL
// broker, and each dev agency's principal (DIR/dev/kafka/kafka.json) reads
// its own inbox topic only; a restart reuses the same credentials.
func TestDevSecureBus(t *testing.T) {
	data := t.TempDir()
	for run := range 2 {
		logs := &lockedWriter{}
		_, stop := startDev(t, data, logs, "--secure-bus", "--kafka-addr", anyAddr)
		kafkaAddr := logAddr(t, logs, 0, "embedded kafka broker")
		raw, err := os.ReadFile(filepath.Join(data, "dev", "kafka", "kafka.json"))
		if err != nil {
			t.Fatal(err)
		}
		var k devKafka
		if err := json.Unmarshal(raw, &k); err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		if pem, err := os.ReadFile(k.CA); err != nil || !pool.AppendCertsFromPEM(pem) {
			t.Fatalf("CA %s: %v", k.CA, err)
		}
		tc := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		if len(k.Agencies) != 3 {
			t.Fatalf("kafka.json has %d agencies, want 3", len(k.Agencies))
		}
		a, other := k.Agencies[0], k.Agencies[1]
		cfg := bus.Config{Brokers: []string{kafkaAddr}, TLS: tc, SASL: bus.SASL{User: a.User, Password: a.Password}, DialTimeout: 2 * time.Second}
		if _, err := bus.ReadTopic(t.Context(), cfg, a.Topic, 0); err != nil {
			t.Errorf("run %d: %s reads %s: %v", run, a.User, a.Topic, err)
		}
		if err := kafkaMetadata(t, kafkaAddr, tc, a.User, a.Password, other.Topic); !errors.Is(err, kafka.TopicAuthorizationFailed) {
			t.Errorf("run %d: %s describes %s: %v; want TopicAuthorizationFailed", run, a.User, other.Topic, err)
		}
		plain := bus.Config{Brokers: []string{kafkaAddr}, DialTimeout: time.Second, WriteTimeout: 2 * time.Second}
		rctx, rcancel := context.WithTimeout(t.Context(), 5*time.Second)
		if _, err := bus.ReadTopic(rctx, plain, a.Topic, 0); err == nil {
			t.Errorf("run %d: a plaintext client without SASL read %s", run, a.Topic)
		}
		rcancel()
		if code := stop(); code != 0 {
			t.Fatalf("run %d: dev exited %d\n%s", run, code, logs.String())
		}
		if strings.Contains(logs.String(), k.Password) || strings.Contains(logs.String(), a.Password) {
			t.Errorf("run %d: the log shows a Kafka password", run)
		}
	}
}

// A hub that is not a Kafka super user runs whole (router, view, pusher,
// console tokens, agency provisioning) with exactly bus.HubACLs, the list
// docs/bus.md gives.
func TestServeWithHubACLsOnly(t *testing.T) {
	dir := t.TempDir()
	ca, g22 := testCA(t, dir)
	cert, key, pool := serverCert(t, dir)
	kp, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	tc := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	b, err := bus.StartBroker(t.Context(), bus.BrokerConfig{DataDir: filepath.Join(dir, "kafka"), ACLs: true,
		TLS:       &tls.Config{Certificates: []tls.Certificate{kp}, MinVersion: tls.VersionTLS12},
		Superuser: bus.SASL{User: "admin", Password: "broker-admin-password-01"}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	admin, err := bus.NewAdmin(bus.Config{Brokers: b.Addrs(), TLS: tc, SASL: bus.SASL{User: "admin", Password: "broker-admin-password-01"}})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.SetSCRAMUser(t.Context(), "lienthong-hub", "hub-kafka-password-0123"); err != nil {
		t.Fatal(err)
	}
	if err := admin.CreateACLs(t.Context(), bus.HubACLs("lienthong.", "lienthong-hub", true)...); err != nil {
		t.Fatal(err)
	}

	t.Setenv("LIENTHONG_BUS_SASL_PASSWORD", "hub-kafka-password-0123")
	yaml := `hub:
  organId: "000.00.00.G01"
  addr: ` + anyAddr + `
  dataDir: ` + filepath.Join(dir, "data") + `
bus:
  embedded: false
  brokers: [` + b.Addrs()[0] + `]
  tls:
    enabled: true
    caFile: ` + cert + `
  sasl:
    user: lienthong-hub
trust:
  roots: [` + ca.RootPath() + `]
console:
  sessionKey: session-key-of-the-hub-acls-test-0123456
agencies:
  - organId: "000.00.00.G22"
    name: Văn phòng Chính phủ
    tokens: ["g22-token-0123456789"]
  - organId: "000.00.00.H29"
    name: UBND TP HCM
    tokens: ["h29-token-0123456789"]
    kafka:
      user: agency-h29
      password: agency-h29-kafka-password
`
	path := filepath.Join(dir, "lienthong.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &lockedWriter{}
	addr := serveConfig(t, path, logs)
	if err := waitReady("http://"+addr, http.DefaultClient); err != nil {
		t.Fatalf("not ready: %v\n%s", err, logs.String())
	}
	packet, err := os.ReadFile(filepath.Join("..", "edxml", "testdata", "fixtures", "edoc-new.xml"))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := pki.SignDetached(bytes.NewReader(packet), g22.Cert, g22.Key, g22.Chain, pki.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := fedPost(t, addr, "g22-token-0123456789", packet, sig); code != 201 {
		t.Fatalf("submit: %d\n%s", code, logs.String())
	}
	waitInbox(t, addr, "h29-token-0123456789")
	agency := bus.Config{Brokers: b.Addrs(), TLS: tc, DialTimeout: 2 * time.Second, SASL: bus.SASL{User: "agency-h29", Password: "agency-h29-kafka-password"}}
	if msgs, err := bus.ReadTopic(t.Context(), agency, "lienthong.inbox.000.00.00.H29", 0); err != nil || len(msgs) != 1 {
		t.Errorf("H29 reads its inbox topic: %d messages, %v; want 1", len(msgs), err)
	}
	for _, bad := range []string{"level=ERROR", "level=WARN", "Authorization"} {
		if strings.Contains(logs.String(), bad) {
			t.Errorf("%s in the hub's log:\n%s", bad, logs.String())
		}
	}
}

// A DIR/dev/kafka/kafka.json of an older version, with the group prefix
// ending in ".", is rewritten with the prefix the broker now grants.
func TestDevSecureBusRefreshesNames(t *testing.T) {
	dev := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dev, "kafka"), 0o700); err != nil {
		t.Fatal(err)
	}
	const organ = "000.00.00.G22"
	old := `{"ca":"x","mechanism":"SCRAM-SHA-512","user":"lienthong-dev","password":"p","agencies":[` +
		`{"organId":"` + organ + `","user":"agency-g22","password":"q","topic":"t","groupPrefix":"lienthong.agency.` + organ + `."}]}`
	path := filepath.Join(dev, "kafka", "kafka.json")
	if err := os.WriteFile(path, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Agencies = []config.Agency{{OrganID: organ}}
	if err := devSecureBus(cfg, dev); err != nil {
		t.Fatal(err)
	}
	var k devKafka
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &k); err != nil {
		t.Fatal(err)
	}
	want := bus.AgencyGroupPrefix(cfg.Bus.TopicPrefix, organ)
	if len(k.Agencies) != 1 || k.Agencies[0].GroupPrefix != want || k.Agencies[0].Topic != bus.AgencyInbox(cfg.Bus.TopicPrefix, organ) {
		t.Errorf("kafka.json agencies = %+v; want group prefix %s", k.Agencies, want)
	}
	if cfg.Agencies[0].Kafka.User != "agency-g22" {
		t.Errorf("agency kafka user = %q", cfg.Agencies[0].Kafka.User)
	}
}
