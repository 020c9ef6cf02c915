package pdfsigtest

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/lienthong/lienthong/internal/pki"
	"github.com/lienthong/lienthong/internal/tooltest"
)

// NSS is an NSS database in a test's temporary directory, the only key and
// trust store pdfsig knows.
type NSS struct {
	Dir string
	n   int // certificates added, for unique nicknames
}

// NewNSS creates an empty NSS database (no password) trusting roots for
// every purpose (trust flags CT,C,C). It needs certutil.
func NewNSS(t testing.TB, roots ...*x509.Certificate) *NSS {
	t.Helper()
	db := &NSS{Dir: t.TempDir()}
	run(t, "certutil", "-N", "-d", "sql:"+db.Dir, "--empty-password")
	for _, c := range roots {
		db.AddCert(t, c, "CT,C,C")
	}
	return db
}

// AddCert adds c with the given trust flags (",," for an intermediate
// that is only a path to a root) and returns its nickname.
func (db *NSS) AddCert(t testing.TB, c *x509.Certificate, trust string) string {
	t.Helper()
	db.n++
	nick := "cert" + strconv.Itoa(db.n)
	path := filepath.Join(t.TempDir(), nick+".pem")
	writeFile(t, path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
	run(t, "certutil", "-A", "-d", "sql:"+db.Dir, "-n", nick, "-t", trust, "-a", "-i", path)
	return nick
}

// AddKey imports iss's certificate, key and intermediates as a PKCS#12
// file made by openssl (Go's standard library writes no PKCS#12) and
// returns the nickname pdfsig -nick signs with. It needs openssl and
// pk12util.
func (db *NSS) AddKey(t testing.TB, iss *pki.Issued) string {
	t.Helper()
	db.n++
	nick := "signer" + strconv.Itoa(db.n)
	dir := t.TempDir()
	p12 := filepath.Join(dir, "key.p12")
	run(t, "openssl", "pkcs12", "-export", "-name", nick,
		"-in", iss.CertPath, "-inkey", iss.KeyPath, "-certfile", iss.ChainPath,
		"-passout", "pass:pdfsigtest", "-out", p12)
	run(t, "pk12util", "-i", p12, "-d", "sql:"+db.Dir, "-W", "pdfsigtest")
	return nick
}

func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, ok := tooltest.Run(t, name, args...)
	if !ok {
		t.Fatalf("%s %v: %s", name, args, out)
	}
	return out
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
