// Command api serves riverwatch's REST API (/api/v1, OpenAPI at /api/v1/openapi.json) and
// the web dashboard (/), reading ClickHouse and sending operator commands to the responder
// through riverwatch.commands.
//
//	api [-config FILE] [-check] [-version]
//	api silences [-url URL] [-token TOKEN] list|create|expire ...   (a client of a running api)
//	api verify-evidence -pub KEYFILE BUNDLE.zip    (offline, no configuration: internal/evidence)
//
// The logic lives in services/api/internal/api; the dashboard's files are embedded from
// services/api/internal/dashboard.
package main

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	_ "time/tzdata" // the network's time zone must load on hosts without zoneinfo

	"github.com/riverwatch/riverwatch/pkg/service"
	"github.com/riverwatch/riverwatch/services/api/internal/api"
	"github.com/riverwatch/riverwatch/services/api/internal/dashboard"
	"github.com/riverwatch/riverwatch/services/api/internal/evidence"
	"github.com/riverwatch/riverwatch/services/api/internal/silencecli"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "silences" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return silencecli.Run(ctx, args[1:], stdout, stderr)
	}
	// Before the service's flags: an auditor needs the public key alone.
	if len(args) > 0 && args[0] == "verify-evidence" {
		return evidence.VerifyCommand(args[1:], stdout, stderr)
	}
	return service.Main(service.Program{
		Name:  "api",
		Usage: "usage: api [-config FILE] [-check] [-version] | api silences -h\n       " + strings.TrimPrefix(evidence.VerifyUsage, "usage: "),
		Check: api.Check,
		Start: func(_ context.Context, rt *service.Runtime) error {
			if len(rt.Args) > 0 {
				return service.UsageError{Err: errors.New("unknown command " + rt.Args[0] + " (verify-evidence comes first, without -config)")}
			}
			srv := rt.ServeWithMetrics(rt.Config.API.Listen, rt.Config.API.MetricsListen)
			a, err := api.New(rt.Config, api.Deps{Log: rt.Log, Registry: rt.Registry, Mux: srv.Mux, Assets: dashboard.Assets()})
			if err != nil {
				return err
			}
			rt.Add("api", func(ctx context.Context) error { return a.Run(ctx, rt.Ready) })
			rt.OnReload("tokens", service.ReloadTokens(rt.Config, a.Tokens()))
			return nil
		},
	}, args, stdout, stderr)
}
