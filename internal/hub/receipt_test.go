package hub

import (
	"crypto/x509"
	"path/filepath"
	"testing"

	"lienthong/internal/pki"
)

func TestCheckReceiptChain(t *testing.T) {
	issue := func(name string) *pki.Issued {
		t.Helper()
		ca, err := pki.Init(filepath.Join(t.TempDir(), name), pki.InitOptions{})
		if err != nil {
			t.Fatal(err)
		}
		iss, err := ca.Issue("000.00.00.G01", "hub", pki.IssueOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return iss
	}
	mine, other := issue("a"), issue("b")
	if len(mine.Chain) == 0 {
		t.Fatal("issued certificate without a chain")
	}
	tests := []struct {
		name    string
		give    []*x509.Certificate
		wantErr bool
	}{
		{"own chain", mine.Chain, false},
		{"no chain", nil, false},
		{"another CA's chain", other.Chain, true},
		{"chain out of order", append([]*x509.Certificate{mine.Cert}, mine.Chain...), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkReceiptChain(mine.Cert, tt.give)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}
