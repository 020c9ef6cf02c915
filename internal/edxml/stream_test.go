package edxml_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"io"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/edxml"
)

// bigPacket streams edoc-new.xml with its attachment replaced by size bytes
// of pseudo-random data, base64-encoded in 76-column lines, without ever
// holding the attachment in memory. sum receives the raw bytes.
type bigPacket struct {
	head, tail *strings.Reader
	left       int64
	rng        *rand.ChaCha8
	raw        []byte
	enc        []byte
	pending    []byte
	sum        hash.Hash
}

func newBigPacket(t testing.TB, size int64) *bigPacket {
	t.Helper()
	s := base(t)
	i := strings.Index(s, ctePrefix) + len(ctePrefix)
	j := strings.Index(s, "</edXML:ContentTransferEncoded>")
	return &bigPacket{
		head: strings.NewReader(s[:i] + "\n"), tail: strings.NewReader(s[j:]),
		left: size, rng: rand.NewChaCha8([32]byte{1}),
		raw: make([]byte, 57*512), enc: make([]byte, 0, 78*512), sum: sha256.New(),
	}
}

func (g *bigPacket) Read(p []byte) (int, error) {
	if g.head.Len() > 0 {
		return g.head.Read(p)
	}
	if len(g.pending) == 0 && g.left > 0 {
		raw := g.raw[:min(int64(len(g.raw)), g.left)]
		g.rng.Read(raw)
		g.sum.Write(raw)
		g.left -= int64(len(raw))
		g.enc = g.enc[:0]
		for len(raw) > 0 {
			line := raw[:min(57, len(raw))]
			raw = raw[len(line):]
			g.enc = base64.StdEncoding.AppendEncode(g.enc, line)
			g.enc = append(g.enc, '\n')
		}
		g.pending = g.enc
	}
	if len(g.pending) > 0 {
		n := copy(p, g.pending)
		g.pending = g.pending[n:]
		return n, nil
	}
	return g.tail.Read(p)
}

func (g *bigPacket) sha256() string { return hex.EncodeToString(g.sum.Sum(nil)) }

// heapSampler records the peak of live heap objects while it runs.
type heapSampler struct {
	peak atomic.Uint64
	stop chan struct{}
	done chan struct{}
}

func startHeapSampler() *heapSampler {
	h := &heapSampler{stop: make(chan struct{}), done: make(chan struct{})}
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	go func() {
		defer close(h.done)
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > h.peak.Load() {
				h.peak.Store(v)
			}
			select {
			case <-h.stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	return h
}

func (h *heapSampler) Stop() uint64 {
	close(h.stop)
	<-h.done
	return h.peak.Load()
}

func heapObjects() uint64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	return sample[0].Value.Uint64()
}

// hashSink checks that the sink receives the exact decoded bytes.
type hashSink struct {
	hash.Hash
	closed bool
}

func (s *hashSink) Close() error { s.closed = true; return nil }

// A 200 MB attachment streams through in flat memory: the live heap never
// grows by more than 64 MiB and the whole parse allocates less than that.
func TestLargeAttachmentMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 200 MB")
	}
	const size = 200 << 20
	const budget = 64 << 20
	g := newBigPacket(t, size)
	sink := &hashSink{Hash: sha256.New()}
	opts := edxml.Options{Attachment: func(int) (io.Writer, error) { return sink, nil }}

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	baseline := heapObjects()
	sampler := startHeapSampler()
	p, err := edxml.Parse(g, opts)
	peak := sampler.Stop()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if err != nil || !p.Valid() {
		t.Fatalf("%v %v", err, p.Errors)
	}

	a := p.Attachments[0]
	if a.Size != size || a.SHA256 != g.sha256() {
		t.Errorf("attachment %d bytes sha256 %s, want %d bytes %s", a.Size, a.SHA256, size, g.sha256())
	}
	if got := hex.EncodeToString(sink.Sum(nil)); got != g.sha256() || !sink.closed {
		t.Errorf("sink got sha256 %s (closed %v), want %s", got, sink.closed, g.sha256())
	}
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("packet %d bytes; allocated %d KiB; live heap peak %d KiB above baseline", p.Size(), allocated>>10, (peak-min(peak, baseline))>>10)
	if allocated > budget {
		t.Errorf("allocated %d bytes while parsing, budget %d", allocated, budget)
	}
	if peak > baseline && peak-baseline > budget {
		t.Errorf("live heap grew by %d bytes, budget %d", peak-baseline, budget)
	}
}

func TestSinkGetsEachAttachment(t *testing.T) {
	var got [][]byte
	opts := edxml.Options{Attachment: func(i int) (io.Writer, error) {
		if i != len(got) {
			t.Errorf("attachment index %d, want %d", i, len(got))
		}
		got = append(got, nil)
		return writerFunc(func(p []byte) (int, error) {
			got[i] = append(got[i], p...)
			return len(p), nil
		}), nil
	}}
	p, err := parseFile(t, fixtures+"/edoc-new-two-recipients.xml", opts)
	if err != nil || !p.Valid() {
		t.Fatalf("%v %v", err, p.Errors)
	}
	if len(got) != 2 {
		t.Fatalf("sink opened %d times, want 2", len(got))
	}
	for i, a := range p.Attachments {
		sum := sha256.Sum256(got[i])
		if hex.EncodeToString(sum[:]) != a.SHA256 || int64(len(got[i])) != a.Size || !bytes.HasPrefix(got[i], []byte("%PDF-")) {
			t.Errorf("attachment %d: sink has %d bytes, model %+v", i, len(got[i]), a)
		}
	}
}

func TestSinkErrorStopsParse(t *testing.T) {
	boom := io.ErrClosedPipe
	_, err := parseFile(t, fixtures+"/edoc-new.xml", edxml.Options{Attachment: func(int) (io.Writer, error) {
		return writerFunc(func([]byte) (int, error) { return 0, boom }), nil
	}})
	if err == nil || edxml.CodeOf(err) != "" || !strings.Contains(err.Error(), boom.Error()) {
		t.Errorf("err = %v, want the sink's error", err)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// A reader that fails mid-packet surfaces as an I/O error, not a packet
// problem, so the hub can answer 5xx or 4xx as fits.
func TestReadError(t *testing.T) {
	r := io.MultiReader(strings.NewReader(base(t)[:3000]), errReader{})
	_, err := edxml.Parse(r, edxml.Options{})
	if err == nil || edxml.CodeOf(err) != "" {
		t.Errorf("err = %v, want a plain read error", err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, io.ErrNoProgress }

func benchPacket(b *testing.B, size int64) []byte {
	b.Helper()
	data, err := io.ReadAll(newBigPacket(b, size))
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkParse reports throughput in MB/s of packet bytes and packets/s.
func BenchmarkParse(b *testing.B) {
	for _, bm := range []struct {
		name string
		size int64
	}{{"50KB", 36 << 10}, {"20MB", 15 << 20}, {"200MB", 150 << 20}} {
		b.Run(bm.name, func(b *testing.B) {
			data := benchPacket(b, bm.size)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				p, err := edxml.Parse(bytes.NewReader(data), edxml.Options{})
				if err != nil || !p.Valid() {
					b.Fatal(err, p.Errors)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
		})
	}
}

// benchLikePacket is built as `lienthong bench` builds its packets
// (internal/bench/packets.go): edxml.Write's shape, two recipients, a
// TraceHeader, and a ~36 KiB PDF-like attachment on one base64 line, about
// 50 KB in all.
func benchLikePacket(t testing.TB) []byte {
	t.Helper()
	org := func(id, name string) edxml.Organization { return edxml.Organization{OrganID: id, OrganName: name} }
	docID := "000.00.00.G22,2026/12/07,1/BENCH-0A1B2C3D"
	h := &edxml.Header{
		From:         org("000.00.00.G22", "Văn phòng Chính phủ"),
		To:           []edxml.Organization{org("000.00.00.H29", "UBND tỉnh Bắc Ninh"), org("000.00.00.G12", "Bộ Tài chính")},
		DocumentID:   docID,
		Code:         edxml.Code{Number: "1", Notation: "BENCH-0A1B2C3D"},
		Promulgation: edxml.Promulgation{Place: "Hà Nội", Date: "2026/12/07"},
		DocumentType: edxml.DocumentType{Type: "1", TypeDetail: "0", TypeName: "Công văn"},
		Subject:      "Thử tải lienthong bench 0A1B2C3D, văn bản 1/2000",
		Content:      "Văn bản thử tải do lienthong bench sinh ra.",
		Signer:       edxml.Signer{Position: "Chánh Văn phòng", FullName: "Nguyễn Văn A"},
		OtherInfo:    edxml.OtherInfo{Priority: "0"},
	}
	pk := &edxml.Packet{Kind: edxml.KindEdoc, Header: h, Trace: &edxml.Trace{
		Headers:  []edxml.TraceHeader{{OrganID: "000.00.00.G22", Timestamp: edxml.FormatTimestamp(time.Date(2026, 12, 7, 9, 0, 0, 0, edxml.Zone))}},
		Business: &edxml.Business{DocumentID: docID, DocType: edxml.BusinessNew, DocReason: "Văn bản điện tử mới", Paper: "0"},
	}}
	pk.AddFile("a1", "CV 1.pdf", "Văn bản chính", "application/pdf")
	content := make([]byte, 36<<10)
	rand.NewChaCha8([32]byte{2}).Read(content)
	copy(content, "%PDF-1.7\n")
	var buf bytes.Buffer
	if err := edxml.Write(&buf, pk, func(int) (io.Reader, error) { return bytes.NewReader(content), nil }); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkParseBenchPacket parses the bench's packet as the hub does
// (NoZipCheck, no sink).
func BenchmarkParseBenchPacket(b *testing.B) {
	data := benchLikePacket(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		p, err := edxml.Parse(bytes.NewReader(data), edxml.Options{NoZipCheck: true})
		if err != nil || !p.Valid() {
			b.Fatal(err, p.Errors)
		}
	}
}
