package trust_test

import (
	"context"
	"crypto/x509"
	"fmt"
	"math/big"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/pki"
	"github.com/lienthong/lienthong/internal/trust"
)

// The verifier caches parsed certificates and verified chains between
// packets (issue 18). Each test verifies once to fill the caches, then
// shows a second packet is judged as a fresh verifier judges it.

// Certificates are cached by their DER: another CA's certificates with
// the same names, or a second certificate of the same organ, are never
// taken for the cached one.
func TestCacheKnowsCertificatesByTheirBytes(t *testing.T) {
	data := packet(t, "edoc-new.xml")
	e, rogue := newEnv(t, pki.InitOptions{}), newEnv(t, pki.InitOptions{})
	if e.g22.Cert.Subject.String() != rogue.g22.Cert.Subject.String() || e.ca.Root().Subject.String() != rogue.ca.Root().Subject.String() {
		t.Fatal("the two CAs' names differ; the test needs them alike")
	}
	second := issue(t, e.ca, "000.00.00.G22", pki.IssueOptions{})
	v := verifier(t, trust.Config{}, e.ca.Root())
	if s := v.VerifyCMS(context.Background(), sign(t, data, e.g22), digests(data), "000.00.00.G22", now); !s.Valid {
		t.Fatalf("genuine: %v", s.Errors)
	}
	s := v.VerifyCMS(context.Background(), sign(t, data, rogue.g22), digests(data), "000.00.00.G22", now)
	if !slices.Equal(codes(s.Errors), []string{trust.CodeUntrusted}) {
		t.Errorf("same names, another CA: errors %v, want [%s]", s.Errors, trust.CodeUntrusted)
	}
	s = v.VerifyCMS(context.Background(), sign(t, data, second), digests(data), "000.00.00.G22", now)
	if !s.Valid || s.Signer.SHA256 != trust.Fingerprint(second.Cert) || s.Signer.Serial != second.Cert.SerialNumber.String() {
		t.Errorf("second certificate of the organ: valid %v (%v), signer %+v, want %s", s.Valid, s.Errors, s.Signer, trust.Fingerprint(second.Cert))
	}
}

// A chain verified at one time is not reused at a time outside any of its
// certificates' validity.
func TestCachedChainExpires(t *testing.T) {
	data := packet(t, "edoc-new.xml")
	e := newEnv(t, pki.InitOptions{})
	interEnd := e.ca.Intermediate().NotAfter
	leafEnd := now.Add(48 * time.Hour).Truncate(time.Second)
	tests := []struct {
		name   string
		give   pki.IssueOptions
		before time.Time
		after  time.Time
	}{
		{"the leaf expires", pki.IssueOptions{NotAfter: leafEnd}, leafEnd.Add(-time.Hour), leafEnd.Add(time.Hour)},
		{"the intermediate expires", pki.IssueOptions{NotAfter: interEnd.Add(30 * 24 * time.Hour)}, interEnd.Add(-time.Hour), interEnd.Add(time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leaf := issue(t, e.ca, "000.00.00.G22", tt.give)
			sig := sign(t, data, leaf)
			v := verifier(t, trust.Config{}, e.ca.Root())
			if s := v.VerifyCMS(context.Background(), sig, digests(data), "000.00.00.G22", tt.before); !s.Valid {
				t.Fatalf("before: %v", s.Errors)
			}
			s := v.VerifyCMS(context.Background(), sig, digests(data), "000.00.00.G22", tt.after)
			if !slices.Equal(codes(s.Errors), []string{trust.CodeExpired}) {
				t.Errorf("after: errors %v, want [%s]", s.Errors, trust.CodeExpired)
			}
		})
	}
}

// Rotated roots: a verifier made with the new roots does not trust what
// the old verifier cached, and trusts the new CA.
func TestCacheFollowsTheRoots(t *testing.T) {
	data := packet(t, "edoc-new.xml")
	old, cur := newEnv(t, pki.InitOptions{}), newEnv(t, pki.InitOptions{})
	oldSig, curSig := sign(t, data, old.g22), sign(t, data, cur.g22)
	before := verifier(t, trust.Config{}, old.ca.Root())
	if s := before.VerifyCMS(context.Background(), oldSig, digests(data), "000.00.00.G22", now); !s.Valid {
		t.Fatalf("old roots, old CA: %v", s.Errors)
	}
	after := verifier(t, trust.Config{}, cur.ca.Root())
	s := after.VerifyCMS(context.Background(), oldSig, digests(data), "000.00.00.G22", now)
	if !slices.Equal(codes(s.Errors), []string{trust.CodeUntrusted}) {
		t.Errorf("new roots, old CA: errors %v, want [%s]", s.Errors, trust.CodeUntrusted)
	}
	if s := after.VerifyCMS(context.Background(), curSig, digests(data), "000.00.00.G22", now); !s.Valid {
		t.Errorf("new roots, new CA: %v", s.Errors)
	}
	s = before.VerifyCMS(context.Background(), curSig, digests(data), "000.00.00.G22", now)
	if !slices.Equal(codes(s.Errors), []string{trust.CodeUntrusted}) {
		t.Errorf("old roots, new CA: errors %v, want [%s]", s.Errors, trust.CodeUntrusted)
	}
}

// Revocation is looked up for every packet: a certificate revoked after
// its chain was cached is sig.revoked from then on.
func TestRevokedAfterTheChainWasCached(t *testing.T) {
	data := packet(t, "edoc-new.xml")
	e := newEnv(t, pki.InitOptions{})
	revokedAt := now.Add(time.Hour).Truncate(time.Second)
	der, err := e.ca.CRL([]*big.Int{e.g22.Cert.SerialNumber}, pki.CRLOptions{RevokedAt: revokedAt})
	if err != nil {
		t.Fatal(err)
	}
	crl, err := trust.ParseCRL(der)
	if err != nil {
		t.Fatal(err)
	}
	v := verifier(t, trust.Config{CRLs: []*x509.RevocationList{crl}}, e.ca.Root())
	sig := sign(t, data, e.g22)
	if s := v.VerifyCMS(context.Background(), sig, digests(data), "000.00.00.G22", revokedAt.Add(-time.Minute)); !s.Valid {
		t.Fatalf("before the revocation: %v", s.Errors)
	}
	s := v.VerifyCMS(context.Background(), sig, digests(data), "000.00.00.G22", revokedAt.Add(time.Minute))
	if !slices.Equal(codes(s.Errors), []string{trust.CodeRevoked}) {
		t.Errorf("after the revocation: errors %v, want [%s]", s.Errors, trust.CodeRevoked)
	}
}

// One verifier serves every request: its caches are shared between
// goroutines (run with -race), and each report is the packet's own.
func TestVerifyCMSConcurrently(t *testing.T) {
	data := packet(t, "edoc-new.xml")
	e := newEnv(t, pki.InitOptions{})
	signers := []*pki.Issued{e.g22, issue(t, e.ca, "000.00.00.G22", pki.IssueOptions{})}
	sigs := [][]byte{sign(t, data, signers[0]), sign(t, data, signers[1])}
	v := verifier(t, trust.Config{}, e.ca.Root())
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := range 8 {
		wg.Go(func() {
			for i := range 20 {
				k := (g + i) % 2
				s := v.VerifyCMS(context.Background(), sigs[k], digests(data), "000.00.00.G22", now)
				if !s.Valid || s.Signer.SHA256 != trust.Fingerprint(signers[k].Cert) || len(s.Chain) != 3 || s.Chain[0].Subject != s.Signer.Subject {
					errs <- fmt.Sprintf("signature %d: valid %v %v, signer %v, chain %d", k, s.Valid, s.Errors, s.Signer, len(s.Chain))
					return
				}
				// A caller may change its report; no other report may see it.
				s.Chain[0].Subject, s.Signer.Subject = "changed by the caller", "changed by the caller"
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
