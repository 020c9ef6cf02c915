package hub

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/lienthong/lienthong/internal/pki"
)

func TestCheckReceiptSigner(t *testing.T) {
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
		cert    *x509.Certificate
		key     crypto.Signer
		chain   []*x509.Certificate
		wantErr bool
	}{
		{"own chain", mine.Cert, mine.Key, mine.Chain, false},
		{"no chain", mine.Cert, mine.Key, nil, false},
		{"no key: receipts unsigned", nil, nil, nil, false},
		{"another CA's chain", mine.Cert, mine.Key, other.Chain, true},
		{"chain out of order", mine.Cert, mine.Key, append([]*x509.Certificate{mine.Cert}, mine.Chain...), true},
		{"key without certificate", nil, mine.Key, mine.Chain, true},
		{"another certificate's key", mine.Cert, other.Key, mine.Chain, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkReceiptSigner(tt.cert, tt.key, tt.chain)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

// The recorded event comes back byte for byte, whatever its text holds,
// so a retry produces exactly what the first attempt did.
func TestAcceptanceKeepsEventBytes(t *testing.T) {
	tests := []struct{ name, give string }{
		{"plain", "V/v rà soát thủ tục"},
		{"markup characters", `A & B <c> "d"`},
		{"line separators", "a\u2028b\u2029c\x00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			event, err := json.Marshal(accepted{V: 1, ID: "x", Subject: tt.give})
			if err != nil {
				t.Fatal(err)
			}
			raw, err := json.Marshal(acceptance{Receipt: Receipt{ID: "x"}, Event: event})
			if err != nil {
				t.Fatal(err)
			}
			var got acceptance
			if err := json.Unmarshal(raw, &got); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Event, event) {
				t.Errorf("event\n%s\ncame back as\n%s", event, got.Event)
			}
		})
	}
}
