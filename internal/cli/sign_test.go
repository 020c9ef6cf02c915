package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/digitorus/pkcs7"

	"github.com/lienthong/lienthong/internal/pdfsig"
	"github.com/lienthong/lienthong/internal/pdfsig/pdfsigtest"
	"github.com/lienthong/lienthong/internal/pki"
	"github.com/lienthong/lienthong/internal/tooltest"
	"github.com/lienthong/lienthong/internal/trust"
)

// signFixture is a CA with one agency certificate, made through the CLI.
type signFixture struct {
	dir  string
	root string
	iss  pkiIssued
}

func newSignFixture(t *testing.T, alg string) signFixture {
	t.Helper()
	dir := pkiNewCA(t, alg)
	return signFixture{dir: dir, root: filepath.Join(dir, "root.pem"), iss: pkiIssue(t, dir, "000.00.00.G22", "--algorithm", alg)}
}

// signOpenSSLVerify verifies a detached signature file over content with
// openssl and returns its output and whether it accepted.
func signOpenSSLVerify(t *testing.T, sigPath, contentPath, root, form string) (string, bool) {
	t.Helper()
	return pkiRunOpenSSL(t, "cms", "-verify", "-binary", "-inform", form, "-in", sigPath,
		"-content", contentPath, "-CAfile", root, "-out", os.DevNull)
}

func TestSign(t *testing.T) {
	fixtures := map[string]signFixture{"ecdsa": newSignFixture(t, "ecdsa"), "rsa": newSignFixture(t, "rsa")}
	tests := []struct {
		name     string
		alg      string
		flags    []string // beyond FILE --cert --key --chain
		toFile   bool     // -o, else stdout
		wantForm string
	}{
		{name: "ecdsa der stdout", alg: "ecdsa", wantForm: "DER"},
		{name: "ecdsa der file", alg: "ecdsa", toFile: true, wantForm: "DER"},
		{name: "ecdsa pem file", alg: "ecdsa", flags: []string{"--pem"}, toFile: true, wantForm: "PEM"},
		{name: "rsa der file", alg: "rsa", toFile: true, wantForm: "DER"},
		{name: "rsa pem stdout", alg: "rsa", flags: []string{"--pem"}, wantForm: "PEM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := fixtures[tt.alg]
			dir := t.TempDir()
			// Bytes that text-mode signing would change: CRLF, a lone CR, no final newline.
			content := []byte("<edXMLEnvelope>\r\nVăn bản\rcuối</edXMLEnvelope>")
			file := filepath.Join(dir, "packet.xml")
			if err := os.WriteFile(file, content, 0o600); err != nil {
				t.Fatal(err)
			}
			sigPath := filepath.Join(dir, "packet.p7s")
			args := append([]string{"sign", file, "--cert", fx.iss.Cert, "--key", fx.iss.Key, "--chain", fx.iss.Chain}, tt.flags...)
			args = append(args, map[bool][]string{true: {"-o", sigPath}, false: nil}[tt.toFile]...)
			code, out, errOut := run(t, args...)
			if code != ExitOK {
				t.Fatalf("sign = %d\n%s", code, errOut)
			}
			sig := map[bool][]byte{true: nil, false: []byte(out)}[tt.toFile]
			if tt.toFile {
				if out != "" {
					t.Errorf("stdout with -o: %q", out)
				}
				var err error
				if sig, err = os.ReadFile(sigPath); err != nil {
					t.Fatal(err)
				}
			} else if err := os.WriteFile(sigPath, sig, 0o600); err != nil {
				t.Fatal(err)
			}
			if got := bytes.HasPrefix(sig, []byte("-----BEGIN CMS-----\n")); got != (tt.wantForm == "PEM") {
				t.Errorf("PEM header present = %v, want form %s", got, tt.wantForm)
			}
			if msg, ok := signOpenSSLVerify(t, sigPath, file, fx.root, tt.wantForm); !ok {
				t.Errorf("openssl rejects the signature: %s", msg)
			}
			der := sig
			if b, _ := pem.Decode(sig); b != nil {
				der = b.Bytes
			}
			p7, err := pkcs7.Parse(der)
			if err != nil {
				t.Fatal(err)
			}
			p7.Content = content
			roots := x509.NewCertPool()
			rootCerts, err := pki.LoadCertificates(fx.root)
			if err != nil {
				t.Fatal(err)
			}
			roots.AddCert(rootCerts[0])
			if err := p7.VerifyWithChain(roots); err != nil {
				t.Errorf("pkcs7 rejects the signature: %v", err)
			}

			tampered := bytes.Replace(content, []byte("\r\n"), []byte("\n"), 1)
			if err := os.WriteFile(file, tampered, 0o600); err != nil {
				t.Fatal(err)
			}
			if msg, ok := signOpenSSLVerify(t, sigPath, file, fx.root, tt.wantForm); ok {
				t.Errorf("openssl accepts changed content: %s", msg)
			}
		})
	}
}

// TestSignStdin signs standard input when FILE is "-".
func TestSignStdin(t *testing.T) {
	fx := newSignFixture(t, "ecdsa")
	dir := t.TempDir()
	file := filepath.Join(dir, "in.xml")
	if err := os.WriteFile(file, []byte("from stdin"), 0o600); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	saved := os.Stdin
	os.Stdin = in
	t.Cleanup(func() { os.Stdin = saved })
	sigPath := filepath.Join(dir, "in.p7s")
	if code, _, errOut := run(t, "sign", "-", "--cert", fx.iss.Cert, "--key", fx.iss.Key, "--chain", fx.iss.Chain, "-o", sigPath); code != ExitOK {
		t.Fatalf("sign - = %d\n%s", code, errOut)
	}
	if msg, ok := signOpenSSLVerify(t, sigPath, file, fx.root, "DER"); !ok {
		t.Errorf("openssl rejects: %s", msg)
	}
}

// TestSignCertBundle puts the chain in the --cert file, as some tools do.
func TestSignCertBundle(t *testing.T) {
	fx := newSignFixture(t, "ecdsa")
	dir := t.TempDir()
	var bundle []byte
	for _, p := range []string{fx.iss.Cert, fx.iss.Chain} {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		bundle = append(bundle, data...)
	}
	certPath := filepath.Join(dir, "fullchain.pem")
	file := filepath.Join(dir, "f")
	sigPath := filepath.Join(dir, "f.p7s")
	for path, data := range map[string][]byte{certPath: bundle, file: []byte("x")} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if code, _, errOut := run(t, "sign", file, "--cert", certPath, "--key", fx.iss.Key, "-o", sigPath); code != ExitOK {
		t.Fatalf("sign = %d\n%s", code, errOut)
	}
	// The root alone is trusted: the intermediate must come from the signature.
	if msg, ok := signOpenSSLVerify(t, sigPath, file, fx.root, "DER"); !ok {
		t.Errorf("openssl rejects: %s", msg)
	}
}

func TestSignSigningTime(t *testing.T) {
	fx := newSignFixture(t, "ecdsa")
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		give string
		want time.Time
	}{
		{give: "2026-02-03T04:05:06Z", want: time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)},
		{give: "2026-02-03T11:05:06+07:00", want: time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			code, out, errOut := run(t, "sign", file, "--cert", fx.iss.Cert, "--key", fx.iss.Key, "--signing-time", tt.give)
			if code != ExitOK {
				t.Fatalf("sign = %d\n%s", code, errOut)
			}
			p7, err := pkcs7.Parse([]byte(out))
			if err != nil {
				t.Fatal(err)
			}
			var got time.Time
			if err := p7.UnmarshalSignedAttribute(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}, &got); err != nil {
				t.Fatal(err)
			}
			if !got.Equal(tt.want) {
				t.Errorf("signingTime %s, want %s", got, tt.want)
			}
		})
	}
}

func TestSignErrors(t *testing.T) {
	ec := newSignFixture(t, "ecdsa")
	other := newSignFixture(t, "ecdsa")
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	existing := filepath.Join(dir, "keep.p7s")
	if err := os.WriteFile(existing, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		give       []string
		want       int
		wantStderr string
	}{
		{name: "no file", give: []string{"sign", "--cert", ec.iss.Cert, "--key", ec.iss.Key}, want: ExitUsage, wantStderr: "Usage"},
		{name: "two files", give: []string{"sign", file, file, "--cert", ec.iss.Cert, "--key", ec.iss.Key}, want: ExitUsage, wantStderr: "Usage"},
		{name: "no cert", give: []string{"sign", file, "--key", ec.iss.Key}, want: ExitUsage, wantStderr: "Usage"},
		{name: "no key", give: []string{"sign", file, "--cert", ec.iss.Cert}, want: ExitUsage, wantStderr: "Usage"},
		{name: "help", give: []string{"sign", "-h"}, want: ExitOK, wantStderr: "-signing-time string"},
		{name: "missing file", give: []string{"sign", filepath.Join(dir, "nope"), "--cert", ec.iss.Cert, "--key", ec.iss.Key},
			want: ExitUsage, wantStderr: "no such file"},
		{name: "cert is a key", give: []string{"sign", file, "--cert", ec.iss.Key, "--key", ec.iss.Key},
			want: ExitUsage, wantStderr: "no certificate"},
		{name: "key is a cert", give: []string{"sign", file, "--cert", ec.iss.Cert, "--key", ec.iss.Cert},
			want: ExitUsage, wantStderr: "no private key"},
		{name: "bad chain", give: []string{"sign", file, "--cert", ec.iss.Cert, "--key", ec.iss.Key, "--chain", file},
			want: ExitUsage, wantStderr: "--chain"},
		{name: "key of another agency", give: []string{"sign", file, "--cert", ec.iss.Cert, "--key", other.iss.Key, "-o", existing},
			want: ExitInvalid, wantStderr: "does not match"},
		{name: "bad signing time", give: []string{"sign", file, "--cert", ec.iss.Cert, "--key", ec.iss.Key, "--signing-time", "now"},
			want: ExitUsage, wantStderr: "--signing-time"},
		{name: "output directory missing", give: []string{"sign", file, "--cert", ec.iss.Cert, "--key", ec.iss.Key,
			"-o", filepath.Join(dir, "no", "such", "dir.p7s")}, want: ExitUsage, wantStderr: "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(t, tt.give...)
			if code != tt.want {
				t.Errorf("exit %d, want %d\n%s", code, tt.want, errOut)
			}
			if !strings.Contains(errOut, tt.wantStderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantStderr, errOut)
			}
			if out != "" {
				t.Errorf("stdout: %q", out)
			}
		})
	}
	if data, _ := os.ReadFile(existing); string(data) != "old" {
		t.Errorf("a failed sign replaced the -o file: %q", data)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("failed signs left files behind: %d entries", len(entries))
	}
}

func TestSignCanceled(t *testing.T) {
	fx := newSignFixture(t, "ecdsa")
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var out, errOut bytes.Buffer
	out.Grow(1)
	code := Run(ctx, []string{"sign", file, "--cert", fx.iss.Cert, "--key", fx.iss.Key, "-o", filepath.Join(dir, "f.p7s")}, &out, &errOut)
	if code != ExitUsage || !strings.Contains(errOut.String(), "context canceled") {
		t.Errorf("exit %d, stderr %q; want %d and context canceled", code, errOut.String(), ExitUsage)
	}
	if _, err := os.Stat(filepath.Join(dir, "f.p7s")); !os.IsNotExist(err) {
		t.Errorf("a canceled sign wrote its output: %v", err)
	}
}

// TestSignStreams signs a large sparse file and checks that the command
// does not hold the file in memory.
func TestSignStreams(t *testing.T) {
	const size = 128 << 20
	fx := newSignFixture(t, "ecdsa")
	dir := t.TempDir()
	file := filepath.Join(dir, "big.bin")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	sigPath := filepath.Join(dir, "big.p7s")

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	code, _, errOut := run(t, "sign", file, "--cert", fx.iss.Cert, "--key", fx.iss.Key, "--chain", fx.iss.Chain, "-o", sigPath)
	runtime.ReadMemStats(&after)
	if code != ExitOK {
		t.Fatalf("sign = %d\n%s", code, errOut)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Errorf("signing %d MiB allocated %d KiB", size>>20, alloc>>10)
	}
	der, err := os.ReadFile(sigPath)
	if err != nil {
		t.Fatal(err)
	}
	p7, err := pkcs7.Parse(der)
	if err != nil {
		t.Fatal(err)
	}
	var digest []byte
	if err := p7.UnmarshalSignedAttribute(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}, &digest); err != nil {
		t.Fatal(err)
	}
	if want := sha256.Sum256(make([]byte, size)); !bytes.Equal(digest, want[:]) {
		t.Error("messageDigest is not the file's SHA-256")
	}
}

// sign --pdf signs inside a PDF: poppler's pdfsig, with only the CA's root
// trusted, and the engine both find the organ's signature valid over the
// whole file. What it refuses exits 1 with the code and leaves no file.
func TestSignPDF(t *testing.T) {
	for _, tool := range []string{"pdfsig", "certutil"} {
		tooltest.Require(t, tool)
	}
	// The CLI keeps pdfium's compiled code in the user's cache directory.
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	dir := t.TempDir()
	in := filepath.Join(dir, "letter.pdf")
	if err := os.WriteFile(in, pdfsigtest.Write(pdfsigtest.Page1, pdfsigtest.Page2), 0o600); err != nil {
		t.Fatal(err)
	}
	notPDF := filepath.Join(dir, "letter.txt")
	if err := os.WriteFile(notPDF, []byte("Công văn 123/VPCP-HC"), 0o600); err != nil {
		t.Fatal(err)
	}
	eng, err := pdfsig.New(t.Context(), pdfsig.Options{CacheDir: filepath.Join(os.Getenv("XDG_CACHE_HOME"), "lienthong", "pdfium")})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close() //nolint:errcheck // test
	other := newSignFixture(t, "rsa")
	tests := []struct {
		name     string
		alg      string
		give     string // the input
		flags    []string
		wantCode int
		wantErr  string // in stderr
	}{
		{name: "ecdsa invisible", alg: "ecdsa", give: in, wantCode: ExitOK},
		{name: "rsa visible", alg: "rsa", give: in, flags: []string{"--visible", "--reason", "Phát hành", "--location", "Hà Nội"}, wantCode: ExitOK},
		{name: "not a pdf", alg: "ecdsa", give: notPDF, wantCode: ExitInvalid, wantErr: "pdf.malformed"},
		{name: "key of another certificate", alg: "ecdsa", give: in, flags: []string{"--key", other.iss.Key}, wantCode: ExitInvalid, wantErr: "does not match"},
		{name: "no such file", alg: "ecdsa", give: filepath.Join(dir, "missing.pdf"), wantCode: ExitUsage},
		{name: "pem", alg: "ecdsa", give: in, flags: []string{"--pem"}, wantCode: ExitUsage},
	}
	fixtures := map[string]signFixture{"ecdsa": newSignFixture(t, "ecdsa"), "rsa": newSignFixture(t, "rsa")}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := fixtures[tt.alg]
			out := filepath.Join(t.TempDir(), "signed.pdf")
			args := append([]string{"sign", "--pdf", tt.give, "--cert", fx.iss.Cert, "--key", fx.iss.Key, "--chain", fx.iss.Chain, "-o", out}, tt.flags...)
			code, stdout, errOut := run(t, args...)
			if code != tt.wantCode || !strings.Contains(errOut, tt.wantErr) || stdout != "" {
				t.Fatalf("sign --pdf = %d, want %d with %q\nstdout %q\nstderr %s", code, tt.wantCode, tt.wantErr, stdout, errOut)
			}
			signed, err := os.ReadFile(out)
			if tt.wantCode != ExitOK {
				if err == nil {
					t.Errorf("refused, yet %s was written", out)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			root, err := pki.LoadCertificates(fx.root)
			if err != nil {
				t.Fatal(err)
			}
			pop := pdfsigtest.Poppler(t, signed, root...)
			if len(pop.Signatures) != 1 {
				t.Fatalf("pdfsig: %d signatures\n%s", len(pop.Signatures), pop.Output)
			}
			if s := pop.Signatures[0]; s.Status != pdfsigtest.SigValid || s.Cert != pdfsigtest.CertTrusted || !s.Total {
				t.Errorf("pdfsig: %s/%s total %v\n%s", s.Status, s.Cert, s.Total, pop.Output)
			}
			v, err := trust.NewVerifier(trust.Config{Roots: root})
			if err != nil {
				t.Fatal(err)
			}
			a := eng.Verify(t.Context(), v, bytes.NewReader(signed), int64(len(signed)), pdfsig.VerifyOptions{From: fx.iss.OrganID})
			if len(a.Signatures) != 1 || !a.OrganSigned {
				t.Fatalf("Verify: %d signatures, organSigned %v, errors %v", len(a.Signatures), a.OrganSigned, a.Errors)
			}
			if s := a.Signatures[0]; !s.Valid || s.OrganID != fx.iss.OrganID || !s.CoversWholeFile {
				t.Errorf("Verify: valid %v organ %q whole %v: %v", s.Valid, s.OrganID, s.CoversWholeFile, s.Errors)
			}
			if visible := bytes.Contains(signed, []byte("/AP <<")); visible != slices.Contains(tt.flags, "--visible") {
				t.Errorf("appearance stream present: %v", visible)
			}
		})
	}
}

// --pdf needs -o and no FILE; the PDF flags need --pdf.
func TestSignPDFUsage(t *testing.T) {
	fx := newSignFixture(t, "ecdsa")
	tests := []struct {
		name string
		give []string
	}{
		{name: "no -o", give: []string{"--pdf", "in.pdf"}},
		{name: "a FILE too", give: []string{"--pdf", "in.pdf", "-o", "out.pdf", "other.pdf"}},
		{name: "visible without --pdf", give: []string{"packet.xml", "--visible"}},
		{name: "reason without --pdf", give: []string{"packet.xml", "--reason", "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"sign", "--cert", fx.iss.Cert, "--key", fx.iss.Key}, tt.give...)
			if code, _, errOut := run(t, args...); code != ExitUsage || !strings.Contains(errOut, "--pdf IN.pdf") {
				t.Errorf("= %d\n%s", code, errOut)
			}
		})
	}
}
