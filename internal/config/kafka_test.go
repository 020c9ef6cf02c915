package config_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/config"
)

// certFiles writes a self-signed certificate and its key as PEM.
func certFiles(t *testing.T, dir string) (cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kafka"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	cert, key = filepath.Join(dir, "kafka.crt"), filepath.Join(dir, "kafka.key")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// securedConfig is validConfig with a bus over SASL_SSL and an agency
// with a Kafka principal.
func securedConfig(t *testing.T) *config.Config {
	t.Helper()
	c := validConfig(t)
	cert, key := certFiles(t, t.TempDir())
	c.Bus.TLS = config.BusTLS{Enabled: true, CAFile: cert, CertFile: cert, KeyFile: key, ServerName: "kafka.internal"}
	c.Bus.SASL = config.BusSASL{Mechanism: config.SASLSCRAM512, User: "lienthong-hub", Password: "hub-kafka-password-0123"}
	c.Agencies[1].Kafka = config.AgencyKafka{User: "agency-h29", Password: "agency-kafka-password-0123"}
	return c
}

func TestValidateKafkaErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.pem")
	tests := []struct {
		name     string
		give     func(c *config.Config)
		wantPath string
		wantErr  error
	}{
		{"sasl mechanism", func(c *config.Config) { c.Bus.SASL.Mechanism = "GSSAPI" }, "bus.sasl.mechanism", config.ErrUnknownValue},
		{"sasl mechanism case", func(c *config.Config) { c.Bus.SASL.Mechanism = "scram-sha-512" }, "bus.sasl.mechanism", config.ErrUnknownValue},
		{"sasl password required", func(c *config.Config) { c.Bus.SASL.Password = "" }, "bus.sasl.password", config.ErrRequired},
		{"sasl user required", func(c *config.Config) {
			c.Bus.SASL.User, c.Agencies[1].Kafka = "", config.AgencyKafka{}
		}, "bus.sasl.user", config.ErrRequired},
		{"sasl user name", func(c *config.Config) { c.Bus.SASL.User = "hub,admin" }, "bus.sasl.user", config.ErrBadName},
		{"plain without tls", func(c *config.Config) {
			c.Bus.SASL.Mechanism, c.Bus.TLS = config.SASLPlain, config.BusTLS{}
		}, "bus.sasl.mechanism", config.ErrConflict},
		{"tls files while disabled", func(c *config.Config) {
			c.Bus.TLS = config.BusTLS{CAFile: c.Bus.TLS.CAFile}
		}, "bus.tls.caFile", config.ErrConflict},
		{"tls key required", func(c *config.Config) { c.Bus.TLS.KeyFile = "" }, "bus.tls.keyFile", config.ErrRequired},
		{"tls cert required", func(c *config.Config) { c.Bus.TLS.CertFile = "" }, "bus.tls.certFile", config.ErrRequired},
		{"tls ca file", func(c *config.Config) { c.Bus.TLS.CAFile = missing }, "bus.tls.caFile", fs.ErrNotExist},
		{"tls key file", func(c *config.Config) { c.Bus.TLS.KeyFile = missing }, "bus.tls.keyFile", config.ErrFile},
		{"embedded broker while external", func(c *config.Config) { c.Bus.EmbeddedBroker.ACLs = true }, "bus.embeddedBroker", config.ErrConflict},
		{"embedded broker key", func(c *config.Config) {
			c.Bus.Embedded, c.Bus.Brokers = true, nil
			c.Bus.EmbeddedBroker = config.BusBroker{CertFile: c.Bus.TLS.CertFile, ACLs: true}
		}, "bus.embeddedBroker.keyFile", config.ErrRequired},
		{"embedded broker cert file", func(c *config.Config) {
			c.Bus.Embedded, c.Bus.Brokers = true, nil
			c.Bus.EmbeddedBroker = config.BusBroker{CertFile: missing, KeyFile: c.Bus.TLS.KeyFile, ACLs: true}
		}, "bus.embeddedBroker.certFile", config.ErrFile},
		{"embedded broker tls needs client tls", func(c *config.Config) {
			c.Bus.Embedded, c.Bus.Brokers = true, nil
			c.Bus.EmbeddedBroker = config.BusBroker{CertFile: c.Bus.TLS.CertFile, KeyFile: c.Bus.TLS.KeyFile, ACLs: true}
			c.Bus.TLS = config.BusTLS{}
		}, "bus.tls.enabled", config.ErrRequired},
		{"client tls needs embedded broker tls", func(c *config.Config) {
			c.Bus.Embedded, c.Bus.Brokers = true, nil
			c.Bus.EmbeddedBroker.ACLs = true
		}, "bus.embeddedBroker.certFile", config.ErrRequired},
		{"embedded agency users need acls", func(c *config.Config) {
			c.Bus.Embedded, c.Bus.Brokers = true, nil
			c.Bus.EmbeddedBroker = config.BusBroker{CertFile: c.Bus.TLS.CertFile, KeyFile: c.Bus.TLS.KeyFile}
		}, "bus.embeddedBroker.acls", config.ErrRequired},
		{"embedded acls need a superuser", func(c *config.Config) {
			c.Bus.Embedded, c.Bus.Brokers = true, nil
			c.Bus.EmbeddedBroker.ACLs = true
			c.Bus.SASL, c.Agencies[1].Kafka = config.BusSASL{Mechanism: config.SASLSCRAM512}, config.AgencyKafka{}
			c.Bus.TLS = config.BusTLS{}
		}, "bus.sasl.user", config.ErrRequired},
		{"agency kafka password short", func(c *config.Config) { c.Agencies[1].Kafka.Password = "short" }, "agencies[1].kafka.password", config.ErrWeakSecret},
		{"agency kafka password missing", func(c *config.Config) { c.Agencies[1].Kafka.Password = "" }, "agencies[1].kafka.password", config.ErrWeakSecret},
		{"agency kafka user missing", func(c *config.Config) { c.Agencies[1].Kafka.User = "" }, "agencies[1].kafka.user", config.ErrRequired},
		{"agency kafka user name", func(c *config.Config) { c.Agencies[1].Kafka.User = "User:x" }, "agencies[1].kafka.user", config.ErrBadName},
		{"agency kafka user is the hub", func(c *config.Config) { c.Agencies[1].Kafka.User = "lienthong-hub" }, "agencies[1].kafka.user", config.ErrConflict},
		{"agency kafka user twice", func(c *config.Config) {
			c.Agencies[0].Kafka = config.AgencyKafka{User: "agency-h29", Password: "another-password-0123456"}
		}, "agencies[1].kafka.user", config.ErrDuplicate},
		{"s3 ca file", func(c *config.Config) { c.Blob.S3.CAFile = missing }, "blob.s3.caFile", fs.ErrNotExist},
		{"s3 ca without tls", func(c *config.Config) {
			c.Blob.S3.CAFile, c.Blob.S3.UseTLS = c.Bus.TLS.CAFile, false
		}, "blob.s3.caFile", config.ErrConflict},
		{"agency kafka without hub sasl", func(c *config.Config) { c.Bus.SASL = config.BusSASL{Mechanism: config.SASLSCRAM512} }, "bus.sasl.user", config.ErrRequired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := securedConfig(t)
			tt.give(c)
			err := c.Validate()
			if got := errs(err); len(got) != 1 {
				t.Fatalf("Validate() = %d errors, want 1:\n%v", len(got), err)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Validate() = %v, want errors.Is %v", err, tt.wantErr)
			}
			if !strings.HasPrefix(err.Error(), tt.wantPath+": ") {
				t.Errorf("Validate() = %q, want it to start with %q", err, tt.wantPath+": ")
			}
			for _, s := range []string{"hub-kafka-password-0123", "agency-kafka-password-0123"} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("Validate() = %q shows a password", err)
				}
			}
		})
	}
}

func TestValidateKafkaAccepts(t *testing.T) {
	tests := []struct {
		name string
		give func(c *config.Config)
	}{
		{"secured", func(*config.Config) {}},
		{"system roots", func(c *config.Config) { c.Bus.TLS.CAFile = "" }},
		{"no client certificate", func(c *config.Config) { c.Bus.TLS.CertFile, c.Bus.TLS.KeyFile = "", "" }},
		{"scram-sha-256", func(c *config.Config) { c.Bus.SASL.Mechanism = config.SASLSCRAM256 }},
		{"plain over tls", func(c *config.Config) { c.Bus.SASL.Mechanism = config.SASLPlain }},
		{"sasl without tls", func(c *config.Config) { c.Bus.TLS = config.BusTLS{} }},
		{"plaintext bus", func(c *config.Config) {
			c.Bus.TLS, c.Bus.SASL, c.Agencies[1].Kafka = config.BusTLS{}, config.BusSASL{Mechanism: config.SASLSCRAM512}, config.AgencyKafka{}
		}},
		{"s3 private ca", func(c *config.Config) { c.Blob.S3.CAFile = c.Bus.TLS.CAFile }},
		{"secured embedded broker", func(c *config.Config) {
			c.Bus.Embedded, c.Bus.Brokers = true, nil
			c.Bus.EmbeddedBroker = config.BusBroker{CertFile: c.Bus.TLS.CertFile, KeyFile: c.Bus.TLS.KeyFile, ACLs: true}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := securedConfig(t)
			tt.give(c)
			if err := c.Validate(); err != nil {
				t.Errorf("Validate() = %v, want nil", err)
			}
		})
	}
}

// --check-config sees a bad mechanism and a missing CA file.
func TestCheckKafka(t *testing.T) {
	dir := t.TempDir()
	cert, _ := certFiles(t, dir)
	good := fmt.Sprintf("bus:\n  embedded: false\n  brokers: [\"kafka-1:9094\"]\n  tls:\n    enabled: true\n    caFile: %s\n  sasl:\n    user: hub\n    password: hub-password-0123456\n", cert)
	if err := config.Check(writeFile(t, "good.yaml", good)); err != nil {
		t.Fatalf("Check(good) = %v", err)
	}
	tests := []struct {
		name string
		give string
		want error
	}{
		{"mechanism", strings.Replace(good, "user: hub", "mechanism: SCRAM-SHA-1\n    user: hub", 1), config.ErrUnknownValue},
		{"ca file", strings.Replace(good, cert, filepath.Join(dir, "nope.pem"), 1), fs.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := config.Check(writeFile(t, "c.yaml", tt.give)); !errors.Is(err, tt.want) {
				t.Errorf("Check() = %v, want %v", err, tt.want)
			}
		})
	}
}

// The passwords come from the environment or sealed in the file, and are
// redacted wherever the configuration is printed or logged.
func TestKafkaSecrets(t *testing.T) {
	t.Setenv(config.SecretsKeyEnv, strings.Repeat("ab", 32))
	sealed, err := config.Seal("agency-kafka-secret-0123")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("LIENTHONG_BUS_SASL_USER", "lienthong-hub")
	t.Setenv("LIENTHONG_BUS_SASL_PASSWORD", "hub-kafka-secret-0123")
	yaml := `bus:
  embeddedBroker:
    acls: true
agencies:
  - organId: "000.00.00.G22"
    name: VPCP
    kafka:
      user: agency-g22
      password: "` + sealed + `"
`
	c, err := config.Load(writeFile(t, "c.yaml", yaml), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Bus.SASL.Password.Reveal(); got != "hub-kafka-secret-0123" {
		t.Errorf("bus.sasl.password = %q, want it from the environment", got)
	}
	if got := c.Agencies[0].Kafka.Password.Reveal(); got != "agency-kafka-secret-0123" {
		t.Errorf("agencies[0].kafka.password = %q, want it unsealed", got)
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "bus", c.Bus, "agency", c.Agencies[0])
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c.Bus), logged.String(), string(js)} {
		for _, s := range []string{"hub-kafka-secret-0123", "agency-kafka-secret-0123"} {
			if strings.Contains(out, s) {
				t.Errorf("%q shows the secret %q", out, s)
			}
		}
	}

	t.Setenv(config.SecretsKeyEnv, strings.Repeat("cd", 32))
	if _, err := config.Load(writeFile(t, "c.yaml", yaml), nil); !errors.Is(err, config.ErrSealed) || !strings.Contains(err.Error(), "agencies[0].kafka.password") {
		t.Errorf("Load with another key = %v, want ErrSealed at agencies[0].kafka.password", err)
	}
}

func TestBusClientTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key := certFiles(t, dir)
	tc, err := config.BusTLS{Enabled: true, CAFile: cert, CertFile: cert, KeyFile: key, ServerName: "kafka.internal"}.ClientTLS()
	if err != nil {
		t.Fatal(err)
	}
	if tc.RootCAs == nil || len(tc.Certificates) != 1 || tc.ServerName != "kafka.internal" {
		t.Errorf("ClientTLS = %+v", tc)
	}
	if pool, err := (config.S3{CAFile: cert}).S3RootCAs(); pool == nil || err != nil {
		t.Errorf("S3RootCAs = %v, %v", pool, err)
	}
	if tc, err := (config.BusTLS{}).ClientTLS(); tc != nil || err != nil {
		t.Errorf("disabled: ClientTLS = %v, %v; want nil, nil", tc, err)
	}
	notPEM := filepath.Join(dir, "x.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := (config.BusTLS{Enabled: true, CAFile: notPEM}).ClientTLS(); err == nil {
		t.Error("ClientTLS with a CA file without certificates = nil error")
	}
}
