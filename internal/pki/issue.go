package pki

import (
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/lienthong/lienthong/internal/atomicfile"
	"github.com/lienthong/lienthong/internal/organ"
	"github.com/lienthong/lienthong/internal/trust"
)

// Names of the files Issue writes under agencies/<organId>/.
const (
	AgencyCertFile  = "cert.pem"  // the agency certificate, PEM
	AgencyKeyFile   = "key.pem"   // its key, PKCS#8 PEM, 0600
	AgencyChainFile = "chain.pem" // the intermediate, PEM
)

// TSADir is where IssueTSA writes the same three files, under the CA
// directory.
const TSADir = "tsa"

// AgencyValidity is the default lifetime of an agency certificate.
const AgencyValidity = 2 * 365 * 24 * time.Hour

// DefaultKeyUsage is the key usage of agency signing certificates.
const DefaultKeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment

// IssueOptions configures Issue. The zero value issues an ECDSA certificate
// valid from an hour ago for AgencyValidity.
type IssueOptions struct {
	// Algorithm of the agency key; empty means ECDSA.
	Algorithm Algorithm
	// NotBefore and NotAfter override the validity, for expired and
	// not-yet-valid test certificates. A zero NotAfter is NotBefore plus
	// AgencyValidity, capped at the intermediate's expiry.
	NotBefore, NotAfter time.Time
	// NoUID leaves the UID attribute out of the subject.
	NoUID bool
	// KeyUsage replaces DefaultKeyUsage when non-zero.
	KeyUsage x509.KeyUsage
	// ExtKeyUsage replaces emailProtection when non-nil.
	ExtKeyUsage []x509.ExtKeyUsage
}

// Issued is an agency (or TSA) certificate with its key and where they
// were written.
type Issued struct {
	OrganID   string // empty for IssueTSA
	CertPath  string // agencies/<organId>/cert.pem (tsa/cert.pem) under the CA directory
	KeyPath   string // agencies/<organId>/key.pem
	ChainPath string // agencies/<organId>/chain.pem
	Cert      *x509.Certificate
	Key       crypto.Signer
	Chain     []*x509.Certificate // the intermediates up to, not including, the root
}

// Issue makes an agency signing certificate for organID, signed by the
// intermediate: subject CN=name, O=name, C=VN, UID=organID. It replaces any
// files an earlier Issue wrote for the same organ; the earlier certificate
// stays valid until revoked. An invalid organID is an error wrapping
// organ.ErrInvalid or organ.ErrEmpty.
func (ca *CA) Issue(organID, name string, opts IssueOptions) (*Issued, error) {
	id, err := organ.Parse(organID)
	if err != nil {
		return nil, fmt.Errorf("issue: %w", err)
	}
	if name == "" {
		return nil, errors.New("issue: empty agency name")
	}
	subject := pkix.Name{CommonName: name, Organization: []string{name}, Country: []string{"VN"}}
	if !opts.NoUID {
		subject.ExtraNames = []pkix.AttributeTypeAndValue{{Type: trust.OIDUID, Value: string(id)}}
	}
	iss, err := ca.issue(filepath.Join(ca.dir, AgenciesDir, string(id)), subject, opts, nil)
	if err != nil {
		return nil, fmt.Errorf("issue %s: %w", id, err)
	}
	iss.OrganID = string(id)
	return iss, nil
}

// IssueTSA makes a time-stamping certificate for a development RFC 3161
// time-stamping authority (internal/tsa), signed by the intermediate and
// written under tsa/: subject CN=name, O=name, C=VN, key usage
// digitalSignature and contentCommitment, and id-kp-timeStamping as its only
// extended key usage, marked critical as RFC 3161 §2.3 requires (Go leaves
// it non-critical, and openssl ts -verify refuses that). opts.ExtKeyUsage,
// KeyUsage and NoUID are ignored.
func (ca *CA) IssueTSA(name string, opts IssueOptions) (*Issued, error) {
	if name == "" {
		return nil, errors.New("issue TSA: empty name")
	}
	eku, err := asn1.Marshal([]asn1.ObjectIdentifier{oidTimeStamping})
	if err != nil {
		return nil, fmt.Errorf("issue TSA: %w", err)
	}
	opts.KeyUsage = DefaultKeyUsage
	opts.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}
	subject := pkix.Name{CommonName: name, Organization: []string{name}, Country: []string{"VN"}}
	critical := []pkix.Extension{{Id: oidExtKeyUsage, Critical: true, Value: eku}}
	iss, err := ca.issue(filepath.Join(ca.dir, TSADir), subject, opts, critical)
	if err != nil {
		return nil, fmt.Errorf("issue TSA: %w", err)
	}
	return iss, nil
}

var (
	oidExtKeyUsage  = asn1.ObjectIdentifier{2, 5, 29, 37}
	oidTimeStamping = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 8}
)

// issue makes a leaf certificate and writes it, its key and the
// intermediate into dir. extra replaces extensions the template would make.
func (ca *CA) issue(dir string, subject pkix.Name, opts IssueOptions, extra []pkix.Extension) (*Issued, error) {
	alg, err := opts.Algorithm.normalize()
	if err != nil {
		return nil, err
	}
	notBefore := opts.NotBefore
	if notBefore.IsZero() {
		notBefore = time.Now().Add(-time.Hour)
	}
	notBefore = notBefore.UTC().Truncate(time.Second)
	notAfter := opts.NotAfter
	if notAfter.IsZero() {
		notAfter = notBefore.Add(AgencyValidity)
		if notAfter.After(ca.inter.NotAfter) {
			notAfter = ca.inter.NotAfter
		}
	}
	notAfter = notAfter.UTC().Truncate(time.Second)
	if !notAfter.After(notBefore) {
		return nil, fmt.Errorf("not after (%s) is not later than not before (%s)",
			notAfter.Format(time.RFC3339), notBefore.Format(time.RFC3339))
	}

	key, err := generateKey(alg)
	if err != nil {
		return nil, err
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	usage := opts.KeyUsage
	if usage == 0 {
		usage = DefaultKeyUsage
	}
	ext := opts.ExtKeyUsage
	if ext == nil {
		ext = []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               subject,
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              usage,
		ExtKeyUsage:           ext,
		BasicConstraintsValid: true,
		ExtraExtensions:       extra,
	}
	if base := ca.CRLBaseURL(); base != "" {
		tmpl.CRLDistributionPoints = []string{base + "/" + IntermediateCRLFile}
	}
	if tmpl.SubjectKeyId, err = subjectKeyID(key.Public()); err != nil {
		return nil, err
	}
	cert, err := createCertificate(tmpl, ca.inter, key.Public(), ca.interKey)
	if err != nil {
		return nil, err
	}

	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	kp, err := keyPEM(key)
	if err != nil {
		return nil, err
	}
	iss := &Issued{
		CertPath:  filepath.Join(dir, AgencyCertFile),
		KeyPath:   filepath.Join(dir, AgencyKeyFile),
		ChainPath: filepath.Join(dir, AgencyChainFile),
		Cert:      cert,
		Key:       key,
		Chain:     []*x509.Certificate{ca.inter},
	}
	// Each file is replaced atomically; a reader racing a re-issue may pair
	// the new key with the old certificate for a moment.
	for _, f := range []struct {
		path string
		data []byte
		perm os.FileMode
	}{
		{iss.KeyPath, kp, 0o600},
		{iss.CertPath, certPEM(cert), 0o644},
		{iss.ChainPath, certPEM(ca.inter), 0o644},
	} {
		if err := atomicfile.WriteBytes(f.path, f.data, f.perm); err != nil {
			return nil, err
		}
	}
	return iss, nil
}
