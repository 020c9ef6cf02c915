package spike

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/pki"
	"github.com/lienthong/lienthong/internal/trust"
)

// writePDF writes a one-page PDF with a correct xref. extra, when set,
// writes object 5 (e.g. a large stream) straight to the file.
func writePDF(t *testing.T, path, text string, extra func(w io.Writer)) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close() //nolint:errcheck // written through w, checked there
	w := &countWriter{w: bufio.NewWriterSize(f, 1<<16)}
	var offs []int64
	obj := func(body string) {
		offs = append(offs, w.n)
		fmt.Fprintf(w, "%d 0 obj\n%s\nendobj\n", len(offs), body)
	}
	io.WriteString(w, "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n") //nolint:errcheck // checked at Flush
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	obj("<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
	obj("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R /Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> >>")
	content := "BT /F1 12 Tf 20 100 Td (" + text + ") Tj ET"
	obj(fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content))
	if extra != nil {
		offs = append(offs, w.n)
		fmt.Fprintf(w, "%d 0 obj\n", len(offs))
		extra(w)
		io.WriteString(w, "\nendobj\n") //nolint:errcheck // checked at Flush
	}
	xref := w.n
	fmt.Fprintf(w, "xref\n0 %d\n0000000000 65535 f \n", len(offs)+1)
	for _, o := range offs {
		fmt.Fprintf(w, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(w, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offs)+1, xref)
	if err := w.w.Flush(); err != nil {
		t.Fatal(err)
	}
}

type countWriter struct {
	w *bufio.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

const organID = "000.00.00.H29"

type fixture struct {
	ca     *pki.CA
	nssdir string
	dir    string
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fix.dir != "" {
		os.RemoveAll(fix.dir) //nolint:errcheck,gosec // temp dir
	}
	os.Exit(code)
}

var (
	fixOnce sync.Once
	fix     fixture
	fixErr  error
)

// signer makes a dev CA, an RSA organ certificate and an NSS db holding it.
func setup(t *testing.T) fixture {
	t.Helper()
	for _, tool := range []string{"pdfsig", "certutil", "pk12util", "openssl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	fixOnce.Do(func() {
		dir, err := os.MkdirTemp("", "pdfsigspike")
		if err != nil {
			fixErr = err
			return
		}
		ca, err := pki.Init(filepath.Join(dir, "pki"), pki.InitOptions{Algorithm: pki.RSA})
		if err != nil {
			fixErr = err
			return
		}
		iss, err := ca.Issue("000.00.00.H29", "So Noi vu", pki.IssueOptions{})
		if err != nil {
			fixErr = err
			return
		}
		nss := filepath.Join(dir, "nss")
		p12 := filepath.Join(dir, "organ.p12")
		for _, c := range [][]string{
			{"mkdir", "-p", nss},
			{"certutil", "-N", "-d", "sql:" + nss, "--empty-password"},
			{"openssl", "pkcs12", "-export", "-in", iss.CertPath, "-inkey", iss.KeyPath, "-certfile", iss.ChainPath, "-name", "organ", "-out", p12, "-passout", "pass:x"},
			{"pk12util", "-i", p12, "-d", "sql:" + nss, "-W", "x"},
			{"certutil", "-A", "-d", "sql:" + nss, "-n", "root", "-t", "CT,C,C", "-i", ca.RootPath()},
		} {
			if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
				fixErr = fmt.Errorf("%v: %w\n%s", c, err, out)
				return
			}
		}
		fix = fixture{ca: ca, nssdir: nss, dir: dir}
	})
	if fixErr != nil {
		t.Fatal(fixErr)
	}
	return fix
}

func (f fixture) sign(t *testing.T, in, out string) {
	t.Helper()
	// pdfsig 22.12 fails now and then with "unable update signature"
	// (exit 3) on the same input; a retry signs.
	var b []byte
	var err error
	for range 20 {
		cmd := exec.Command("pdfsig", "-nssdir", "sql:"+f.nssdir, "-nick", "organ", "-add-signature", "-reason", "ban hanh", in, out)
		if b, err = cmd.CombinedOutput(); err == nil {
			return
		}
	}
	t.Fatalf("pdfsig: %v\n%s", err, b)
}

var (
	engOnce sync.Once
	eng     *Engine
	engErr  error
)

func engine(t *testing.T) *Engine {
	engOnce.Do(func() {
		start := time.Now()
		eng, engErr = NewEngine(context.Background(), EngineOptions{MemoryLimitPages: 4096, CacheDir: os.Getenv("PDFSIG_SPIKE_CACHE"), Interpreter: os.Getenv("PDFSIG_SPIKE_INTERP") != ""}) // 256 MiB
		fmt.Printf("NewEngine (compile pdfium.wasm): %v, then %s, Go heap %d KiB\n", time.Since(start), vmHWM(), heap()>>10)
	})
	if engErr != nil {
		t.Fatal(engErr)
	}
	return eng
}

func inspectFile(t *testing.T, e *Engine, path string, limit int64) (*Doc, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close() //nolint:errcheck // read-only
	st, _ := f.Stat()
	size := st.Size()
	if limit > 0 {
		size = limit
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return e.Inspect(ctx, readSeeker(f, size), size)
}

func readSeeker(f *os.File, n int64) *CountingReader {
	return &CountingReader{R: io.NewSectionReader(f, 0, n)}
}

func verifier(t *testing.T, roots ...*x509.Certificate) *trust.Verifier {
	v, err := trust.NewVerifier(trust.Config{Roots: roots})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func verifyFile(t *testing.T, v *trust.Verifier, path string, s Sig) (*trust.Signature, bool, error) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close() //nolint:errcheck // read-only
	st, _ := f.Stat()
	return Verify(context.Background(), v, f, st.Size(), s, organID, time.Now())
}

func TestSignedByPdfsig(t *testing.T) {
	f := setup(t)
	e := engine(t)
	dir := t.TempDir()
	plain, signed := filepath.Join(dir, "a.pdf"), filepath.Join(dir, "a-signed.pdf")
	writePDF(t, plain, "Cong van so 1", nil)
	f.sign(t, plain, signed)

	start := time.Now()
	doc, err := inspectFile(t, e, signed, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first Inspect (instantiate + open + read): %v", time.Since(start))
	start = time.Now()
	if _, err := inspectFile(t, e, signed, 0); err != nil {
		t.Fatal(err)
	}
	t.Logf("second Inspect: %v", time.Since(start))
	if doc.Pages != 1 || len(doc.Sigs) != 1 {
		t.Fatalf("pages %d, signatures %d", doc.Pages, len(doc.Sigs))
	}
	s := doc.Sigs[0]
	t.Logf("subFilter %q reason %q time %q byteRange %v contents %d bytes docMDP %d", s.SubFilter, s.Reason, s.Time, s.ByteRange, len(s.Contents), s.DocMDPPerm)
	if s.SubFilter != "adbe.pkcs7.detached" || s.Reason != "ban hanh" || !strings.HasPrefix(s.Time, "D:") {
		t.Errorf("sig fields: %+v", s)
	}

	tests := []struct {
		name      string
		give      func(t *testing.T) string // the file
		roots     []*x509.Certificate
		wantValid bool
		wantCode  string
	}{
		{name: "valid", give: func(*testing.T) string { return signed }, roots: []*x509.Certificate{f.ca.Root()}, wantValid: true},
		{name: "byte flipped in the first range", give: func(t *testing.T) string {
			return flip(t, signed, s.ByteRange[1]/2)
		}, roots: []*x509.Certificate{f.ca.Root()}, wantCode: CodeSigInvalid},
		{name: "byte flipped in the second range", give: func(t *testing.T) string {
			return flip(t, signed, s.ByteRange[2]+s.ByteRange[3]-20)
		}, roots: []*x509.Certificate{f.ca.Root()}, wantCode: CodeSigInvalid},
		{name: "other root", give: func(*testing.T) string { return signed }, roots: []*x509.Certificate{otherRoot(t)}, wantCode: CodeSigUntrusted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.give(t)
			got, whole, err := verifyFile(t, verifier(t, tt.roots...), path, s)
			if err != nil {
				t.Fatal(err)
			}
			if got.Valid != tt.wantValid || Code(got) != tt.wantCode || !whole {
				t.Errorf("valid %v code %q whole %v, want %v %q; errors %v", got.Valid, Code(got), whole, tt.wantValid, tt.wantCode, got.Errors)
			}
			if got.Valid {
				t.Logf("signer %s, signedAt %v, chain %d", got.Signer.Subject, got.SignedAt, len(got.Chain))
			}
			// pdfsig's own verdict, for comparison.
			out, _ := exec.Command("pdfsig", "-nssdir", "sql:"+f.nssdir, "-nocert", path).CombinedOutput()
			t.Logf("pdfsig: %s", firstLine(string(out), "Signature Validation"))
		})
	}
}

func firstLine(s, prefix string) string {
	for l := range strings.Lines(s) {
		if strings.Contains(l, prefix) {
			return strings.TrimSpace(l)
		}
	}
	return "(none)"
}

func flip(t *testing.T, path string, at int64) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[at] ^= 0x01
	out := filepath.Join(t.TempDir(), "flipped.pdf")
	if err := os.WriteFile(out, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return out
}

func otherRoot(t *testing.T) *x509.Certificate {
	ca, err := pki.Init(filepath.Join(t.TempDir(), "other"), pki.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ca.Root()
}

// appendUpdate adds an incremental update replacing (or adding) objects.
func appendUpdate(t *testing.T, path string, objs map[int]string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	prev := bytes.LastIndex(b, []byte("startxref"))
	var prevOff int
	fmt.Sscanf(string(b[prev+len("startxref"):]), "%d", &prevOff) //nolint:errcheck,gosec // test input
	var buf bytes.Buffer
	buf.Write(b)
	offs := map[int]int{}
	nums := slices.Sorted(maps.Keys(objs))
	for _, n := range nums {
		offs[n] = buf.Len()
		fmt.Fprintf(&buf, "%d 0 obj\n%s\nendobj\n", n, objs[n])
	}
	x := buf.Len()
	buf.WriteString("xref\n")
	for _, n := range nums {
		fmt.Fprintf(&buf, "%d 1\n%010d 00000 n \n", n, offs[n])
	}
	fmt.Fprintf(&buf, "trailer\n<< /Size 100 /Root 1 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n", prevOff, x)
	out := filepath.Join(t.TempDir(), "updated.pdf")
	if err := os.WriteFile(out, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return out
}

// lastObject is the body of the last definition of object n.
func lastObject(t *testing.T, path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	head := fmt.Appendf(nil, "\n%d 0 obj", n)
	i := bytes.LastIndex(b, head)
	j := bytes.Index(b[i:], []byte("endobj"))
	if i < 0 || j < 0 {
		t.Fatalf("object %d not found", n)
	}
	return strings.TrimSpace(string(b[i+len(head) : i+j]))
}

// pdfium opens the signed revision (a section reader up to the end of the
// signature's byte range) as its own document; comparing its pages with
// the whole file's tells an update that only added an annotation from one
// that changed the content.
func TestRevision(t *testing.T) {
	f := setup(t)
	e := engine(t)
	dir := t.TempDir()
	plain, signed := filepath.Join(dir, "a.pdf"), filepath.Join(dir, "a-signed.pdf")
	writePDF(t, plain, "Cong van so 1", nil)
	f.sign(t, plain, signed)
	content := "BT /F1 12 Tf 20 100 Td (Cong van so 2) Tj ET"
	// pdfsig gives page 3 an indirect /Annots array; add a comment to it.
	annots := lastObject(t, signed, 3)
	var annotsRef int
	if k := strings.Index(annots, "/Annots "); k >= 0 {
		fmt.Sscanf(annots[k+len("/Annots "):], "%d", &annotsRef) //nolint:errcheck,gosec // checked below
	}
	if annotsRef == 0 {
		t.Fatalf("page 3 has no indirect /Annots: %s", annots)
	}
	arr := lastObject(t, signed, annotsRef)
	arr = strings.TrimSuffix(strings.TrimSpace(arr), "]") + " 60 0 R ]"

	tests := []struct {
		name string
		give map[int]string
		want string
	}{
		{"nothing after signing", nil, "none"},
		{"a comment added", map[int]string{
			annotsRef: arr,
			60:        "<< /Type /Annot /Subtype /Text /Rect [10 10 30 30] /Contents (da xem) /P 3 0 R >>",
		}, "annotations"},
		{"content changed", map[int]string{
			4: fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content),
		}, "content"},
	}
	v := verifier(t, f.ca.Root())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := signed
			if tt.give != nil {
				path = appendUpdate(t, signed, tt.give)
			}
			full, err := inspectFile(t, e, path, 0)
			if err != nil {
				t.Fatal(err)
			}
			size := fileSize(t, path)
			end, whole, err := Ranges(full.Sigs[0].ByteRange, len(full.Sigs[0].Contents), size)
			if err != nil || whole != (tt.give == nil) {
				t.Fatalf("end %d whole %v err %v", end, whole, err)
			}
			got, _, err := verifyFile(t, v, path, full.Sigs[0])
			if err != nil || !got.Valid {
				t.Errorf("the signature over the first revision must stay valid: %v %v", err, got.Errors)
			}
			rev := pages(t, e, path, end)
			all := pages(t, e, path, 0)
			if c := Changes(rev, all); c != tt.want {
				t.Errorf("changes %q, want %q: signed %+v, whole %+v", c, tt.want, rev, all)
			}
			t.Logf("signed revision %+v, whole file %+v", rev, all)
		})
	}
}

func fileSize(t *testing.T, path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// Hostile inputs end in an error or an invalid signature, in bounded time.
func TestHostile(t *testing.T) {
	f := setup(t)
	e := engine(t)
	dir := t.TempDir()
	plain, signed := filepath.Join(dir, "a.pdf"), filepath.Join(dir, "a-signed.pdf")
	writePDF(t, plain, "x", nil)
	f.sign(t, plain, signed)
	sb, _ := os.ReadFile(signed)

	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cyclic := func() string {
		// Two xref sections whose /Prev point at each other.
		var b bytes.Buffer
		b.WriteString("%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n")
		x1 := b.Len()
		fmt.Fprintf(&b, "xref\n0 3\n0000000000 65535 f \n%010d 00000 n \n%010d 00000 n \ntrailer\n<< /Size 3 /Root 1 0 R /Prev %010d >>\n", 9, 58, 0)
		x2 := b.Len()
		fmt.Fprintf(&b, "xref\n0 1\n0000000000 65535 f \ntrailer\n<< /Size 3 /Root 1 0 R /Prev %010d >>\nstartxref\n%d\n%%%%EOF\n", x1, x2)
		out := b.Bytes()
		// Point the first section's /Prev at the second.
		i := bytes.Index(out, []byte("/Prev 0000000000"))
		copy(out[i+6:], fmt.Sprintf("%010d", x2))
		return write("cyclic.pdf", out)
	}
	objstm := func() string {
		var b bytes.Buffer
		b.WriteString("%PDF-1.7\n")
		o1 := b.Len()
		b.WriteString("1 0 obj\n<< /Type /ObjStm /N 2147483647 /First 10 /Length 20 >>\nstream\n1 0 2 5 3 9 4 12\nendstream\nendobj\n")
		x := b.Len()
		// An xref stream would be the realistic carrier; a classic table
		// pointing objects into the ObjStm is enough for pdfium to read it.
		fmt.Fprintf(&b, "xref\n0 2\n0000000000 65535 f \n%010d 00000 n \ntrailer\n<< /Size 2147483647 /Root 2 0 R >>\nstartxref\n%d\n%%%%EOF\n", o1, x)
		return write("objstm.pdf", b.Bytes())
	}
	garbageContents := func() string {
		b := bytes.Clone(sb)
		i := bytes.Index(b, []byte("/Contents <")) + len("/Contents <")
		copy(b[i:], bytes.Repeat([]byte("ab"), 64))
		return write("garbage.pdf", b)
	}
	pastEnd := func() string {
		b := bytes.Clone(sb)
		i := bytes.Index(b, []byte("/ByteRange [")) + len("/ByteRange [")
		j := bytes.IndexByte(b[i:], ']')
		r := fmt.Sprintf("0 10 20 %d", 1<<40)
		r += strings.Repeat(" ", j-len(r))
		copy(b[i:], r)
		return write("pastend.pdf", b)
	}
	tests := []struct {
		name string
		give string
		want string // the code of the open or of the signature; "" = opens with no signature
	}{
		{"cyclic /Prev", cyclic(), CodeMalformed},
		{"object stream of 2^31 objects", objstm(), CodeMalformed},
		{"garbage /Contents", garbageContents(), CodeSigInvalid},
		{"ByteRange past the end", pastEnd(), CodeSigInvalid},
		// pdfium repairs a truncated file: the signature is gone, not
		// reported broken, so "organ signature missing" must be judged
		// by the caller.
		{"truncated", write("trunc.pdf", sb[:len(sb)/2]), ""},
		{"not a PDF", write("zero.pdf", make([]byte, 1<<20)), CodeMalformed},
	}
	v := verifier(t, f.ca.Root())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			doc, err := inspectFile(t, e, tt.give, 0)
			d := time.Since(start)
			if d > 10*time.Second {
				t.Errorf("took %v", d)
			}
			if err != nil {
				var pe *Error
				if !errors.As(err, &pe) || pe.Code != tt.want {
					t.Errorf("%v, want %s", err, tt.want)
				}
				t.Logf("%v in %v", err, d)
				return
			}
			t.Logf("opened: %d pages %d signatures in %v", doc.Pages, len(doc.Sigs), d)
			if len(doc.Sigs) == 0 && tt.want != "" {
				t.Errorf("no signature, want %s", tt.want)
			}
			for _, s := range doc.Sigs {
				t.Logf("byteRange %v, contents %d bytes", s.ByteRange, len(s.Contents))
				got, _, err := verifyFile(t, v, tt.give, s)
				var pe *Error
				switch {
				case errors.As(err, &pe):
					if pe.Code != tt.want {
						t.Errorf("%v, want %s", err, tt.want)
					}
					t.Logf("signature: %v", err)
				case err != nil:
					t.Errorf("error without a code: %v", err)
				case Code(got) != tt.want:
					t.Errorf("signature %q, want %s: %v", Code(got), tt.want, got.Errors)
				default:
					t.Logf("signature: %s %v", Code(got), got.Errors)
				}
			}
		})
	}
}

// A 200 MB PDF (a large uncompressed stream): pdfium reads through the
// file reader; wasm memory and Go heap stay small. Run with
// PDFSIG_SPIKE_BIG=1; it writes 200 MB to the temp dir.
func TestLarge(t *testing.T) {
	if os.Getenv("PDFSIG_SPIKE_BIG") == "" {
		t.Skip("set PDFSIG_SPIKE_BIG=1")
	}
	f := setup(t)
	dir := t.TempDir()
	plain, signed := filepath.Join(dir, "big.pdf"), filepath.Join(dir, "big-signed.pdf")
	const n = 200 << 20
	writePDF(t, plain, "big", func(w io.Writer) {
		fmt.Fprintf(w, "<< /Length %d >>\nstream\n", n)
		line := []byte("0123456789abcde\n")
		for range n / 16 {
			w.Write(line) //nolint:errcheck // checked at Flush
		}
		io.WriteString(w, "\nendstream") //nolint:errcheck // checked at Flush
	})
	f.sign(t, plain, signed)
	runtime.GC()
	e := engine(t)
	base := heap()
	var peak atomic.Uint64
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
				if h := heap(); h > peak.Load() {
					peak.Store(h)
				}
			}
		}
	}()
	// Reset VmHWM: what follows is the peak of opening and verifying.
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	rssBase := vmHWM()
	start := time.Now()
	fh, _ := os.Open(signed)
	st, _ := fh.Stat()
	cr := readSeeker(fh, st.Size())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	doc, err := e.Inspect(ctx, cr, st.Size())
	cancel()
	el := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	vstart := time.Now()
	got, whole, err := Verify(context.Background(), verifier(t, f.ca.Root()), fh, st.Size(), doc.Sigs[0], organID, time.Now())
	vel := time.Since(vstart)
	close(stop)
	fh.Close() //nolint:errcheck,gosec // read-only
	if err != nil || !got.Valid || !whole {
		t.Fatalf("verify: %v %v %v", err, got.Errors, whole)
	}
	t.Logf("file %d bytes; Inspect %v, pdfium read %d bytes in %d reads; Verify %v; Go heap peak %d KiB above %d KiB; before %s, peak %s",
		st.Size(), el, cr.Bytes, cr.Reads, vel, (peak.Load()-base)>>10, base>>10, rssBase, vmHWM())
}

func heap() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func vmHWM() string {
	b, _ := os.ReadFile("/proc/self/status")
	for l := range strings.Lines(string(b)) {
		if strings.HasPrefix(l, "VmHWM") || strings.HasPrefix(l, "VmRSS") {
			return strings.Join(strings.Fields(l), " ")
		}
	}
	return "?"
}

// xrefBomb writes a valid-looking PDF whose xref table has n entries:
// cheap to write, costly for pdfium (seconds and hundreds of MB at 1<<20).
func xrefBomb(t *testing.T, n int) string {
	path := filepath.Join(t.TempDir(), "xref.pdf")
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n")
	x := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n0000000009 00000 n \n0000000058 00000 n \n", n)
	for range n - 3 {
		b.WriteString("0000000009 00000 n \n")
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", n, x)
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// A wasm memory cap turns a file that needs more memory into an error, not
// RAM: a 10 MB xref table of half a million entries.
func TestMemoryCap(t *testing.T) {
	path := xrefBomb(t, 1<<19)
	tests := []struct {
		name    string
		give    uint32 // pages of 64 KiB
		wantErr bool
	}{
		{"20 MiB", 320, true},
		{"256 MiB", 4096, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := NewEngine(context.Background(), EngineOptions{MemoryLimitPages: tt.give, CacheDir: os.Getenv("PDFSIG_SPIKE_CACHE")})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close() //nolint:errcheck // test
			start := time.Now()
			doc, err := inspectFile(t, e, path, 0)
			t.Logf("cap %d pages: doc %+v err %.60v in %v; %s", tt.give, doc, err, time.Since(start), vmHWM())
			if (err != nil) != tt.wantErr {
				t.Errorf("err %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

// A deadline kills the instance mid-parse: the same xref bomb, which takes
// seconds, ends at the deadline with pdf.timeout, and the pool still works.
func TestDeadline(t *testing.T) {
	e := engine(t)
	path := xrefBomb(t, 1<<20)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close() //nolint:errcheck // read-only
	size := fileSize(t, path)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = e.Inspect(ctx, readSeeker(f, size), size)
	d := time.Since(start)
	var pe *Error
	if !errors.As(err, &pe) || pe.Code != CodeTimeout || d > 2*time.Second {
		t.Fatalf("err %v after %v, want %s within 2s", err, d, CodeTimeout)
	}
	t.Logf("%v after %v", err, d)
	dir := t.TempDir()
	writePDF(t, filepath.Join(dir, "ok.pdf"), "x", nil)
	if _, err := inspectFile(t, e, filepath.Join(dir, "ok.pdf"), 0); err != nil {
		t.Errorf("after a kill: %v", err)
	}
}

func pages(t *testing.T, e *Engine, path string, limit int64) []Page {
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close() //nolint:errcheck // read-only
	size := fileSize(t, path)
	if limit > 0 {
		size = limit
	}
	ps, err := e.Pages(context.Background(), readSeeker(fh, size), size)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}
