package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/lienthong/lienthong/internal/atomicfile"
)

// Names of the files a CA keeps in its directory.
const (
	RootCertFile         = "root.pem"         // the root certificate, PEM
	RootKeyFile          = "root.key"         // the root key, PKCS#8 PEM, 0600
	IntermediateCertFile = "intermediate.pem" // the issuing CA certificate, PEM
	IntermediateKeyFile  = "intermediate.key" // the issuing CA key, PKCS#8 PEM, 0600
	IntermediateCRLFile  = "intermediate.crl" // CRL signed by the intermediate, DER (and .pem)
	RootCRLFile          = "root.crl"         // CRL signed by the root, DER (and .pem)
	StateFile            = "ca.json"          // CRL numbers and revoked serials
	AgenciesDir          = "agencies"         // agencies/<organId>/{cert,key,chain}.pem
)

// Common names of the two CA certificates.
const (
	RootName         = "lienthong dev root"
	IntermediateName = "lienthong dev issuing CA"
)

// Validity of the CA certificates.
const (
	RootValidity         = 10 * 365 * 24 * time.Hour
	IntermediateValidity = 5 * 365 * 24 * time.Hour
)

// ErrExists reports that Init found a CA already in the directory.
var ErrExists = errors.New("a CA already exists in this directory")

// ErrUnsupportedAlgorithm reports an Algorithm other than ECDSA or RSA.
var ErrUnsupportedAlgorithm = errors.New("unsupported key algorithm")

// Algorithm is the key type of a new key pair.
type Algorithm string

// The key algorithms Init and Issue generate; the zero value means ECDSA.
const (
	ECDSA Algorithm = "ecdsa" // ECDSA on P-256
	RSA   Algorithm = "rsa"   // RSA-2048, as government certificates use
)

// InitOptions configures Init.
type InitOptions struct {
	// Algorithm of both CA keys; empty means ECDSA.
	Algorithm Algorithm
	// CRLBaseURL, when set, makes issued certificates carry the CRL
	// distribution point <base>/intermediate.crl and the intermediate
	// <base>/root.crl. It is kept for later Issue calls.
	CRLBaseURL string
	// NotBefore of both CA certificates; zero means an hour ago, which
	// tolerates clock skew between signer and verifier.
	NotBefore time.Time
}

// CA is a development certificate authority stored in a directory. Its
// methods are safe for concurrent use.
type CA struct {
	dir      string
	root     *x509.Certificate
	rootKey  crypto.Signer
	inter    *x509.Certificate
	interKey crypto.Signer

	mu    sync.Mutex // guards st and the files written from it
	state state
}

// state is ca.json.
type state struct {
	Version       int       `json:"version"`
	Algorithm     Algorithm `json:"algorithm"`
	CRLBaseURL    string    `json:"crlBaseURL,omitempty"`
	CRLNumber     int64     `json:"crlNumber"`
	RootCRLNumber int64     `json:"rootCRLNumber"`
	Revoked       []revoked `json:"revoked"`
	RootRevoked   []revoked `json:"rootRevoked"`
}

type revoked struct {
	Serial    string    `json:"serial"` // decimal
	RevokedAt time.Time `json:"revokedAt"`
}

// Init creates a root and an intermediate CA under dir, creating dir when
// needed. It returns an error wrapping ErrExists when any CA file is already
// there.
func Init(dir string, opts InitOptions) (*CA, error) {
	alg, err := opts.Algorithm.normalize()
	if err != nil {
		return nil, err
	}
	base := strings.TrimRight(opts.CRLBaseURL, "/")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("init CA: %w", err)
	}
	for _, name := range []string{RootCertFile, RootKeyFile, IntermediateCertFile, IntermediateKeyFile, StateFile} {
		if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
			return nil, fmt.Errorf("init CA in %s: %w (%s)", dir, ErrExists, name)
		}
	}

	notBefore := opts.NotBefore
	if notBefore.IsZero() {
		notBefore = time.Now().Add(-time.Hour)
	}
	notBefore = notBefore.UTC().Truncate(time.Second)

	rootKey, err := generateKey(alg)
	if err != nil {
		return nil, err
	}
	rootSerial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	rootTmpl := &x509.Certificate{
		SerialNumber:          rootSerial,
		Subject:               pkix.Name{CommonName: RootName, Organization: []string{"lienthong"}, Country: []string{"VN"}},
		NotBefore:             notBefore,
		NotAfter:              notBefore.Add(RootValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	if rootTmpl.SubjectKeyId, err = subjectKeyID(rootKey.Public()); err != nil {
		return nil, err
	}
	root, err := createCertificate(rootTmpl, rootTmpl, rootKey.Public(), rootKey)
	if err != nil {
		return nil, fmt.Errorf("init CA: root: %w", err)
	}

	interKey, err := generateKey(alg)
	if err != nil {
		return nil, err
	}
	interSerial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	interTmpl := &x509.Certificate{
		SerialNumber:          interSerial,
		Subject:               pkix.Name{CommonName: IntermediateName, Organization: []string{"lienthong"}, Country: []string{"VN"}},
		NotBefore:             notBefore,
		NotAfter:              notBefore.Add(IntermediateValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	if base != "" {
		interTmpl.CRLDistributionPoints = []string{base + "/" + RootCRLFile}
	}
	if interTmpl.SubjectKeyId, err = subjectKeyID(interKey.Public()); err != nil {
		return nil, err
	}
	inter, err := createCertificate(interTmpl, root, interKey.Public(), rootKey)
	if err != nil {
		return nil, fmt.Errorf("init CA: intermediate: %w", err)
	}

	ca := &CA{
		dir: dir, root: root, rootKey: rootKey, inter: inter, interKey: interKey,
		state: state{Version: 1, Algorithm: alg, CRLBaseURL: base, Revoked: []revoked{}, RootRevoked: []revoked{}},
	}
	rootKeyPEM, err := keyPEM(rootKey)
	if err != nil {
		return nil, err
	}
	interKeyPEM, err := keyPEM(interKey)
	if err != nil {
		return nil, err
	}
	st, err := json.MarshalIndent(ca.state, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("init CA: %w", err)
	}
	files := []struct {
		name string
		data []byte
		perm fs.FileMode
	}{
		{RootKeyFile, rootKeyPEM, 0o600},
		{IntermediateKeyFile, interKeyPEM, 0o600},
		{RootCertFile, certPEM(root), 0o644},
		{IntermediateCertFile, certPEM(inter), 0o644},
		{StateFile, append(st, '\n'), 0o600},
	}
	var created []string
	for _, f := range files {
		path := filepath.Join(dir, f.name)
		if err := writeNew(path, f.data, f.perm); err != nil {
			for _, p := range created {
				_ = os.Remove(p) // best effort: the error below is what matters
			}
			return nil, fmt.Errorf("init CA: %w", err)
		}
		created = append(created, path)
	}
	return ca, nil
}

// Open loads the CA Init created in dir.
func Open(dir string) (*CA, error) {
	root, err := readCert(filepath.Join(dir, RootCertFile))
	if err != nil {
		return nil, fmt.Errorf("open CA: %w", err)
	}
	inter, err := readCert(filepath.Join(dir, IntermediateCertFile))
	if err != nil {
		return nil, fmt.Errorf("open CA: %w", err)
	}
	rootKey, err := LoadPrivateKey(filepath.Join(dir, RootKeyFile))
	if err != nil {
		return nil, fmt.Errorf("open CA: %w", err)
	}
	interKey, err := LoadPrivateKey(filepath.Join(dir, IntermediateKeyFile))
	if err != nil {
		return nil, fmt.Errorf("open CA: %w", err)
	}
	if !publicKeysEqual(rootKey.Public(), root.PublicKey) || !publicKeysEqual(interKey.Public(), inter.PublicKey) {
		return nil, fmt.Errorf("open CA %s: %w", dir, ErrKeyMismatch)
	}
	if err := inter.CheckSignatureFrom(root); err != nil {
		return nil, fmt.Errorf("open CA %s: intermediate not issued by root: %w", dir, err)
	}
	ca := &CA{dir: dir, root: root, rootKey: rootKey, inter: inter, interKey: interKey}
	data, err := os.ReadFile(filepath.Join(dir, StateFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// A CA assembled by hand: start with no revocations.
		ca.state = state{Version: 1, Algorithm: algorithmOf(inter.PublicKey)}
	case err != nil:
		return nil, fmt.Errorf("open CA: %w", err)
	default:
		if err := json.Unmarshal(data, &ca.state); err != nil {
			return nil, fmt.Errorf("open CA: %s: %w", StateFile, err)
		}
	}
	return ca, nil
}

// Dir returns the directory the CA lives in.
func (ca *CA) Dir() string { return ca.dir }

// Root returns the root certificate, the trust anchor.
func (ca *CA) Root() *x509.Certificate { return ca.root }

// Intermediate returns the issuing CA certificate.
func (ca *CA) Intermediate() *x509.Certificate { return ca.inter }

// RootPath returns the path of the root certificate (PEM).
func (ca *CA) RootPath() string { return filepath.Join(ca.dir, RootCertFile) }

// IntermediatePath returns the path of the intermediate certificate (PEM).
func (ca *CA) IntermediatePath() string { return filepath.Join(ca.dir, IntermediateCertFile) }

// Algorithm returns the key algorithm of the CA's own keys.
func (ca *CA) Algorithm() Algorithm { return algorithmOf(ca.inter.PublicKey) }

// CRLBaseURL returns the base URL of the CRL distribution points, or "".
func (ca *CA) CRLBaseURL() string {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	return ca.state.CRLBaseURL
}

func (a Algorithm) normalize() (Algorithm, error) {
	switch Algorithm(strings.ToLower(string(a))) {
	case "", ECDSA:
		return ECDSA, nil
	case RSA:
		return RSA, nil
	}
	return "", fmt.Errorf("%w %q (want %q or %q)", ErrUnsupportedAlgorithm, string(a), ECDSA, RSA)
}

func algorithmOf(pub crypto.PublicKey) Algorithm {
	if _, ok := pub.(*rsa.PublicKey); ok {
		return RSA
	}
	return ECDSA
}

func generateKey(alg Algorithm) (crypto.Signer, error) {
	var (
		k   crypto.Signer
		err error
	)
	switch alg {
	case RSA:
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		return nil, fmt.Errorf("generate %s key: %w", alg, err)
	}
	return k, nil
}

// randomSerial returns a positive random serial of at most 128 bits.
func randomSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	for {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return nil, fmt.Errorf("serial number: %w", err)
		}
		if n.Sign() > 0 {
			return n, nil
		}
	}
}

// subjectKeyID is the truncated SHA-256 of the public key bits (RFC 7093 §2
// method 1), the form crypto/x509 itself generates for CAs.
func subjectKeyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("subject key id: %w", err)
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		return nil, fmt.Errorf("subject key id: %w", err)
	}
	sum := sha256.Sum256(spki.PublicKey.Bytes)
	return sum[:20], nil
}

func createCertificate(tmpl, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) (*x509.Certificate, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

func certPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

func keyPEM(k crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("encode key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func readCert(path string) (*x509.Certificate, error) {
	certs, err := LoadCertificates(path)
	if err != nil {
		return nil, err
	}
	return certs[0], nil
}

// writeNew creates path, failing when it exists.
func writeNew(path string, data []byte, perm fs.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close() // the write error is the one to report
		_ = os.Remove(path)
		return err
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(path)
		return err
	}
	return nil
}

// saveState writes ca.json; the caller holds ca.mu.
func (ca *CA) saveState(st state) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(filepath.Join(ca.dir, StateFile), append(data, '\n'), 0o600)
}
