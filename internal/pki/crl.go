package pki

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math/big"
	"path/filepath"
	"slices"
	"time"

	"github.com/lienthong/lienthong/internal/atomicfile"
)

// CRLValidity is the default interval between thisUpdate and nextUpdate.
const CRLValidity = 7 * 24 * time.Hour

// CRLOptions configures CRL.
type CRLOptions struct {
	// Root makes the root sign the CRL (root.crl), for revoking the
	// intermediate; otherwise the intermediate signs intermediate.crl.
	Root bool
	// ThisUpdate defaults to now; NextUpdate to ThisUpdate + CRLValidity.
	ThisUpdate, NextUpdate time.Time
	// RevokedAt is the revocation date recorded for the serials of this
	// call; zero means ThisUpdate.
	RevokedAt time.Time
}

// CRL adds the serials in revoke to the CA's revoked list and publishes a new
// CRL listing every serial revoked so far (revocations accumulate across
// calls; a serial revoked twice keeps its first date). The CRL is written in
// DER to intermediate.crl (root.crl with opts.Root) and in PEM to the same
// name plus ".pem"; its DER is returned. Each CRL has the next CRL number.
func (ca *CA) CRL(revoke []*big.Int, opts CRLOptions) ([]byte, error) {
	thisUpdate := opts.ThisUpdate
	if thisUpdate.IsZero() {
		thisUpdate = time.Now()
	}
	thisUpdate = thisUpdate.UTC().Truncate(time.Second)
	nextUpdate := opts.NextUpdate
	if nextUpdate.IsZero() {
		nextUpdate = thisUpdate.Add(CRLValidity)
	}
	nextUpdate = nextUpdate.UTC().Truncate(time.Second)
	if !nextUpdate.After(thisUpdate) {
		return nil, fmt.Errorf("crl: next update %s is not after this update %s",
			nextUpdate.Format(time.RFC3339), thisUpdate.Format(time.RFC3339))
	}
	revokedAt := opts.RevokedAt
	if revokedAt.IsZero() {
		revokedAt = thisUpdate
	}
	revokedAt = revokedAt.UTC().Truncate(time.Second)
	for _, s := range revoke {
		if s == nil || s.Sign() <= 0 {
			return nil, fmt.Errorf("crl: serial %v is not a positive integer", s)
		}
	}

	ca.mu.Lock()
	defer ca.mu.Unlock()
	st := ca.state
	list, number := &st.Revoked, &st.CRLNumber
	issuer, key, name := ca.inter, ca.interKey, IntermediateCRLFile
	if opts.Root {
		list, number = &st.RootRevoked, &st.RootCRLNumber
		issuer, key, name = ca.root, ca.rootKey, RootCRLFile
	}
	merged := slices.Clone(*list)
	for _, s := range revoke {
		dec := s.String()
		if !slices.ContainsFunc(merged, func(r revoked) bool { return r.Serial == dec }) {
			merged = append(merged, revoked{Serial: dec, RevokedAt: revokedAt})
		}
	}
	*list = merged
	*number++

	entries := make([]x509.RevocationListEntry, 0, len(merged))
	for _, r := range merged {
		n, ok := new(big.Int).SetString(r.Serial, 10)
		if !ok {
			return nil, fmt.Errorf("crl: %s holds a bad serial %q", StateFile, r.Serial)
		}
		entries = append(entries, x509.RevocationListEntry{SerialNumber: n, RevocationTime: r.RevokedAt})
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		RevokedCertificateEntries: entries,
		Number:                    big.NewInt(*number),
		ThisUpdate:                thisUpdate,
		NextUpdate:                nextUpdate,
	}, issuer, key)
	if err != nil {
		return nil, fmt.Errorf("crl: %w", err)
	}
	// The revocation is recorded before the CRL is published, so a failed
	// write never loses it: the next call lists it again.
	if err := ca.saveState(st); err != nil {
		return nil, fmt.Errorf("crl: %w", err)
	}
	ca.state = st
	path := filepath.Join(ca.dir, name)
	if err := atomicfile.WriteBytes(path, der, 0o644); err != nil {
		return nil, fmt.Errorf("crl: %w", err)
	}
	if err := atomicfile.WriteBytes(path+".pem", pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der}), 0o644); err != nil {
		return nil, fmt.Errorf("crl: %w", err)
	}
	return der, nil
}

// CRLPath returns where CRL writes the DER CRL (root.crl when root is true).
func (ca *CA) CRLPath(root bool) string {
	if root {
		return filepath.Join(ca.dir, RootCRLFile)
	}
	return filepath.Join(ca.dir, IntermediateCRLFile)
}

// Revoked returns the serials revoked so far by the intermediate (or by the
// root when root is true), in the order they were revoked.
func (ca *CA) Revoked(root bool) []*big.Int {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	list := ca.state.Revoked
	if root {
		list = ca.state.RootRevoked
	}
	out := make([]*big.Int, 0, len(list))
	for _, r := range list {
		if n, ok := new(big.Int).SetString(r.Serial, 10); ok {
			out = append(out, n)
		}
	}
	return out
}
