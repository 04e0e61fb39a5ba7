// Command simulator plays riverwatch's outside world: the station fleet, the people who get
// notified, a narrator, and a load generator for benchmarks.
//
//	simulator run     [-config F] [-scenario F] [-acceleration X] [-live]   the fleet + a scenario
//	simulator narrate [-config F] [-scenario F] [-since T] [-timeout D]    tell the story; exit 0 when told
//	simulator sink    [-config F] [-listen ADDR] [-secret S]               receive notifications
//	simulator load    [-config F] -stations N -params M -rate R -mode hj212|kafka -duration D
//	simulator sites   -n N [-o FILE]                                       a sites.yaml for big loads
//	simulator [-config F] -check | -version
//
// Simulated time runs -acceleration times faster than the wall clock and starts the
// scenario's span in the past, so it never overtakes the wall clock (the gateway refuses a
// DataTime in the future); see services/simulator/internal/simulate. The subcommands live
// in services/simulator/internal/cli, the simulation in services/simulator/internal/simulate.
package main

import (
	"io"
	"os"
	_ "time/tzdata" // the network's time zone must load on hosts without zoneinfo

	"github.com/riverwatch/riverwatch/services/simulator/internal/cli"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int { return cli.Run(args, stdout, stderr) }
