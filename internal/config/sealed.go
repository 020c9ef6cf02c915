package config

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Secrets that must be kept in the clear to be used (the national axis's
// HMAC secrets, webhook secrets, tokens at peer hubs, the S3 key) may be
// written in a configuration sealed: "sealed:" and base64 of an
// AES-256-GCM nonce and ciphertext, under the key in LIENTHONG_SECRETS_KEY
// (64 hex digits). Load opens them; the clear values live only in memory.
const (
	SealedPrefix  = "sealed:"
	SecretsKeyEnv = "LIENTHONG_SECRETS_KEY"
)

// ErrSealed reports a sealed secret that cannot be opened.
var ErrSealed = errors.New("sealed secret")

func secretsKey() ([]byte, error) {
	raw := strings.TrimSpace(os.Getenv(SecretsKeyEnv))
	if raw == "" {
		return nil, fmt.Errorf("%w: %s is not set", ErrSealed, SecretsKeyEnv)
	}
	key, err := hex.DecodeString(raw)
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("%w: %s must be 64 hex digits", ErrSealed, SecretsKeyEnv)
	}
	return key, nil
}

// Seal encrypts a secret for a configuration file under the key in
// LIENTHONG_SECRETS_KEY.
func Seal(plain string) (string, error) {
	key, err := secretsKey()
	if err != nil {
		return "", err
	}
	gcm, err := newGCM(key)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return SealedPrefix + base64.StdEncoding.EncodeToString(gcm.Seal(nonce, nonce, []byte(plain), nil)), nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Unseal returns s in the clear: s itself when it is not sealed, or its
// sealed value opened under LIENTHONG_SECRETS_KEY (for sealed files, such
// as hosted signing keys).
func Unseal(s string) (string, error) {
	v, err := Secret(s).open()
	return string(v), err
}

// open returns s in the clear: s itself, or its sealed value opened.
func (s Secret) open() (Secret, error) {
	v := string(s)
	if !strings.HasPrefix(v, SealedPrefix) {
		return s, nil
	}
	key, err := secretsKey()
	if err != nil {
		return "", err
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(v, SealedPrefix))
	if err != nil {
		return "", fmt.Errorf("%w: not base64", ErrSealed)
	}
	gcm, err := newGCM(key)
	if err != nil {
		return "", err
	}
	if len(raw) < gcm.NonceSize() {
		return "", fmt.Errorf("%w: too short", ErrSealed)
	}
	plain, err := gcm.Open(nil, raw[:gcm.NonceSize()], raw[gcm.NonceSize():], nil)
	if err != nil {
		return "", fmt.Errorf("%w: does not open under %s (another key, or altered)", ErrSealed, SecretsKeyEnv)
	}
	return Secret(plain), nil
}

// unseal opens every sealed secret of c in place.
func (c *Config) unseal() error {
	var errs []error
	open := func(path string, s *Secret) {
		v, err := s.open()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", path, err))
			return
		}
		*s = v
	}
	open("blob.s3.secretKey", &c.Blob.S3.SecretKey)
	open("bus.sasl.password", &c.Bus.SASL.Password)
	for i := range c.Agencies {
		a := &c.Agencies[i]
		open(fmt.Sprintf("agencies[%d].vdxpSecret", i), &a.VDXPSecret)
		open(fmt.Sprintf("agencies[%d].webhookSecret", i), &a.WebhookSecret)
		open(fmt.Sprintf("agencies[%d].kafka.password", i), &a.Kafka.Password)
		for j := range a.Tokens {
			open(fmt.Sprintf("agencies[%d].tokens[%d]", i, j), &a.Tokens[j])
		}
	}
	for i := range c.Peers {
		open(fmt.Sprintf("peers[%d].token", i), &c.Peers[i].Token)
	}
	open("console.sessionKey", &c.Console.SessionKey)
	return errors.Join(errs...)
}
