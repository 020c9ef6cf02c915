package route_test

import (
	"reflect"
	"testing"

	"github.com/lienthong/lienthong/internal/organ"
	"github.com/lienthong/lienthong/internal/route"
)

func directory(t *testing.T) *organ.Directory {
	t.Helper()
	d, err := organ.NewDirectory([]organ.Agency{
		{ID: "000.00.00.G22", Name: "VPCP"},
		{ID: "000.00.00.H29", Name: "UBND TP HCM"},
		{ID: "000.00.00.G12", Name: "Bộ Tài chính", Aliases: []organ.ID{"000.00.00.G11"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDecide(t *testing.T) {
	dir := directory(t)
	doc := &route.Document{From: "000.00.00.G22", Recipients: []string{"000.00.00.H29", "000.00.00.G12"}}
	tests := []struct {
		name string
		give route.Packet
		doc  *route.Document
		want route.Decision
	}{
		{"edoc to two", route.Packet{Kind: "edoc", From: "000.00.00.G22", To: []string{"000.00.00.H29", "000.00.00.G12"}}, nil,
			route.Decision{Deliveries: []route.Delivery{{"000.00.00.H29", []string{"000.00.00.H29"}}, {"000.00.00.G12", []string{"000.00.00.G12"}}}}},
		{"units share their parent's inbox", route.Packet{Kind: "edoc", To: []string{"000.00.12.H29", "000.01.12.H29", "000.00.00.H29"}}, nil,
			route.Decision{Deliveries: []route.Delivery{{"000.00.00.H29", []string{"000.00.12.H29", "000.01.12.H29", "000.00.00.H29"}}}}},
		{"alias goes to the successor", route.Packet{Kind: "edoc", To: []string{"000.00.00.G11"}}, nil,
			route.Decision{Deliveries: []route.Delivery{{"000.00.00.G12", []string{"000.00.00.G11"}}}, Flags: []string{route.FlagAlias}}},
		{"unknown recipient", route.Packet{Kind: "edoc", To: []string{"000.00.00.H29", "000.00.00.K99"}}, nil,
			route.Decision{Deliveries: []route.Delivery{{"000.00.00.H29", []string{"000.00.00.H29"}}}, Unroutable: []string{"000.00.00.K99"}}},
		{"03 to the sender", route.Packet{Kind: "status", From: "000.00.00.H29", StatusCode: "03", ResponseForOrgan: "000.00.00.G22"}, doc,
			route.Decision{Deliveries: []route.Delivery{{"000.00.00.G22", []string{"000.00.00.G22"}}}}},
		{"03 goes to the document's sender whatever ResponseFor says", route.Packet{Kind: "status", From: "000.00.00.H29", StatusCode: "03", ResponseForOrgan: "000.00.00.G12"}, doc,
			route.Decision{Deliveries: []route.Delivery{{"000.00.00.G22", []string{"000.00.00.G22"}}}}},
		{"13 to the recipient named", route.Packet{Kind: "status", From: "000.00.00.G22", StatusCode: "13", ResponseForOrgan: "000.00.00.H29"}, doc,
			route.Decision{Deliveries: []route.Delivery{{"000.00.00.H29", []string{"000.00.00.H29"}}}}},
		{"13 naming no recipient goes to all", route.Packet{Kind: "status", From: "000.00.00.G22", StatusCode: "13", ResponseForOrgan: "000.00.00.G22"}, doc,
			route.Decision{Deliveries: []route.Delivery{{"000.00.00.H29", []string{"000.00.00.H29"}}, {"000.00.00.G12", []string{"000.00.00.G12"}}}}},
		{"status about an unknown document", route.Packet{Kind: "status", From: "000.00.00.H29", StatusCode: "01", ResponseForOrgan: "000.00.00.G22"}, nil,
			route.Decision{Deliveries: []route.Delivery{{"000.00.00.G22", []string{"000.00.00.G22"}}}, Flags: []string{route.FlagUnknownDocument}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := route.Decide(tt.give, dir, tt.doc); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestPermitted(t *testing.T) {
	doc := &route.Document{From: "000.00.00.G22", Recipients: []string{"000.00.00.H29", "000.00.00.G12"}}
	tests := []struct {
		name string
		give route.Packet
		doc  *route.Document
		want bool
	}{
		{"recipient's 03", route.Packet{Kind: "status", From: "000.00.00.H29", StatusCode: "03"}, doc, true},
		{"a unit under a recipient", route.Packet{Kind: "status", From: "000.00.12.H29", StatusCode: "01"}, doc, true},
		{"a stranger's 03", route.Packet{Kind: "status", From: "000.00.00.K01", StatusCode: "03"}, doc, false},
		{"the sender's 03 about its own document", route.Packet{Kind: "status", From: "000.00.00.G22", StatusCode: "03"}, doc, false},
		{"the sender's 13", route.Packet{Kind: "status", From: "000.00.00.G22", StatusCode: "13"}, doc, true},
		{"a recipient's 13", route.Packet{Kind: "status", From: "000.00.00.H29", StatusCode: "13"}, doc, false},
		{"unknown document", route.Packet{Kind: "status", From: "000.00.00.K01", StatusCode: "03"}, nil, true},
		{"an edoc", route.Packet{Kind: "edoc", From: "000.00.00.K01"}, doc, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := route.Permitted(tt.give, tt.doc); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
