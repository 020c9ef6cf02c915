package edxml_test

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/edxml"
)

var update = flag.Bool("update", false, "rewrite golden files")

// parseKeep parses data and keeps each attachment's bytes.
func parseKeep(t testing.TB, data []byte) (*edxml.Packet, [][]byte) {
	t.Helper()
	var files [][]byte
	p, err := edxml.Parse(bytes.NewReader(data), edxml.Options{Attachment: func(i int) (io.Writer, error) {
		for len(files) <= i { // an attachment without content gets no sink call
			files = append(files, nil)
		}
		return writerFunc(func(b []byte) (int, error) {
			files[i] = append(files[i], b...)
			return len(b), nil
		}), nil
	}})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return p, files
}

func write(t testing.TB, p *edxml.Packet, files [][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	err := edxml.Write(&buf, p, func(i int) (io.Reader, error) { return bytes.NewReader(files[i]), nil })
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	return buf.Bytes()
}

// model is what a round trip must keep.
type model struct {
	Kind        edxml.Kind
	Header      *edxml.Header
	Trace       *edxml.Trace
	Status      *edxml.Status
	References  []edxml.Reference
	Attachments []edxml.Attachment
	Signature   string
	Errors      []edxml.Problem
	ID          string
}

func modelOf(p *edxml.Packet) model {
	return model{p.Kind, p.Header, p.Trace, p.Status, p.References, p.Attachments, string(p.Signature), p.Errors, p.ID()}
}

func validFixtures(t testing.TB) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(fixtures, "*.xml"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	return names
}

// Every fixture re-built from its model reads back to the same model, and
// the built bytes match the golden file.
func TestWriteRoundTrip(t *testing.T) {
	for _, path := range validFixtures(t) {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			p, files := parseKeep(t, data)
			out := write(t, p, files)
			q, files2 := parseKeep(t, out)
			if !q.Valid() || len(q.Warnings) > 0 {
				t.Fatalf("re-built packet: errors %v warnings %v", q.Errors, q.Warnings)
			}
			if a, b := modelOf(p), modelOf(q); !reflect.DeepEqual(a, b) {
				t.Errorf("model changed:\n%+v\n%+v", a, b)
			}
			if !reflect.DeepEqual(files, files2) {
				t.Error("attachment bytes changed")
			}
			golden(t, filepath.Join("testdata", "golden", name), out)
		})
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run go test -update if the change is meant)", path)
	}
}

// A status built from code, as a DMS or the console would, is valid and
// stable.
func TestWriteStatusFromScratch(t *testing.T) {
	at := time.Date(2025, 11, 20, 9, 16, 10, 0, edxml.Zone)
	p := &edxml.Packet{Kind: edxml.KindStatus, Status: &edxml.Status{
		From:        edxml.Organization{OrganID: "000.00.00.H29", OrganName: "UBND Thành phố Hồ Chí Minh"},
		ResponseFor: edxml.ResponseFor{OrganID: "000.00.00.G22", Code: "1234/VPCP-KSTT", PromulgationDate: "2025/11/20", DocumentID: "000.00.00.G22,2025/11/20,1234/VPCP-KSTT"},
		Staff:       edxml.StaffInfo{Staff: "Lê Văn C"},
		StatusCode:  edxml.StatusAccepted,
		Description: "Đã tiếp nhận <vào sổ> & chuyển xử lý",
		Timestamp:   edxml.FormatTimestamp(at),
	}}
	out := write(t, p, nil)
	q, _ := parseKeep(t, out)
	if !q.Valid() || len(q.Warnings) > 0 || !reflect.DeepEqual(q.Status, p.Status) {
		t.Fatalf("errors %v warnings %v status %+v", q.Errors, q.Warnings, q.Status)
	}
	golden(t, filepath.Join("testdata", "golden", "built-status-03.xml"), out)
}

func TestWriteEdocFromScratch(t *testing.T) {
	p := &edxml.Packet{Kind: edxml.KindEdoc,
		Header: &edxml.Header{
			From:         edxml.Organization{OrganID: "000.00.00.G22", OrganName: "Văn phòng Chính phủ"},
			To:           []edxml.Organization{{OrganID: "000.00.00.H29", OrganName: "UBND Thành phố Hồ Chí Minh"}},
			DocumentID:   "000.00.00.G22,2025/11/20,9/VPCP-TEST",
			Code:         edxml.Code{Number: "9", Notation: "VPCP-TEST"},
			Promulgation: edxml.Promulgation{Place: "Hà Nội", Date: "2025/11/20"},
			DocumentType: edxml.DocumentType{Type: "1", TypeName: "Công văn"},
			Subject:      "Thử nghiệm",
			OtherInfo:    edxml.OtherInfo{Priority: "0"},
		},
		Trace: &edxml.Trace{
			Headers:  []edxml.TraceHeader{{OrganID: "000.00.00.G22", Timestamp: "2025/11/20 09:00:00"}},
			Business: &edxml.Business{DocumentID: "000.00.00.G22,2025/11/20,9/VPCP-TEST", DocType: edxml.BusinessNew, Paper: "0"},
		},
	}
	p.AddFile("a1", "CV 9.pdf", "Văn bản chính", "application/pdf")
	out := write(t, p, [][]byte{[]byte("%PDF-1.4 test")})
	q, files := parseKeep(t, out)
	if !q.Valid() || len(q.Warnings) > 0 {
		t.Fatalf("errors %v warnings %v", q.Errors, q.Warnings)
	}
	if string(files[0]) != "%PDF-1.4 test" || q.Attachments[0].Format != "pdf" || q.Attachments[0].AttachmentName != "CV 9.pdf" {
		t.Errorf("attachment %+v %q", q.Attachments[0], files[0])
	}
	golden(t, filepath.Join("testdata", "golden", "built-edoc.xml"), out)
}

func TestWriteRefusesCharactersXMLCannotCarry(t *testing.T) {
	p := &edxml.Packet{Kind: edxml.KindStatus, Status: &edxml.Status{Description: "bell \x07"}}
	err := edxml.Write(io.Discard, p, nil)
	if err == nil || !strings.Contains(err.Error(), "U+0007") {
		t.Errorf("err = %v", err)
	}
}

// The derived copy has the hub's TraceHeader after the sender's, and is
// otherwise byte for byte the original.
func TestWithTrace(t *testing.T) {
	for _, name := range []string{"edoc-new.xml", "edoc-variant-business-spelling.xml", "edoc-update.xml"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(fixtures, name))
			if err != nil {
				t.Fatal(err)
			}
			p, _ := parseKeep(t, data)
			at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			var buf bytes.Buffer
			if err := edxml.WithTrace(&buf, bytes.NewReader(data), p, "000.00.00.G01", at); err != nil {
				t.Fatal(err)
			}
			q, _ := parseKeep(t, buf.Bytes())
			if !q.Valid() {
				t.Fatalf("derived copy: %v", q.Errors)
			}
			hs := q.Trace.Headers
			want := append(append([]edxml.TraceHeader{}, p.Trace.Headers...), edxml.TraceHeader{OrganID: "000.00.00.G01", Timestamp: "2026/01/02 10:04:05"})
			if !reflect.DeepEqual(hs, want) {
				t.Errorf("trace = %+v, want %+v", hs, want)
			}
			if q.ID() != p.ID() || !reflect.DeepEqual(q.Header, p.Header) {
				t.Error("derived copy changed the packet's identity or header")
			}
			added := buf.Len() - len(data)
			i := bytes.Index(buf.Bytes(), []byte("000.00.00.G01")) // inside the inserted element
			if added <= 0 || i < 0 || !bytes.Equal(buf.Bytes()[:i-40], data[:i-40]) {
				t.Error("bytes before the insertion differ")
			}
		})
	}
}

func TestWithTraceStatus(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(fixtures, "status-01.xml"))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := parseKeep(t, data)
	if err := edxml.WithTrace(io.Discard, bytes.NewReader(data), p, "000.00.00.G01", time.Now()); !errors.Is(err, edxml.ErrNoTraceList) {
		t.Errorf("err = %v, want ErrNoTraceList", err)
	}
}

func TestWithTraceOtherBytes(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(fixtures, "edoc-new.xml"))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := parseKeep(t, data)
	if err := edxml.WithTrace(io.Discard, bytes.NewReader(data[:len(data)-1]), p, "000.00.00.G01", time.Now()); err == nil {
		t.Error("copying from other bytes than were parsed succeeded")
	}
}
