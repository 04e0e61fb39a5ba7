// Command assessor judges every reading on riverwatch.readings against GB 3838-2002 or its
// outfall's permit, keeps per-series state, and publishes events (exceedances, quality,
// silent stations, downstream predictions) on riverwatch.events.
//
//	assessor [-config FILE] [-check] [-version]
//
// It runs as a consumer group: start more to split the partitions. The logic lives in
// services/assessor/internal/engine (the rules) and services/assessor/internal/assessor
// (Kafka, state recovery).
package main

import (
	"context"
	"io"
	"os"
	_ "time/tzdata" // the network's time zone must load on hosts without zoneinfo

	"github.com/riverwatch/riverwatch/pkg/service"
	"github.com/riverwatch/riverwatch/services/assessor/internal/assessor"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	return service.Main(service.Program{
		Name:  "assessor",
		Usage: "usage: assessor [-config FILE] [-check] [-version]",
		Check: assessor.Check,
		Start: func(_ context.Context, rt *service.Runtime) error {
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
