// Command api serves riverwatch's REST API (/api/v1, OpenAPI at /api/v1/openapi.json) and
// the web dashboard (/), reading ClickHouse and sending operator commands to the responder
// through riverwatch.commands.
//
//	api [-config FILE]
//
// The logic lives in services/api/internal/api; the dashboard's files are embedded from services/api/internal/dashboard.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	_ "time/tzdata" // the network's time zone must load on hosts without zoneinfo

	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/ops"
	"github.com/riverwatch/riverwatch/services/api/internal/api"
	"github.com/riverwatch/riverwatch/services/api/internal/dashboard"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("api", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "configs/riverwatch.yaml", "configuration file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := config.Load(*configPath)
	if err != nil {
		fmt.Fprintln(stderr, "api:", err)
		return 1
	}
	log := ops.NewLogger(cfg.Log.Level, cfg.Log.Format, "api")
	ctx, stop := ops.SignalContext()
	defer stop()
	if err := api.Serve(ctx, cfg, dashboard.Assets(), ops.NewRegistry(), log); err != nil {
		log.Error("api failed", "err", err)
		return 1
	}
	log.Info("api stopped")
	return 0
}
