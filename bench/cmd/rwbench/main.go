// Command rwbench is `make bench`: it measures Kafka, ClickHouse and the riverwatch pipeline
// side by side in one run, prints a table of every figure with its ratio to the raw
// baselines, and writes the run as JSON under bench/results/ (see package bench).
//
//	rwbench [-steps kafka,clickhouse,...] [-out bench/results] [-keep] [flags for sizes]
//	rwbench -compare OLD.json NEW.json
//	rwbench -table RUN.json
//
// deploy/local/bench.sh starts Kafka and ClickHouse and runs it after `make build`.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/riverwatch/riverwatch/bench"
	"github.com/riverwatch/riverwatch/pkg/ops"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rwbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	d := bench.DefaultSettings()
	root := fs.String("root", ".", "repository root")
	bin := fs.String("bin", "", "service binaries (default ROOT/bin)")
	out := fs.String("out", "", "results directory (default ROOT/bench/results)")
	steps := fs.String("steps", "", "comma-separated steps to run (default all: kafka,clickhouse,throughput,latency,memory,api)")
	profile := fs.Bool("profile", false, "rebuild the services with net/http/pprof (go build -overlay) and write CPU and heap profiles of every service during each load under $RIVERWATCH_STATE_DIR/rwbench/profiles/<run id>/")
	keep := fs.Bool("keep", false, "keep the bench database and scratch files afterwards (topics are always deleted)")
	compare := fs.Bool("compare", false, "compare two result files: rwbench -compare OLD.json NEW.json")
	table := fs.Bool("table", false, "print the table of a result file: rwbench -table RUN.json")
	fs.DurationVar(&d.KafkaTime, "kafka-time", d.KafkaTime, "how long each raw Kafka producer runs")
	fs.IntVar(&d.CHRows, "ch-rows", d.CHRows, "rows of the raw ClickHouse insert")
	fs.IntVar(&d.Partitions, "partitions", d.Partitions, "partitions of the run's topics")
	fs.DurationVar(&d.Throughput, "throughput", d.Throughput, "how long each end-to-end throughput run offers load")
	fs.DurationVar(&d.Drain, "drain", d.Drain, "how long the pipeline may take to catch up after the load")
	fs.IntVar(&d.Stations, "stations", d.Stations, "load stations")
	fs.IntVar(&d.Params, "params", d.Params, "parameters per station")
	fs.IntVar(&d.HJ212Stations, "hj212-stations", d.HJ212Stations, "stations (connections) of the HJ 212 throughput run")
	without := fs.String("without", "", "services not to start, comma-separated (experiments; steps that need them are not available)")
	serviceEnv := fs.String("service-env", "", "extra KEY=VALUE settings for every service, comma-separated (experiments: RIVERWATCH_ARCHIVER_MAX_DELAY=5s,...)")
	rates := fs.String("latency-rates", joinInts(d.LatencyRates), "fixed rates (readings/s) of the latency step")
	fs.DurationVar(&d.Latency, "latency", d.Latency, "duration of each latency run")
	fs.IntVar(&d.Series, "series", d.Series, "series of the memory step")
	fs.IntVar(&d.APIRequests, "api-requests", d.APIRequests, "requests of the api step")
	fs.IntVar(&d.PeerRows, "peer-rows", d.PeerRows, "readings the archiver and its peer (ClickHouse's Kafka engine) each catch up on")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *compare || *table {
		return files(*compare, fs.Args(), stdout, stderr)
	}
	var err error
	if d.LatencyRates, err = parseInts(*rates); err != nil {
		fmt.Fprintln(stderr, "rwbench: -latency-rates:", err)
		return 2
	}
	if *without != "" {
		d.Without = strings.Split(*without, ",")
	}
	if *serviceEnv != "" {
		d.ServiceEnv = strings.Split(*serviceEnv, ",")
	}
	if *steps != "" {
		d.Steps = strings.Split(*steps, ",")
	}
	absRoot, err := filepath.Abs(*root)
	if err != nil {
		fmt.Fprintln(stderr, "rwbench:", err)
		return 1
	}
	if *bin == "" {
		*bin = filepath.Join(absRoot, "bin")
	}
	if *out == "" {
		*out = filepath.Join(absRoot, "bench", "results")
	}
	log := ops.NewLogger(envOr("RWBENCH_LOG_LEVEL", "info"), "text", "rwbench")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	started := time.Now().UTC()
	id := started.Format("20060102T150405Z")
	e := &bench.Env{
		Root: absRoot, Bin: *bin,
		StateDir:  envOr("RIVERWATCH_STATE_DIR", filepath.Join(os.Getenv("HOME"), ".cache", "riverwatch", "state")),
		Brokers:   strings.Split(envOr("RIVERWATCH_KAFKA_BROKERS", "127.0.0.1:9092"), ","),
		CHAddr:    envOr("RIVERWATCH_CLICKHOUSE_ADDR", "127.0.0.1:9000"),
		CHCluster: os.Getenv("RIVERWATCH_CLICKHOUSE_CLUSTER"),
		Prefix:    "rwbench-" + strings.ToLower(id),
		Database:  "rwbench",
		Settings:  d,
		Log:       log,
		Run:       &bench.Run{Version: 1, ID: id, Started: started, Settings: settingsMap(d)},
	}
	if *profile {
		if err := e.BuildProfiling(ctx); err != nil {
			fmt.Fprintln(stderr, "rwbench: -profile:", err)
			return 1
		}
	}
	prep, cancel := context.WithTimeout(ctx, 2*time.Minute)
	v, err := e.PrepareDatabase(prep)
	cancel()
	if err != nil {
		fmt.Fprintln(stderr, "rwbench: ClickHouse:", err)
		return 1
	}
	e.Run.Host = e.DescribeHost(ctx, envOr("KAFKA_VERSION", "4.1.1"), v.String())
	r := bench.Execute(ctx, e)

	clean, cancel := context.WithTimeout(context.Background(), time.Minute)
	if err := e.Cleanup(clean, *keep); err != nil {
		log.Warn("cleanup", "err", err)
	}
	cancel()
	fmt.Fprintln(stdout)
	r.PrintTable(stdout)
	path, err := r.WriteJSON(*out)
	if err != nil {
		fmt.Fprintln(stderr, "rwbench:", err)
		return 1
	}
	fmt.Fprintf(stdout, "\nresults: %s (total %s)\n", path, r.Finished.Sub(r.Started).Round(time.Second))
	if ctx.Err() != nil {
		return 1
	}
	return 0
}

func files(compare bool, paths []string, stdout, stderr io.Writer) int {
	want := 1
	if compare {
		want = 2
	}
	if len(paths) != want {
		fmt.Fprintf(stderr, "rwbench: want %d result file(s), got %d\n", want, len(paths))
		return 2
	}
	var runs []*bench.Run
	for _, p := range paths {
		r, err := bench.ReadRun(p)
		if err != nil {
			fmt.Fprintln(stderr, "rwbench:", err)
			return 1
		}
		runs = append(runs, r)
	}
	if compare {
		bench.Compare(stdout, runs[0], runs[1])
	} else {
		runs[0].PrintTable(stdout)
	}
	return 0
}

func settingsMap(s bench.Settings) map[string]string {
	return map[string]string{
		"kafka_time": s.KafkaTime.String(), "ch_rows": strconv.Itoa(s.CHRows),
		"partitions": strconv.Itoa(s.Partitions), "throughput": s.Throughput.String(), "drain": s.Drain.String(),
		"stations": strconv.Itoa(s.Stations), "params": strconv.Itoa(s.Params), "hj212_stations": strconv.Itoa(s.HJ212Stations),
		"service_env":   strings.Join(s.ServiceEnv, ","),
		"latency_rates": joinInts(s.LatencyRates), "latency": s.Latency.String(),
		"series": strconv.Itoa(s.Series), "api_requests": strconv.Itoa(s.APIRequests), "peer_rows": strconv.Itoa(s.PeerRows),
		"steps": strings.Join(s.Steps, ","),
	}
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a positive number", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
