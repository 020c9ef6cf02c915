package config

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/lienthong/lienthong/internal/hub"
	"github.com/lienthong/lienthong/internal/pdfsig"
	"github.com/lienthong/lienthong/internal/pki"
)

// PDF configures the check of the signatures inside edocs' PDF
// attachments (docs/trust.md, PDF signatures).
type PDF struct {
	// Verify checks them (default true): each PDF's signatures go into the
	// verification report, the receipt and the console's document page.
	Verify bool `mapstructure:"verify" json:"verify"`
	// Policy per channel (v1's also applies to the console's compose
	// page): report (default) refuses nothing; organ refuses an edoc whose
	// main PDF lacks the sending organ's seal (pdf.organ_signature_missing).
	// An agency's pdfPolicy may tighten it, never loosen it.
	Policy PDFChannels `mapstructure:"policy" json:"policy"`
	// MemoryLimit caps each pdfium sandbox (default 256 MiB); Deadline
	// bounds the check of one packet's PDFs (default 10s); MaxConcurrent
	// is how many PDFs are parsed at once (default 2).
	MemoryLimit   ByteSize      `mapstructure:"memoryLimit" json:"memoryLimit"`
	Deadline      time.Duration `mapstructure:"deadline" json:"deadline"`
	MaxConcurrent int           `mapstructure:"maxConcurrent" json:"maxConcurrent"`
	// CacheDir keeps pdfium compiled for this machine (default: the
	// user's cache directory, else <dataDir>/cache/pdfium): compiling it
	// takes seconds at each start without one.
	CacheDir string `mapstructure:"cacheDir" json:"cacheDir"`
	// TSARoots are PEM files of the CAs a signature time-stamp's TSA must
	// chain to (PAdES B-T; the government CA's TSA in production): a
	// trusted stamp is the signing time, and a certificate that expired
	// since still made a valid signature then.
	TSARoots []string `mapstructure:"tsaRoots" json:"tsaRoots,omitempty"`
}

// PDFChannels is a PDF policy per channel.
type PDFChannels struct {
	V1   string `mapstructure:"v1" json:"v1"`
	VDXP string `mapstructure:"vdxp" json:"vdxp"`
}

// Default PDF check bounds.
const (
	DefaultPDFMemoryLimit = 256 * MiB
	DefaultPDFDeadline    = 10 * time.Second
	DefaultPDFConcurrent  = 2
)

func defaultPDF() PDF {
	return PDF{Verify: true, Policy: PDFChannels{V1: hub.PDFReport, VDXP: hub.PDFReport},
		MemoryLimit: DefaultPDFMemoryLimit, Deadline: DefaultPDFDeadline, MaxConcurrent: DefaultPDFConcurrent}
}

func (c PDF) validate(p *problems, agencies []Agency, checkFiles bool) {
	for i, f := range c.TSARoots {
		p.file(fmt.Sprintf("pdf.tsaRoots[%d]", i), f, checkFiles)
	}
	p.oneOf("pdf.policy.v1", c.Policy.V1, hub.PDFReport, hub.PDFOrgan)
	p.oneOf("pdf.policy.vdxp", c.Policy.VDXP, hub.PDFReport, hub.PDFOrgan)
	for i, a := range agencies {
		if a.PDFPolicy != "" {
			p.oneOf(fmt.Sprintf("agencies[%d].pdfPolicy", i), a.PDFPolicy, hub.PDFReport, hub.PDFOrgan)
		}
	}
	if !c.Verify {
		if c.Policy.V1 == hub.PDFOrgan || c.Policy.VDXP == hub.PDFOrgan {
			p.addf("pdf.policy", "%w: the organ policy needs pdf.verify", ErrConflict)
		}
		return
	}
	if c.MemoryLimit < 16*MiB {
		p.addf("pdf.memoryLimit", "%w: %d bytes; pdfium needs at least 16 MiB", ErrOutOfRange, c.MemoryLimit)
	}
	if c.Deadline <= 0 {
		p.addf("pdf.deadline", "%w: %s", ErrOutOfRange, c.Deadline)
	}
	if c.MaxConcurrent < 1 {
		p.addf("pdf.maxConcurrent", "%w: %d", ErrOutOfRange, c.MaxConcurrent)
	}
}

// writable tells whether files can be made in dir, creating it.
func writable(dir string) bool {
	if dir == "" || os.MkdirAll(dir, 0o700) != nil {
		return false
	}
	f, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		return false
	}
	f.Close()           //nolint:errcheck,gosec // probe
	os.Remove(f.Name()) //nolint:errcheck,gosec // probe
	return true
}

// Engine is the pdfsig engine's options, with the cache directory chosen
// and the TSA roots read.
func (c PDF) Engine(dataDir string) (pdfsig.Options, error) {
	dir := c.CacheDir
	if dir == "" {
		dir = pdfsig.DefaultCacheDir()
		// A read-only root (a container's) leaves the data directory.
		if !writable(dir) {
			dir = "" // compiled at each start
			if dataDir != "" {
				dir = filepath.Join(dataDir, "cache", "pdfium")
			}
		}
	}
	o := pdfsig.Options{MemoryLimit: int64(c.MemoryLimit), Deadline: c.Deadline, MaxConcurrent: c.MaxConcurrent, CacheDir: dir}
	for i, f := range c.TSARoots {
		certs, err := pki.LoadCertificates(f)
		if err != nil {
			return o, fmt.Errorf("pdf.tsaRoots[%d]: %w", i, err)
		}
		o.TSARoots = append(o.TSARoots, certs...)
	}
	return o, nil
}
