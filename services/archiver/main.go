// Command archiver writes every riverwatch topic into ClickHouse and owns the schema.
//
//	archiver [-config FILE] [run]      migrate, then consume every topic until SIGINT/SIGTERM
//	archiver [-config FILE] migrate    apply the pending schema migrations and exit
//	archiver [-config FILE] replay -topic T -partition P -from-offset N [-to-offset M]
//	archiver [-config FILE] replay -topic T -from TIME [-to TIME] [-partition P]
//
// replay re-reads a range of a topic outside the consumer groups (nothing is committed)
// and archives it again; rows are deduplicated by id and rollups rebuilt, so replaying
// what is archived changes nothing. TIME is RFC 3339. The logic lives in
// internal/archiver (consuming, replay) and pkg/store (tables, writer).
package main

import (
	"context"
	"errors"
	"io"
	"os"
	_ "time/tzdata" // the daily rollup's time zone must load on hosts without zoneinfo

	"github.com/riverwatch/riverwatch/pkg/service"
	"github.com/riverwatch/riverwatch/services/archiver/internal/archiver"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	return service.Main(service.Program{
		Name:  "archiver",
		Usage: "usage: archiver [-config FILE] [-check] [-version] [run | migrate | replay -topic T (-partition P -from-offset N [-to-offset M] | -from TIME [-to TIME])]",
		Start: func(_ context.Context, rt *service.Runtime) error {
			cmd, rest := "run", rt.Args
			if len(rest) > 0 {
				cmd, rest = rest[0], rest[1:]
			}
			a, err := archiver.New(rt.Config, archiver.Deps{Log: rt.Log, Registry: rt.Registry})
			if err != nil {
				return err
			}
			switch cmd {
			case "run":
				rt.Serve(rt.Config.Archiver.Listen)
				rt.Add("archiver", func(ctx context.Context) error { return a.Run(ctx, rt.Ready) })
			case "migrate":
				rt.Add("migrate", a.Migrate)
			case "replay":
				req, err := archiver.ParseReplay(rt.Config, rest, stderr)
				if err != nil {
					return service.UsageError{Err: err}
				}
				rt.Add("replay", func(ctx context.Context) error { return a.Replay(ctx, req) })
			default:
				return service.UsageError{Err: errors.New("unknown command " + cmd)}
			}
			return nil
		},
	}, args, stdout, stderr)
}
