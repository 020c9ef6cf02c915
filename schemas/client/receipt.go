package client

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/digitorus/pkcs7"

	"github.com/lienthong/lienthong/internal/trust"
)

// Receipt is the hub's answer to an accepted packet (docs/contracts.md).
type Receipt struct {
	ID           string        `json:"id"`
	Kind         string        `json:"kind"`
	DocumentID   string        `json:"documentId"`
	From         string        `json:"from"`
	To           []string      `json:"to"`
	SHA256       string        `json:"sha256"`
	Size         int64         `json:"size"`
	AcceptedAt   time.Time     `json:"acceptedAt"`
	Verification *Verification `json:"verification"`
	// LogLeaf, when the hub keeps a verifiable log, is the base64 RFC 6962
	// hash of the packet's acceptance leaf: the hub's signed promise to
	// log it. GET /v1/packets/{id}/proof then proves it is in the log.
	LogLeaf string `json:"logLeaf,omitempty"`
	// ReceiptTimestamp, when the hub time-stamps receipts, is an RFC 3161
	// token (base64 DER) over the SHA-256 of the CMS in Receipt (decoded).
	ReceiptTimestamp string `json:"receiptTimestamp,omitempty"`
	// Receipt is the base64 DER of a CMS SignedData by the hub whose
	// attached content is this receipt's JSON with an empty receipt field.
	// VerifyReceipt checks it.
	Receipt string `json:"receipt"`
}

// Verification is the hub's report on a packet's signatures, as the hub
// writes it (trust.Report).
type Verification = trust.Report

// Signature is one verified signature of a packet.
type Signature = trust.Signature

// Cert describes a certificate in a verification report.
type Cert = trust.Cert

// ErrReceipt reports a receipt whose signature or content does not hold.
var ErrReceipt = errors.New("receipt does not verify")

// VerifyReceipt checks the hub's signature on a receipt: the CMS in
// r.Receipt must be signed by a certificate that chains to one of roots
// (validity judged at the signing time the hub claims, which is when it
// accepted the packet), and its content must be a receipt naming the same
// packet as r: id, kind, documentId, from, to, sha256, size and acceptedAt.
// Any failure wraps ErrReceipt.
//
// The agencies' certificates may chain to the same roots as the hub's:
// use VerifyReceiptBy to also require the hub's own OrganId.
func VerifyReceipt(r *Receipt, roots []*x509.Certificate) error {
	_, err := verifyReceipt(r, roots)
	return err
}

// VerifyReceiptBy is VerifyReceipt that also requires the signer
// certificate's subject UID to be hubOrgan (the hub's OrganId).
func VerifyReceiptBy(r *Receipt, roots []*x509.Certificate, hubOrgan string) error {
	signer, err := verifyReceipt(r, roots)
	if err != nil {
		return err
	}
	if got, ok := trust.OrganID(signer); !ok || got != hubOrgan {
		return fmt.Errorf("%w: signed by %q, not the hub %s", ErrReceipt, got, hubOrgan)
	}
	return nil
}

func verifyReceipt(r *Receipt, roots []*x509.Certificate) (*x509.Certificate, error) {
	if r == nil || r.Receipt == "" {
		return nil, fmt.Errorf("%w: the receipt is not signed", ErrReceipt)
	}
	if len(roots) == 0 {
		return nil, fmt.Errorf("%w: no trusted roots", ErrReceipt)
	}
	der, err := base64.StdEncoding.DecodeString(r.Receipt)
	if err != nil {
		return nil, fmt.Errorf("%w: not base64: %w", ErrReceipt, err)
	}
	p7, err := pkcs7.Parse(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrReceipt, err)
	}
	signer := p7.GetOnlySigner()
	if signer == nil {
		return nil, fmt.Errorf("%w: want exactly one signer with its certificate", ErrReceipt)
	}
	if len(p7.Content) == 0 {
		return nil, fmt.Errorf("%w: no attached content", ErrReceipt)
	}
	pool := x509.NewCertPool() // never nil: a nil pool would skip the chain check
	for _, c := range roots {
		pool.AddCert(c)
	}
	if err := p7.VerifyWithChain(pool); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrReceipt, err)
	}
	var signed Receipt
	if err := json.Unmarshal(p7.Content, &signed); err != nil {
		return nil, fmt.Errorf("%w: content is not a receipt: %w", ErrReceipt, err)
	}
	if err := sameReceipt(&signed, r); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrReceipt, err)
	}
	return signer, nil
}

func sameReceipt(signed, r *Receipt) error {
	diff := func(field string, s, g any) error {
		return fmt.Errorf("signed %s %v differs from the receipt's %v", field, s, g)
	}
	switch {
	case signed.ID != r.ID:
		return diff("id", signed.ID, r.ID)
	case signed.SHA256 != r.SHA256:
		return diff("sha256", signed.SHA256, r.SHA256)
	case signed.Size != r.Size:
		return diff("size", signed.Size, r.Size)
	case signed.Kind != r.Kind:
		return diff("kind", signed.Kind, r.Kind)
	case signed.DocumentID != r.DocumentID:
		return diff("documentId", signed.DocumentID, r.DocumentID)
	case signed.From != r.From:
		return diff("from", signed.From, r.From)
	case !slices.Equal(signed.To, r.To):
		return diff("to", signed.To, r.To)
	case !signed.AcceptedAt.Equal(r.AcceptedAt):
		return diff("acceptedAt", signed.AcceptedAt, r.AcceptedAt)
	case signed.LogLeaf != r.LogLeaf:
		return diff("logLeaf", signed.LogLeaf, r.LogLeaf)
	case (signed.Verification == nil) != (r.Verification == nil),
		signed.Verification != nil && signed.Verification.Valid != r.Verification.Valid:
		return errors.New("signed verification differs from the receipt's")
	}
	return nil
}
