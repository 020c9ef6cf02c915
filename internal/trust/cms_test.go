package trust_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/lienthong/lienthong/internal/organ"
	"github.com/lienthong/lienthong/internal/pki"
	"github.com/lienthong/lienthong/internal/tooltest"
	"github.com/lienthong/lienthong/internal/trust"
)

const fixtures = "../edxml/testdata/fixtures"

func packet(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type env struct {
	ca  *pki.CA
	g22 *pki.Issued
}

func newEnv(t testing.TB, opts pki.InitOptions) *env {
	t.Helper()
	ca, err := pki.Init(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return &env{ca: ca, g22: issue(t, ca, "000.00.00.G22", pki.IssueOptions{Algorithm: opts.Algorithm})}
}

func issue(t testing.TB, ca *pki.CA, organID string, opts pki.IssueOptions) *pki.Issued {
	t.Helper()
	iss, err := ca.Issue(organID, "Cơ quan "+organID, opts)
	if err != nil {
		t.Fatal(err)
	}
	return iss
}

func sign(t testing.TB, data []byte, iss *pki.Issued) []byte {
	t.Helper()
	sig, err := pki.SignDetached(bytes.NewReader(data), iss.Cert, iss.Key, iss.Chain, pki.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func verifier(t testing.TB, cfg trust.Config, roots ...*x509.Certificate) *trust.Verifier {
	t.Helper()
	cfg.Roots = append(cfg.Roots, roots...)
	v, err := trust.NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func digests(data []byte) trust.Content {
	r := trust.NewDigestReader(bytes.NewReader(data), crypto.SHA1, crypto.SHA256, crypto.SHA384, crypto.SHA512)
	if _, err := r.Read(make([]byte, len(data)+1)); err != nil {
		panic(err)
	}
	return r.Digests()
}

func codes(ps []trust.Problem) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, p.Code)
	}
	return out
}

var now = time.Now()

func TestVerifyCMS(t *testing.T) {
	data := packet(t, "edoc-new.xml")
	// The CA dates from three days ago, so audits can look back.
	e := newEnv(t, pki.InitOptions{NotBefore: now.Add(-72 * time.Hour)})
	rsa := newEnv(t, pki.InitOptions{Algorithm: pki.RSA})
	other := newEnv(t, pki.InitOptions{})
	g12 := issue(t, e.ca, "000.00.00.G12", pki.IssueOptions{})
	noUID := issue(t, e.ca, "000.00.00.G22", pki.IssueOptions{NoUID: true})
	expired := issue(t, e.ca, "000.00.00.G22", pki.IssueOptions{NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-24 * time.Hour)})
	future := issue(t, e.ca, "000.00.00.G22", pki.IssueOptions{NotBefore: now.Add(24 * time.Hour), NotAfter: now.Add(48 * time.Hour)})
	encipher := issue(t, e.ca, "000.00.00.G22", pki.IssueOptions{KeyUsage: x509.KeyUsageKeyEncipherment})
	revoked := issue(t, e.ca, "000.00.00.G22", pki.IssueOptions{NotBefore: now.Add(-48 * time.Hour)})
	if _, err := e.ca.CRL([]*big.Int{revoked.Cert.SerialNumber}, pki.CRLOptions{RevokedAt: now.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	crl := loadCRL(t, e.ca.CRLPath(false))
	pinned, err := organ.NewDirectory([]organ.Agency{{ID: "000.00.00.G22", Name: "VPCP", CertSHA256: []string{trust.Fingerprint(noUID.Cert)}}})
	if err != nil {
		t.Fatal(err)
	}
	good := sign(t, data, e.g22)
	flipped := slices.Clone(good)
	flipped[len(flipped)-1] ^= 0x01

	tests := []struct {
		name    string
		sig     []byte
		content []byte
		from    string
		at      time.Time
		cfg     trust.Config
		roots   []*x509.Certificate
		unbound bool // VerifyCMSUnbound
		want    []string
		warn    []string
	}{
		{name: "valid ECDSA", sig: good, want: []string{}, warn: []string{trust.CodeRevocationUnknown, trust.CodeRevocationUnknown}},
		{name: "valid with CRL", sig: good, cfg: trust.Config{CRLs: []*x509.RevocationList{crl}}, want: []string{}, warn: []string{trust.CodeRevocationUnknown}},
		{name: "valid PEM", sig: pki.PEM(good), want: []string{}},
		{name: "valid RSA", sig: sign(t, data, rsa.g22), roots: []*x509.Certificate{rsa.ca.Root()}, want: []string{}},
		{name: "garbage", sig: []byte("not a signature at all"), want: []string{trust.CodeMalformed}},
		{name: "empty", sig: []byte{}, want: []string{trust.CodeMalformed}},
		{name: "truncated", sig: good[:len(good)/2], want: []string{trust.CodeMalformed}},
		{name: "too large", sig: good, cfg: trust.Config{MaxSignatureBytes: 100}, want: []string{trust.CodeMalformed}},
		{name: "too many certificates", sig: good, cfg: trust.Config{MaxCertificates: 1}, want: []string{trust.CodeMalformed}},
		{name: "other content", sig: good, content: packet(t, "edoc-update.xml"), want: []string{trust.CodeDigestMismatch}},
		{name: "one byte changed", sig: good, content: append(slices.Clone(data[:100]), append([]byte{data[100] ^ 1}, data[101:]...)...), want: []string{trust.CodeDigestMismatch}},
		{name: "signature bytes changed", sig: flipped, want: []string{trust.CodeInvalid}},
		{name: "unknown root", sig: good, roots: []*x509.Certificate{other.ca.Root()}, cfg: trust.Config{}, want: []string{trust.CodeUntrusted}},
		{name: "expired", sig: sign(t, data, expired), want: []string{trust.CodeExpired}},
		{name: "expired at audit time", sig: good, at: now.Add(3 * 365 * 24 * time.Hour), want: []string{trust.CodeExpired}},
		{name: "valid at audit time before expiry", sig: sign(t, data, expired), at: now.Add(-36 * time.Hour), want: []string{}},
		{name: "not yet valid", sig: sign(t, data, future), want: []string{trust.CodeNotYetValid}},
		{name: "no signing key usage", sig: sign(t, data, encipher), want: []string{trust.CodeUntrusted}},
		{name: "revoked", sig: sign(t, data, revoked), cfg: trust.Config{CRLs: []*x509.RevocationList{crl}}, want: []string{trust.CodeRevoked}},
		{name: "revoked after the packet arrived", sig: sign(t, data, revoked), at: now.Add(-2 * time.Hour), cfg: trust.Config{CRLs: []*x509.RevocationList{crl}}, want: []string{}},
		{name: "unknown revocation, hard fail", sig: good, cfg: trust.Config{Revocation: trust.HardFail}, want: []string{trust.CodeUntrusted}},
		{name: "another agency's certificate", sig: sign(t, data, g12), want: []string{trust.CodeSignerMismatch}},
		{name: "no UID", sig: sign(t, data, noUID), want: []string{trust.CodeSignerMismatch}},
		{name: "pinned certificate without UID", sig: sign(t, data, noUID), cfg: trust.Config{Directory: pinned}, want: []string{}},
		{name: "pin refuses another certificate", sig: good, cfg: trust.Config{Directory: pinned}, want: []string{trust.CodeSignerMismatch}},
		{name: "no sender", sig: good, from: "-", want: []string{trust.CodeSignerMismatch}},
		{name: "unbound: a person's certificate", sig: sign(t, data, noUID), unbound: true, want: []string{}},
		{name: "unbound: another agency's certificate", sig: sign(t, data, g12), unbound: true, want: []string{}},
		{name: "unbound: still judges the chain", sig: good, roots: []*x509.Certificate{other.ca.Root()}, unbound: true, want: []string{trust.CodeUntrusted}},
		{name: "unbound: still judges the digest", sig: good, content: packet(t, "edoc-update.xml"), unbound: true, want: []string{trust.CodeDigestMismatch}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			roots := tt.roots
			if roots == nil {
				roots = []*x509.Certificate{e.ca.Root()}
			}
			content := tt.content
			if content == nil {
				content = data
			}
			from := tt.from
			switch from {
			case "":
				from = "000.00.00.G22"
			case "-":
				from = ""
			}
			at := tt.at
			if at.IsZero() {
				at = now
			}
			v := verifier(t, tt.cfg, roots...)
			s := v.VerifyCMS(context.Background(), tt.sig, digests(content), from, at)
			if tt.unbound {
				s = v.VerifyCMSUnbound(context.Background(), tt.sig, digests(content), at)
			}
			if got := codes(s.Errors); !slices.Equal(got, tt.want) {
				t.Fatalf("errors %v, want %v (%v)", got, tt.want, s.Errors)
			}
			if s.Valid != (len(tt.want) == 0) {
				t.Errorf("valid = %v", s.Valid)
			}
			if tt.warn != nil && !slices.Equal(codes(s.Warnings), tt.warn) {
				t.Errorf("warnings %v, want %v", s.Warnings, tt.warn)
			}
		})
	}
}

func TestReportDescribesSigner(t *testing.T) {
	data := packet(t, "edoc-new.xml")
	e := newEnv(t, pki.InitOptions{})
	s := verifier(t, trust.Config{}, e.ca.Root()).VerifyCMS(context.Background(), sign(t, data, e.g22), digests(data), "000.00.00.G22", now)
	if !s.Valid || s.Type != trust.TypeCMS || s.Signer.OrganID != "000.00.00.G22" || s.Signer.SHA256 != trust.Fingerprint(e.g22.Cert) {
		t.Fatalf("report %+v", s)
	}
	if s.SignedAt == nil || s.SignedAt.Sub(now).Abs() > time.Minute || len(s.Chain) != 3 || !s.CheckedAt.Equal(now) {
		t.Errorf("signedAt %v chain %d checkedAt %v", s.SignedAt, len(s.Chain), s.CheckedAt)
	}
	for _, c := range []string{"parse", "digest", "signature", "validity", "key-usage", "chain", "revocation", "binding:uid"} {
		if !slices.Contains(s.Checks, c) {
			t.Errorf("check %q not recorded in %v", c, s.Checks)
		}
	}
}

// A signature backdated by its signer still expires with the certificate:
// validity is judged when the hub receives the packet.
func TestBackdatedSignatureIsExpired(t *testing.T) {
	data := packet(t, "edoc-new.xml")
	e := newEnv(t, pki.InitOptions{})
	old := issue(t, e.ca, "000.00.00.G22", pki.IssueOptions{NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-24 * time.Hour)})
	sig, err := pki.SignDetached(bytes.NewReader(data), old.Cert, old.Key, old.Chain, pki.SignOptions{Time: now.Add(-36 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	s := verifier(t, trust.Config{}, e.ca.Root()).VerifyCMS(context.Background(), sig, digests(data), "000.00.00.G22", now)
	if !slices.Equal(codes(s.Errors), []string{trust.CodeExpired}) {
		t.Errorf("errors %v", s.Errors)
	}
}

// A verified chain is reused only while every certificate in it is
// valid: once the intermediate expired, a leaf still inside its own
// validity is sig.expired, as a verifier without the cached chain says.
func TestCachedChainEndsWithTheIntermediate(t *testing.T) {
	e := newEnv(t, pki.InitOptions{})
	interEnd := e.ca.Intermediate().NotAfter
	leaf := issue(t, e.ca, "000.00.00.G22", pki.IssueOptions{NotAfter: interEnd.Add(30 * 24 * time.Hour)})
	v := verifier(t, trust.Config{}, e.ca.Root())
	if s := trust.CheckChainForTest(v, leaf.Cert, leaf.Chain, "000.00.00.G22", interEnd.Add(-time.Hour)); !s.Valid {
		t.Fatalf("before the intermediate's NotAfter: %v", s.Errors)
	}
	fresh := verifier(t, trust.Config{}, e.ca.Root())
	for name, v := range map[string]*trust.Verifier{"cached": v, "fresh": fresh} {
		s := trust.CheckChainForTest(v, leaf.Cert, leaf.Chain, "000.00.00.G22", interEnd.Add(time.Hour))
		if !slices.Equal(codes(s.Errors), []string{trust.CodeExpired}) {
			t.Errorf("%s, after the intermediate's NotAfter: errors %v, want [%s]", name, s.Errors, trust.CodeExpired)
		}
	}
}

func loadCRL(t testing.TB, path string) *x509.RevocationList {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	crl, err := trust.ParseCRL(b)
	if err != nil {
		t.Fatal(err)
	}
	return crl
}

// CRLs are fetched from distribution points, cached, and bounded.
func TestCRLDistributionPoint(t *testing.T) {
	data := packet(t, "edoc-new.xml")
	var hits int
	srv := httptest.NewUnstartedServer(nil)
	srv.Start()
	defer srv.Close()
	e := newEnv(t, pki.InitOptions{CRLBaseURL: srv.URL})
	revoked := issue(t, e.ca, "000.00.00.G22", pki.IssueOptions{})
	if _, err := e.ca.CRL([]*big.Int{revoked.Cert.SerialNumber}, pki.CRLOptions{Root: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ca.CRL([]*big.Int{revoked.Cert.SerialNumber}, pki.CRLOptions{RevokedAt: now.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	// One server serves both lists by path.
	inter, _ := os.ReadFile(e.ca.CRLPath(false))
	root, _ := os.ReadFile(e.ca.CRLPath(true))
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		if filepath.Base(r.URL.Path) == "root.crl" {
			_, _ = w.Write(root)
			return
		}
		_, _ = w.Write(inter)
	})
	v := verifier(t, trust.Config{FetchCRLs: true}, e.ca.Root())
	s := v.VerifyCMS(context.Background(), sign(t, data, revoked), digests(data), "000.00.00.G22", now)
	if !slices.Equal(codes(s.Errors), []string{trust.CodeRevoked}) {
		t.Fatalf("errors %v", s.Errors)
	}
	s = v.VerifyCMS(context.Background(), sign(t, data, e.g22), digests(data), "000.00.00.G22", now)
	if !s.Valid || len(s.Warnings) != 0 {
		t.Fatalf("errors %v warnings %v", s.Errors, s.Warnings)
	}
	if hits != 2 {
		t.Errorf("%d fetches, want 2 (one per list, then cached)", hits)
	}
	small := verifier(t, trust.Config{FetchCRLs: true, MaxCRLBytes: 10, Revocation: trust.HardFail}, e.ca.Root())
	s = small.VerifyCMS(context.Background(), sign(t, data, e.g22), digests(data), "000.00.00.G22", now)
	if !slices.Equal(codes(s.Errors), []string{trust.CodeUntrusted}) {
		t.Errorf("oversized CRL: errors %v", s.Errors)
	}
}

func TestOCSP(t *testing.T) {
	data := packet(t, "edoc-new.xml")
	e := newEnv(t, pki.InitOptions{})
	key, err := pki.LoadPrivateKey(filepath.Join(e.ca.Dir(), pki.IntermediateKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	revokedSerial := new(big.Int)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := make([]byte, 4096)
		n, _ := r.Body.Read(body)
		req, err := ocsp.ParseRequest(body[:n])
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		tmpl := ocsp.Response{Status: ocsp.Good, SerialNumber: req.SerialNumber, ThisUpdate: now.Add(-time.Minute), NextUpdate: now.Add(time.Hour)}
		if req.SerialNumber.Cmp(revokedSerial) == 0 {
			tmpl.Status, tmpl.RevokedAt = ocsp.Revoked, now.Add(-time.Minute)
		}
		resp, err := ocsp.CreateResponse(e.ca.Intermediate(), e.ca.Intermediate(), tmpl, key)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		_, _ = w.Write(resp)
	}))
	defer srv.Close()
	// The dev PKI writes no OCSP URL, so the test sets one on a copy of
	// the certificate: OCSP is looked up by the certificate's own field.
	leaf := *e.g22.Cert
	leaf.OCSPServer = []string{srv.URL}
	revokedSerial.Set(leaf.SerialNumber)
	v := verifier(t, trust.Config{OCSP: true, Revocation: trust.HardFail}, e.ca.Root())
	s := trust.CheckChainForTest(v, &leaf, e.g22.Chain, "000.00.00.G22", now)
	if !slices.Equal(codes(s.Errors), []string{trust.CodeRevoked}) {
		t.Errorf("errors %v", s.Errors)
	}
	revokedSerial.SetInt64(0)
	s = trust.CheckChainForTest(v, &leaf, e.g22.Chain, "000.00.00.G22", now)
	// The intermediate has no OCSP URL and no CRL: hard fail refuses it.
	if !slices.Equal(codes(s.Errors), []string{trust.CodeUntrusted}) {
		t.Errorf("errors %v", s.Errors)
	}
	_ = data
}

// Signatures made by openssl, an implementation we did not write.
func TestOpenSSLSignatures(t *testing.T) {
	tooltest.Require(t, "openssl")
	data := packet(t, "edoc-new-two-recipients.xml")
	dir := t.TempDir()
	file := filepath.Join(dir, "packet.xml")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	ecdsa := newEnv(t, pki.InitOptions{})
	rsa := newEnv(t, pki.InitOptions{Algorithm: pki.RSA})
	tests := []struct {
		name string
		env  *env
		args []string
		cfg  trust.Config
		want []string
	}{
		{"ecdsa sha256", ecdsa, nil, trust.Config{}, []string{}},
		{"rsa sha256", rsa, nil, trust.Config{}, []string{}},
		{"rsa sha512", rsa, []string{"-md", "sha512"}, trust.Config{}, []string{}},
		{"BER with content streamed in", rsa, []string{"-stream"}, trust.Config{}, []string{trust.CodeMalformed}},
		{"no signed attributes", rsa, []string{"-noattr"}, trust.Config{}, []string{}},
		{"sha1 refused", rsa, []string{"-md", "sha1"}, trust.Config{}, []string{trust.CodeInvalid}},
		{"sha1 allowed", rsa, []string{"-md", "sha1"}, trust.Config{AllowSHA1: true}, []string{}},
		{"content attached", rsa, []string{"-nodetach"}, trust.Config{}, []string{trust.CodeMalformed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(dir, "sig.der")
			args := append([]string{"cms", "-sign", "-binary", "-in", file, "-signer", tt.env.g22.CertPath, "-inkey", tt.env.g22.KeyPath,
				"-certfile", tt.env.g22.ChainPath, "-outform", "DER", "-out", out, "-nosmimecap"}, tt.args...)
			if b, err := exec.Command("openssl", args...).CombinedOutput(); err != nil {
				t.Fatalf("openssl: %v\n%s", err, b)
			}
			sig, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			s := verifier(t, tt.cfg, tt.env.ca.Root()).VerifyCMS(context.Background(), sig, digests(data), "000.00.00.G22", now)
			if !slices.Equal(codes(s.Errors), tt.want) {
				t.Fatalf("errors %v, want %v", s.Errors, tt.want)
			}
			if len(tt.want) > 0 {
				return
			}
			changed := slices.Clone(data)
			changed[len(changed)/2] ^= 1
			s = verifier(t, tt.cfg, tt.env.ca.Root()).VerifyCMS(context.Background(), sig, digests(changed), "000.00.00.G22", now)
			if !slices.Equal(codes(s.Errors), []string{trust.CodeDigestMismatch}) {
				t.Errorf("changed content: errors %v", s.Errors)
			}
		})
	}
}

func FuzzVerifyCMS(f *testing.F) {
	data := packet(f, "status-01.xml")
	e := newEnv(f, pki.InitOptions{})
	good := sign(f, data, e.g22)
	f.Add(good)
	f.Add(good[:len(good)/3])
	f.Add([]byte{0x30, 0x80, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02, 0xa0, 0x80, 0x30, 0x80})
	v := verifier(f, trust.Config{}, e.ca.Root())
	content := digests(data)
	f.Fuzz(func(t *testing.T, sig []byte) {
		s := v.VerifyCMS(context.Background(), sig, content, "000.00.00.G22", now)
		if s.Valid && !bytes.Equal(sig, good) && len(sig) < len(good)-64 {
			t.Fatalf("a much shorter signature verified: %x", sig)
		}
		if !s.Valid && len(s.Errors) == 0 {
			t.Fatal("invalid without an error")
		}
	})
}

// An OCSP answer counts only from the issuer or a delegated OCSP signer, and
// only while current: the certificate in question cannot vouch for itself.
func TestOCSPResponderMustBeEntitled(t *testing.T) {
	e := newEnv(t, pki.InitOptions{})
	interKey, err := pki.LoadPrivateKey(filepath.Join(e.ca.Dir(), pki.IntermediateKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	type answer struct {
		responder *x509.Certificate
		key       crypto.Signer
		this      time.Time
		next      time.Time
	}
	var give answer
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := make([]byte, 4096)
		n, _ := r.Body.Read(body)
		req, err := ocsp.ParseRequest(body[:n])
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		tmpl := ocsp.Response{Status: ocsp.Good, SerialNumber: req.SerialNumber, ThisUpdate: give.this, NextUpdate: give.next}
		if give.responder != e.ca.Intermediate() {
			tmpl.Certificate = give.responder
		}
		resp, err := ocsp.CreateResponse(e.ca.Intermediate(), give.responder, tmpl, give.key)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		_, _ = w.Write(resp)
	}))
	defer srv.Close()
	leaf := *e.g22.Cert
	leaf.OCSPServer = []string{srv.URL}
	tests := []struct {
		name string
		give answer
		want bool // the leaf's status is accepted as good
	}{
		{"issuer, current", answer{e.ca.Intermediate(), interKey, now.Add(-time.Minute), now.Add(time.Hour)}, true},
		{"the leaf vouching for itself", answer{e.g22.Cert, e.g22.Key, now.Add(-time.Minute), now.Add(time.Hour)}, false},
		{"issuer, expired two years ago", answer{e.ca.Intermediate(), interKey, now.Add(-3 * 365 * 24 * time.Hour), now.Add(-2 * 365 * 24 * time.Hour)}, false},
		{"issuer, from the future", answer{e.ca.Intermediate(), interKey, now.Add(time.Hour), now.Add(2 * time.Hour)}, false},
	}
	v := verifier(t, trust.Config{OCSP: true, Revocation: trust.HardFail}, e.ca.Root())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			give = tt.give
			s := trust.CheckChainForTest(v, &leaf, e.g22.Chain, "000.00.00.G22", now)
			// The intermediate itself has no revocation source, so hard fail
			// always refuses; what matters is whose status was unknown.
			leafUnknown := len(s.Errors) > 0 && strings.Contains(s.Errors[0].Message, e.g22.Cert.Subject.String())
			if leafUnknown == tt.want {
				t.Errorf("errors %v", s.Errors)
			}
		})
	}
}

// Every configured CRL of an issuer is consulted, whatever their order.
func TestAllCRLsCount(t *testing.T) {
	data := packet(t, "edoc-new.xml")
	e := newEnv(t, pki.InitOptions{})
	empty := crlOf(t, e, nil)
	revoking := crlOf(t, e, []*big.Int{e.g22.Cert.SerialNumber})
	for _, order := range [][]*x509.RevocationList{{empty, revoking}, {revoking, empty}} {
		s := verifier(t, trust.Config{CRLs: order}, e.ca.Root()).VerifyCMS(context.Background(), sign(t, data, e.g22), digests(data), "000.00.00.G22", now)
		if !slices.Equal(codes(s.Errors), []string{trust.CodeRevoked}) {
			t.Errorf("errors %v", s.Errors)
		}
	}
}

func crlOf(t *testing.T, e *env, serials []*big.Int) *x509.RevocationList {
	t.Helper()
	der, err := e.ca.CRL(serials, pki.CRLOptions{RevokedAt: now.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	crl, err := trust.ParseCRL(der)
	if err != nil {
		t.Fatal(err)
	}
	return crl
}

// Two CAs naming one CRL URL: each one's certificates are judged by its own
// list only, whatever order they come in.
func TestFetchedCRLBelongsToItsIssuer(t *testing.T) {
	data := packet(t, "edoc-new.xml")
	var serve []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(serve) }))
	defer srv.Close()
	a := newEnv(t, pki.InitOptions{CRLBaseURL: srv.URL})
	b := newEnv(t, pki.InitOptions{CRLBaseURL: srv.URL})
	aCRL, err := a.ca.CRL(nil, pki.CRLOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v := verifier(t, trust.Config{FetchCRLs: true}, a.ca.Root(), b.ca.Root())
	serve = aCRL
	if s := v.VerifyCMS(context.Background(), sign(t, data, a.g22), digests(data), "000.00.00.G22", now); !s.Valid || len(s.Warnings) != 1 {
		t.Fatalf("A: errors %v warnings %v", s.Errors, s.Warnings)
	}
	// B's certificates name the same URL, which serves A's list: it must
	// not answer for B.
	s := v.VerifyCMS(context.Background(), sign(t, data, b.g22), digests(data), "000.00.00.G22", now)
	if !s.Valid || len(s.Warnings) != 2 {
		t.Errorf("B: errors %v warnings %v (want its leaf's status unknown)", s.Errors, s.Warnings)
	}
}
