package config

import (
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// Evidence configures the verifiable log of every exchange
// (docs/evidence.md). Off unless Key is set.
type Evidence struct {
	// Key is the file of the log's private key (signed-note format, as
	// `lienthong audit keygen` writes it; it may be sealed). Its name is
	// the log's origin, the checkpoints' first line.
	Key string `mapstructure:"key" json:"key"`
	// CheckpointInterval is how often a growing log gets a new signed
	// checkpoint (default 2s).
	CheckpointInterval time.Duration `mapstructure:"checkpointInterval" json:"checkpointInterval"`
	// TSA time-stamps the checkpoints (RFC 3161); off without a URL.
	TSA EvidenceTSA `mapstructure:"tsa" json:"tsa"`
}

// EvidenceTSA is an RFC 3161 time-stamping authority.
type EvidenceTSA struct {
	URL string `mapstructure:"url" json:"url"`
	// Roots are PEM files of the CAs the TSA's certificate chains to.
	Roots []string `mapstructure:"roots" json:"roots,omitempty"`
}

// LogSigner reads the log's private key.
func (e Evidence) LogSigner() (note.Signer, error) {
	raw, err := os.ReadFile(e.Key)
	if err != nil {
		return nil, fmt.Errorf("evidence.key: %w", err)
	}
	skey, err := Unseal(strings.TrimSpace(string(raw)))
	if err != nil {
		return nil, fmt.Errorf("evidence.key: %w", err)
	}
	s, err := note.NewSigner(strings.TrimSpace(skey))
	if err != nil {
		return nil, fmt.Errorf("evidence.key: %w", err)
	}
	return s, nil
}

func (e Evidence) validate(p *problems, checkFiles bool) {
	p.file("evidence.key", e.Key, checkFiles)
	if e.Key != "" && checkFiles {
		if _, err := e.LogSigner(); err != nil {
			p.wrap("evidence.key", err)
		}
	}
	if e.CheckpointInterval < 0 {
		p.addf("evidence.checkpointInterval", "%w (got %s)", ErrNotPositive, e.CheckpointInterval)
	}
	if e.TSA.URL != "" {
		p.wrap("evidence.tsa.url", checkPeerURL(e.TSA.URL))
		if len(e.TSA.Roots) == 0 {
			p.addf("evidence.tsa.roots", "%w when evidence.tsa.url is set: the tokens are checked against them", ErrRequired)
		}
	}
	for i, f := range e.TSA.Roots {
		p.file(fmt.Sprintf("evidence.tsa.roots[%d]", i), f, checkFiles)
	}
}
