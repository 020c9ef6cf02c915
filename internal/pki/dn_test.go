package pki_test

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"testing"

	"github.com/lienthong/lienthong/internal/pki"
)

func TestReadableDN(t *testing.T) {
	uid := asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}
	name := pkix.Name{CommonName: "Nguyễn Văn A, Chánh Văn phòng", Organization: []string{"Văn phòng Chính phủ"}, Country: []string{"VN"},
		ExtraNames: []pkix.AttributeTypeAndValue{{Type: uid, Value: "000.00.00.G22"}}}
	tests := []struct {
		give string
		want string
	}{
		{name.String(), "UID=000.00.00.G22, CN=Nguyễn Văn A, Chánh Văn phòng, O=Văn phòng Chính phủ, C=VN"},
		{"CN=A\\+B,O=#zz", "CN=A+B, O=#zz"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := pki.ReadableDN(tt.give); got != tt.want {
			t.Errorf("ReadableDN(%q) = %q, want %q", tt.give, got, tt.want)
		}
	}
	if got := pki.DNValue(name.String(), "CN"); got != "Nguyễn Văn A, Chánh Văn phòng" {
		t.Errorf("CN = %q", got)
	}
	if got := pki.DNValue(name.String(), "UID"); got != "000.00.00.G22" {
		t.Errorf("UID = %q", got)
	}
}

func TestReadableText(t *testing.T) {
	give := `revocation status of "CN=G22,0.9.2342.19200300.100.1.1=#130d3030302e30302e30302e473232" is unknown: no CRL for its issuer`
	want := `revocation status of "CN=G22,UID=000.00.00.G22" is unknown: no CRL for its issuer`
	if got := pki.ReadableText(give); got != want {
		t.Errorf("ReadableText = %q, want %q", got, want)
	}
}
