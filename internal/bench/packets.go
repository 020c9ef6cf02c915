package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"mime/multipart"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lienthong/lienthong/internal/edxml"
	"github.com/lienthong/lienthong/internal/pdfsig"
	"github.com/lienthong/lienthong/internal/pki"
)

// packet is one packet: its multipart body sits in the bodies file,
// the packet's own bytes inside it.
type packet struct {
	bodyOff, bodyLen int64
	pktOff, pktLen   int64
	sigOff, sigLen   int64  // the detached signature's bytes in the body
	contentType      string // multipart/form-data; boundary=...
	sha256           string // of the packet bytes
	from             int
	to               []int
	docID, subject   string
}

// prepare builds the packets and their multipart bodies, signs them
// with the senders' keys, and writes the bodies to one file at path, synced,
// so that submits read them from the page cache: the in-process hub then
// runs with a heap of its own size, not one swollen by the load.
func prepare(ctx context.Context, o Options, agencies []agency, path string) (*os.File, []*packet, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, nil, err
	}
	fail := func(err error) (*os.File, []*packet, error) {
		f.Close() //nolint:errcheck // failing
		return nil, nil, err
	}
	var tag [4]byte
	_, _ = rand.Read(tag[:])
	run := strings.ToUpper(hex.EncodeToString(tag[:]))
	now := time.Now()
	// The attachment's length makes the whole packet about o.Size: the
	// markup around it is measured on a packet without content.
	empty, err := build(agencies, 0, run, now, nil, o.Packets)
	if err != nil {
		return fail(err)
	}
	raw := max((o.Size-int64(len(empty.xml)))*3/4, 64)
	seed := binaryUint64(tag[:])

	var sealer *pdfsig.Engine
	if o.SignPDF {
		if sealer, err = pdfsig.New(ctx, pdfsig.Options{CacheDir: pdfsig.DefaultCacheDir(), MaxConcurrent: runtime.GOMAXPROCS(0)}); err != nil {
			return fail(err)
		}
		defer sealer.Close() //nolint:errcheck // the engine is only read
		// The signature adds its CMS (the chain included) and a widget:
		// measured once, so the sealed file stays near raw.
		probe, err := seal(ctx, sealer, agencies[0], pdfContent(raw, seed, 0))
		if err != nil {
			return fail(err)
		}
		raw = max(raw-(int64(len(probe))-raw), 64)
	}
	packets := make([]*packet, o.Packets)
	var (
		mu     sync.Mutex
		offset int64
	)
	err = parallelErr(ctx, o.Packets, runtime.GOMAXPROCS(0), func(i int) error {
		content := pdfContent(raw, seed, uint64(i))
		var (
			b   *built
			err error
		)
		if sealer != nil { // the sender's key: build sends packet i from agency i mod K
			content, err = seal(ctx, sealer, agencies[i%len(agencies)], content)
		}
		if err == nil {
			b, err = build(agencies, i, run, now, content, o.Packets)
		}
		if err == nil {
			err = b.sign(agencies[b.p.from])
		}
		if err == nil {
			mu.Lock()
			b.p.bodyOff = offset
			offset += int64(len(b.body))
			mu.Unlock()
			b.p.pktOff += b.p.bodyOff
			b.p.sigOff += b.p.bodyOff
			_, err = f.WriteAt(b.body, b.p.bodyOff)
			packets[i] = b.p
		}
		return err
	})
	if err != nil {
		return fail(err)
	}
	// Written back now, not while the hub phase fsyncs.
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	return f, packets, nil
}

// seal signs pdf with a's organ key, as the console's hosted signing does.
func seal(ctx context.Context, e *pdfsig.Engine, a agency, pdf []byte) ([]byte, error) {
	var out bytes.Buffer
	err := e.Sign(ctx, &out, bytes.NewReader(pdf), int64(len(pdf)), pdfsig.SignOptions{Cert: a.cert, Chain: a.chain, Key: a.key, Reason: "Ban hành"})
	return out.Bytes(), err
}

func binaryUint64(b []byte) uint64 {
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}

// pdfContent is a well-formed one-page PDF of about n bytes (at least
// ~600): a page of text, and pseudo-random bytes (incompressible, as
// scanned letters are) in a stream object of their own. It is a real file,
// so the hub's PDF check parses it as it parses a letter, rather than
// repairing garbage.
func pdfContent(n int64, seed, i uint64) []byte {
	var key [32]byte
	for j := range 8 {
		key[j] = byte(seed >> (8 * j))
		key[8+j] = byte(i >> (8 * j))
	}
	text := fmt.Sprintf("BT /F1 12 Tf 72 720 Td (lienthong bench letter %d) Tj ET", i)
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> /Contents 4 0 R >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(text), text),
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, 0, 5)
	for k, o := range objs {
		offsets = append(offsets, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", k+1, o)
	}
	// What is left of n, less the xref and trailer (~200 bytes), is noise.
	noise := max(n-int64(b.Len())-260, 0)
	offsets = append(offsets, b.Len())
	fmt.Fprintf(&b, "5 0 obj\n<< /Length %d >>\nstream\n", noise)
	data := make([]byte, noise)
	_, _ = mrand.NewChaCha8(key).Read(data)
	b.Write(data)
	b.WriteString("\nendstream\nendobj\n")
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offsets)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets)+1, xref)
	return b.Bytes()
}

type built struct {
	p    *packet
	xml  []byte
	body []byte
}

// build makes packet i: from agency i mod K to the next two agencies
// (the one other with two), with a unique DocumentId and TraceHeader
// Timestamp.
func build(agencies []agency, i int, run string, now time.Time, content []byte, n int) (*built, error) {
	k := len(agencies)
	from := i % k
	to := []int{(from + 1) % k}
	if k > 2 {
		to = append(to, (from+2)%k)
	}
	day := now.In(edxml.Zone).Format("2006/01/02")
	number := strconv.Itoa(i + 1)
	notation := "BENCH-" + run
	docID := agencies[from].organID + "," + day + "," + number + "/" + notation
	subject := fmt.Sprintf("Thử tải lienthong bench %s, văn bản %d/%d", run, i+1, n)
	h := &edxml.Header{
		From:         edxml.Organization{OrganID: agencies[from].organID, OrganName: agencies[from].name},
		DocumentID:   docID,
		Code:         edxml.Code{Number: number, Notation: notation},
		Promulgation: edxml.Promulgation{Place: "Hà Nội", Date: day},
		DocumentType: edxml.DocumentType{Type: "1", TypeDetail: "0", TypeName: "Công văn"},
		Subject:      subject,
		Content:      "Văn bản thử tải do lienthong bench sinh ra.",
		Signer:       edxml.Signer{Position: "Chánh Văn phòng", FullName: "Nguyễn Văn A"},
		OtherInfo:    edxml.OtherInfo{Priority: "0"},
	}
	for _, t := range to {
		h.To = append(h.To, edxml.Organization{OrganID: agencies[t].organID, OrganName: agencies[t].name})
	}
	pk := &edxml.Packet{Kind: edxml.KindEdoc, Header: h, Trace: &edxml.Trace{
		Headers:  []edxml.TraceHeader{{OrganID: agencies[from].organID, Timestamp: edxml.FormatTimestamp(now.Add(-time.Duration(i) * time.Second))}},
		Business: &edxml.Business{DocumentID: docID, DocType: edxml.BusinessNew, DocReason: "Văn bản điện tử mới", Paper: "0"},
	}}
	pk.AddFile("a1", "CV "+number+".pdf", "Văn bản chính", "application/pdf")
	var buf bytes.Buffer
	buf.Grow(len(content)*4/3 + 8<<10)
	if err := edxml.Write(&buf, pk, func(int) (io.Reader, error) { return bytes.NewReader(content), nil }); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(buf.Bytes())
	return &built{xml: buf.Bytes(), p: &packet{from: from, to: to, docID: docID, subject: subject,
		pktLen: int64(buf.Len()), sha256: hex.EncodeToString(sum[:])}}, nil
}

// sign makes the detached CMS signature and the multipart body.
func (b *built) sign(a agency) error {
	sig, err := pki.SignDetached(bytes.NewReader(b.xml), a.cert, a.key, a.chain, pki.SignOptions{})
	if err != nil {
		return err
	}
	var body bytes.Buffer
	body.Grow(len(b.xml) + len(sig) + 1024)
	mw := multipart.NewWriter(&body)
	w, err := mw.CreateFormFile("packet", "packet.xml")
	if err != nil {
		return err
	}
	b.p.pktOff = int64(body.Len()) // multipart.Writer writes through
	if _, err := w.Write(b.xml); err != nil {
		return err
	}
	if w, err = mw.CreateFormFile("signature", "packet.xml.p7s"); err != nil {
		return err
	}
	b.p.sigOff, b.p.sigLen = int64(body.Len()), int64(len(sig))
	if _, err := w.Write(sig); err != nil {
		return err
	}
	if err := mw.Close(); err != nil {
		return err
	}
	b.body, b.p.bodyLen, b.p.contentType = body.Bytes(), int64(body.Len()), mw.FormDataContentType()
	return nil
}
