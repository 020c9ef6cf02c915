package pdfsigtest

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/lienthong/lienthong/internal/edxml"
)

// Letter is an edoc (Công văn, 2026/12/07) from one organ to another
// carrying files in order, the first being the letter: each named
// tep-<i>.pdf, or .zip with application/zip when it is a zip (as the
// national axis's SDK sends files zipped).
func Letter(t testing.TB, from, to, number string, files ...[]byte) []byte {
	t.Helper()
	docID := from + ",2026/12/07," + number + "/PDF"
	p := &edxml.Packet{Kind: edxml.KindEdoc, Header: &edxml.Header{
		From:         edxml.Organization{OrganID: from, OrganName: "Cơ quan gửi"},
		To:           []edxml.Organization{{OrganID: to, OrganName: "Cơ quan nhận"}},
		DocumentID:   docID,
		Code:         edxml.Code{Number: number, Notation: "PDF"},
		Promulgation: edxml.Promulgation{Place: "Hà Nội", Date: "2026/12/07"},
		DocumentType: edxml.DocumentType{Type: "1", TypeDetail: "0", TypeName: "Công văn"},
		Subject:      "Văn bản ký số " + number,
		OtherInfo:    edxml.OtherInfo{Priority: "0"},
	}, Trace: &edxml.Trace{
		Headers:  []edxml.TraceHeader{{OrganID: from, Timestamp: "2026/12/07 09:00:00"}},
		Business: &edxml.Business{DocumentID: docID, DocType: edxml.BusinessNew, Paper: "0"},
	}}
	for i, f := range files {
		ext, typ := "pdf", "application/pdf"
		if bytes.HasPrefix(f, []byte("PK\x03\x04")) {
			ext, typ = "zip", "application/zip"
		}
		p.AddFile(fmt.Sprintf("f%d", i), fmt.Sprintf("tep-%d.%s", i, ext), "", typ)
	}
	var buf bytes.Buffer
	if err := edxml.Write(&buf, p, func(i int) (io.Reader, error) { return bytes.NewReader(files[i]), nil }); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
