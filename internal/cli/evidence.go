package cli

import (
	"context"
	"log/slog"

	"github.com/lienthong/lienthong/internal/blob"
	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/internal/evidence"
	"github.com/lienthong/lienthong/internal/lifecycle"
)

// startEvidence adds the verifiable log to a hub (docs/evidence.md): the
// feeder, which turns accepted and transport events into leaves on
// <prefix>log; the log, which every replica derives from that topic; and
// the checkpointer, which signs, time-stamps and publishes checkpoints
// and tiles under log/ in the blob store. Nil when evidence.key is unset.
func startEvidence(ctx context.Context, cfg *config.Config, busCfg bus.Config, pub bus.Publisher, admin *bus.Admin, store blob.Store,
	stamp func(context.Context, []byte) ([]byte, error), g *lifecycle.Group, log *slog.Logger) (*evidence.Checkpointer, error) {
	if cfg.Evidence.Key == "" {
		return nil, nil
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
	l, err := evidence.New(evidence.Config{Bus: busCfg, Topic: topic, Signer: signer, Origin: signer.Name(), Log: log})
	if err != nil {
		return nil, err
	}
	g.Go("evidence log", supervised("evidence log", l.Run, log))
	g.Go("evidence feed", supervised("evidence feed", func(ctx context.Context) error {
		return evidence.Feed(ctx, evidence.FeedConfig{Bus: busCfg, Publisher: pub, Admin: admin,
			Accepted: prefix + "accepted", Events: prefix + "events", Topic: topic, Group: prefix + "log-feed",
			ReplicationFactor: cfg.Bus.ReplicationFactor, Log: log})
	}, log))
	cp := &evidence.Checkpointer{Log: l, Interval: cfg.Evidence.CheckpointInterval, Store: store, Prefix: "log/", Stamp: stamp, Logger: log}
	g.Go("evidence checkpoints", cp.Run)
	log.Info("verifiable log on", "origin", signer.Name(), "topic", topic)
	return cp, nil
}
