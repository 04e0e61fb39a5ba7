// Command gateway receives water-quality readings from stations over HJ 212 (TCP,
// gateway.hj212_listen, default :9212) and from labs and backfills over HTTP
// (POST /api/v1/readings and /api/v1/readings.csv on gateway.listen, default :8081, beside
// /metrics, /healthz and /readyz), and publishes them to riverwatch.readings, or refused to
// riverwatch.rejected. A station is answered only once Kafka has its data. The logic lives
// in services/gateway/internal/gateway and pkg/hj212.
//
//	gateway [-config FILE]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"
	_ "time/tzdata" // DataTime is Asia/Shanghai local time, also on hosts without zoneinfo

	"github.com/riverwatch/riverwatch/pkg/auth"
	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/ops"
	"github.com/riverwatch/riverwatch/pkg/stream"
	"github.com/riverwatch/riverwatch/services/gateway/internal/gateway"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "configs/riverwatch.yaml", "configuration file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := config.Load(*configPath)
	if err != nil {
		fmt.Fprintln(stderr, "gateway:", err)
		return 1
	}
	log := ops.NewLogger(cfg.Log.Level, cfg.Log.Format, "gateway")
	ctx, stop := ops.SignalContext()
	defer stop()
	if err := serve(ctx, cfg, log); err != nil {
		log.Error("gateway failed", "err", err)
		return 1
	}
	return 0
}

// serve builds the gateway and runs it until ctx is done.
func serve(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	nw, err := network.Load(cfg.SitesFile)
	if err != nil {
		return fmt.Errorf("sites: %w", err)
	}
	tokens, err := auth.Load(cfg.Auth.TokensFile)
	if err != nil {
		return err
	}
	reg := ops.NewRegistry()
	km := stream.NewMetrics(reg, "gateway") // riverwatch_gateway_publish_duration_seconds{topic} …
	writer := func(topic, label string) *stream.Writer {
		return stream.NewWriter(stream.WriterConfig{
			Brokers: cfg.Kafka.Brokers, Topic: topic, BatchTimeout: cfg.Kafka.BatchTimeout, BatchSize: cfg.Kafka.BatchSize,
			Label: label,
		}, km)
	}
	var readings stream.Sharded // see stream.Sharded: several requests in flight per partition
	for range max(cfg.Gateway.KafkaWriters, 1) {
		w := writer(cfg.Kafka.Topics.Readings, "readings")
		defer w.Close()
		readings = append(readings, w)
	}
	rejected := writer(cfg.Kafka.Topics.Rejected, "rejected")
	defer rejected.Close()

	gw, err := gateway.New(gateway.Deps{
		Network: nw, Tokens: tokens, Readings: readings, Rejected: rejected, Log: log, Registry: reg,
	}, cfg.Gateway)
	if err != nil {
		return err
	}
	srv := ops.NewServer(cfg.Gateway.Listen, reg, log)
	srv.Mux.Handle("/api/v1/", gw.Handler())

	// Create the two topics when they are missing (a fresh development broker); a broker
	// that is down is not fatal: stations are simply not answered until it is back.
	topicCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	if err := stream.EnsureTopics(topicCtx, cfg.Kafka.Brokers,
		stream.TopicSpec{Name: cfg.Kafka.Topics.Readings, Partitions: cfg.Kafka.Partitions},
		stream.TopicSpec{Name: cfg.Kafka.Topics.Rejected, Partitions: cfg.Kafka.Partitions}); err != nil {
		log.Warn("could not ensure topics; continuing", "err", err)
	}
	cancel()

	if err := gw.Listen(); err != nil {
		return err
	}
	srv.SetReady(true)
	var g ops.Group
	g.Go(srv.Run)
	g.Go(gw.RunTCP)
	g.Go(func(ctx context.Context) error {
		<-ctx.Done()
		srv.SetReady(false) // stop taking traffic while connections drain
		return nil
	})
	return g.Run(ctx)
}
