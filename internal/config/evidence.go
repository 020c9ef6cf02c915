package config

import (
	"fmt"
	"os"
	"strings"
	"time"

	fnote "github.com/transparency-dev/formats/note"
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
	// WitnessKey is the file of this hub's witness key (signed-note
	// format; it may be sealed), with which it cosigns the checkpoints of
	// the peers whose logKey is set.
	WitnessKey string `mapstructure:"witnessKey" json:"witnessKey"`
}

// EvidenceTSA is an RFC 3161 time-stamping authority.
type EvidenceTSA struct {
	URL string `mapstructure:"url" json:"url"`
	// Roots are PEM files of the CAs the TSA's certificate chains to.
	Roots []string `mapstructure:"roots" json:"roots,omitempty"`
	// Receipts time-stamps every receipt too, at submission: one TSA
	// round trip more per packet.
	Receipts bool `mapstructure:"receipts" json:"receipts"`
}

// LogSigner reads the log's private key.
func (e Evidence) LogSigner() (note.Signer, error) {
	skey, err := readKey("evidence.key", e.Key)
	if err != nil {
		return nil, err
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		return nil, fmt.Errorf("evidence.key: %w", err)
	}
	return s, nil
}

// WitnessSigner reads the witness key, for cosignature/v1 (C2SP
// tlog-cosignature).
func (e Evidence) WitnessSigner() (note.Signer, error) {
	skey, err := readKey("evidence.witnessKey", e.WitnessKey)
	if err != nil {
		return nil, err
	}
	s, err := fnote.NewSignerForCosignatureV1(skey)
	if err != nil {
		return nil, fmt.Errorf("evidence.witnessKey: %w", err)
	}
	return s, nil
}

func readKey(path, file string) (string, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	skey, err := Unseal(strings.TrimSpace(string(raw)))
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return strings.TrimSpace(skey), nil
}

func (e Evidence) validate(p *problems, peers []Peer, checkFiles bool) {
	p.file("evidence.key", e.Key, checkFiles)
	if e.Key != "" && checkFiles {
		if _, err := e.LogSigner(); err != nil {
			p.wrap("evidence.key", err)
		}
	}
	p.file("evidence.witnessKey", e.WitnessKey, checkFiles)
	if e.WitnessKey != "" && checkFiles {
		if _, err := e.WitnessSigner(); err != nil {
			p.wrap("evidence.witnessKey", err)
		}
	}
	if e.CheckpointInterval < 0 {
		p.addf("evidence.checkpointInterval", "%w (got %s)", ErrNotPositive, e.CheckpointInterval)
	}
	if e.TSA.Receipts && e.TSA.URL == "" {
		p.addf("evidence.tsa.url", "%w when evidence.tsa.receipts is true", ErrRequired)
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
	for i, peer := range peers {
		if peer.LogKey != "" {
			if _, err := note.NewVerifier(peer.LogKey); err != nil {
				p.addf(fmt.Sprintf("peers[%d].logKey", i), "%w: %v", ErrBadKey, err)
			}
			if e.WitnessKey == "" {
				p.addf("evidence.witnessKey", "%w when a peer's logKey is set: it is what this hub cosigns with", ErrRequired)
			}
		}
		if peer.WitnessKey != "" {
			if _, err := fnote.NewVerifierForCosignatureV1(peer.WitnessKey); err != nil {
				p.addf(fmt.Sprintf("peers[%d].witnessKey", i), "%w: %v", ErrBadKey, err)
			}
			if e.Key == "" {
				p.addf("evidence.key", "%w when a peer's witnessKey is set: there is no log to cosign", ErrRequired)
			}
		}
	}
}
