package agencies

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"

	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/internal/organ"
)

// Secrets are an agency's credentials set at run time: what the
// configuration's agencies hold in webhookSecret, vdxpSystemId, vdxpSecret,
// vdxpCertSha256 and kafka. Bearer tokens are not here: they have their
// own topic (internal/creds).
//
// On the topics they travel sealed, AES-256-GCM under a key derived from
// the records' key and bound to the agency: whoever reads the topic or its
// audit trail learns that they changed, not what they are.
type Secrets struct {
	WebhookSecret  config.Secret
	VDXPSystemID   string
	VDXPSecret     config.Secret
	VDXPCertSHA256 []string
	KafkaUser      string
	KafkaPassword  config.Secret
}

// SecretsOf are the credentials of a, as Set takes them.
func SecretsOf(a config.Agency) *Secrets {
	return &Secrets{WebhookSecret: a.WebhookSecret, VDXPSystemID: a.VDXPSystemID, VDXPSecret: a.VDXPSecret,
		VDXPCertSHA256: slices.Clone(a.VDXPCertSHA256), KafkaUser: a.Kafka.User, KafkaPassword: a.Kafka.Password}
}

// plainSecrets is Secrets as sealed: config.Secret marshals as
// "[redacted]".
type plainSecrets struct {
	WebhookSecret  string   `json:"webhookSecret,omitempty"`
	VDXPSystemID   string   `json:"vdxpSystemId,omitempty"`
	VDXPSecret     string   `json:"vdxpSecret,omitempty"`
	VDXPCertSHA256 []string `json:"vdxpCertSha256,omitempty"`
	KafkaUser      string   `json:"kafkaUser,omitempty"`
	KafkaPassword  string   `json:"kafkaPassword,omitempty"`
}

var errSealed = errors.New("agencies: sealed secrets do not open")

func sealKey(key []byte) cipher.AEAD {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("lienthong agencies secrets v1"))
	block, err := aes.NewCipher(m.Sum(nil))
	if err != nil {
		panic(err) // a 32-byte key always makes a cipher
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return gcm
}

// seal encrypts s for the record of organID: the OrganId is the
// additional data, so sealed secrets copied into another agency's record
// do not open.
func seal(key []byte, organID string, s Secrets) (string, error) {
	raw, err := json.Marshal(plainSecrets{WebhookSecret: s.WebhookSecret.Reveal(), VDXPSystemID: s.VDXPSystemID, VDXPSecret: s.VDXPSecret.Reveal(),
		VDXPCertSHA256: s.VDXPCertSHA256, KafkaUser: s.KafkaUser, KafkaPassword: s.KafkaPassword.Reveal()})
	if err != nil {
		return "", err
	}
	gcm := sealKey(key)
	nonce := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(gcm.Seal(nonce, nonce, raw, []byte(organID))), nil
}

func open(key []byte, organID, sealed string) (*Secrets, error) {
	raw, err := base64.StdEncoding.DecodeString(sealed)
	gcm := sealKey(key)
	if err != nil || len(raw) < gcm.NonceSize() {
		return nil, errSealed
	}
	plain, err := gcm.Open(nil, raw[:gcm.NonceSize()], raw[gcm.NonceSize():], []byte(organID))
	if err != nil {
		return nil, errSealed
	}
	var p plainSecrets
	if err := json.Unmarshal(plain, &p); err != nil {
		return nil, errSealed
	}
	return &Secrets{WebhookSecret: config.Secret(p.WebhookSecret), VDXPSystemID: p.VDXPSystemID, VDXPSecret: config.Secret(p.VDXPSecret),
		VDXPCertSHA256: p.VDXPCertSHA256, KafkaUser: p.KafkaUser, KafkaPassword: config.Secret(p.KafkaPassword)}, nil
}

// overlay is base (the configuration's entry, or a bare one) with the
// directory entry o and, when set, the run-time secrets s in place of the
// configuration's.
func overlay(base config.Agency, o organ.Agency, s *Secrets) config.Agency {
	base.OrganID = string(o.ID)
	base.Name = o.Name
	base.Parent = string(o.Parent)
	base.Aliases = nil
	for _, a := range o.Aliases {
		base.Aliases = append(base.Aliases, string(a))
	}
	base.Endpoint = o.Endpoint
	base.CertSHA256 = slices.Clone(o.CertSHA256)
	if s != nil {
		base.WebhookSecret = s.WebhookSecret
		base.VDXPSystemID = s.VDXPSystemID
		base.VDXPSecret = s.VDXPSecret
		base.VDXPCertSHA256 = slices.Clone(s.VDXPCertSHA256)
		base.Kafka = config.AgencyKafka{User: s.KafkaUser, Password: s.KafkaPassword}
	}
	return base
}
