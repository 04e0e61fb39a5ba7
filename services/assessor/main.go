// Command assessor judges every reading on riverwatch.readings against GB 3838-2002 or its
// outfall's permit, keeps per-series state, and publishes events (exceedances, quality,
// silent stations, downstream predictions) on riverwatch.events.
//
//	assessor [-config FILE] [-check] [-version] [run]
//	assessor [-config FILE] backtest -from TIME [-to TIME] -candidate FILE [-sites A,B] [-format table|csv|json] [-out FILE]
//
// backtest replays stored readings through the rules in force and a candidate's, side by
// side, without touching the live topics (services/assessor/internal/backtest).
//
// It runs as a consumer group: start more to split the partitions. The logic lives in
// services/assessor/internal/engine (the rules) and services/assessor/internal/assessor
// (Kafka, state recovery).
package main

import (
	"context"
	"errors"
	"io"
	"os"
	_ "time/tzdata" // the network's time zone must load on hosts without zoneinfo

	"github.com/riverwatch/riverwatch/pkg/service"
	"github.com/riverwatch/riverwatch/services/assessor/internal/assessor"
	"github.com/riverwatch/riverwatch/services/assessor/internal/backtest"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	return service.Main(service.Program{
		Name:  "assessor",
		Usage: "usage: assessor [-config FILE] [-check] [-version] [run | backtest -from TIME [-to TIME] -candidate FILE [-sites A,B] [-format table|csv|json] [-out FILE]]",
		Check: assessor.Check,
		Start: func(_ context.Context, rt *service.Runtime) error {
			if len(rt.Args) > 0 && rt.Args[0] == "backtest" {
				req, err := backtest.ParseRequest(rt.Args[1:], rt.Stderr)
				if err != nil {
					return service.UsageError{Err: err}
				}
				rt.Add("backtest", func(ctx context.Context) error { return backtest.Command(ctx, rt.Config, req, rt.Stdout) })
				return nil
			}
			if len(rt.Args) > 0 && rt.Args[0] != "run" {
				return service.UsageError{Err: errors.New("unknown command " + rt.Args[0])}
			}
			a, err := assessor.New(rt.Config, assessor.Deps{Log: rt.Log, Registry: rt.Registry})
			if err != nil {
				return err
			}
			rt.Serve(rt.Config.Assessor.Listen)
			rt.Add("assessor", func(ctx context.Context) error { return a.Run(ctx, rt.Ready) })
			return nil
		},
	}, args, stdout, stderr)
}
