package pki

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/organ"
	"github.com/lienthong/lienthong/internal/tooltest"
	"github.com/lienthong/lienthong/internal/trust"
)

func runOpenSSL(t *testing.T, args ...string) (string, bool) {
	return tooltest.Run(t, "openssl", args...)
}

// newCA makes a CA in a fresh temporary directory.
func newCA(t *testing.T, alg Algorithm) *CA {
	t.Helper()
	ca, err := Init(t.TempDir(), InitOptions{Algorithm: alg, CRLBaseURL: "http://pki.test/crl/"})
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func writeFile(t *testing.T, path string, data []byte) string {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestInit(t *testing.T) {
	tests := []struct {
		give Algorithm
		want any // the public key type of both CAs
	}{
		{give: "", want: &ecdsa.PublicKey{}},
		{give: ECDSA, want: &ecdsa.PublicKey{}},
		{give: RSA, want: &rsa.PublicKey{}},
		{give: "RSA", want: &rsa.PublicKey{}},
	}
	for _, tt := range tests {
		t.Run(string(tt.give), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "ca")
			ca, err := Init(dir, InitOptions{Algorithm: tt.give, CRLBaseURL: "http://pki.test/crl/"})
			if err != nil {
				t.Fatal(err)
			}
			root, inter := ca.Root(), ca.Intermediate()
			if got := string(ca.Algorithm()); got != typeName(tt.want) {
				t.Errorf("Algorithm() = %s, want %s", got, typeName(tt.want))
			}
			checkType(t, root.PublicKey, tt.want)
			checkType(t, inter.PublicKey, tt.want)
			checkCA(t, root, RootName, RootValidity, 1)
			checkCA(t, inter, IntermediateName, IntermediateValidity, 0)
			if err := inter.CheckSignatureFrom(root); err != nil {
				t.Errorf("intermediate not signed by root: %v", err)
			}
			if want := []string{"http://pki.test/crl/root.crl"}; !slices.Equal(inter.CRLDistributionPoints, want) {
				t.Errorf("intermediate CRL DP = %q, want %q", inter.CRLDistributionPoints, want)
			}
			if len(root.CRLDistributionPoints) != 0 {
				t.Errorf("root CRL DP = %q, want none", root.CRLDistributionPoints)
			}
			for name, perm := range map[string]os.FileMode{
				RootCertFile: 0o644, IntermediateCertFile: 0o644,
				RootKeyFile: 0o600, IntermediateKeyFile: 0o600, StateFile: 0o600,
			} {
				fi, err := os.Stat(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				if got := fi.Mode().Perm(); got != perm {
					t.Errorf("%s mode = %v, want %v", name, got, perm)
				}
			}
			for _, name := range []string{RootKeyFile, IntermediateKeyFile} {
				data, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				if b, _ := pem.Decode(data); b == nil || b.Type != "PRIVATE KEY" {
					t.Errorf("%s is not a PKCS#8 PEM key", name)
				}
				if out, ok := runOpenSSL(t, "pkey", "-in", filepath.Join(dir, name), "-noout"); !ok {
					t.Errorf("openssl cannot read %s: %s", name, out)
				}
			}
			if out, ok := runOpenSSL(t, "verify", "-CAfile", ca.RootPath(), ca.IntermediatePath()); !ok {
				t.Errorf("openssl rejects the intermediate: %s", out)
			}

			again, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			if !again.Root().Equal(root) || !again.Intermediate().Equal(inter) || again.CRLBaseURL() != "http://pki.test/crl" {
				t.Error("Open does not load what Init made")
			}
		})
	}
}

func checkType(t *testing.T, got, want any) {
	t.Helper()
	if gt, wt := typeName(got), typeName(want); gt != wt {
		t.Errorf("key type = %s, want %s", gt, wt)
	}
}

func typeName(v any) string {
	switch v.(type) {
	case *ecdsa.PublicKey:
		return "ecdsa"
	case *rsa.PublicKey:
		return "rsa"
	}
	return "other"
}

func checkCA(t *testing.T, c *x509.Certificate, cn string, validity time.Duration, maxPath int) {
	t.Helper()
	if c.Subject.CommonName != cn {
		t.Errorf("CN = %q, want %q", c.Subject.CommonName, cn)
	}
	if !c.IsCA || !c.BasicConstraintsValid {
		t.Errorf("%s is not a CA", cn)
	}
	if maxPath == 0 && (c.MaxPathLen != 0 || !c.MaxPathLenZero) {
		t.Errorf("%s path length = %d, want 0", cn, c.MaxPathLen)
	}
	if c.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
		t.Errorf("%s key usage = %b", cn, c.KeyUsage)
	}
	if got := c.NotAfter.Sub(c.NotBefore); got != validity {
		t.Errorf("%s validity = %v, want %v", cn, got, validity)
	}
	if len(c.SubjectKeyId) == 0 {
		t.Errorf("%s has no subject key id", cn)
	}
}

func TestInitRefusesExistingCA(t *testing.T) {
	tests := []struct {
		give string // the file already in the directory
		want error
	}{
		{give: RootCertFile, want: ErrExists},
		{give: RootKeyFile, want: ErrExists},
		{give: IntermediateCertFile, want: ErrExists},
		{give: IntermediateKeyFile, want: ErrExists},
		{give: StateFile, want: ErrExists},
		{give: "unrelated.txt", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, tt.give), []byte("keep me"))
			_, err := Init(dir, InitOptions{})
			if !errors.Is(err, tt.want) {
				t.Fatalf("Init = %v, want %v", err, tt.want)
			}
			if got, _ := os.ReadFile(filepath.Join(dir, tt.give)); string(got) != "keep me" {
				t.Error("Init changed an existing file")
			}
		})
	}
}

func TestInitTwice(t *testing.T) {
	dir := t.TempDir()
	ca, err := Init(dir, InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Init(dir, InitOptions{Algorithm: RSA}); !errors.Is(err, ErrExists) {
		t.Fatalf("second Init = %v, want ErrExists", err)
	}
	again, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Root().Equal(ca.Root()) {
		t.Error("the second Init replaced the root")
	}
}

func TestInitErrors(t *testing.T) {
	tests := []struct {
		give InitOptions
		want error
	}{
		{give: InitOptions{Algorithm: "dsa"}, want: ErrUnsupportedAlgorithm},
		{give: InitOptions{Algorithm: "ed25519"}, want: ErrUnsupportedAlgorithm},
	}
	for _, tt := range tests {
		t.Run(string(tt.give.Algorithm), func(t *testing.T) {
			dir := t.TempDir()
			if _, err := Init(dir, tt.give); !errors.Is(err, tt.want) {
				t.Fatalf("Init = %v, want %v", err, tt.want)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("a failed Init left %d files", len(entries))
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	other := newCA(t, ECDSA)
	tests := []struct {
		name string
		give func(dir string) // breaks a copy of a good CA in dir
		want error
	}{
		{name: "missing root", give: func(dir string) { _ = os.Remove(filepath.Join(dir, RootCertFile)) }, want: os.ErrNotExist},
		{name: "missing key", give: func(dir string) { _ = os.Remove(filepath.Join(dir, IntermediateKeyFile)) }, want: os.ErrNotExist},
		{name: "key of another CA", give: func(dir string) {
			data, _ := os.ReadFile(filepath.Join(other.Dir(), RootKeyFile))
			_ = os.WriteFile(filepath.Join(dir, RootKeyFile), data, 0o600)
		}, want: ErrKeyMismatch},
		{name: "not a certificate", give: func(dir string) {
			_ = os.WriteFile(filepath.Join(dir, RootCertFile), []byte("-----BEGIN X-----\n-----END X-----\n"), 0o600)
		}, want: ErrNoCertificate},
		{name: "not a key", give: func(dir string) {
			_ = os.WriteFile(filepath.Join(dir, RootKeyFile), []byte("hello"), 0o600)
		}, want: ErrNoKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := newCA(t, ECDSA).Dir()
			tt.give(dir)
			if _, err := Open(dir); !errors.Is(err, tt.want) {
				t.Fatalf("Open = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestIssue(t *testing.T) {
	ecCA, rsaCA := newCA(t, ECDSA), newCA(t, RSA)
	tests := []struct {
		name string
		ca   *CA
		give IssueOptions
		want string // key type
	}{
		{name: "ecdsa by ecdsa", ca: ecCA, give: IssueOptions{}, want: "ecdsa"},
		{name: "rsa by ecdsa", ca: ecCA, give: IssueOptions{Algorithm: RSA}, want: "rsa"},
		{name: "rsa by rsa", ca: rsaCA, give: IssueOptions{Algorithm: RSA}, want: "rsa"},
		{name: "ecdsa by rsa", ca: rsaCA, give: IssueOptions{Algorithm: ECDSA}, want: "ecdsa"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iss, err := tt.ca.Issue(" 000.00.00.G22 ", "Văn phòng Chính phủ", tt.give)
			if err != nil {
				t.Fatal(err)
			}
			c := iss.Cert
			if got := typeName(c.PublicKey); got != tt.want {
				t.Errorf("key type = %s, want %s", got, tt.want)
			}
			if iss.OrganID != "000.00.00.G22" {
				t.Errorf("OrganID = %q", iss.OrganID)
			}
			if got, ok := trust.OrganID(c); !ok || got != "000.00.00.G22" {
				t.Errorf("UID = %q, %v", got, ok)
			}
			if c.Subject.CommonName != "Văn phòng Chính phủ" ||
				!slices.Equal(c.Subject.Organization, []string{"Văn phòng Chính phủ"}) ||
				!slices.Equal(c.Subject.Country, []string{"VN"}) {
				t.Errorf("subject = %s", c.Subject)
			}
			if c.KeyUsage != x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment {
				t.Errorf("key usage = %b", c.KeyUsage)
			}
			if !slices.Equal(c.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}) {
				t.Errorf("ext key usage = %v", c.ExtKeyUsage)
			}
			if c.IsCA {
				t.Error("agency certificate is a CA")
			}
			if c.SerialNumber.BitLen() > 128 || c.SerialNumber.BitLen() < 64 {
				t.Errorf("serial has %d bits", c.SerialNumber.BitLen())
			}
			if want := []string{"http://pki.test/crl/intermediate.crl"}; !slices.Equal(c.CRLDistributionPoints, want) {
				t.Errorf("CRL DP = %q, want %q", c.CRLDistributionPoints, want)
			}
			if !bytes.Equal(c.AuthorityKeyId, tt.ca.Intermediate().SubjectKeyId) {
				t.Error("authority key id is not the intermediate's")
			}
			roots := x509.NewCertPool()
			roots.AddCert(tt.ca.Root())
			inters := x509.NewCertPool()
			inters.AddCert(iss.Chain[0])
			if _, err := c.Verify(x509.VerifyOptions{
				Roots: roots, Intermediates: inters,
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
			}); err != nil {
				t.Errorf("chain: %v", err)
			}

			dir := filepath.Join(tt.ca.Dir(), AgenciesDir, "000.00.00.G22")
			for path, want := range map[string]string{
				iss.CertPath: filepath.Join(dir, "cert.pem"), iss.KeyPath: filepath.Join(dir, "key.pem"),
				iss.ChainPath: filepath.Join(dir, "chain.pem"),
			} {
				if path != want {
					t.Errorf("path = %s, want %s", path, want)
				}
			}
			if fi, err := os.Stat(iss.KeyPath); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("key file: %v, %v", fi.Mode(), err)
			}
			certs, err := LoadCertificates(iss.CertPath)
			if err != nil || len(certs) != 1 || !certs[0].Equal(c) {
				t.Errorf("cert.pem does not hold the certificate: %v", err)
			}
			chain, err := LoadCertificates(iss.ChainPath)
			if err != nil || len(chain) != 1 || !chain[0].Equal(tt.ca.Intermediate()) {
				t.Errorf("chain.pem does not hold the intermediate: %v", err)
			}
			key, err := LoadPrivateKey(iss.KeyPath)
			if err != nil || !publicKeysEqual(key.Public(), c.PublicKey) {
				t.Errorf("key.pem does not hold the key: %v", err)
			}
			if out, ok := runOpenSSL(t, "pkey", "-in", iss.KeyPath, "-noout"); !ok {
				t.Errorf("openssl cannot read key.pem: %s", out)
			}
			if out, ok := runOpenSSL(t, "verify", "-CAfile", tt.ca.RootPath(), "-untrusted", iss.ChainPath,
				"-purpose", "smimesign", iss.CertPath); !ok {
				t.Errorf("openssl rejects the certificate for S/MIME signing: %s", out)
			}
			subject, _ := runOpenSSL(t, "x509", "-in", iss.CertPath, "-noout", "-subject", "-nameopt", "oid,utf8,sep_comma_plus")
			if !strings.Contains(subject, "0.9.2342.19200300.100.1.1=000.00.00.G22") {
				t.Errorf("openssl sees no UID in %q", subject)
			}
		})
	}
}

func TestIssueOptions(t *testing.T) {
	ca := newCA(t, ECDSA)
	past := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name  string
		give  IssueOptions
		check func(t *testing.T, c *x509.Certificate)
	}{
		{name: "expired", give: IssueOptions{NotBefore: past, NotAfter: past.Add(24 * time.Hour)},
			check: func(t *testing.T, c *x509.Certificate) {
				if !c.NotBefore.Equal(past) || !c.NotAfter.Equal(past.Add(24*time.Hour)) {
					t.Errorf("validity %s..%s", c.NotBefore, c.NotAfter)
				}
			}},
		{name: "not yet valid", give: IssueOptions{NotBefore: time.Now().Add(48 * time.Hour)},
			check: func(t *testing.T, c *x509.Certificate) {
				if !c.NotBefore.After(time.Now().Add(47 * time.Hour)) {
					t.Errorf("not before %s", c.NotBefore)
				}
				if c.NotAfter.After(ca.Intermediate().NotAfter) {
					t.Errorf("default not after %s outlives the intermediate", c.NotAfter)
				}
			}},
		{name: "no uid", give: IssueOptions{NoUID: true},
			check: func(t *testing.T, c *x509.Certificate) {
				if id, ok := trust.OrganID(c); ok || id != "" {
					t.Errorf("UID %q present", id)
				}
			}},
		{name: "no digitalSignature", give: IssueOptions{KeyUsage: x509.KeyUsageKeyEncipherment},
			check: func(t *testing.T, c *x509.Certificate) {
				if c.KeyUsage != x509.KeyUsageKeyEncipherment {
					t.Errorf("key usage %b", c.KeyUsage)
				}
			}},
		{name: "server auth", give: IssueOptions{ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}},
			check: func(t *testing.T, c *x509.Certificate) {
				if !slices.Equal(c.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) {
					t.Errorf("ext key usage %v", c.ExtKeyUsage)
				}
			}},
		{name: "default validity", give: IssueOptions{},
			check: func(t *testing.T, c *x509.Certificate) {
				if got := c.NotAfter.Sub(c.NotBefore); got != AgencyValidity {
					t.Errorf("validity %v", got)
				}
				if time.Since(c.NotBefore) < 0 {
					t.Errorf("not valid yet: %s", c.NotBefore)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iss, err := ca.Issue("000.00.12.H29", "Sở Nội vụ", tt.give)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, iss.Cert)
		})
	}
}

func TestIssueErrors(t *testing.T) {
	ca := newCA(t, ECDSA)
	now := time.Now()
	tests := []struct {
		name  string
		organ string
		agent string
		give  IssueOptions
		want  error // nil: any error
	}{
		{name: "empty organ", organ: "", agent: "x", want: organ.ErrEmpty},
		{name: "lowercase organ", organ: "000.00.00.g22", agent: "x", want: organ.ErrInvalid},
		{name: "path in organ", organ: "../000.00.00.G22", agent: "x", want: organ.ErrInvalid},
		{name: "slash", organ: "000/00.00.G22", agent: "x", want: organ.ErrInvalid},
		{name: "empty name", organ: "000.00.00.G22", agent: ""},
		{name: "bad algorithm", organ: "000.00.00.G22", agent: "x", give: IssueOptions{Algorithm: "dsa"}, want: ErrUnsupportedAlgorithm},
		{name: "reversed validity", organ: "000.00.00.G22", agent: "x", give: IssueOptions{NotBefore: now, NotAfter: now.Add(-time.Hour)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iss, err := ca.Issue(tt.organ, tt.agent, tt.give)
			if err == nil {
				t.Fatalf("Issue = %v, want an error", iss.Cert.Subject)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Issue = %v, want %v", err, tt.want)
			}
			if _, err := os.Stat(filepath.Join(ca.Dir(), AgenciesDir)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a failed Issue wrote files: %v", err)
			}
		})
	}
}

func TestIssueTSA(t *testing.T) {
	for _, alg := range []Algorithm{ECDSA, RSA} {
		t.Run(string(alg), func(t *testing.T) {
			ca := newCA(t, alg)
			iss, err := ca.IssueTSA("lienthong dev TSA", IssueOptions{Algorithm: alg, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
			if err != nil {
				t.Fatal(err)
			}
			if want := filepath.Join(ca.Dir(), TSADir, AgencyCertFile); iss.CertPath != want || iss.OrganID != "" {
				t.Errorf("CertPath %s OrganID %q, want %s and none", iss.CertPath, iss.OrganID, want)
			}
			c := iss.Cert
			if !slices.Equal(c.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}) || len(c.UnknownExtKeyUsage) != 0 {
				t.Errorf("EKU %v %v, want only timeStamping", c.ExtKeyUsage, c.UnknownExtKeyUsage)
			}
			var critical, count int
			for _, e := range c.Extensions {
				if e.Id.String() == "2.5.29.37" {
					count++
					if e.Critical {
						critical++
					}
				}
			}
			if count != 1 || critical != 1 {
				t.Errorf("%d EKU extensions, %d critical; want one, critical (RFC 3161 §2.3)", count, critical)
			}
			if len(c.Subject.ExtraNames) != 0 || c.Subject.CommonName != "lienthong dev TSA" {
				t.Errorf("subject %s", c.Subject)
			}
			if _, err := c.Verify(x509.VerifyOptions{Roots: pool(ca.Root()), Intermediates: pool(ca.Intermediate()),
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}}); err != nil {
				t.Errorf("Go: %v", err)
			}
			// openssl's timestampsign purpose requires the EKU to be critical.
			if out, ok := runOpenSSL(t, "verify", "-CAfile", ca.RootPath(), "-untrusted", iss.ChainPath,
				"-purpose", "timestampsign", iss.CertPath); !ok {
				t.Errorf("openssl verify -purpose timestampsign: %s", out)
			}
		})
	}
}

func pool(certs ...*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p
}

func TestIssueReplacesFiles(t *testing.T) {
	ca := newCA(t, ECDSA)
	first, err := ca.Issue("000.00.00.G22", "A", IssueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	second, err := ca.Issue("000.00.00.G22", "A", IssueOptions{Algorithm: RSA})
	if err != nil {
		t.Fatal(err)
	}
	if first.Cert.SerialNumber.Cmp(second.Cert.SerialNumber) == 0 {
		t.Error("two certificates share a serial")
	}
	certs, err := LoadCertificates(second.CertPath)
	if err != nil || !certs[0].Equal(second.Cert) {
		t.Errorf("cert.pem is not the latest certificate: %v", err)
	}
	key, err := LoadPrivateKey(second.KeyPath)
	if err != nil || !publicKeysEqual(key.Public(), second.Cert.PublicKey) {
		t.Errorf("key.pem is not the latest key: %v", err)
	}
}

func TestCRL(t *testing.T) {
	ca := newCA(t, ECDSA)
	a, err := ca.Issue("000.00.00.G22", "A", IssueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := ca.Issue("000.00.00.H29", "B", IssueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	tests := []struct {
		name       string
		give       []*big.Int
		opts       CRLOptions
		wantSerial []*big.Int
		wantNumber int64
		wantNext   time.Time
	}{
		{name: "empty", give: nil, opts: CRLOptions{ThisUpdate: at},
			wantSerial: nil, wantNumber: 1, wantNext: at.Add(7 * 24 * time.Hour)},
		{name: "revoke a", give: []*big.Int{a.Cert.SerialNumber}, opts: CRLOptions{ThisUpdate: at},
			wantSerial: []*big.Int{a.Cert.SerialNumber}, wantNumber: 2, wantNext: at.Add(7 * 24 * time.Hour)},
		{name: "revoke b and a again", give: []*big.Int{b.Cert.SerialNumber, a.Cert.SerialNumber},
			opts:       CRLOptions{ThisUpdate: at, NextUpdate: at.Add(time.Hour)},
			wantSerial: []*big.Int{a.Cert.SerialNumber, b.Cert.SerialNumber}, wantNumber: 3, wantNext: at.Add(time.Hour)},
		{name: "refresh", give: nil, opts: CRLOptions{ThisUpdate: at},
			wantSerial: []*big.Int{a.Cert.SerialNumber, b.Cert.SerialNumber}, wantNumber: 4, wantNext: at.Add(7 * 24 * time.Hour)},
		{name: "root revokes the intermediate", give: []*big.Int{ca.Intermediate().SerialNumber},
			opts:       CRLOptions{Root: true, ThisUpdate: at},
			wantSerial: []*big.Int{ca.Intermediate().SerialNumber}, wantNumber: 1, wantNext: at.Add(7 * 24 * time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			der, err := ca.CRL(tt.give, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			crl, err := x509.ParseRevocationList(der)
			if err != nil {
				t.Fatal(err)
			}
			issuer := ca.Intermediate()
			if tt.opts.Root {
				issuer = ca.Root()
			}
			if err := crl.CheckSignatureFrom(issuer); err != nil {
				t.Errorf("CRL signature: %v", err)
			}
			var got []*big.Int
			for _, e := range crl.RevokedCertificateEntries {
				got = append(got, e.SerialNumber)
			}
			if !slices.EqualFunc(got, tt.wantSerial, func(x, y *big.Int) bool { return x.Cmp(y) == 0 }) {
				t.Errorf("revoked = %v, want %v", got, tt.wantSerial)
			}
			if !slices.EqualFunc(ca.Revoked(tt.opts.Root), tt.wantSerial, func(x, y *big.Int) bool { return x.Cmp(y) == 0 }) {
				t.Errorf("Revoked() = %v, want %v", ca.Revoked(tt.opts.Root), tt.wantSerial)
			}
			if crl.Number.Int64() != tt.wantNumber {
				t.Errorf("number = %v, want %d", crl.Number, tt.wantNumber)
			}
			if !crl.ThisUpdate.Equal(at) || !crl.NextUpdate.Equal(tt.wantNext) {
				t.Errorf("updates %s, %s", crl.ThisUpdate, crl.NextUpdate)
			}
			onDisk, err := os.ReadFile(ca.CRLPath(tt.opts.Root))
			if err != nil || !bytes.Equal(onDisk, der) {
				t.Errorf("CRL file differs: %v", err)
			}
			pemData, err := os.ReadFile(ca.CRLPath(tt.opts.Root) + ".pem")
			if blk, _ := pem.Decode(pemData); err != nil || blk == nil || blk.Type != "X509 CRL" || !bytes.Equal(blk.Bytes, der) {
				t.Errorf("PEM CRL differs: %v", err)
			}
			if out, ok := runOpenSSL(t, "crl", "-inform", "DER", "-in", ca.CRLPath(tt.opts.Root),
				"-CAfile", issuer2File(t, issuer), "-noout"); !ok || !strings.Contains(out, "verify OK") {
				t.Errorf("openssl crl: %s", out)
			}
		})
	}

	// Revocations survive reopening.
	again, err := Open(ca.Dir())
	if err != nil {
		t.Fatal(err)
	}
	der, err := again.CRL(nil, CRLOptions{})
	if err != nil {
		t.Fatal(err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	if len(crl.RevokedCertificateEntries) != 2 || crl.Number.Int64() != 5 {
		t.Errorf("after Open: %d entries, number %v; want 2, 5", len(crl.RevokedCertificateEntries), crl.Number)
	}
}

func issuer2File(t *testing.T, c *x509.Certificate) string {
	t.Helper()
	return writeFile(t, filepath.Join(t.TempDir(), "issuer.pem"), certPEM(c))
}

func TestCRLOpenSSLRejectsRevoked(t *testing.T) {
	ca := newCA(t, ECDSA)
	iss, err := ca.Issue("000.00.00.G22", "A", IssueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ca.CRL(nil, CRLOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := ca.CRL(nil, CRLOptions{Root: true}); err != nil {
		t.Fatal(err)
	}
	bundle := func() string {
		var b []byte
		for _, p := range []string{ca.CRLPath(false) + ".pem", ca.CRLPath(true) + ".pem"} {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			b = append(b, data...)
		}
		return writeFile(t, filepath.Join(t.TempDir(), "crls.pem"), b)
	}
	verify := func() (string, bool) {
		return runOpenSSL(t, "verify", "-crl_check_all", "-CRLfile", bundle(), "-CAfile", ca.RootPath(),
			"-untrusted", iss.ChainPath, iss.CertPath)
	}
	if out, ok := verify(); !ok {
		t.Fatalf("before revocation openssl rejects: %s", out)
	}
	if _, err := ca.CRL([]*big.Int{iss.Cert.SerialNumber}, CRLOptions{}); err != nil {
		t.Fatal(err)
	}
	if out, ok := verify(); ok || !strings.Contains(out, "revoked") {
		t.Errorf("after revocation openssl says: %s", out)
	}
}

func TestCRLErrors(t *testing.T) {
	ca := newCA(t, ECDSA)
	now := time.Now()
	tests := []struct {
		name string
		give []*big.Int
		opts CRLOptions
	}{
		{name: "zero serial", give: []*big.Int{big.NewInt(0)}},
		{name: "negative serial", give: []*big.Int{big.NewInt(-5)}},
		{name: "nil serial", give: []*big.Int{nil}},
		{name: "next before this", opts: CRLOptions{ThisUpdate: now, NextUpdate: now.Add(-time.Hour)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ca.CRL(tt.give, tt.opts); err == nil {
				t.Fatal("CRL succeeded")
			}
			if got := ca.Revoked(false); len(got) != 0 {
				t.Errorf("a failed CRL recorded %v", got)
			}
			if _, err := os.Stat(ca.CRLPath(false)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a failed CRL wrote a file: %v", err)
			}
		})
	}
}

func TestLoadPrivateKeyForms(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string // openssl command writing the key to OUT
	}{
		{name: "pkcs8 ec", args: []string{"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "OUT"}},
		{name: "sec1 ec", args: []string{"ecparam", "-name", "prime256v1", "-genkey", "-out", "OUT"}},
		{name: "pkcs1 rsa", args: []string{"genrsa", "-traditional", "-out", "OUT", "2048"}},
		{name: "pkcs8 rsa", args: []string{"genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "OUT"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".pem")
			args := slices.Clone(tt.args)
			args[slices.Index(args, "OUT")] = path
			if out, ok := runOpenSSL(t, args...); !ok {
				t.Fatalf("openssl: %s", out)
			}
			if _, err := LoadPrivateKey(path); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestParsePrivateKeyErrors(t *testing.T) {
	tests := []struct {
		name string
		give string
		want error
	}{
		{name: "empty", give: "", want: ErrNoKey},
		{name: "certificate only", give: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", want: ErrNoKey},
		{name: "encrypted", give: "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n", want: ErrNoKey},
		{name: "garbage pkcs8", give: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePrivateKey([]byte(tt.give))
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("ParsePrivateKey = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestParseCertificates(t *testing.T) {
	ca := newCA(t, ECDSA)
	root, inter := ca.Root(), ca.Intermediate()
	bundle := append(append([]byte("junk before\n"), certPEM(inter)...), certPEM(root)...)
	tests := []struct {
		name string
		give []byte
		want []*x509.Certificate
		err  error
	}{
		{name: "pem bundle", give: bundle, want: []*x509.Certificate{inter, root}},
		{name: "der", give: root.Raw, want: []*x509.Certificate{root}},
		{name: "empty", give: nil, err: ErrNoCertificate},
		{name: "pem without certificate", give: []byte("-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n"), err: ErrNoCertificate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCertificates(tt.give)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if !slices.EqualFunc(got, tt.want, (*x509.Certificate).Equal) {
				t.Errorf("got %d certificates, want %d", len(got), len(tt.want))
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	ca := newCA(t, ECDSA)
	out, ok := runOpenSSL(t, "x509", "-in", ca.RootPath(), "-noout", "-fingerprint", "-sha256")
	if !ok {
		t.Fatal(out)
	}
	want := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(out[strings.Index(out, "=")+1:]), ":", ""))
	if got := trust.Fingerprint(ca.Root()); got != want {
		t.Errorf("Fingerprint = %s, openssl says %s", got, want)
	}
}
