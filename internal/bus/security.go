package bus

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
)

// SASL mechanism names, as Kafka spells them.
const (
	MechanismPlain    = "PLAIN"
	MechanismSCRAM256 = "SCRAM-SHA-256"
	MechanismSCRAM512 = "SCRAM-SHA-512"
	DefaultMechanism  = MechanismSCRAM512
	// scramIterations is Kafka's default (kafka-configs.sh) and minimum;
	// kfake announces 4096 whatever a credential was salted with.
	scramIterations    = 4096
	redactedCredential = "[redacted]"
)

// Errors of SASL settings.
var (
	ErrBadMechanism = errors.New("bus: unknown SASL mechanism")
	ErrNoSASLUser   = errors.New("bus: SASL needs a user and a password")
)

// Mechanisms are the SASL mechanisms the bus speaks.
var Mechanisms = []string{MechanismSCRAM512, MechanismSCRAM256, MechanismPlain}

// SASL is a client's SASL identity. The zero value means no SASL.
type SASL struct {
	// Mechanism is SCRAM-SHA-512 (the default when User is set),
	// SCRAM-SHA-256 or PLAIN. PLAIN sends the password itself: use it
	// only over TLS.
	Mechanism string
	User      string
	Password  string
}

// Enabled reports whether s asks for SASL.
func (s SASL) Enabled() bool { return s.User != "" || s.Password != "" || s.Mechanism != "" }

// String names the user and mechanism, never the password, so a Config
// can be logged.
func (s SASL) String() string {
	if !s.Enabled() {
		return "none"
	}
	return fmt.Sprintf("%s user %s password %s", s.mechanism(), s.User, redactedCredential)
}

// GoString is String, for %#v.
func (s SASL) GoString() string { return "bus.SASL{" + s.String() + "}" }

// Format is String for every verb, and GoString for %#v: without it, a
// verb a Stringer does not serve, such as %d, prints the fields.
func (s SASL) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = io.WriteString(f, s.GoString())
		return
	}
	_, _ = io.WriteString(f, s.String())
}

// LogValue keeps the password out of slog.
func (s SASL) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON keeps the password out of JSON dumps of a Config.
func (s SASL) MarshalJSON() ([]byte, error) {
	pw := ""
	if s.Password != "" {
		pw = redactedCredential
	}
	return json.Marshal(struct {
		Mechanism string `json:"mechanism,omitempty"`
		User      string `json:"user,omitempty"`
		Password  string `json:"password,omitempty"`
	}{s.Mechanism, s.User, pw})
}

func (s SASL) mechanism() string {
	if s.Mechanism == "" {
		return DefaultMechanism
	}
	return s.Mechanism
}

// Validate reports a mechanism the bus does not speak or a missing user
// or password. It never echoes the password.
func (s SASL) Validate() error {
	if !s.Enabled() {
		return nil
	}
	if _, err := scramAlgorithm(s.mechanism()); err != nil && s.mechanism() != MechanismPlain {
		return err
	}
	if s.User == "" || s.Password == "" {
		return ErrNoSASLUser
	}
	return nil
}

func (s SASL) kafka() (sasl.Mechanism, error) {
	if !s.Enabled() {
		return nil, nil
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if s.mechanism() == MechanismPlain {
		return plain.Mechanism{Username: s.User, Password: s.Password}, nil
	}
	alg, _ := scramAlgorithm(s.mechanism())
	m, err := scram.Mechanism(alg, s.User, s.Password)
	if err != nil {
		return nil, fmt.Errorf("bus: SASL %s: %w", s.mechanism(), err)
	}
	return m, nil
}

func scramAlgorithm(name string) (scram.Algorithm, error) {
	switch name {
	case MechanismSCRAM512:
		return scram.SHA512, nil
	case MechanismSCRAM256:
		return scram.SHA256, nil
	}
	return nil, fmt.Errorf("%w %q (want one of %v)", ErrBadMechanism, name, Mechanisms)
}

// dialer is the kafka-go Dialer of Readers, with the same TLS and SASL as
// transport.
func (c Config) dialer() *kafka.Dialer {
	mech, _ := c.SASL.kafka() // Validate ran in the constructor
	return &kafka.Dialer{ClientID: c.ClientID, Timeout: c.DialTimeout, TLS: c.TLS, SASLMechanism: mech}
}

// transport returns a kafka-go transport owned by one client, so that Close
// releases its connections and the client id reaches the broker. Every
// client of the package goes through it or dialer, so TLS and SASL are set
// in one place.
func (c Config) transport() *kafka.Transport {
	mech, _ := c.SASL.kafka() // Validate ran in the constructor
	return &kafka.Transport{
		Dial:        (&net.Dialer{Timeout: c.DialTimeout}).DialContext,
		DialTimeout: c.DialTimeout,
		ClientID:    c.ClientID,
		TLS:         c.TLS,
		SASL:        mech,
	}
}
