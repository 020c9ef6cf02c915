package pdfsig

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klippa-app/go-pdfium"
	"github.com/klippa-app/go-pdfium/requests"

	"github.com/lienthong/lienthong/internal/pdfsig/pdfsigtest"
	"github.com/lienthong/lienthong/internal/pki"
	"github.com/lienthong/lienthong/internal/tooltest"
	"github.com/lienthong/lienthong/internal/trust"
)

// cacheDir holds wazero's compiled pdfium: the machine's, as the hub
// keeps it (DefaultCacheDir), so that test binaries and hubs compile it
// once (seconds) and load it after; a temporary one without it.
var cacheDir string

func TestMain(m *testing.M) {
	cacheDir = DefaultCacheDir()
	temp := ""
	if cacheDir == "" {
		dir, err := os.MkdirTemp("", "pdfsigtest")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		cacheDir, temp = dir, dir
	}
	code := m.Run()
	if eng != nil {
		eng.Close() //nolint:errcheck,gosec // test
	}
	if temp != "" {
		os.RemoveAll(temp) //nolint:errcheck,gosec // temp dir
	}
	os.Exit(code)
}

var (
	engOnce sync.Once
	eng     *Engine
	engErr  error
)

// engine is shared: 2 s deadline, 64 MiB cap.
func engine(t testing.TB) *Engine {
	t.Helper()
	engOnce.Do(func() {
		eng, engErr = New(context.Background(), Options{MemoryLimit: 64 << 20, Deadline: 2 * time.Second, CacheDir: cacheDir})
	})
	if engErr != nil {
		t.Fatal(engErr)
	}
	return eng
}

var (
	kitOnce  sync.Once
	kitRoots []*x509.Certificate
	kitFix   []pdfsigtest.Fixture
	kitOrgan *pki.Issued // the organ's key, to sign byte ranges pdfsig would not
)

// fixtures signs the kit's PDFs once per test binary (pdfsig takes a while
// per signature); the signing database is not needed after.
func fixtures(t testing.TB) ([]*x509.Certificate, []pdfsigtest.Fixture) {
	t.Helper()
	for _, tool := range []string{"pdfsig", "certutil", "pk12util", "openssl"} {
		tooltest.Require(t, tool)
	}
	kitOnce.Do(func() {
		k := pdfsigtest.New(t)
		kitRoots, kitFix, kitOrgan = k.Roots(), k.Fixtures(t), k.Organ.Issued
	})
	if kitFix == nil {
		t.Fatal("the kit failed in an earlier test")
	}
	return kitRoots, kitFix
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	_, fs := fixtures(t)
	for _, f := range fs {
		if f.Name == name {
			return f.PDF
		}
	}
	t.Fatalf("no fixture %s", name)
	return nil
}

func verifier(t testing.TB, roots []*x509.Certificate) *trust.Verifier {
	t.Helper()
	v, err := trust.NewVerifier(trust.Config{Roots: roots})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// someRoot is a root for files whose signatures do not matter.
func someRoot(t testing.TB) []*x509.Certificate {
	t.Helper()
	ca, err := pki.Init(filepath.Join(t.TempDir(), "ca"), pki.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return []*x509.Certificate{ca.Root()}
}

func verify(t testing.TB, e *Engine, v *trust.Verifier, pdf []byte, from string) *Attachment {
	t.Helper()
	return e.Verify(context.Background(), v, bytes.NewReader(pdf), int64(len(pdf)), VerifyOptions{From: from, At: time.Now()})
}

func codes(ps []trust.Problem) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, p.Code)
	}
	return out
}

// popplerTerms says a verdict in pdfsig's words.
func popplerTerms(s Signature) (pdfsigtest.SigStatus, pdfsigtest.CertStatus) {
	c := codes(s.Errors)
	switch {
	case s.Valid:
		return pdfsigtest.SigValid, pdfsigtest.CertTrusted
	case slices.Contains(c, trust.CodeDigestMismatch):
		return pdfsigtest.SigDigestMismatch, pdfsigtest.CertNotChecked
	case slices.Contains(c, CodeSigUntrusted) && slices.Contains(c, trust.CodeExpired):
		return pdfsigtest.SigValid, pdfsigtest.CertExpired
	case slices.Contains(c, CodeSigUntrusted) && slices.Contains(c, trust.CodeUntrusted):
		return pdfsigtest.SigValid, pdfsigtest.CertUnknownIssuer
	}
	return pdfsigtest.SigInvalid, pdfsigtest.CertGenericError
}

// The engine's verdict on every fixture of the kit is pdfsig's, run on the
// same file with the same roots; Changes says what pdfsig does not.
func TestFixturesAsPoppler(t *testing.T) {
	roots, fs := fixtures(t)
	e := engine(t)
	v := verifier(t, roots)
	for _, f := range fs {
		t.Run(f.Name, func(t *testing.T) {
			start := time.Now()
			got := verify(t, e, v, f.PDF, pdfsigtest.OrganID)
			t.Logf("%d bytes in %v", len(f.PDF), time.Since(start))
			if len(got.Errors) != 0 {
				t.Fatalf("attachment errors %v", got.Errors)
			}
			want := pdfsigtest.Poppler(t, f.PDF, roots...)
			if len(got.Signatures) != len(want.Signatures) || len(got.Signatures) != len(f.Want) {
				t.Fatalf("%d signatures, pdfsig %d, kit %d\n%s", len(got.Signatures), len(want.Signatures), len(f.Want), want.Output)
			}
			organSigned := false
			for i, s := range got.Signatures {
				w := want.Signatures[i]
				st, cert := popplerTerms(s)
				if st != w.Status || cert != w.Cert || s.CoversWholeFile != w.Total {
					t.Errorf("signature %d: %s/%s whole %v, pdfsig %s/%s whole %v; errors %v", i, st, cert, s.CoversWholeFile, w.Status, w.Cert, w.Total, s.Errors)
				}
				if s.OrganID != f.Want[i].UID {
					t.Errorf("signature %d: organ %q, want %q", i, s.OrganID, f.Want[i].UID)
				}
				if s.Signer == nil || !strings.Contains(s.Signer.Subject, w.SignerCN) {
					t.Errorf("signature %d: signer %+v, pdfsig %q", i, s.Signer, w.SignerCN)
				}
				if want := wantChanges(f, i); s.Changes != want || s.ModifiedAfterSigning != (want == ChangesContent) {
					t.Errorf("signature %d: changes %q modified %v, want %q", i, s.Changes, s.ModifiedAfterSigning, want)
				}
				if s.ModifiedAfterSigning != slices.Contains(codes(s.Warnings), CodeModified) {
					t.Errorf("signature %d: warnings %v", i, s.Warnings)
				}
				if s.SignedAt == nil || s.SignedAt.Sub(w.SignedAt).Abs() > time.Second {
					t.Errorf("signature %d: signedAt %v, pdfsig %v", i, s.SignedAt, w.SignedAt)
				}
				// The organ's seal counts only over pages unchanged since.
				fromSender := s.Valid && f.Want[i].UID == pdfsigtest.OrganID
				if s.FromSender != fromSender {
					t.Errorf("signature %d: fromSender %v, want %v", i, s.FromSender, fromSender)
				}
				organSigned = organSigned || (fromSender && !s.ModifiedAfterSigning)
			}
			if got.OrganSigned != organSigned {
				t.Errorf("organSigned %v, want %v", got.OrganSigned, organSigned)
			}
		})
	}
}

// wantChanges: the last signature covers the file; earlier ones see the
// fixture's update (another signature adds only its widget).
func wantChanges(f pdfsigtest.Fixture, i int) string {
	if f.Want[i].Total {
		return ChangesNone
	}
	if f.Update == pdfsigtest.UpdateContent {
		return ChangesContent
	}
	return ChangesSignatures
}

// A person's signature is valid without an organ; OrganSigned needs the
// sender's own.
func TestSigners(t *testing.T) {
	roots, _ := fixtures(t)
	pdf := fixture(t, "signed_twice")
	e := engine(t)
	v := verifier(t, roots)
	tests := []struct {
		give      string // From
		wantOrgan bool
	}{
		{pdfsigtest.OrganID, true},
		{pdfsigtest.ExpiredID, false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			got := verify(t, e, v, pdf, tt.give)
			if len(got.Signatures) != 2 {
				t.Fatalf("signatures %+v", got.Signatures)
			}
			p := got.Signatures[0]
			if !p.Valid || p.OrganID != "" || !strings.Contains(p.Signer.Subject, pdfsigtest.PersonName) {
				t.Errorf("person: valid %v organ %q signer %+v errors %v", p.Valid, p.OrganID, p.Signer, p.Errors)
			}
			if got.OrganSigned != tt.wantOrgan {
				t.Errorf("organSigned %v, want %v", got.OrganSigned, tt.wantOrgan)
			}
		})
	}
}

func TestIsPDF(t *testing.T) {
	tests := []struct {
		name string
		give []byte
		want bool
	}{
		{"a PDF", pdfsigtest.Write("x"), true},
		{"junk before the header", append(bytes.Repeat([]byte{' '}, 100), pdfsigtest.Write("x")...), true},
		{"header too late", append(bytes.Repeat([]byte{' '}, 2000), pdfsigtest.Write("x")...), false},
		{"XML", []byte("<?xml version=\"1.0\"?><a/>"), false},
		{"empty", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsPDF(bytes.NewReader(tt.give)); got != tt.want {
				t.Errorf("IsPDF = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRanges(t *testing.T) {
	tests := []struct {
		name      string
		give      []int64
		contents  int
		wantErr   bool
		wantWhole bool
	}{
		{"whole file", []int64{0, 100, 302, 98}, 100, false, true},
		{"earlier revision", []int64{0, 100, 302, 50}, 100, false, false},
		{"gap wider than /Contents", []int64{0, 100, 303, 97}, 100, true, false},
		{"gap narrower than /Contents", []int64{0, 100, 301, 99}, 100, true, false},
		{"signature over nothing", []int64{0, 1, 399, 1}, 100, true, false},
		{"not from 0", []int64{1, 99, 302, 98}, 100, true, false},
		{"past the end", []int64{0, 100, 302, 1 << 40}, 100, true, false},
		{"three numbers", []int64{0, 100, 302}, 100, true, false},
		{"empty /Contents", []int64{0, 100, 102, 298}, 0, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, whole, err := ranges(tt.give, tt.contents, 400)
			if (err != nil) != tt.wantErr || whole != tt.wantWhole {
				t.Errorf("whole %v err %v, want whole %v error %v", whole, err, tt.wantWhole, tt.wantErr)
			}
		})
	}
}

// pdfium inside the sandbox sees no host file system: go-pdfium would
// mount / without FSConfig, and a document could then be opened by path.
func TestNoHostFileSystem(t *testing.T) {
	e := engine(t)
	path := filepath.Join(t.TempDir(), "a.pdf")
	if err := os.WriteFile(path, pdfsigtest.Write("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := e.with(context.Background(), func(inst pdfium.Pdfium) error {
		d, err := inst.FPDF_LoadDocument(&requests.FPDF_LoadDocument{Path: &path})
		if err == nil {
			inst.FPDF_CloseDocument(&requests.FPDF_CloseDocument{Document: d.Document}) //nolint:errcheck,gosec // test
		}
		return err
	})
	if err == nil {
		t.Fatalf("pdfium opened %s from the host", path)
	}
	t.Logf("by path: %v", err)
}

// xrefBomb is a valid-looking PDF whose xref table has n entries: cheap to
// write, costly for pdfium (seconds and hundreds of MB at 1<<20).
func xrefBomb(n int) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n")
	x := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n0000000009 00000 n \n0000000058 00000 n \n", n)
	for range n - 3 {
		b.WriteString("0000000009 00000 n \n")
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", n, x)
	return b.Bytes()
}

// The deadline kills the instance mid-parse, and the pool works after.
func TestDeadline(t *testing.T) {
	e, err := New(context.Background(), Options{Deadline: 300 * time.Millisecond, CacheDir: cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close() //nolint:errcheck // test
	v := verifier(t, someRoot(t))
	start := time.Now()
	got := verify(t, e, v, xrefBomb(1<<20), "")
	d := time.Since(start)
	if !slices.Equal(codes(got.Errors), []string{CodeTimeout}) || d > 2*time.Second {
		t.Fatalf("errors %v after %v, want %s within 2 s", got.Errors, d, CodeTimeout)
	}
	t.Logf("%v after %v", got.Errors, d)
	if got := verify(t, e, v, pdfsigtest.Write("x"), ""); len(got.Errors) != 0 {
		t.Errorf("after a kill: %v", got.Errors)
	}
}

// The memory cap turns a file that needs more into pdf.too_large, not RAM.
func TestMemoryCap(t *testing.T) {
	pdf := xrefBomb(1 << 19)
	tests := []struct {
		name string
		give int64
		want []string
	}{
		{"20 MiB", 20 << 20, []string{CodeTooLarge}},
		{"256 MiB", 256 << 20, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := New(context.Background(), Options{MemoryLimit: tt.give, Deadline: time.Minute, CacheDir: cacheDir})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close() //nolint:errcheck // test
			start := time.Now()
			got := verify(t, e, verifier(t, someRoot(t)), pdf, "")
			t.Logf("%v in %v", got.Errors, time.Since(start))
			if !slices.Equal(codes(got.Errors), tt.want) {
				t.Errorf("errors %v, want %v", got.Errors, tt.want)
			}
		})
	}
}

// Hostile files get coded errors in bounded time, never a panic or a hang.
func TestHostile(t *testing.T) {
	roots, _ := fixtures(t)
	signed := fixture(t, "valid")
	e := engine(t)
	v := verifier(t, roots)
	cyclic := func() []byte {
		// Two xref sections whose /Prev point at each other.
		var b bytes.Buffer
		b.WriteString("%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n")
		x1 := b.Len()
		fmt.Fprintf(&b, "xref\n0 3\n0000000000 65535 f \n%010d 00000 n \n%010d 00000 n \ntrailer\n<< /Size 3 /Root 1 0 R /Prev %010d >>\n", 9, 58, 0)
		x2 := b.Len()
		fmt.Fprintf(&b, "xref\n0 1\n0000000000 65535 f \ntrailer\n<< /Size 3 /Root 1 0 R /Prev %010d >>\nstartxref\n%d\n%%%%EOF\n", x1, x2)
		out := b.Bytes()
		i := bytes.Index(out, []byte("/Prev 0000000000"))
		copy(out[i+6:], fmt.Sprintf("%010d", x2))
		return out
	}
	objstm := func() []byte {
		var b bytes.Buffer
		b.WriteString("%PDF-1.7\n")
		o1 := b.Len()
		b.WriteString("1 0 obj\n<< /Type /ObjStm /N 2147483647 /First 10 /Length 20 >>\nstream\n1 0 2 5 3 9 4 12\nendstream\nendobj\n")
		x := b.Len()
		fmt.Fprintf(&b, "xref\n0 2\n0000000000 65535 f \n%010d 00000 n \ntrailer\n<< /Size 2147483647 /Root 2 0 R >>\nstartxref\n%d\n%%%%EOF\n", o1, x)
		return b.Bytes()
	}
	// byteRange rewrites the signature's /ByteRange in place.
	byteRange := func(r func(br [4]int64) string) []byte {
		b := bytes.Clone(signed)
		i := bytes.Index(b, []byte("/ByteRange [")) + len("/ByteRange [")
		j := bytes.IndexByte(b[i:], ']')
		var br [4]int64
		fmt.Sscan(string(b[i:i+j]), &br[0], &br[1], &br[2], &br[3]) //nolint:errcheck,gosec // the kit's file
		s := r(br)
		if len(s) > j {
			t.Fatalf("%q does not fit in %d bytes", s, j)
		}
		copy(b[i:], s+strings.Repeat(" ", j-len(s)))
		return b
	}
	// resigned widens the gap by one byte, past the /Contents string, and
	// signs the new ranges with the organ's key: a valid signature that
	// leaves a byte unsigned.
	resigned := func() []byte {
		b := byteRange(func(br [4]int64) string {
			return fmt.Sprintf("%d %d %d %d", br[0], br[1], br[2]+1, br[3]-1)
		})
		br := pdfsigtest.ByteRanges(b)[:2]
		content := append(bytes.Clone(b[br[0][0]:br[0][1]]), b[br[1][0]:br[1][1]]...)
		sig, err := pki.SignDetached(bytes.NewReader(content), kitOrgan.Cert, kitOrgan.Key, kitOrgan.Chain, pki.SignOptions{})
		if err != nil {
			t.Fatal(err)
		}
		h := hex.EncodeToString(sig)
		room := int(br[1][0]-br[0][1]) - 3 // "<", ">" and the byte left out
		if len(h) > room {
			t.Fatalf("signature of %d hex digits, room for %d", len(h), room)
		}
		copy(b[br[0][1]+1:], h+strings.Repeat("0", room-len(h)))
		return b
	}
	garbage := bytes.Clone(signed)
	k := bytes.Index(garbage, []byte("/Contents <")) + len("/Contents <")
	copy(garbage[k:], bytes.Repeat([]byte("ab"), 64))

	tests := []struct {
		name string
		give []byte
		want string // the attachment's code, or the signature's; "" = no signature, no error
	}{
		{"cyclic /Prev", cyclic(), CodeMalformed},
		{"object stream of 2^31 objects", objstm(), CodeMalformed},
		{"garbage /Contents", garbage, CodeSigInvalid},
		{"ByteRange past the end", byteRange(func([4]int64) string { return fmt.Sprintf("0 10 20 %d", int64(1)<<40) }), CodeSigInvalid},
		{"ByteRange over nothing", byteRange(func(br [4]int64) string {
			return fmt.Sprintf("0 1 %d 1", br[2]+br[3]-1)
		}), CodeSigInvalid},
		{"ByteRange gap one byte wider", byteRange(func(br [4]int64) string {
			return fmt.Sprintf("%d %d %d %d", br[0], br[1]-1, br[2], br[3])
		}), CodeSigInvalid},
		{"a valid signature with a byte outside it", resigned(), CodeSigInvalid},
		// pdfium repairs a truncated file: the signature is gone, which
		// the policy sees as "no organ signature".
		{"truncated", signed[:len(signed)/2], ""},
		{"zeros", make([]byte, 1<<20), CodeMalformed},
		{"empty", nil, CodeMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			got := verify(t, e, v, tt.give, pdfsigtest.OrganID)
			d := time.Since(start)
			if d > 5*time.Second {
				t.Errorf("took %v", d)
			}
			var c []string
			c = append(c, codes(got.Errors)...)
			for _, s := range got.Signatures {
				if s.Valid {
					t.Errorf("a valid signature: %+v", s)
				}
				if len(s.Errors) > 0 {
					c = append(c, s.Errors[0].Code)
				}
			}
			want := []string{}
			if tt.want != "" {
				want = []string{tt.want}
			}
			if !slices.Equal(c, want) {
				t.Errorf("codes %v, want %v: %+v", c, want, got)
			}
			t.Logf("%v in %v", c, d)
		})
	}
}

// The report's field names are the issue's: the console and the receipt
// will read them.
func TestJSONNames(t *testing.T) {
	now := time.Now()
	b, err := json.Marshal(Attachment{Signatures: []Signature{{Signer: &trust.Cert{}, OrganID: "x", SignedAt: &now}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"signatures":[{`, `"signer":{`, `"organId":"x"`, `"signedAt":"`, `"valid":false`, `"coversWholeFile":false`,
		`"modifiedAfterSigning":false`, `"changes":""`, `"errors":null`, `"warnings":null`, `"organSigned":false`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %s", b, want)
		}
	}
}

// Verify is safe for concurrent use; MaxConcurrent only makes callers wait.
func TestConcurrent(t *testing.T) {
	roots, _ := fixtures(t)
	pdf := fixture(t, "signed_twice")
	e, err := New(context.Background(), Options{MaxConcurrent: 1, CacheDir: cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close() //nolint:errcheck // test
	v := verifier(t, roots)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			got := verify(t, e, v, pdf, pdfsigtest.OrganID)
			if len(got.Errors) != 0 || len(got.Signatures) != 2 || !got.OrganSigned {
				t.Errorf("%+v", got)
			}
		})
	}
	wg.Wait()
}

// slowReaderAt makes the digests' big reads slow; pdfium's small ones are not.
type slowReaderAt struct{ r *bytes.Reader }

func (s slowReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if len(p) >= 8<<10 {
		time.Sleep(100 * time.Millisecond)
	}
	return s.r.ReadAt(p, off)
}

// The deadline bounds the digests too, not only pdfium.
func TestDeadlineCoversDigests(t *testing.T) {
	roots, _ := fixtures(t)
	pdf := fixture(t, "valid") // ~540 KB: 17 reads of 32 KB, 1.7 s
	e, err := New(context.Background(), Options{Deadline: 500 * time.Millisecond, CacheDir: cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close() //nolint:errcheck // test
	start := time.Now()
	got := e.Verify(context.Background(), verifier(t, roots), slowReaderAt{bytes.NewReader(pdf)}, int64(len(pdf)), VerifyOptions{})
	d := time.Since(start)
	if !slices.Equal(codes(got.Errors), []string{CodeTimeout}) || d > time.Second {
		t.Errorf("errors %v signatures %d after %v, want %s within 1 s", got.Errors, len(got.Signatures), d, CodeTimeout)
	}
}
