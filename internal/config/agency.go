package config

import (
	"fmt"

	"github.com/lienthong/lienthong/internal/organ"
)

// Agency is an agency the hub serves, with its credentials.
type Agency struct {
	OrganID string `mapstructure:"organId" json:"organId"`
	Name    string `mapstructure:"name" json:"name"`
	// Parent overrides the parent computed from OrganID.
	Parent string `mapstructure:"parent" json:"parent,omitempty"`
	// Aliases are old codes still used by senders (2025 mergers).
	Aliases []string `mapstructure:"aliases" json:"aliases,omitempty"`
	// Endpoint is "pull" (the default), an https webhook URL (http only to
	// a loopback host) or "hub:<name>" for a federated hub.
	Endpoint string `mapstructure:"endpoint" json:"endpoint,omitempty"`
	// Tokens are bearer tokens, each stored as "sha256:<hex>" (see
	// HashToken) or, for development, as the plain token. Compare with
	// MatchToken.
	Tokens []Secret `mapstructure:"tokens" json:"tokens,omitempty"`
	// CertSHA256 pins signer and client certificates by SHA-256
	// fingerprint (hex, colons allowed).
	CertSHA256 []string `mapstructure:"certSha256" json:"certSha256,omitempty"`
	// VDXPSystemID and VDXPSecret authenticate the agency's national-axis
	// software on /vdxp/ (HMAC-SHA256); the secret is needed in the clear.
	VDXPSystemID string `mapstructure:"vdxpSystemId" json:"vdxpSystemId,omitempty"`
	VDXPSecret   Secret `mapstructure:"vdxpSecret" json:"vdxpSecret,omitempty"`
	// VDXPCertSHA256 pins the TLS client certificates the system must
	// present on every /vdxp/ request (SHA-256, hex, colons allowed), so
	// captured XroadVnpt-* headers are useless without its key.
	VDXPCertSHA256 []string `mapstructure:"vdxpCertSha256" json:"vdxpCertSha256,omitempty"`
	// Policy, when set, overrides policy.v1 for this agency's packets
	// (require, cms, unsigned-ok): e.g. unsigned-ok for one agency's
	// interop tests without opening the door for everyone.
	Policy SignaturePolicy `mapstructure:"policy" json:"policy,omitempty"`
	// PDFPolicy, when organ, refuses this agency's edocs whose main PDF
	// lacks its own valid signature, whatever pdf.policy says.
	PDFPolicy string `mapstructure:"pdfPolicy" json:"pdfPolicy,omitempty"`
	// WebhookSecret signs the hub's webhook deliveries (HMAC-SHA256) when
	// Endpoint is a URL; the receiver checks them with it.
	WebhookSecret Secret `mapstructure:"webhookSecret" json:"webhookSecret,omitempty"`
	// Kafka, when set, is the agency's own Kafka principal, to read its
	// inbox topic directly (see AgencyKafka).
	Kafka AgencyKafka `mapstructure:"kafka" json:"kafka,omitzero"`
}

// toOrgan is a as a directory entry; organ.Directory validates it.
func (a Agency) toOrgan() organ.Agency {
	o := organ.Agency{
		ID:         organ.ID(a.OrganID),
		Name:       a.Name,
		Parent:     organ.ID(a.Parent),
		Endpoint:   a.Endpoint,
		CertSHA256: append([]string(nil), a.CertSHA256...),
	}
	for _, s := range a.Aliases {
		o.Aliases = append(o.Aliases, organ.ID(s))
	}
	return o
}

// LoadDirectory builds the agency directory: the agencies of Directory.File
// (when set) and those of Agencies, under the OrganId policy of Policy. An
// agency listed in both is an organ.ErrDuplicate error. Credentials stay in
// Agencies; the directory holds routing and certificate pins.
func (c *Config) LoadDirectory() (*organ.Directory, error) {
	p := c.Policy.Organ()
	var list []organ.Agency
	if c.Directory.File != "" {
		d, err := p.LoadDirectory(c.Directory.File)
		if err != nil {
			return nil, fmt.Errorf("directory.file: %w", err)
		}
		list = d.Agencies()
	}
	for _, a := range c.Agencies {
		list = append(list, a.toOrgan())
	}
	d, err := p.NewDirectory(list)
	if err != nil {
		return nil, fmt.Errorf("agency directory: %w", err)
	}
	return d, nil
}
