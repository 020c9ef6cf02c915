package cli

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/edxml"
	"github.com/lienthong/lienthong/internal/pki"
)

// BenchmarkLargePacket submits one CMS-signed packet with a large
// attachment (1 GiB unless LIENTHONG_LARGE_BYTES says otherwise) to a
// `lienthong dev` hub running as its own process, fetches it back, and
// reports how far the hub's resident memory rose above what it held
// before: VmHWM after the run (the peak, reset just before the submit
// through /proc/PID/clear_refs) minus VmRSS before. The budget is 64 MiB;
// more fails the benchmark. It needs about 4.5 GB of disk for 1 GiB.
//
//	go test -run=NONE -bench=BenchmarkLargePacket -benchtime=1x ./internal/cli/
func BenchmarkLargePacket(b *testing.B) {
	size := int64(1 << 30)
	if s := os.Getenv("LIENTHONG_LARGE_BYTES"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			b.Fatal(err)
		}
		size = n
	}
	const budget = 64 << 20
	dir := b.TempDir()
	bin := filepath.Join(dir, "lienthong")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/lienthong").CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	data := filepath.Join(dir, "data")
	cmd := exec.Command(bin, "dev", "--data", data, "--addr", anyAddr)
	logs := &lockedWriter{}
	cmd.Stdout, cmd.Stderr = io.Discard, logs
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := logAddr(b, logs, 0, "hub serving")
	base := "http://" + addr
	if err := waitReady(base, http.DefaultClient); err != nil {
		b.Fatalf("hub not ready: %v", err)
	}
	var agencies []map[string]string
	raw, err := os.ReadFile(filepath.Join(data, "dev", "agencies.json"))
	if err != nil || json.Unmarshal(raw, &agencies) != nil {
		b.Fatalf("agencies.json: %v", err)
	}
	by := map[string]map[string]string{}
	for _, a := range agencies {
		by[a["organId"]] = a
	}
	g22, h29 := by["000.00.00.G22"], by["000.00.00.H29"]
	rel := func(p string) string { return filepath.Join(data, "dev", p) }

	// The packet, written to disk as it is made, and its signature.
	packet := filepath.Join(dir, "packet.xml")
	sum, n, err := writeLargePacket(packet, g22["organId"], h29["organId"], size)
	if err != nil {
		b.Fatal(err)
	}
	certs, err := pki.LoadCertificates(rel(g22["cert"]))
	if err != nil {
		b.Fatal(err)
	}
	key, err := pki.LoadPrivateKey(rel(g22["key"]))
	if err != nil {
		b.Fatal(err)
	}
	chain, err := pki.LoadCertificates(rel(g22["chain"]))
	if err != nil {
		b.Fatal(err)
	}
	f, err := os.Open(packet)
	if err != nil {
		b.Fatal(err)
	}
	sig, err := pki.SignDetached(bufio.NewReaderSize(f, 1<<20), certs[0], key, chain, pki.SignOptions{})
	_ = f.Close()
	if err != nil {
		b.Fatal(err)
	}

	pid := cmd.Process.Pid
	time.Sleep(2 * time.Second) // let start-up settle
	before := procKiB(b, pid, "VmRSS")
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
		b.Fatalf("reset the peak RSS: %v", err)
	}
	b.ResetTimer()
	start := time.Now()
	id := postLarge(b, base, g22["token"], packet, sig)
	submitted := time.Since(start)
	got, gotN := fetchLarge(b, base, h29["token"], id)
	fetched := time.Since(start) - submitted
	b.StopTimer()
	peak := procKiB(b, pid, "VmHWM")
	if got != sum || gotN != n {
		b.Fatalf("fetched %d bytes with sha256 %s, sent %d with %s", gotN, got, n, sum)
	}
	growth := (peak - before) << 10
	b.ReportMetric(float64(growth)/(1<<20), "MiB-RSS-growth")
	b.ReportMetric(float64(n)/submitted.Seconds()/1e6, "MB/s-submit")
	b.ReportMetric(float64(n)/fetched.Seconds()/1e6, "MB/s-fetch")
	b.Logf("packet %d bytes (attachment %d): submit %s, fetch %s; hub RSS %d MiB before, peak %d MiB, growth %.1f MiB (budget %d MiB)",
		n, size, submitted.Round(time.Millisecond), fetched.Round(time.Millisecond), before>>10, peak>>10, float64(growth)/(1<<20), budget>>20)
	if growth > budget {
		b.Fatalf("the hub's resident memory grew by %d MiB, over the %d MiB budget", growth>>20, budget>>20)
	}
}

// writeLargePacket writes an edoc from one agency to another whose one
// attachment is size pseudo-random bytes, and returns its SHA-256 and size.
func writeLargePacket(path, from, to string, size int64) (string, int64, error) {
	out, err := os.Create(path)
	if err != nil {
		return "", 0, err
	}
	defer out.Close() //nolint:errcheck // closed below on success
	now := time.Now()
	day := now.In(edxml.Zone).Format("2006/01/02")
	docID := from + "," + day + ",1/LARGE"
	pk := &edxml.Packet{Kind: edxml.KindEdoc, Header: &edxml.Header{
		From:         edxml.Organization{OrganID: from, OrganName: "Văn phòng Chính phủ"},
		To:           []edxml.Organization{{OrganID: to, OrganName: "UBND Thành phố Hồ Chí Minh"}},
		DocumentID:   docID,
		Code:         edxml.Code{Number: "1", Notation: "LARGE"},
		Promulgation: edxml.Promulgation{Place: "Hà Nội", Date: day},
		DocumentType: edxml.DocumentType{Type: "1", TypeDetail: "0", TypeName: "Công văn"},
		Subject:      "Văn bản có tệp đính kèm rất lớn",
		Signer:       edxml.Signer{Position: "Chánh Văn phòng", FullName: "Nguyễn Văn A"},
		OtherInfo:    edxml.OtherInfo{Priority: "0"},
	}, Trace: &edxml.Trace{
		Headers:  []edxml.TraceHeader{{OrganID: from, Timestamp: edxml.FormatTimestamp(now)}},
		Business: &edxml.Business{DocumentID: docID, DocType: edxml.BusinessNew, DocReason: "Văn bản điện tử mới", Paper: "0"},
	}}
	pk.AddFile("big", "ho-so.pdf", "Hồ sơ", "application/pdf")
	h := sha256.New()
	w := bufio.NewWriterSize(io.MultiWriter(out, h), 1<<20)
	cw := &countWriter{w: w}
	src := rand.NewChaCha8([32]byte{1, 2, 3})
	content := io.LimitReader(src, size)
	if err := edxml.Write(cw, pk, func(int) (io.Reader, error) { return content, nil }); err != nil {
		return "", 0, err
	}
	if err := w.Flush(); err != nil {
		return "", 0, err
	}
	if err := out.Close(); err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), cw.n, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// postLarge streams the packet and its signature as multipart and returns
// the packet id of the 201.
func postLarge(b *testing.B, base, token, packet string, sig []byte) string {
	b.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		err := func() error {
			f, err := os.Open(packet)
			if err != nil {
				return err
			}
			defer f.Close() //nolint:errcheck // read-only
			w, err := mw.CreateFormFile("packet", "packet.xml")
			if err != nil {
				return err
			}
			if _, err := io.Copy(w, f); err != nil {
				return err
			}
			if w, err = mw.CreateFormFile("signature", "packet.xml.p7s"); err != nil {
				return err
			}
			if _, err := w.Write(sig); err != nil {
				return err
			}
			return mw.Close()
		}()
		pw.CloseWithError(err)
	}()
	req, err := http.NewRequest(http.MethodPost, base+"/v1/packets", pr)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close() //nolint:errcheck // read-only
	out, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var rc struct {
		ID string `json:"id"`
	}
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(out, &rc) != nil || rc.ID == "" {
		b.Fatalf("submit: %d %s", resp.StatusCode, out)
	}
	return rc.ID
}

// fetchLarge reads the packet back as the recipient, hashing it as it
// comes.
func fetchLarge(b *testing.B, base, token, id string) (string, int64) {
	b.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/v1/packets/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close() //nolint:errcheck // read-only
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		b.Fatalf("fetch: %d %s", resp.StatusCode, msg)
	}
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	if err != nil {
		b.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil)), n
}

// procKiB reads a "Name: N kB" line of /proc/PID/status.
func procKiB(b *testing.B, pid int, name string) int64 {
	b.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for line := range bytes.SplitSeq(raw, []byte("\n")) {
		if v, ok := strings.CutPrefix(string(line), name+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return n
		}
	}
	b.Fatalf("no %s in /proc/%d/status", name, pid)
	return 0
}

// Keep the helper honest where the benchmark never runs: the packet it
// writes is a valid edXML packet.
func TestLargePacketWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.xml")
	sum, n, err := writeLargePacket(path, "000.00.00.G22", "000.00.00.H29", 3<<20)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := sha256.Sum256(raw); hex.EncodeToString(got[:]) != sum || int64(len(raw)) != n {
		t.Fatalf("sha256/size reported %s/%d, file %x/%d", sum, n, got, len(raw))
	}
	p, err := edxml.Parse(bytes.NewReader(raw), edxml.Options{})
	if err != nil || !p.Valid() || len(p.Attachments) != 1 || p.Attachments[0].Size != 3<<20 {
		t.Fatalf("parse: %v %+v", err, p)
	}
}
