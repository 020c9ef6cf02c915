package cli

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lienthong/lienthong/internal/atomicfile"
	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/internal/devsite"
)

// devKafka is DIR/dev/kafka.json, written by `lienthong dev --secure-bus`:
// how to reach the embedded broker as the hub or as an agency.
type devKafka struct {
	// CA is the broker's self-signed certificate, to trust.
	CA string `json:"ca"`
	// Brokers is where the broker listens this run (it may change at each
	// start with --kafka-addr port 0).
	Brokers   []string         `json:"brokers,omitempty"`
	Mechanism string           `json:"mechanism"`
	User      string           `json:"user"`
	Password  string           `json:"password"`
	Agencies  []devKafkaAgency `json:"agencies"`
}

type devKafkaAgency struct {
	OrganID     string `json:"organId"`
	User        string `json:"user"`
	Password    string `json:"password"`
	Topic       string `json:"topic"`
	GroupPrefix string `json:"groupPrefix"`
}

// devSecureBus makes, on the first run, a TLS certificate for the embedded
// broker, the hub's superuser and a Kafka principal per dev agency, and
// sets cfg to use them: TLS, SASL and ACLs on loopback.
func devSecureBus(cfg *config.Config, devDir string) error {
	dir := filepath.Join(devDir, "kafka")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	path := filepath.Join(dir, "kafka.json")
	cert, key := filepath.Join(dir, "broker.crt"), filepath.Join(dir, "broker.key")
	var k devKafka
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &k); err != nil {
			return err
		}
	} else {
		if err := devBrokerCert(cert, key); err != nil {
			return err
		}
		k = devKafka{CA: cert, Mechanism: bus.MechanismSCRAM512, User: "lienthong-dev", Password: devsite.Secret()}
		for _, a := range cfg.Agencies {
			id := strings.ToLower(a.OrganID[strings.LastIndexByte(a.OrganID, '.')+1:])
			k.Agencies = append(k.Agencies, devKafkaAgency{OrganID: a.OrganID, User: "agency-" + id, Password: devsite.Secret(),
				Topic: bus.AgencyInbox(cfg.Bus.TopicPrefix, a.OrganID)})
		}
	}
	// Names are computed at every start: a file of an older version may
	// hold a group prefix the broker no longer grants.
	for i, a := range k.Agencies {
		k.Agencies[i].Topic = bus.AgencyInbox(cfg.Bus.TopicPrefix, a.OrganID)
		k.Agencies[i].GroupPrefix = bus.AgencyGroupPrefix(cfg.Bus.TopicPrefix, a.OrganID)
	}
	out, err := json.MarshalIndent(k, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(path, out, 0o600); err != nil {
		return err
	}
	cfg.Bus.TLS = config.BusTLS{Enabled: true, CAFile: cert}
	cfg.Bus.SASL = config.BusSASL{Mechanism: k.Mechanism, User: k.User, Password: config.Secret(k.Password)}
	cfg.Bus.EmbeddedBroker = config.BusBroker{CertFile: cert, KeyFile: key, ACLs: true}
	for i := range cfg.Agencies {
		for _, a := range k.Agencies {
			if a.OrganID == cfg.Agencies[i].OrganID {
				cfg.Agencies[i].Kafka = config.AgencyKafka{User: a.User, Password: config.Secret(a.Password)}
			}
		}
	}
	return nil
}

// devKafkaBrokers records the broker's address of this run in kafka.json.
func devKafkaBrokers(path string, brokers []string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var k devKafka
	if err := json.Unmarshal(b, &k); err != nil {
		return err
	}
	k.Brokers = brokers
	out, err := json.MarshalIndent(k, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(path, out, 0o600)
}

// devBrokerCert writes a self-signed certificate for the loopback
// addresses, valid ten years: dev's broker is reached on loopback only.
func devBrokerCert(certPath, keyPath string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: "lienthong dev kafka"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(10, 0, 0),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}, DNSNames: []string{"localhost"},
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return err
	}
	return atomicfile.WriteBytes(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
}
