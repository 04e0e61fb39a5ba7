// Command archiver writes every riverwatch topic into ClickHouse and owns the schema.
//
//	archiver [-config FILE] [run]      migrate, then consume every topic until SIGINT/SIGTERM
//	archiver [-config FILE] migrate    apply the pending schema migrations and exit
//	archiver [-config FILE] replay -topic T -partition P -from-offset N [-to-offset M]
//	archiver [-config FILE] replay -topic T -from TIME [-to TIME] [-partition P]
//
// replay re-reads a range of a topic outside the consumer groups (nothing is committed)
// and archives it again, e.g. to backfill after an outage; rows are deduplicated by id and
// rollups rebuilt, so replaying what is already archived changes nothing. TIME is RFC 3339.
// The logic lives in internal/archiver (consuming, replay) and pkg/store (tables, writer).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"
	_ "time/tzdata" // the daily rollup's time zone must load on hosts without zoneinfo

	"github.com/riverwatch/riverwatch/services/archiver/internal/archiver"

	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/ops"
	"github.com/riverwatch/riverwatch/pkg/store"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	root := flag.NewFlagSet("archiver", flag.ContinueOnError)
	root.SetOutput(stderr)
	configPath := root.String("config", "configs/riverwatch.yaml", "configuration file")
	root.Usage = func() {
		fmt.Fprintln(stderr, "usage: archiver [-config FILE] [run | migrate | replay -topic T (-partition P -from-offset N [-to-offset M] | -from TIME [-to TIME])]")
		root.PrintDefaults()
	}
	if err := root.Parse(args); err != nil {
		return 2
	}
	cmd, rest := "run", root.Args()
	if len(rest) > 0 {
		cmd, rest = rest[0], rest[1:]
	}
	if cmd != "run" && cmd != "migrate" && cmd != "replay" {
		root.Usage()
		return 2
	}
	cfg, err := config.Load(*configPath)
	if err != nil {
		fmt.Fprintln(stderr, "archiver:", err)
		return 1
	}
	log := ops.NewLogger(cfg.Log.Level, cfg.Log.Format, "archiver")
	ctx, stop := ops.SignalContext()
	defer stop()
	switch cmd {
	case "run":
		err = serve(ctx, cfg, log)
	case "migrate":
		err = migrate(ctx, cfg, log)
	case "replay":
		var req archiver.ReplayRequest
		if req, err = parseReplay(cfg, rest, stderr); err != nil {
			fmt.Fprintln(stderr, "archiver replay:", err)
			return 2
		}
		err = replay(ctx, cfg, req, log)
	}
	if err != nil {
		log.Error("archiver failed", "command", cmd, "err", err)
		return 1
	}
	return 0
}

// serve migrates, then archives until stopped; /metrics, /healthz and /readyz are served
// from the start, /readyz turns ready once the schema is in place and consumers start.
func serve(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	reg := ops.NewRegistry()
	srv := ops.NewServer(cfg.Archiver.Listen, reg, log)
	var g ops.Group
	g.Go(srv.Run)
	g.Go(func(ctx context.Context) error {
		svc, err := archiver.Open(ctx, cfg, reg, log)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		defer svc.Close()
		srv.SetReady(true)
		defer srv.SetReady(false)
		return archiver.NewArchiver(cfg, svc.Writer, svc.Kafka, log).Run(ctx)
	})
	err := g.Run(ctx)
	log.Info("archiver stopped")
	return err
}

func migrate(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	svc, err := archiver.Open(ctx, cfg, ops.NewRegistry(), log)
	if err != nil {
		return err
	}
	defer svc.Close()
	log.Info("schema up to date", "database", svc.Schema.Database, "applied_now", len(svc.Migrated), "features", svc.Schema.Features.String())
	return nil
}

func replay(ctx context.Context, cfg *config.Config, req archiver.ReplayRequest, log *slog.Logger) error {
	svc, err := archiver.Open(ctx, cfg, ops.NewRegistry(), log)
	if err != nil {
		return err
	}
	defer svc.Close()
	start := time.Now()
	stats, err := archiver.Replay(ctx, cfg.Kafka.Brokers, req, svc.Writer, log)
	log.Info("replay done", "topic", req.Topic, "partitions", stats.Partitions, "messages", stats.Messages,
		"rows", stats.Rows, "rejected", stats.Rejected, "took", time.Since(start).Round(time.Millisecond))
	return err
}

// parseReplay reads the replay subcommand's flags.
func parseReplay(cfg *config.Config, args []string, stderr io.Writer) (archiver.ReplayRequest, error) {
	fs := flag.NewFlagSet("archiver replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	topic := fs.String("topic", "", "topic to replay: readings, rejected, events, incidents, or a topic name")
	partition := fs.Int("partition", -1, "partition (required with -from-offset; default every partition)")
	fromOffset := fs.Int64("from-offset", -1, "first offset to replay")
	toOffset := fs.Int64("to-offset", -1, "offset to stop before (default: the end of the partition)")
	from := fs.String("from", "", "replay messages with a Kafka timestamp at or after this RFC 3339 time")
	to := fs.String("to", "", "… and before this RFC 3339 time (default: up to the end)")
	if err := fs.Parse(args); err != nil {
		return archiver.ReplayRequest{}, err
	}
	kind, name, err := store.ParseKind(cfg.Kafka.Topics, *topic)
	if err != nil {
		return archiver.ReplayRequest{}, err
	}
	req := archiver.ReplayRequest{
		Kind: kind, Topic: name, Partition: *partition, FromOffset: *fromOffset, ToOffset: *toOffset,
		BatchRows: cfg.Archiver.BatchRows, BatchBytes: cfg.Archiver.BatchBytes,
	}
	parse := func(flagName, s string) (time.Time, error) {
		if s == "" {
			return time.Time{}, nil
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return time.Time{}, fmt.Errorf("-%s: %w", flagName, err)
		}
		return t, nil
	}
	if req.From, err = parse("from", *from); err != nil {
		return req, err
	}
	if req.To, err = parse("to", *to); err != nil {
		return req, err
	}
	switch {
	case req.FromOffset >= 0 && !req.From.IsZero():
		return req, errors.New("give -from-offset or -from, not both")
	case req.FromOffset >= 0 && req.Partition < 0:
		return req, errors.New("-from-offset needs -partition")
	case req.FromOffset < 0 && req.From.IsZero():
		return req, errors.New("give -partition with -from-offset, or -from")
	}
	return req, nil
}
