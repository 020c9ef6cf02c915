package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/digitorus/pkcs7"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// signers are issued once: RSA key generation is slow.
var (
	signersOnce sync.Once
	signersCA   map[Algorithm]*CA
	signersIss  map[Algorithm]*Issued
	signersErr  error
)

// signer returns a CA of algorithm alg and an agency certificate of the same
// algorithm it issued.
func signer(t testing.TB, alg Algorithm) (*CA, *Issued) {
	t.Helper()
	signersOnce.Do(func() {
		dir, err := os.MkdirTemp("", "pki-test-")
		if err != nil {
			signersErr = err
			return
		}
		signersCA, signersIss = map[Algorithm]*CA{}, map[Algorithm]*Issued{}
		for _, a := range []Algorithm{ECDSA, RSA} {
			ca, err := Init(filepath.Join(dir, string(a)), InitOptions{Algorithm: a})
			if err != nil {
				signersErr = err
				return
			}
			iss, err := ca.Issue("000.00.00.G22", "Văn phòng Chính phủ", IssueOptions{Algorithm: a})
			if err != nil {
				signersErr = err
				return
			}
			signersCA[a], signersIss[a] = ca, iss
		}
	})
	if signersErr != nil {
		t.Fatal(signersErr)
	}
	return signersCA[alg], signersIss[alg]
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, ca := range signersCA {
		_ = os.RemoveAll(filepath.Dir(ca.Dir()))
	}
	os.Exit(code)
}

// verifyPKCS7 verifies a detached signature with digitorus/pkcs7 against
// the CA's root.
func verifyPKCS7(sig, content []byte, root *x509.Certificate) error {
	p7, err := pkcs7.Parse(sig)
	if err != nil {
		return err
	}
	p7.Content = content
	pool := x509.NewCertPool()
	pool.AddCert(root)
	return p7.VerifyWithChain(pool)
}

// verifyOpenSSL verifies a detached DER (or PEM with pem set) signature with
// the openssl binary and returns its output and whether it accepted.
func verifyOpenSSL(t *testing.T, sig, content []byte, rootPath string, pem bool, extra ...string) (string, bool) {
	t.Helper()
	dir := t.TempDir()
	sigPath := writeFile(t, filepath.Join(dir, "sig"), sig)
	contentPath := writeFile(t, filepath.Join(dir, "content"), content)
	form := "DER"
	if pem {
		form = "PEM"
	}
	args := []string{"cms", "-verify", "-binary", "-inform", form, "-in", sigPath, "-content", contentPath,
		"-CAfile", rootPath, "-out", os.DevNull}
	return runOpenSSL(t, append(args, extra...)...)
}

func TestSignDetachedVerifies(t *testing.T) {
	tests := []struct {
		name string
		alg  Algorithm
		hash crypto.Hash
		size int
	}{
		{name: "ecdsa empty", alg: ECDSA, size: 0},
		{name: "ecdsa one byte", alg: ECDSA, size: 1},
		{name: "ecdsa 50k", alg: ECDSA, size: 50_000},
		{name: "ecdsa sha384", alg: ECDSA, hash: crypto.SHA384, size: 1000},
		{name: "ecdsa sha512", alg: ECDSA, hash: crypto.SHA512, size: 1000},
		{name: "rsa one byte", alg: RSA, size: 1},
		{name: "rsa 50k", alg: RSA, size: 50_000},
		{name: "rsa sha384", alg: RSA, hash: crypto.SHA384, size: 1000},
		{name: "rsa sha512", alg: RSA, hash: crypto.SHA512, size: 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ca, iss := signer(t, tt.alg)
			content := make([]byte, tt.size)
			_, _ = rand.Read(content)
			sig, err := SignDetached(bytes.NewReader(content), iss.Cert, iss.Key, iss.Chain, SignOptions{Hash: tt.hash})
			if err != nil {
				t.Fatal(err)
			}
			if err := verifyPKCS7(sig, content, ca.Root()); err != nil {
				t.Errorf("pkcs7: %v", err)
			}
			if out, ok := verifyOpenSSL(t, sig, content, ca.RootPath(), false, "-purpose", "any"); !ok {
				t.Errorf("openssl rejects: %s", out)
			}
			if out, ok := verifyOpenSSL(t, PEM(sig), content, ca.RootPath(), true); !ok {
				t.Errorf("openssl rejects the PEM form under the smimesign purpose: %s", out)
			}

			tampered := slices.Clone(content)
			if len(tampered) == 0 {
				tampered = []byte{0}
			} else {
				tampered[len(tampered)/2] ^= 0x01
			}
			if err := verifyPKCS7(sig, tampered, ca.Root()); err == nil {
				t.Error("pkcs7 accepts changed content")
			}
			if out, ok := verifyOpenSSL(t, sig, tampered, ca.RootPath(), false, "-purpose", "any"); ok ||
				!strings.Contains(out, "CMS_SignerInfo_verify_content") {
				t.Errorf("openssl on changed content says: %s", out)
			}
		})
	}
}

// TestOpenSSLSignaturesVerify signs with openssl and the certificates Issue
// makes, and verifies with digitorus/pkcs7: interop the other way.
// openssl cms -sign is detached unless -nodetach is given.
func TestOpenSSLSignaturesVerify(t *testing.T) {
	tests := []struct {
		give Algorithm
		want error
	}{
		{give: ECDSA, want: nil},
		{give: RSA, want: nil},
	}
	for _, tt := range tests {
		t.Run(string(tt.give), func(t *testing.T) {
			ca, iss := signer(t, tt.give)
			dir := t.TempDir()
			content := []byte("<edXMLEnvelope>Văn bản</edXMLEnvelope>\n")
			in := writeFile(t, filepath.Join(dir, "packet.xml"), content)
			out := filepath.Join(dir, "packet.p7s")
			if msg, ok := runOpenSSL(t, "cms", "-sign", "-binary", "-in", in, "-signer", iss.CertPath,
				"-inkey", iss.KeyPath, "-certfile", iss.ChainPath, "-outform", "DER", "-nosmimecap", "-out", out); !ok {
				t.Fatalf("openssl cms -sign: %s", msg)
			}
			sig, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if err := verifyPKCS7(sig, content, ca.Root()); !errors.Is(err, tt.want) {
				t.Errorf("pkcs7 = %v, want %v", err, tt.want)
			}
			if err := verifyPKCS7(sig, append(content, ' '), ca.Root()); err == nil {
				t.Error("pkcs7 accepts changed content")
			}
		})
	}
}

// TestSignDetachedCertificateChecks shows that verifiers reject signatures by
// certificates Issue made unfit on purpose.
func TestSignDetachedCertificateChecks(t *testing.T) {
	ca, _ := signer(t, ECDSA)
	now := time.Now()
	tests := []struct {
		name        string
		give        IssueOptions
		wantOpenSSL bool // accepted by openssl cms -verify (purpose smimesign)
		wantPKCS7   bool // accepted by digitorus/pkcs7
	}{
		{name: "valid", give: IssueOptions{}, wantOpenSSL: true, wantPKCS7: true},
		{name: "expired", give: IssueOptions{NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-24 * time.Hour)}},
		{name: "not yet valid", give: IssueOptions{NotBefore: now.Add(24 * time.Hour)}},
		{name: "no digitalSignature", give: IssueOptions{KeyUsage: x509.KeyUsageKeyEncipherment}, wantPKCS7: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iss, err := ca.Issue("000.00.00.G22", "Văn phòng Chính phủ", tt.give)
			if err != nil {
				t.Fatal(err)
			}
			content := []byte("hello")
			sig, err := SignDetached(bytes.NewReader(content), iss.Cert, iss.Key, iss.Chain, SignOptions{})
			if err != nil {
				t.Fatal(err)
			}
			out, ok := verifyOpenSSL(t, sig, content, ca.RootPath(), false)
			if ok != tt.wantOpenSSL {
				t.Errorf("openssl accepted = %v, want %v: %s", ok, tt.wantOpenSSL, out)
			}
			if err := verifyPKCS7(sig, content, ca.Root()); (err == nil) != tt.wantPKCS7 {
				t.Errorf("pkcs7 = %v, want accepted %v", err, tt.wantPKCS7)
			}
		})
	}
}

// cmsFields is a SignDetached result taken apart.
type cmsFields struct {
	contentType   asn1.ObjectIdentifier
	version       int
	digestAlgs    []pkix.AlgorithmIdentifier
	encap         []byte // the EncapsulatedContentInfo's content octets
	certs         []*x509.Certificate
	signerVersion int
	issuer        []byte
	serial        *big.Int
	digestAlg     asn1.ObjectIdentifier
	attrs         map[string][]byte // OID -> the one value, full DER
	attrOrder     []string
	attrsTag      byte
	sigAlg        pkix.AlgorithmIdentifier
	signature     []byte
}

func parseCMS(t *testing.T, der []byte) cmsFields {
	t.Helper()
	var ci struct {
		ContentType asn1.ObjectIdentifier
		Content     asn1.RawValue `asn1:"explicit,tag:0"`
	}
	if rest, err := asn1.Unmarshal(der, &ci); err != nil || len(rest) != 0 {
		t.Fatalf("ContentInfo: %v, %d trailing bytes", err, len(rest))
	}
	var sd struct {
		Version          int
		DigestAlgorithms []pkix.AlgorithmIdentifier `asn1:"set"`
		Encap            asn1.RawValue
		Certificates     asn1.RawValue
		SignerInfos      []struct {
			Version int
			SID     struct {
				Issuer asn1.RawValue
				Serial *big.Int
			}
			DigestAlgorithm    pkix.AlgorithmIdentifier
			SignedAttrs        asn1.RawValue
			SignatureAlgorithm pkix.AlgorithmIdentifier
			Signature          []byte
		} `asn1:"set"`
	}
	if rest, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil || len(rest) != 0 {
		t.Fatalf("SignedData: %v, %d trailing bytes", err, len(rest))
	}
	if sd.Certificates.Class != asn1.ClassContextSpecific || sd.Certificates.Tag != 0 {
		t.Fatalf("certificates tag %d/%d", sd.Certificates.Class, sd.Certificates.Tag)
	}
	certs, err := x509.ParseCertificates(sd.Certificates.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if len(sd.SignerInfos) != 1 {
		t.Fatalf("%d signer infos", len(sd.SignerInfos))
	}
	si := sd.SignerInfos[0]
	f := cmsFields{
		contentType: ci.ContentType, version: sd.Version, digestAlgs: sd.DigestAlgorithms,
		encap: sd.Encap.Bytes, certs: certs, signerVersion: si.Version,
		issuer: si.SID.Issuer.FullBytes, serial: si.SID.Serial, digestAlg: si.DigestAlgorithm.Algorithm,
		attrs: map[string][]byte{}, attrsTag: si.SignedAttrs.FullBytes[0],
		sigAlg: si.SignatureAlgorithm, signature: si.Signature,
	}
	set := slices.Clone(si.SignedAttrs.FullBytes)
	set[0] = 0x31
	var attrs []struct {
		Type   asn1.ObjectIdentifier
		Values []asn1.RawValue `asn1:"set"`
	}
	if _, err := asn1.UnmarshalWithParams(set, &attrs, "set"); err != nil {
		t.Fatal(err)
	}
	for _, a := range attrs {
		if len(a.Values) != 1 {
			t.Errorf("attribute %s has %d values", a.Type, len(a.Values))
			continue
		}
		f.attrs[a.Type.String()] = a.Values[0].FullBytes
		f.attrOrder = append(f.attrOrder, a.Type.String())
	}
	return f
}

func TestSignDetachedStructure(t *testing.T) {
	_, ecIss := signer(t, ECDSA)
	_, rsaIss := signer(t, RSA)
	content := []byte("exact bytes\r\n")
	digest := sha256.Sum256(content)
	tests := []struct {
		name     string
		iss      *Issued
		time     time.Time
		wantSig  string // signatureAlgorithm OID
		wantNull bool   // signatureAlgorithm parameters are NULL
		wantTime []byte // DER of the signingTime value
	}{
		{name: "ecdsa", iss: ecIss, time: time.Date(2026, 1, 2, 3, 4, 5, 999, time.FixedZone("ICT", 7*3600)),
			wantSig: "1.2.840.10045.4.3.2", wantTime: append([]byte{0x17, 13}, "260101200405Z"...)},
		{name: "rsa", iss: rsaIss, time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
			wantSig: "1.2.840.113549.1.1.1", wantNull: true, wantTime: append([]byte{0x17, 13}, "260102030405Z"...)},
		{name: "after 2049", iss: ecIss, time: time.Date(2050, 1, 2, 3, 4, 5, 0, time.UTC),
			wantSig: "1.2.840.10045.4.3.2", wantTime: append([]byte{0x18, 15}, "20500102030405Z"...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chain := append(slices.Clone(tt.iss.Chain), tt.iss.Cert) // a duplicate to drop
			der, err := SignDetached(bytes.NewReader(content), tt.iss.Cert, tt.iss.Key, chain, SignOptions{Time: tt.time})
			if err != nil {
				t.Fatal(err)
			}
			f := parseCMS(t, der)
			if f.contentType.String() != "1.2.840.113549.1.7.2" || f.version != 1 || f.signerVersion != 1 {
				t.Errorf("content type %s, versions %d, %d", f.contentType, f.version, f.signerVersion)
			}
			if len(f.digestAlgs) != 1 || f.digestAlgs[0].Algorithm.String() != "2.16.840.1.101.3.4.2.1" ||
				len(f.digestAlgs[0].Parameters.FullBytes) != 0 || f.digestAlg.String() != "2.16.840.1.101.3.4.2.1" {
				t.Errorf("digest algorithms %v, %s", f.digestAlgs, f.digestAlg)
			}
			// Detached: the EncapsulatedContentInfo holds only id-data.
			if want := []byte{6, 9, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 1, 7, 1}; !bytes.Equal(f.encap, want) {
				t.Errorf("encapContentInfo % x, want % x", f.encap, want)
			}
			if len(f.certs) != 2 || !slices.ContainsFunc(f.certs, tt.iss.Cert.Equal) ||
				!slices.ContainsFunc(f.certs, tt.iss.Chain[0].Equal) {
				t.Errorf("certificates: %d, want the signer and the intermediate", len(f.certs))
			}
			if !bytes.Equal(f.issuer, tt.iss.Cert.RawIssuer) || f.serial.Cmp(tt.iss.Cert.SerialNumber) != 0 {
				t.Error("sid is not the signer's issuer and serial")
			}
			if f.attrsTag != 0xa0 {
				t.Errorf("signedAttrs tag %#x, want 0xa0", f.attrsTag)
			}
			want := map[string][]byte{
				"1.2.840.113549.1.9.3": {6, 9, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 1, 7, 1},
				"1.2.840.113549.1.9.5": tt.wantTime,
				"1.2.840.113549.1.9.4": append([]byte{4, 32}, digest[:]...),
			}
			if len(f.attrs) != len(want) {
				t.Errorf("%d signed attributes, want %d", len(f.attrs), len(want))
			}
			for oid, v := range want {
				if !bytes.Equal(f.attrs[oid], v) {
					t.Errorf("attribute %s = % x, want % x", oid, f.attrs[oid], v)
				}
			}
			if f.sigAlg.Algorithm.String() != tt.wantSig || bytes.Equal(f.sigAlg.Parameters.FullBytes, asn1.NullBytes) != tt.wantNull {
				t.Errorf("signature algorithm %s % x", f.sigAlg.Algorithm, f.sigAlg.Parameters.FullBytes)
			}
		})
	}
}

// TestSignDetachedIsDER checks the encoding against openssl's own DER
// re-encoding of the same structure: SET OF order, lengths, tags.
func TestSignDetachedIsDER(t *testing.T) {
	for _, alg := range []Algorithm{ECDSA, RSA} {
		t.Run(string(alg), func(t *testing.T) {
			_, iss := signer(t, alg)
			der, err := SignDetached(strings.NewReader("x"), iss.Cert, iss.Key, iss.Chain, SignOptions{})
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			in := writeFile(t, filepath.Join(dir, "in.der"), der)
			out := filepath.Join(dir, "out.der")
			if msg, ok := runOpenSSL(t, "cms", "-cmsout", "-inform", "DER", "-in", in, "-outform", "DER", "-out", out); !ok {
				t.Fatal(msg)
			}
			again, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, der) {
				t.Errorf("openssl re-encodes %d bytes as %d different bytes", len(der), len(again))
			}
		})
	}
}

// TestPEM checks PEM against what openssl cms -outform PEM writes.
func TestPEM(t *testing.T) {
	_, iss := signer(t, ECDSA)
	der, err := SignDetached(strings.NewReader("x"), iss.Cert, iss.Key, iss.Chain, SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in := writeFile(t, filepath.Join(dir, "in.der"), der)
	out := filepath.Join(dir, "out.pem")
	if msg, ok := runOpenSSL(t, "cms", "-cmsout", "-inform", "DER", "-in", in, "-outform", "PEM", "-out", out); !ok {
		t.Fatal(msg)
	}
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if got := PEM(der); !bytes.Equal(got, want) {
		t.Errorf("PEM =\n%s\nopenssl writes\n%s", got, want)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestSignDetachedErrors(t *testing.T) {
	_, ec := signer(t, ECDSA)
	_, rs := signer(t, RSA)
	edPub, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	edDER, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: big.NewInt(1)},
		&x509.Certificate{SerialNumber: big.NewInt(1)}, edPub, edKey)
	if err != nil {
		t.Fatal(err)
	}
	edCert, err := x509.ParseCertificate(edDER)
	if err != nil {
		t.Fatal(err)
	}
	otherEC, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		content io.Reader
		cert    *x509.Certificate
		key     crypto.Signer
		opts    SignOptions
		want    string // a substring of the error, or a sentinel's text
		wantErr error
	}{
		{name: "rsa key, ecdsa cert", content: strings.NewReader("x"), cert: ec.Cert, key: rs.Key, wantErr: ErrKeyMismatch},
		{name: "other ecdsa key", content: strings.NewReader("x"), cert: ec.Cert, key: otherEC, wantErr: ErrKeyMismatch},
		{name: "ed25519", content: strings.NewReader("x"), cert: edCert, key: edKey, wantErr: ErrUnsupportedKey},
		{name: "sha1", content: strings.NewReader("x"), cert: ec.Cert, key: ec.Key, opts: SignOptions{Hash: crypto.SHA1}, wantErr: ErrUnsupportedHash},
		{name: "md5", content: strings.NewReader("x"), cert: rs.Cert, key: rs.Key, opts: SignOptions{Hash: crypto.MD5}, wantErr: ErrUnsupportedHash},
		{name: "nil cert", content: strings.NewReader("x"), key: ec.Key, want: "nil certificate"},
		{name: "nil key", content: strings.NewReader("x"), cert: ec.Cert, want: "nil certificate or key"},
		{name: "read error", content: failingReader{}, cert: ec.Cert, key: ec.Key, want: "disk on fire"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sig, err := SignDetached(tt.content, tt.cert, tt.key, nil, tt.opts)
			if err == nil || sig != nil {
				t.Fatalf("SignDetached = %d bytes, %v; want an error", len(sig), err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

// patternReader yields n deterministic bytes without allocating.
type patternReader struct{ off, n int64 }

func (r *patternReader) Read(p []byte) (int, error) {
	if r.off >= r.n {
		return 0, io.EOF
	}
	if rem := r.n - r.off; int64(len(p)) > rem {
		p = p[:rem]
	}
	for i := range p {
		p[i] = byte((r.off + int64(i)) * 31 >> 3)
	}
	r.off += int64(len(p))
	return len(p), nil
}

func TestSignDetachedStreamsInConstantMemory(t *testing.T) {
	const size = 200 << 20
	const budget = 16 << 20
	_, iss := signer(t, ECDSA)

	want := sha256.New()
	if _, err := io.Copy(want, &patternReader{n: size}); err != nil {
		t.Fatal(err)
	}

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	der, err := SignDetached(&patternReader{n: size}, iss.Cert, iss.Key, iss.Chain, SignOptions{})
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > budget {
		t.Errorf("signing %d MiB allocated %d KiB, budget %d KiB", size>>20, alloc>>10, budget>>10)
	}
	f := parseCMS(t, der)
	if got := f.attrs["1.2.840.113549.1.9.4"]; !bytes.Equal(got[2:], want.Sum(nil)) {
		t.Error("messageDigest is not the digest of the stream")
	}
}

// TestSignDetachedGolden pins the wire format: RSA PKCS#1 v1.5 signatures are
// deterministic, so a fixed key, certificate and time give fixed bytes.
// Regenerate with go test -run TestSignDetachedGolden -update.
func TestSignDetachedGolden(t *testing.T) {
	dir := filepath.Join("testdata", "golden")
	content := []byte("<edXMLEnvelope>golden</edXMLEnvelope>\n")
	at := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	if *update {
		ca, err := Init(t.TempDir(), InitOptions{Algorithm: RSA, NotBefore: at.Add(-24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		iss, err := ca.Issue("000.00.00.G22", "Văn phòng Chính phủ", IssueOptions{Algorithm: RSA,
			NotBefore: at.Add(-24 * time.Hour), NotAfter: at.Add(4 * 365 * 24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for from, to := range map[string]string{
			ca.RootPath(): "root.pem", iss.CertPath: "cert.pem", iss.KeyPath: "key.pem", iss.ChainPath: "chain.pem",
		} {
			data, err := os.ReadFile(from)
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(dir, to), data)
		}
		writeFile(t, filepath.Join(dir, "content.xml"), content)
	}
	certs, err := LoadCertificates(filepath.Join(dir, "cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	chain, err := LoadCertificates(filepath.Join(dir, "chain.pem"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := LoadPrivateKey(filepath.Join(dir, "key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := SignDetached(bytes.NewReader(content), certs[0], key, chain, SignOptions{Time: at})
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join(dir, "content.xml.p7s")
	if *update {
		writeFile(t, golden, got)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("signature differs from %s (run with -update if the change is intended)", golden)
	}
	roots, err := LoadCertificates(filepath.Join(dir, "root.pem"))
	if err != nil {
		t.Fatal(err)
	}
	// digitorus/pkcs7 checks the chain at the signingTime, so the golden
	// file keeps verifying after its certificates expire.
	if err := verifyPKCS7(want, content, roots[0]); err != nil {
		t.Errorf("golden signature does not verify: %v", err)
	}
}

func BenchmarkSignDetached(b *testing.B) {
	content := make([]byte, 50_000)
	_, _ = rand.Read(content)
	for _, alg := range []Algorithm{ECDSA, RSA} {
		b.Run(fmt.Sprintf("%s/50KB", alg), func(b *testing.B) {
			_, iss := signer(b, alg)
			b.SetBytes(int64(len(content)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := SignDetached(bytes.NewReader(content), iss.Cert, iss.Key, iss.Chain, SignOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
