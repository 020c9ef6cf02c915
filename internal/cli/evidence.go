package cli

import (
	"context"
	"crypto"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"

	"github.com/lienthong/lienthong/internal/blob"
	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/internal/evidence"
	"github.com/lienthong/lienthong/internal/lifecycle"
	"github.com/lienthong/lienthong/internal/pki"
	"github.com/lienthong/lienthong/internal/tsa"
)

// startEvidence adds the verifiable log to a hub (docs/evidence.md): the
// feeder, which turns accepted and transport events into leaves on
// <prefix>log; the log, which every replica derives from that topic; and
// the checkpointer, which signs, time-stamps and publishes checkpoints
// and tiles under log/ in the blob store, cosigned by the peers that
// witness it. Nil when evidence.key is unset.
func startEvidence(ctx context.Context, cfg *config.Config, busCfg bus.Config, pub bus.Publisher, admin *bus.Admin, store blob.Store,
	stamp func(context.Context, []byte) ([]byte, error), g *lifecycle.Group, log *slog.Logger) (*evidence.Checkpointer, error) {
	if cfg.Evidence.Key == "" {
		return nil, nil
	}
	var witnesses []evidence.WitnessPeer
	for _, p := range cfg.Peers {
		if p.WitnessKey == "" {
			continue
		}
		v, err := fnote.NewVerifierForCosignatureV1(p.WitnessKey)
		if err != nil {
			return nil, fmt.Errorf("peers %s: witnessKey: %w", p.Name, err)
		}
		witnesses = append(witnesses, evidence.WitnessPeer{Name: p.Name, URL: strings.TrimSuffix(p.URL, "/") + "/v1/log/witness/add-checkpoint",
			Verifier: v, HTTP: &http.Client{Timeout: 15 * time.Second}})
	}
	signer, err := cfg.Evidence.LogSigner()
	if err != nil {
		return nil, err
	}
	prefix := cfg.Bus.TopicPrefix
	topic := prefix + "log"
	if err := evidence.EnsureTopic(ctx, admin, topic, cfg.Bus.ReplicationFactor); err != nil {
		return nil, err
	}
	// The tree on disk in the data dir: it scales past memory, and a
	// restart resumes from its last commit.
	l, err := evidence.New(evidence.Config{Bus: busCfg, Topic: topic, Signer: signer, Origin: signer.Name(), Dir: filepath.Join(cfg.Hub.DataDir, "log"), Log: log})
	if err != nil {
		return nil, err
	}
	g.OnClose("evidence log", l.Close)
	g.Go("evidence log", supervised("evidence log", l.Run, log))
	g.Go("evidence feed", supervised("evidence feed", func(ctx context.Context) error {
		return evidence.Feed(ctx, evidence.FeedConfig{Bus: busCfg, Publisher: pub, Admin: admin,
			Accepted: prefix + "accepted", Events: prefix + "events", Topic: topic, Group: prefix + "log-feed",
			ReplicationFactor: cfg.Bus.ReplicationFactor, Log: log})
	}, log))
	cp := &evidence.Checkpointer{Log: l, Interval: cfg.Evidence.CheckpointInterval, Store: store, Prefix: "log/", Stamp: stamp, Witnesses: witnesses, Logger: log}
	g.Go("evidence checkpoints", cp.Run)
	log.Info("verifiable log on", "origin", signer.Name(), "topic", topic)
	return cp, nil
}

// newWitness is this hub's witness of its peers' logs (evidence.witnessKey
// and the peers' logKey), nil when unset; its state is in the data dir.
func newWitness(cfg *config.Config, log *slog.Logger) (*evidence.Witness, error) {
	if cfg.Evidence.WitnessKey == "" {
		return nil, nil
	}
	signer, err := cfg.Evidence.WitnessSigner()
	if err != nil {
		return nil, err
	}
	var logs []note.Verifier
	for _, p := range cfg.Peers {
		if p.LogKey == "" {
			continue
		}
		v, err := note.NewVerifier(p.LogKey)
		if err != nil {
			return nil, fmt.Errorf("peers %s: logKey: %w", p.Name, err)
		}
		logs = append(logs, v)
	}
	return evidence.NewWitness(signer, logs, filepath.Join(cfg.Hub.DataDir, "witness.json"), log)
}

// tsaStamper time-stamps checkpoints at evidence.tsa.url, nil when unset.
// Each token is verified against evidence.tsa.roots before it is
// published: a token an auditor would refuse is worth nothing.
func tsaStamper(cfg *config.Config) (func(context.Context, []byte) ([]byte, error), error) {
	t := cfg.Evidence.TSA
	if t.URL == "" {
		return nil, nil
	}
	c, err := tsa.NewClient(t.URL, tsa.ClientOptions{})
	if err != nil {
		return nil, fmt.Errorf("evidence.tsa.url: %w", err)
	}
	roots := x509.NewCertPool()
	for _, f := range t.Roots {
		certs, err := pki.LoadCertificates(f)
		if err != nil {
			return nil, fmt.Errorf("evidence.tsa.roots: %w", err)
		}
		for _, c := range certs {
			roots.AddCert(c)
		}
	}
	return func(ctx context.Context, digest []byte) ([]byte, error) {
		tok, err := c.Stamp(ctx, digest, crypto.SHA256)
		if err != nil {
			return nil, err
		}
		if _, err := tsa.Verify(tok, digest, crypto.SHA256, roots, nil); err != nil {
			return nil, fmt.Errorf("the TSA's token does not verify against evidence.tsa.roots: %w", err)
		}
		return tok, nil
	}, nil
}
