package trust_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/pki"
	"github.com/lienthong/lienthong/internal/tooltest"
	"github.com/lienthong/lienthong/internal/trust"
)

// signatures made the way senders make them, the DER path's business.
func signatures(t *testing.T) map[string][]byte {
	t.Helper()
	data := bytes.Repeat([]byte("<edXML/>"), 1000)
	out := map[string][]byte{}
	for _, alg := range []pki.Algorithm{pki.ECDSA, pki.RSA} {
		ca, err := pki.Init(t.TempDir(), pki.InitOptions{Algorithm: alg})
		if err != nil {
			t.Fatal(err)
		}
		iss, err := ca.Issue("000.00.00.G22", "G22", pki.IssueOptions{Algorithm: alg})
		if err != nil {
			t.Fatal(err)
		}
		sig, err := pki.SignDetached(bytes.NewReader(data), iss.Cert, iss.Key, iss.Chain, pki.SignOptions{Time: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		out["pki "+string(alg)] = sig
		if _, err := exec.LookPath("openssl"); err != nil {
			continue
		}
		dir := t.TempDir()
		in, der := filepath.Join(dir, "in"), filepath.Join(dir, "sig.der")
		if err := os.WriteFile(in, data, 0o600); err != nil {
			t.Fatal(err)
		}
		for name, extra := range map[string][]string{"": nil, " noattr": {"-noattr"}, " stream": {"-stream"}} {
			args := append([]string{"cms", "-sign", "-binary", "-in", in, "-signer", iss.CertPath, "-inkey", iss.KeyPath,
				"-certfile", iss.ChainPath, "-outform", "DER", "-out", der}, extra...)
			if b, err := exec.Command("openssl", args...).CombinedOutput(); err != nil {
				t.Fatalf("openssl: %v\n%s", err, b)
			}
			if out["openssl "+string(alg)+name], err = os.ReadFile(der); err != nil {
				t.Fatal(err)
			}
		}
	}
	return out
}

// The DER path reads what pkcs7.Parse reads, and takes the signatures
// senders make; what it is not sure of goes to pkcs7.Parse.
func TestDERPathAgreesWithPKCS7(t *testing.T) {
	tooltest.Require(t, "openssl")
	sigs := signatures(t)
	good := sigs["pki "+string(pki.ECDSA)]
	garbage := []byte{0x30, 0x01, 0xff} // a SEQUENCE holding no element
	tests := []struct {
		name string
		give []byte
		want bool // the DER path takes it
	}{
		{"pki ecdsa", good, true},
		{"pki rsa", sigs["pki "+string(pki.RSA)], true},
		{"openssl ecdsa", sigs["openssl ecdsa"], true},
		{"openssl rsa", sigs["openssl rsa"], true},
		{"openssl without signed attributes", sigs["openssl ecdsa noattr"], true},
		{"openssl BER (indefinite lengths)", sigs["openssl ecdsa stream"], false},
		{"rebuilt unchanged", trust.RebuildForTest(t, good, trust.Variant{}), true},
		{"digest algorithm with NULL parameters", trust.RebuildForTest(t, good, trust.Variant{DigestParams: []byte{0x05, 0x00}}), true},
		{"signed attributes out of order", trust.RebuildForTest(t, good, trust.Variant{ReverseAttrs: true}), true},
		{"an unsigned attribute", trust.RebuildForTest(t, good, trust.Variant{Unsigned: []byte{0x30, 0x0a, 0x06, 0x03, 0x2a, 0x03, 0x04, 0x31, 0x03, 0x04, 0x01, 0x07}}), true},
		{"garbage inside a constructed parameter", trust.RebuildForTest(t, good, trust.Variant{DigestParams: garbage}), false},
		{"garbage inside an unsigned attribute", trust.RebuildForTest(t, good, trust.Variant{Unsigned: append([]byte{0x30, 0x0a, 0x06, 0x03, 0x2a, 0x03, 0x04, 0x31, 0x03}, garbage...)}), false},
		{"two parameters", trust.RebuildForTest(t, good, trust.Variant{DigestParams: []byte{0x05, 0x00, 0x05, 0x00}}), false},
		{"CRLs", trust.RebuildForTest(t, good, trust.Variant{CRLs: []byte{0x30, 0x00}}), false},
		{"encapsulated content", trust.RebuildForTest(t, good, trust.Variant{EContent: []byte{0x04, 0x01, 0x41}}), false},
		{"trailing bytes", trust.RebuildForTest(t, good, trust.Variant{Trailing: []byte{0x00, 0x00}}), false},
		{"empty signed attributes", trust.RebuildForTest(t, good, trust.Variant{EmptySigned: true}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.give == nil {
				t.Fatal("no signature")
			}
			if got := trust.CheckDERPathForTest(t, tt.give); got != tt.want {
				t.Errorf("DER path taken: %v, want %v", got, tt.want)
			}
		})
	}
}

// The signed attributes a signer wrote out of order are hashed as DER
// orders them, on both paths.
func TestSignedAttributesInDEROrder(t *testing.T) {
	good := signatures(t)["pki "+string(pki.ECDSA)]
	want, _ := trust.SignedDERForTest(good)
	got, ok := trust.SignedDERForTest(trust.RebuildForTest(t, good, trust.Variant{ReverseAttrs: true}))
	if !ok || !bytes.Equal(got, want) {
		t.Errorf("signed DER %x, want %x", got, want)
	}
}

func FuzzDERPathAgreesWithPKCS7(f *testing.F) {
	// ECDSA only: RSA key generation would slow each worker's start, and
	// the structure is the same.
	for _, alg := range []pki.Algorithm{pki.ECDSA} {
		ca, err := pki.Init(f.TempDir(), pki.InitOptions{Algorithm: alg})
		if err != nil {
			f.Fatal(err)
		}
		iss, err := ca.Issue("000.00.00.G22", "G22", pki.IssueOptions{Algorithm: alg})
		if err != nil {
			f.Fatal(err)
		}
		sig, err := pki.SignDetached(bytes.NewReader([]byte("packet")), iss.Cert, iss.Key, iss.Chain, pki.SignOptions{})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(sig)
		f.Add(trust.RebuildForTest(f, sig, trust.Variant{ReverseAttrs: true, DigestParams: []byte{0x05, 0x00},
			Unsigned: []byte{0x30, 0x0a, 0x06, 0x03, 0x2a, 0x03, 0x04, 0x31, 0x03, 0x04, 0x01, 0x07}}))
	}
	f.Add([]byte{0x30, 0x80, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02, 0xa0, 0x80, 0x30, 0x80})
	f.Fuzz(func(t *testing.T, der []byte) {
		trust.CheckDERPathForTest(t, der)
	})
}
