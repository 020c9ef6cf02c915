package console

import (
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/edxml"
	"github.com/lienthong/lienthong/schemas/client"
)

// A clerk's console and an integrator's client answer the same document
// with the same bytes: one builder, edxml's.
func TestStatusPacketAsClient(t *testing.T) {
	parse := func(name string) *edxml.Packet {
		b, err := os.ReadFile("../edxml/testdata/fixtures/" + name)
		if err != nil {
			t.Fatal(err)
		}
		p, err := edxml.Parse(bytes.NewReader(b), edxml.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	const h29, g22, g12 = "000.00.00.H29", "000.00.00.G22", "000.00.00.G12"
	doc, doc2 := parse("edoc-new.xml"), parse("edoc-new-two-recipients.xml")
	at := time.Date(2025, 11, 20, 3, 2, 41, 0, time.UTC)
	s := &server{o: Options{Now: func() time.Time { return at }}}
	tests := []struct {
		name   string
		doc    *edxml.Packet
		organ  string
		code   edxml.StatusCode
		reason string
		to     string
	}{
		{"01", doc, h29, edxml.StatusArrived, "", ""},
		{"02 with a reason", doc2, g12, edxml.StatusRejected, "sai thể thức", ""},
		{"13 by the sender", doc2, g22, edxml.StatusTakeBack, "gửi nhầm", g12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.statusPacket(tt.organ, tt.doc, tt.code, tt.reason, tt.to)
			if err != nil {
				t.Fatal(err)
			}
			want, err := client.BuildStatus(tt.doc, client.StatusInput{From: edxml.Organization{OrganID: tt.organ}, Code: tt.code,
				Description: tt.reason, To: tt.to, Time: at})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("console's status differs from the client's:\n%s\nwant\n%s", got, want)
			}
		})
	}
}
