// Command wqeval classifies water-quality readings against GB 3838-2002 and assesses each
// section's period and the river by 环办〔2011〕22号.
//
// It reads a readings CSV (site,parameter,value,unit,time[,below_dl,dl], see
// services/wqeval/internal/samples) from -file or standard input, and prints the class of
// every reading, the period assessment of every site (treated as a section) and the rating
// of the river (or lake). Rejected rows are listed and counted on standard error. The exit
// status is 0 unless the input cannot be read at all; with -check, nothing is printed but
// the rejected rows, and any of them makes it 1. -version prints the build.
//
//	wqeval -file readings.csv -body river
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/riverwatch/riverwatch/pkg/ops"
	"github.com/riverwatch/riverwatch/pkg/standard"
	"github.com/riverwatch/riverwatch/services/wqeval/internal/report"
	"github.com/riverwatch/riverwatch/services/wqeval/internal/samples"
)

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

// run is the whole command, testable without a process.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("wqeval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("file", "", "CSV file to read (default: standard input)")
	bodyName := fs.String("body", "river", "water body: river or lake (lake/reservoir TP and TN limits)")
	check := fs.Bool("check", false, "only check the input: print every rejected row, exit 1 if any")
	version := fs.Bool("version", false, "print the version, the commit and the Go version, and exit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *version {
		fmt.Fprintf(stdout, "wqeval %s\n", ops.ReadBuild())
		return 0
	}
	body, err := standard.ParseWaterBody(*bodyName)
	if err != nil {
		fmt.Fprintln(stderr, "wqeval:", err)
		return 2
	}
	rows, err := samples.ReadFile(*file, stdin)
	if err != nil {
		fmt.Fprintln(stderr, "wqeval:", err)
		return 1
	}
	if *check {
		return report.Check(stdout, stderr, rows)
	}
	report.Print(stdout, stderr, rows, body)
	return 0
}
