package pdfsig

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/edxml"
	"github.com/lienthong/lienthong/internal/organ"
	"github.com/lienthong/lienthong/internal/pdfsig/pdfsigtest"
	"github.com/lienthong/lienthong/internal/trust"
)

// packetWith is an edoc from pdfsigtest.OrganID carrying files, in order.
func packetWith(t *testing.T, files ...[]byte) []byte {
	t.Helper()
	return pdfsigtest.Letter(t, pdfsigtest.OrganID, "000.00.00.H29", "1", files...)
}

func parseKept(t *testing.T, packet []byte) (*edxml.Packet, *Spool) {
	t.Helper()
	s := NewSpool(t.TempDir())
	t.Cleanup(s.Close)
	// With edxml's bounded unzip, as the hub parses.
	p, err := edxml.Parse(bytes.NewReader(packet), edxml.Options{Attachment: s.Writer, TempDir: t.TempDir()})
	if err != nil || !p.Valid() {
		t.Fatalf("parse: %v %v", err, p.Errors)
	}
	return p, s
}

// The PDFs of a packet are told by content and verified in packet order:
// the first PDF is the main one, other files are skipped, and the sending
// organ's signature is found on the main PDF only where it is.
func TestVerifyPacket(t *testing.T) {
	roots, _ := fixtures(t)
	valid, expired := fixture(t, "valid"), fixture(t, "expired_cert")
	packet := packetWith(t, valid, []byte("plain text, not a PDF"), []byte("%PD"), expired)
	p, s := parseKept(t, packet)
	got := verifyPacket(t, roots, p, s)
	if len(got) != 2 {
		t.Fatalf("%d attachments verified, want the 2 PDFs: %+v", len(got), got)
	}
	tests := []struct {
		give                   trust.Attachment
		wantIndex              int
		wantMain, wantOrgan    bool
		wantSigs               int
		wantValid, wantWhole   bool
		wantSHA256, wantSigned string
	}{
		{got[0], 0, true, true, 1, true, true, p.Attachments[0].SHA256, pdfsigtest.OrganID},
		{got[1], 3, false, false, 1, false, true, p.Attachments[3].SHA256, pdfsigtest.ExpiredID},
	}
	for _, tt := range tests {
		a := tt.give
		if a.Index != tt.wantIndex || a.Main != tt.wantMain || a.OrganSigned != tt.wantOrgan || a.SHA256 != tt.wantSHA256 || a.Name != p.Attachments[tt.wantIndex].AttachmentName {
			t.Errorf("attachment %d: index %d main %v organSigned %v sha256 %s name %q", tt.wantIndex, a.Index, a.Main, a.OrganSigned, a.SHA256, a.Name)
		}
		if len(a.Signatures) != tt.wantSigs {
			t.Fatalf("attachment %d: %d signatures", tt.wantIndex, len(a.Signatures))
		}
		sg := a.Signatures[0]
		if sg.Valid != tt.wantValid || sg.CoversWholeFile != tt.wantWhole || sg.OrganID != tt.wantSigned {
			t.Errorf("attachment %d: valid %v whole %v organ %q, errors %v", tt.wantIndex, sg.Valid, sg.CoversWholeFile, sg.OrganID, sg.Errors)
		}
	}
	if ok, why := MainOrganSigned(got); !ok {
		t.Errorf("MainOrganSigned: %s", why)
	}
	// Signed (by /M) a day after the certificate expired: said, besides
	// the certificate's expiry at receipt.
	if w := codes(got[1].Signatures[0].Warnings); !slices.Contains(w, trust.CodeSigningTimeOutside) {
		t.Errorf("expired certificate's signature warns %v, want %s", w, trust.CodeSigningTimeOutside)
	}
	if w := codes(got[0].Signatures[0].Warnings); slices.Contains(w, trust.CodeSigningTimeOutside) {
		t.Errorf("valid signature warns %v", w)
	}
	// The same files with the unsigned one first: the letter is unsigned.
	p, s = parseKept(t, packetWith(t, fixture(t, "unsigned"), valid))
	got = verifyPacket(t, roots, p, s)
	if ok, why := MainOrganSigned(got); ok || !strings.Contains(why, "tep-0.pdf") || !got[1].OrganSigned {
		t.Errorf("unsigned main PDF: MainOrganSigned %v %q; annex organSigned %v", ok, why, got[1].OrganSigned)
	}
	// A sealed PDF behind a first attachment that is not one (a letter
	// in another format, or a PDF with a byte before its header, which
	// readers still open) is an annex: the letter is not sealed.
	for _, first := range [][]byte{[]byte("plain text, not a PDF"), append([]byte(" "), fixture(t, "unsigned")...)} {
		p, s = parseKept(t, packetWith(t, first, valid))
		got = verifyPacket(t, roots, p, s)
		if ok, why := MainOrganSigned(got); ok || len(got) != 1 || got[0].Main || !strings.Contains(why, "not a PDF") {
			t.Errorf("first attachment %.10q: MainOrganSigned %v %q; %+v", first, ok, why, got)
		}
	}
}

func verifyPacket(t *testing.T, roots []*x509.Certificate, p *edxml.Packet, s *Spool) []trust.Attachment {
	t.Helper()
	got, err := engine(t).VerifyPacket(context.Background(), verifier(t, roots), p, s, VerifyOptions{From: pdfsigtest.OrganID, At: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// OrganSigned binds the signer to the sender as the envelope's binding
// does: an alias of the sender counts, and a directory that pins the
// sender's certificates admits only those.
func TestOrganSignedBinding(t *testing.T) {
	roots, _ := fixtures(t)
	valid := fixture(t, "valid")
	alias := "000.00.00.H30"
	tests := []struct {
		name string
		give organ.Agency
		from string
		want bool
	}{
		{"uid", organ.Agency{ID: pdfsigtest.OrganID}, pdfsigtest.OrganID, true},
		{"alias", organ.Agency{ID: pdfsigtest.OrganID, Aliases: []organ.ID{organ.ID(alias)}}, alias, true},
		{"other organ", organ.Agency{ID: pdfsigtest.OrganID}, "000.00.00.G22", false},
		{"pinned elsewhere", organ.Agency{ID: pdfsigtest.OrganID, CertSHA256: []string{strings.Repeat("ab", 32)}}, pdfsigtest.OrganID, false},
		{"pinned", organ.Agency{ID: pdfsigtest.OrganID, CertSHA256: []string{trust.Fingerprint(kitOrgan.Cert)}}, pdfsigtest.OrganID, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list := []organ.Agency{tt.give}
			if tt.from == "000.00.00.G22" {
				list = append(list, organ.Agency{ID: "000.00.00.G22"})
			}
			d, err := organ.NewDirectory(list)
			if err != nil {
				t.Fatal(err)
			}
			v, err := trust.NewVerifier(trust.Config{Roots: roots, Directory: d})
			if err != nil {
				t.Fatal(err)
			}
			a := engine(t).Verify(context.Background(), v, bytes.NewReader(valid), int64(len(valid)), VerifyOptions{From: tt.from})
			if a.OrganSigned != tt.want {
				t.Errorf("organSigned = %v, want %v (%+v)", a.OrganSigned, tt.want, a.Signatures)
			}
		})
	}
}

// The spool tells a PDF (or a zip) from its first bytes however the
// parser cuts the stream, and keeps nothing else.
func TestSpoolSniffs(t *testing.T) {
	tests := []struct {
		give string
		want bool
	}{
		{"%PDF-1.7 body", true},
		{"%PDF", false},
		{" %PDF-1.7", false},
		{"PK\x03\x04zip", true}, // a zip may hold the letter
		{"GIF89a", false},
	}
	for _, tt := range tests {
		s := NewSpool(t.TempDir())
		w, _ := s.Writer(0)
		for i := range len(tt.give) { // one byte at a time
			if n, err := w.Write([]byte{tt.give[i]}); n != 1 || err != nil {
				t.Fatalf("%q: write %d %v", tt.give, n, err)
			}
		}
		k := s.files[0]
		if (k != nil) != tt.want {
			t.Errorf("%q kept: %v, want %v", tt.give, k != nil, tt.want)
		}
		if k != nil {
			got, _ := io.ReadAll(io.NewSectionReader(k.reader(), 0, 1<<20))
			if string(got) != tt.give {
				t.Errorf("kept %q, want %q", got, tt.give)
			}
		}
		s.Close()
	}
}

// zipOf zips files (name, content) in order.
func zipOf(t *testing.T, files ...[2][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		w, err := zw.Create(string(f[0]))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(f[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// The national axis's SDK zips files, the letter too: the PDFs inside a
// zip attachment are verified in the zip's order, the first of them the
// main one, each named by its entry and hashed as itself.
func TestVerifyPacketZipped(t *testing.T) {
	roots, _ := fixtures(t)
	valid, expired := fixture(t, "valid"), fixture(t, "expired_cert")
	zipped := zipOf(t, [2][]byte{[]byte("doc-kem-theo.txt"), []byte("the letter, a %PDF- file, is next")},
		[2][]byte{[]byte("CV-1.pdf"), valid}, [2][]byte{[]byte("a/phu-luc.pdf"), expired})
	p, s := parseKept(t, packetWith(t, zipped, valid))
	if p.Attachments[0].Format != "zip" || p.Attachments[0].Zip == nil {
		t.Fatalf("the zip was not checked by edxml: %+v", p.Attachments[0])
	}
	got := verifyPacket(t, roots, p, s)
	sum := sha256.Sum256(valid)
	tests := []struct {
		wantIndex        int
		wantEntry        string
		wantMain, wantOK bool
		wantSHA256       string
	}{
		{0, "CV-1.pdf", true, true, hex.EncodeToString(sum[:])},
		{0, "a/phu-luc.pdf", false, false, ""},
		{1, "", false, true, p.Attachments[1].SHA256},
	}
	if len(got) != len(tests) {
		t.Fatalf("%d PDFs verified, want %d: %+v", len(got), len(tests), got)
	}
	for i, tt := range tests {
		a := got[i]
		if a.Index != tt.wantIndex || a.Entry != tt.wantEntry || a.Main != tt.wantMain || a.OrganSigned != tt.wantOK ||
			tt.wantSHA256 != "" && a.SHA256 != tt.wantSHA256 {
			t.Errorf("PDF %d: index %d entry %q main %v organSigned %v sha256 %s", i, a.Index, a.Entry, a.Main, a.OrganSigned, a.SHA256)
		}
	}
	if got[0].Size != int64(len(valid)) {
		t.Errorf("zipped PDF's size %d, want %d", got[0].Size, len(valid))
	}
}

// A letter stays in memory; a file past memPerFile, or past the process's
// budget, goes to disk whole; the budget is given back on Close.
func TestSpoolSpills(t *testing.T) {
	held := memHeld.Load()
	big := bytes.Repeat([]byte("x"), memPerFile+1)
	copy(big, "%PDF-")
	tests := []struct {
		name     string
		give     []byte
		taken    int64 // of the budget, before the write
		wantDisk bool
	}{
		{"letter", []byte("%PDF-1.7 a letter"), 0, false},
		{"large", big, 0, true},
		{"budget spent", []byte("%PDF-1.7 a letter"), memBudget, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			memHeld.Add(tt.taken)
			defer memHeld.Add(-tt.taken)
			s := NewSpool(t.TempDir())
			w, _ := s.Writer(0)
			for chunk := range slices.Chunk(tt.give, 4096) {
				if _, err := w.Write(chunk); err != nil {
					t.Fatal(err)
				}
			}
			k := s.files[0]
			if (k.f != nil) != tt.wantDisk {
				t.Errorf("on disk: %v, want %v", k.f != nil, tt.wantDisk)
			}
			got, _ := io.ReadAll(io.NewSectionReader(k.reader(), 0, int64(len(tt.give))+1))
			if !bytes.Equal(got, tt.give) {
				t.Errorf("kept %d bytes, want %d", len(got), len(tt.give))
			}
			s.Close()
			if memHeld.Load() != held+tt.taken {
				t.Errorf("budget held after Close: %d, want %d", memHeld.Load(), held+tt.taken)
			}
		})
	}
}
