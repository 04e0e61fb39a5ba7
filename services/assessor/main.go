// Command assessor judges every reading on riverwatch.readings against GB 3838-2002 or its
// outfall's permit, keeps per-series state, and publishes events (exceedances, quality,
// silent stations, downstream predictions) on riverwatch.events.
//
//	assessor [-config FILE]
//
// It runs as a consumer group: start more to split the partitions. The logic lives in
// services/assessor/internal/engine (the rules) and services/assessor/internal/assessor (Kafka, state recovery).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	_ "time/tzdata" // the network's time zone must load on hosts without zoneinfo

	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/ops"
	"github.com/riverwatch/riverwatch/services/assessor/internal/assessor"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("assessor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "configs/riverwatch.yaml", "configuration file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := config.Load(*configPath)
	if err != nil {
		fmt.Fprintln(stderr, "assessor:", err)
		return 1
	}
	log := ops.NewLogger(cfg.Log.Level, cfg.Log.Format, "assessor")
	net, err := network.Load(cfg.SitesFile)
	if err != nil {
		log.Error("river network", "err", err)
		return 1
	}
	reg := ops.NewRegistry()
	a, err := assessor.New(assessor.ConfigFrom(cfg), net, reg, log)
	if err != nil {
		log.Error("assessor", "err", err)
		return 1
	}
	srv := ops.NewServer(cfg.Assessor.Listen, reg, log)
	ctx, stop := ops.SignalContext()
	defer stop()
	var g ops.Group
	g.Go(srv.Run)
	g.Go(func(ctx context.Context) error { return a.Run(ctx, srv.SetReady) })
	if err := g.Run(ctx); err != nil {
		log.Error("assessor failed", "err", err)
		return 1
	}
	log.Info("assessor stopped")
	return 0
}
