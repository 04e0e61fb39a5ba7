package api

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverwatch/riverwatch/pkg/auth"
	"github.com/riverwatch/riverwatch/pkg/chstore"
	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/ops"
	"github.com/riverwatch/riverwatch/pkg/stream"
)

// Serve runs the api service until ctx is done: the ops server (/metrics, /healthz,
// /readyz) at once, then — once ClickHouse answers — the API, the dashboard from assets,
// and the Watcher that drives the dashboards' refresh. /readyz turns ready when the API is
// registered.
func Serve(ctx context.Context, cfg *config.Config, assets fs.FS, reg *prometheus.Registry, log *slog.Logger) error {
	net, err := network.Load(cfg.SitesFile)
	if err != nil {
		return err
	}
	tokens, err := auth.Load(cfg.Auth.TokensFile)
	if err != nil {
		return err
	}
	srv := ops.NewServer(cfg.API.Listen, reg, log)
	var g ops.Group
	g.Go(srv.Run)
	g.Go(func(ctx context.Context) error {
		conn, err := connect(ctx, cfg, log)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		defer conn.Close()
		w := stream.NewWriter(stream.WriterConfig{
			Brokers: cfg.Kafka.Brokers, Topic: cfg.Kafka.Topics.Commands,
			BatchTimeout: cfg.Kafka.BatchTimeout, BatchSize: cfg.Kafka.BatchSize, Label: "commands",
		}, stream.NewMetrics(reg, "api"))
		defer w.Close()
		api, err := New(Options{
			Network: net, Tokens: tokens, Store: NewCHStore(conn, cfg.ClickHouse.Database),
			Commander: NewKafkaCommander(w), Assets: assets,
			CommandTimeout: cfg.API.CommandTimeout, CommandPoll: cfg.API.CommandPoll,
			RefreshInterval: cfg.API.RefreshInterval, LatestLookback: cfg.API.LatestLookback,
			RawMaxSpan: cfg.API.RawMaxSpan, HourMaxSpan: cfg.API.HourMaxSpan, QueryTimeout: cfg.API.QueryTimeout,
			Logger: log, Registry: reg,
		})
		if err != nil {
			return err
		}
		api.Register(srv.Mux)
		srv.SetReady(true)
		defer srv.SetReady(false)
		log.Info("api ready", "listen", cfg.API.Listen, "sites", len(net.Sites()), "commands_topic", cfg.Kafka.Topics.Commands)
		return api.NewWatcher().Run(ctx)
	})
	return g.Run(ctx)
}

// connect opens ClickHouse, retrying with backoff while it does not answer: the api may
// start before the database, and a dashboard that waits is better than a crash loop.
func connect(ctx context.Context, cfg *config.Config, log *slog.Logger) (driver.Conn, error) {
	backoff := 500 * time.Millisecond
	for {
		c, err := chstore.Open(ctx, chstore.Config{
			Addr: cfg.ClickHouse.Addr, Database: cfg.ClickHouse.Database, Username: cfg.ClickHouse.Username,
			Password: cfg.ClickHouse.Password, DialTimeout: cfg.ClickHouse.DialTimeout,
		})
		if err == nil {
			return c, nil
		}
		log.Warn("clickhouse not available yet", "addr", cfg.ClickHouse.Addr, "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("connect clickhouse: %w", ctx.Err())
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}
