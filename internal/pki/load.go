package pki

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
)

// ErrNoCertificate reports a file or buffer without any certificate.
var ErrNoCertificate = errors.New("no certificate found")

// ErrNoKey reports a file without a usable private key.
var ErrNoKey = errors.New("no private key found")

// LoadCertificates reads the certificates in a PEM bundle or a DER file, in
// file order.
func LoadCertificates(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	certs, err := ParseCertificates(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return certs, nil
}

// ParseCertificates parses PEM CERTIFICATE blocks (other blocks are skipped)
// or, when data holds no PEM, DER certificates.
func ParseCertificates(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	if !bytes.Contains(data, []byte("-----BEGIN")) {
		certs, err := x509.ParseCertificates(data)
		if err != nil {
			return nil, err
		}
		if len(certs) == 0 {
			return nil, ErrNoCertificate
		}
		return certs, nil
	}
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, ErrNoCertificate
	}
	return certs, nil
}

// LoadSigner reads a signer: the certificate at certPath (certificates
// after the first in that file start its chain), the intermediates at
// chainPath when given, and the key at keyPath when given (nil otherwise).
// The hub's receipt key, its hosted keys and bench's agencies load so.
func LoadSigner(certPath, chainPath, keyPath string) (*x509.Certificate, []*x509.Certificate, crypto.Signer, error) {
	certs, err := LoadCertificates(certPath)
	if err != nil {
		return nil, nil, nil, err
	}
	chain := certs[1:]
	if chainPath != "" {
		more, err := LoadCertificates(chainPath)
		if err != nil {
			return nil, nil, nil, err
		}
		chain = append(chain, more...)
	}
	if keyPath == "" {
		return certs[0], chain, nil, nil
	}
	key, err := LoadPrivateKey(keyPath)
	return certs[0], chain, key, err
}

// LoadPrivateKey reads an unencrypted RSA or ECDSA private key from a PEM
// file: PKCS#8 ("PRIVATE KEY"), PKCS#1 ("RSA PRIVATE KEY") or SEC 1
// ("EC PRIVATE KEY"), the forms openssl writes.
func LoadPrivateKey(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// ParsePrivateKey is LoadPrivateKey on a buffer.
func ParsePrivateKey(data []byte) (crypto.Signer, error) {
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, ErrNoKey
		}
		var (
			k   any
			err error
		)
		switch b.Type {
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(b.Bytes)
		case "ENCRYPTED PRIVATE KEY":
			return nil, fmt.Errorf("%w: the key is encrypted", ErrNoKey)
		default:
			continue // EC PARAMETERS, certificates, ...
		}
		if err != nil {
			return nil, err
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("%w %T", ErrUnsupportedKey, k)
		}
		if _, err := signatureAlgorithm(s.Public(), crypto.SHA256); err != nil {
			return nil, err
		}
		return s, nil
	}
}
