package cli

import (
	"fmt"
	"os"

	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/internal/metrics"
	"github.com/lienthong/lienthong/internal/pki"
	"github.com/lienthong/lienthong/internal/trust"
)

// certificateExpiry reads the end of every certificate and CRL the
// configuration names (trust roots, the receipt signer and its chain,
// hosted keys and their chains, trust.crls), for the expiry alerts.
func certificateExpiry(cfg *config.Config) (*metrics.ExpiryCollector, error) {
	c := &metrics.ExpiryCollector{}
	add := func(use, path string) error {
		if path == "" {
			return nil
		}
		certs, err := pki.LoadCertificates(path)
		if err != nil {
			return err
		}
		c.AddCertificates(use, certs...)
		return nil
	}
	for _, p := range cfg.Trust.Roots {
		if err := add(metrics.UseTrustRoot, p); err != nil {
			return nil, err
		}
	}
	if err := add(metrics.UseReceipt, cfg.Trust.HubCert); err != nil {
		return nil, err
	}
	if err := add(metrics.UseReceiptChain, cfg.Trust.HubChain); err != nil {
		return nil, err
	}
	for _, k := range cfg.Console.HostedKeys {
		if err := add(metrics.UseHostedKey, k.Cert); err != nil {
			return nil, err
		}
		if err := add(metrics.UseHostedChain, k.Chain); err != nil {
			return nil, err
		}
	}
	for _, p := range cfg.Trust.CRLs {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		crl, err := trust.ParseCRL(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		c.AddCRL(p, crl)
	}
	return c, nil
}
