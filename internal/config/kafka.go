package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"slices"
	"strings"
)

// SASL mechanisms of bus.sasl.mechanism, as Kafka names them.
const (
	SASLSCRAM512 = "SCRAM-SHA-512"
	SASLSCRAM256 = "SCRAM-SHA-256"
	SASLPlain    = "PLAIN"
)

// BusTLS is the hub's TLS to the Kafka brokers (a SASL_SSL or SSL
// listener). It protects the packets' metadata, the credentials topic and,
// with PLAIN, the password on the wire.
type BusTLS struct {
	Enabled bool `mapstructure:"enabled" json:"enabled"`
	// CAFile is a PEM bundle of the CAs that issue the brokers'
	// certificates; empty trusts the system's roots.
	CAFile string `mapstructure:"caFile" json:"caFile,omitempty"`
	// CertFile and KeyFile are a client certificate, for brokers that ask
	// for one (ssl.client.auth=required).
	CertFile string `mapstructure:"certFile" json:"certFile,omitempty"`
	KeyFile  string `mapstructure:"keyFile" json:"keyFile,omitempty"`
	// ServerName is the name the brokers' certificates must carry; empty
	// takes each broker's host.
	ServerName string `mapstructure:"serverName" json:"serverName,omitempty"`
}

// BusSASL is the hub's SASL identity at the brokers. As a superuser the hub
// needs no ACLs; otherwise it needs those of docs/bus.md.
type BusSASL struct {
	// Mechanism is SCRAM-SHA-512 (default), SCRAM-SHA-256 or PLAIN (only
	// with bus.tls.enabled: PLAIN sends the password itself).
	Mechanism string `mapstructure:"mechanism" json:"mechanism"`
	User      string `mapstructure:"user" json:"user,omitempty"`
	Password  Secret `mapstructure:"password" json:"password,omitempty"`
}

// Enabled reports whether the hub authenticates with SASL.
func (s BusSASL) Enabled() bool { return s.User != "" }

// BusBroker secures the embedded broker (bus.embedded). Its SASL superuser
// is bus.sasl's user, so the hub connects as that user.
type BusBroker struct {
	// CertFile and KeyFile make the broker speak TLS only; the hub then
	// needs bus.tls with a CA that issued CertFile.
	CertFile string `mapstructure:"certFile" json:"certFile,omitempty"`
	KeyFile  string `mapstructure:"keyFile" json:"keyFile,omitempty"`
	// ACLs turns ACL checks on: principals other than the superuser get
	// only what ACLs grant, such as the agency principals the hub makes.
	ACLs bool `mapstructure:"acls" json:"acls"`
}

// AgencyKafka is an agency's own Kafka principal, for agencies that read
// their inbox topic directly. The hub creates its SCRAM credentials and
// ACLs (read and describe on <prefix>inbox.<OrganId> and on groups
// <prefix>agency.<OrganId>-*) at start, and removes them once the agency
// or this setting is gone.
type AgencyKafka struct {
	User     string `mapstructure:"user" json:"user,omitempty"`
	Password Secret `mapstructure:"password" json:"password,omitempty"`
}

// ClientTLS is the crypto/tls configuration t describes, nil when TLS is
// off. It reads CAFile, CertFile and KeyFile.
func (t BusTLS) ClientTLS() (*tls.Config, error) {
	if !t.Enabled {
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
	if t.CAFile != "" {
		pool, err := loadCAs(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("bus.tls.caFile: %w", err)
		}
		c.RootCAs = pool
	}
	if t.CertFile != "" || t.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("bus.tls.certFile: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// ServerTLS is the embedded broker's TLS, nil without CertFile.
func (b BusBroker) ServerTLS() (*tls.Config, error) {
	if b.CertFile == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(b.CertFile, b.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("bus.embeddedBroker.certFile: %w", err)
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}, nil
}

// loadCAs reads a PEM bundle of CA certificates.
func loadCAs(name string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", name)
	}
	return pool, nil
}

// kafkaUserRune is what a Kafka user name made here may hold: SCRAM
// escapes "," and "=", and ACL principals are "User:<name>".
func kafkaUserRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'
}

func checkKafkaUser(s string) error {
	if s == "" || len(s) > 128 || strings.ContainsFunc(s, func(r rune) bool { return !kafkaUserRune(r) }) {
		return fmt.Errorf("%w %q: want at most 128 of [A-Za-z0-9._-]", ErrBadName, s)
	}
	return nil
}

// validateKafka checks the bus's TLS, SASL and embedded-broker settings
// and the agencies' Kafka principals.
func (c *Config) validateKafka(p *problems, checkFiles bool) {
	b := c.Bus
	t := b.TLS
	if !t.Enabled {
		for _, f := range []struct{ key, value string }{{"caFile", t.CAFile}, {"certFile", t.CertFile}, {"keyFile", t.KeyFile}, {"serverName", t.ServerName}} {
			if f.value != "" {
				// Ignoring it would let an operator believe the bus is
				// encrypted.
				p.addf("bus.tls."+f.key, "%w: set while bus.tls.enabled is false", ErrConflict)
			}
		}
	}
	switch {
	case t.CertFile != "" && t.KeyFile == "":
		p.addf("bus.tls.keyFile", "%w when bus.tls.certFile is set", ErrRequired)
	case t.CertFile == "" && t.KeyFile != "":
		p.addf("bus.tls.certFile", "%w when bus.tls.keyFile is set", ErrRequired)
	}
	p.file("bus.tls.caFile", t.CAFile, checkFiles)
	p.file("bus.tls.certFile", t.CertFile, checkFiles)
	p.file("bus.tls.keyFile", t.KeyFile, checkFiles)

	s := b.SASL
	p.oneOf("bus.sasl.mechanism", s.Mechanism, SASLSCRAM512, SASLSCRAM256, SASLPlain)
	switch {
	case s.User != "" && s.Password == "":
		p.addf("bus.sasl.password", "%w when bus.sasl.user is set", ErrRequired)
	case s.User == "" && s.Password != "":
		p.addf("bus.sasl.user", "%w when bus.sasl.password is set", ErrRequired)
	case s.User != "":
		p.wrap("bus.sasl.user", checkKafkaUser(s.User))
	}
	if s.User != "" && s.Mechanism == SASLPlain && !t.Enabled {
		p.addf("bus.sasl.mechanism", "%w: PLAIN sends the password in the clear without bus.tls.enabled", ErrConflict)
	}

	br := b.EmbeddedBroker
	if !b.Embedded && (br.CertFile != "" || br.KeyFile != "" || br.ACLs) {
		p.addf("bus.embeddedBroker", "%w: set while bus.embedded is false", ErrConflict)
	}
	switch {
	case br.CertFile != "" && br.KeyFile == "":
		p.addf("bus.embeddedBroker.keyFile", "%w when bus.embeddedBroker.certFile is set", ErrRequired)
	case br.CertFile == "" && br.KeyFile != "":
		p.addf("bus.embeddedBroker.certFile", "%w when bus.embeddedBroker.keyFile is set", ErrRequired)
	}
	if b.Embedded && br.CertFile != "" && !t.Enabled {
		p.addf("bus.tls.enabled", "%w when bus.embeddedBroker.certFile is set: the hub connects to its broker over TLS", ErrRequired)
	}
	if b.Embedded && t.Enabled && br.CertFile == "" && br.KeyFile == "" {
		// The hub would dial TLS to a plaintext broker and never start.
		p.addf("bus.embeddedBroker.certFile", "%w when bus.tls.enabled is set with bus.embedded: without it the embedded broker speaks plaintext", ErrRequired)
	}
	if br.ACLs && !s.Enabled() {
		p.addf("bus.sasl.user", "%w when bus.embeddedBroker.acls is true: it is the broker's superuser", ErrRequired)
	}
	p.file("bus.embeddedBroker.certFile", br.CertFile, checkFiles)
	p.file("bus.embeddedBroker.keyFile", br.KeyFile, checkFiles)

	if b.Embedded && !br.ACLs && slices.ContainsFunc(c.Agencies, func(a Agency) bool { return a.Kafka.User != "" }) {
		// Without ACL checks the embedded broker lets every user it
		// authenticates do everything: an agency would read every inbox.
		p.addf("bus.embeddedBroker.acls", "%w when agencies have Kafka users on the embedded broker: without it they may read and write every topic", ErrRequired)
	}

	c.validateAgencyKafka(p)
}

// validateAgencyKafka checks the agencies' Kafka principals.
func (c *Config) validateAgencyKafka(p *problems) {
	s := c.Bus.SASL
	users := map[string]string{}
	for i, a := range c.Agencies {
		at := fmt.Sprintf("agencies[%d].kafka", i)
		k := a.Kafka
		switch {
		case k.User == "" && k.Password == "":
			continue
		case k.User == "":
			p.addf(at+".user", "%w when kafka.password is set", ErrRequired)
			continue
		case len(k.Password.Reveal()) < MinSecretLen:
			p.addf(at+".password", "%w: want at least %d characters", ErrWeakSecret, MinSecretLen)
		}
		if err := checkKafkaUser(k.User); err != nil {
			p.wrap(at+".user", err)
			continue
		}
		if !s.Enabled() {
			p.addf("bus.sasl.user", "%w when agencies have Kafka users: the hub provisions them as it", ErrRequired)
		}
		if k.User == s.User {
			p.addf(at+".user", "%w: %q is the hub's own bus.sasl.user", ErrConflict, k.User)
		}
		if prev, ok := users[k.User]; ok {
			p.addf(at+".user", "%w: %q is also %s", ErrDuplicate, k.User, prev)
		} else {
			users[k.User] = at + ".user"
		}
	}
}

// S3RootCAs is the pool of blob.s3.caFile, nil without it.
func (s S3) S3RootCAs() (*x509.CertPool, error) {
	if s.CAFile == "" {
		return nil, nil
	}
	pool, err := loadCAs(s.CAFile)
	if err != nil {
		return nil, fmt.Errorf("blob.s3.caFile: %w", err)
	}
	return pool, nil
}

func (c *Config) validateS3CA(p *problems, checkFiles bool) {
	s := c.Blob.S3
	if s.CAFile == "" {
		return
	}
	if !s.UseTLS {
		p.addf("blob.s3.caFile", "%w: set while blob.s3.useTls is false", ErrConflict)
	}
	p.file("blob.s3.caFile", s.CAFile, checkFiles)
}
