package hub

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/pki"
	"github.com/lienthong/lienthong/internal/trust"
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

// The answer spliced from the signed JSON is the receipt as marshalPlain
// writes it, byte for byte, or nil where the two encodings differ.
func TestAnswerJSONIsTheReceiptsJSON(t *testing.T) {
	iss, err := pki.Init(filepath.Join(t.TempDir(), "ca"), pki.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hubCert, err := iss.Issue("000.00.00.G01", "hub", pki.IssueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 7, 9, 30, 0, 5, time.UTC)
	report := func(msg string) *trust.Report {
		return &trust.Report{Valid: true, Signatures: []trust.Signature{}, Errors: []trust.Problem{},
			Warnings: []trust.Problem{{Code: trust.CodeUnsigned, Message: msg}}}
	}
	tests := []struct {
		name       string
		give       Receipt
		stamp      string
		wantSplice bool
	}{
		{"plain", Receipt{ID: "a", Kind: "edoc", From: "G22", To: []string{"H29"}, AcceptedAt: at, Verification: report("accepted unsigned by policy")}, "", true},
		{"with a leaf and a time-stamp", Receipt{ID: "a", To: []string{}, AcceptedAt: at, LogLeaf: "bGVhZg==", Verification: report("ok")}, "dG9rZW4=", true},
		{"quotes, backslashes, Vietnamese", Receipt{ID: "a", To: []string{}, AcceptedAt: at, Verification: report(`"Cơ quan" \ 1`)}, "", true},
		{"line separators", Receipt{ID: "a", To: []string{}, AcceptedAt: at, Verification: report("a\u2028b")}, "", true},
		{"markup characters", Receipt{ID: "a", To: []string{}, AcceptedAt: at, Verification: report("A & B <c>")}, "dG9r", false},
		{"a control character", Receipt{ID: "a", To: []string{"x\x01"}, AcceptedAt: at, Verification: report("ok")}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := tt.give
			content, err := signReceipt(&rc, hubCert.Cert, hubCert.Key, hubCert.Chain)
			if err != nil {
				t.Fatal(err)
			}
			rc.ReceiptTimestamp = tt.stamp
			want, err := marshalPlain(&rc)
			if err != nil {
				t.Fatal(err)
			}
			got := answerJSON(content, &rc)
			switch {
			case !tt.wantSplice && got != nil:
				t.Errorf("spliced where the encodings differ:\n%s\nwant nil (marshal: %s)", got, want)
			case tt.wantSplice && !bytes.Equal(got, want):
				t.Errorf("spliced\n%s\nwant\n%s", got, want)
			}
		})
	}
}
