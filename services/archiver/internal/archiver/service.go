package archiver

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/stream"
)

// Deps are what New takes from the binary besides the configuration.
type Deps struct {
	Log      *slog.Logger
	Registry prometheus.Registerer
}

// Service is the archiver service: Open, then an Archiver, until stopped.
type Service struct {
	cfg   *config.Config
	kafka stream.Cluster
	d     Deps
}

// New returns the archiver of cfg; it connects when it runs.
func New(cfg *config.Config, d Deps) (*Service, error) {
	if err := cfg.Archiver.Validate(); err != nil {
		return nil, err
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	kc, err := stream.NewCluster(cfg.Kafka)
	if err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, kafka: kc, d: d}, nil
}

// Run migrates, then archives until ctx is done; ready is told once the schema is in
// place and the consumers start, and when they stop.
func (s *Service) Run(ctx context.Context, ready func(bool)) error {
	a, err := Open(ctx, s.cfg, s.d.Registry, s.d.Log)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	defer a.Close()
	if ready != nil {
		ready(true)
		defer ready(false)
	}
	return NewArchiver(s.cfg, s.kafka, a.Writer, a.Metrics, a.Kafka, s.d.Log).Run(ctx)
}

// Migrate applies the pending schema migrations.
func (s *Service) Migrate(ctx context.Context) error {
	a, err := Open(ctx, s.cfg, s.d.Registry, s.d.Log)
	if err != nil {
		return err
	}
	defer a.Close()
	s.d.Log.Info("schema up to date", "database", a.Schema.Database, "applied_now", len(a.Migrated), "features", a.Schema.Features.String())
	return nil
}

// Replay archives the range of req again (see Replay).
func (s *Service) Replay(ctx context.Context, req ReplayRequest) error {
	a, err := Open(ctx, s.cfg, s.d.Registry, s.d.Log)
	if err != nil {
		return err
	}
	defer a.Close()
	start := time.Now()
	stats, err := Replay(ctx, s.kafka, req, a.Writer, s.d.Log)
	s.d.Log.Info("replay done", "topic", req.Topic, "partitions", stats.Partitions, "messages", stats.Messages,
		"rows", stats.Rows, "rejected", stats.Rejected, "took", time.Since(start).Round(time.Millisecond))
	return err
}
