package hub_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/lienthong/lienthong/internal/hub"
	"github.com/lienthong/lienthong/internal/hubtest"
	"github.com/lienthong/lienthong/internal/pdfsig"
	"github.com/lienthong/lienthong/internal/pdfsig/pdfsigtest"
	"github.com/lienthong/lienthong/internal/pki"
)

// The organ policy follows the channel a letter came by (the console's
// too) and the sender, the stricter: an unsealed letter is refused with
// its report, a sealed one passes; the same unsealed letter passes on a
// channel and from a sender under report.
func TestPDFPolicy(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{PDF: true, Hub: func(o *hub.Options) {
		o.PDFPolicy = map[string]string{"console": hub.PDFOrgan, "v1": hub.PDFReport}
		o.AgencyPDFPolicy = map[string]string{"000.00.00.G12": hub.PDFOrgan}
	}})
	ctx := context.Background()
	g22, g12 := h.Agencies["000.00.00.G22"], h.Agencies["000.00.00.G12"]
	e, err := h.PDF.Engine(ctx)
	if err != nil {
		t.Fatal(err)
	}
	unsigned := pdfsigtest.Write(pdfsigtest.Page1)
	seal := func(a *hubtest.Agency) []byte {
		var out bytes.Buffer
		if err := e.Sign(ctx, &out, bytes.NewReader(unsigned), int64(len(unsigned)),
			pdfsig.SignOptions{Cert: a.Cert.Cert, Chain: a.Cert.Chain, Key: a.Cert.Key}); err != nil {
			t.Fatal(err)
		}
		return out.Bytes()
	}
	submit := func(by *hubtest.Agency, channel, number string, pdf []byte) (*hub.Receipt, error) {
		packet := pdfsigtest.Letter(t, by.ID, "000.00.00.H29", number, pdf)
		sig, err := pki.SignDetached(bytes.NewReader(packet), by.Cert.Cert, by.Cert.Key, by.Cert.Chain, pki.SignOptions{})
		if err != nil {
			t.Fatal(err)
		}
		rc, _, err := h.Hub.Submit(ctx, hub.Submission{Caller: by.ID, Packet: bytes.NewReader(packet), Signature: sig, Channel: channel})
		return rc, err
	}
	tests := []struct {
		name    string
		by      *hubtest.Agency
		channel string
		pdf     []byte
		refused bool
	}{
		{"unsealed on the console", g22, "console", unsigned, true},
		{"sealed on the console", g22, "console", seal(g22), false},
		{"unsealed on v1 (report)", g22, "v1", unsigned, false},
		{"unsealed from an organ-policy agency on v1", g12, "v1", unsigned, true},
		{"sealed by another organ, from an organ-policy agency", g12, "v1", seal(g22), true},
		{"sealed by itself, from an organ-policy agency", g12, "v1", seal(g12), false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc, err := submit(tt.by, tt.channel, string(rune('1'+i)), tt.pdf)
			he, _ := errors.AsType[*hub.Error](err)
			switch {
			case tt.refused && (he == nil || he.Status != http.StatusUnprocessableEntity || he.Code != pdfsig.CodeOrganMissing ||
				he.Report == nil || len(he.Report.Attachments) != 1):
				t.Errorf("want 422 %s with the report, got %v", pdfsig.CodeOrganMissing, err)
			case !tt.refused && (err != nil || len(rc.Verification.Attachments) != 1):
				t.Errorf("want accepted with one attachment, got %v", err)
			}
		})
	}
}
