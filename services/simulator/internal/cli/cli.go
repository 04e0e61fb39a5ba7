// Package cli is the simulator's command line: its subcommands (run, narrate, sink, load,
// sites) parse their flags here and drive services/simulator/internal/simulate.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/ops"
	"github.com/riverwatch/riverwatch/pkg/service"
	"github.com/riverwatch/riverwatch/pkg/stream"
	"github.com/riverwatch/riverwatch/services/simulator/internal/simulate"
)

const usage = `usage: simulator <command> [flags]

commands:
  run      simulated stations speaking HJ 212 to the gateway, playing a scenario
  narrate  follow the pipeline's topics and tell the scenario's story; exit 0 when it is complete
  sink     a webhook receiver that prints each notification (verifies signatures, honours Idempotency-Key)
  load     N stations × M parameters at a rate, over HJ 212 or straight to Kafka; prints the achieved rate
  sites    write a sites.yaml with N stations, for loads larger than the real network

"simulator <command> -h" lists a command's flags.
`

// Run runs the simulator with the command-line arguments args (without the program name)
// and returns the exit code. "simulator -check" and "simulator -version" are those of
// every riverwatch binary (pkg/service).
func Run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	if strings.HasPrefix(args[0], "-") {
		return service.Main(service.Program{
			Name: "simulator", Usage: usage, Check: Check,
			Start: func(context.Context, *service.Runtime) error {
				return service.UsageError{Err: errors.New("give a command")}
			},
		}, args, stdout, stderr)
	}
	cmds := map[string]func([]string, io.Writer, io.Writer) int{
		"run": cmdRun, "narrate": cmdNarrate, "sink": cmdSink, "load": cmdLoad, "sites": cmdSites,
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "simulator: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	return cmd(args[1:], stdout, stderr)
}

// Check loads the network and the default scenario named by cfg and reports what is
// wrong with them.
func Check(cfg *config.Config) error {
	net, err := network.Load(cfg.SitesFile)
	if err != nil {
		return fmt.Errorf("config key sites_file: %w", err)
	}
	if _, err := simulate.LoadScenario(cfg.Simulator.ScenarioFile, net); err != nil {
		return fmt.Errorf("config key simulator.scenario_file: %w", err)
	}
	return nil
}

// setup parses flags and loads the configuration and the network.
func setup(fs *flag.FlagSet, args []string, stderr io.Writer) (*config.Config, *network.Network, *slog.Logger, int) {
	configPath := fs.String("config", service.ConfigPath(), "configuration file (default: $"+config.PathEnv+", else "+config.DefaultPath+")")
	if err := fs.Parse(args); err != nil {
		return nil, nil, nil, 2
	}
	cfg, err := config.Load(*configPath)
	if err != nil {
		fmt.Fprintln(stderr, "simulator:", err)
		return nil, nil, nil, 1
	}
	net, err := network.Load(cfg.SitesFile)
	if err != nil {
		fmt.Fprintln(stderr, "simulator:", err)
		return nil, nil, nil, 1
	}
	return cfg, net, ops.NewLogger(cfg.Log.Level, cfg.Log.Format, "simulator"), 0
}

func cmdRun(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("simulator run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	scenarioPath := fs.String("scenario", "", "scenario file (default simulator.scenario_file)")
	accel := fs.Float64("acceleration", 0, "simulated seconds per wall-clock second (default: simulator.acceleration, else the scenario's)")
	gateway := fs.String("gateway", "", "gateway HJ 212 address (default simulator.gateway)")
	live := fs.Bool("live", false, "keep the stations reporting at wall-clock pace after the scenario's span (until stopped)")
	apiURL := fs.String("api", "", "API base URL for drills (default simulator.api_url)")
	token := fs.String("drill-token", "", "admin token for drills through the API (default simulator.drill_token; empty: publish the drill command to Kafka)")
	check := fs.Bool("check", false, "only check that the pipeline holds no later readings of these stations (exit 0), else explain (exit 3)")
	force := fs.Bool("force", false, "run even when the pipeline already holds later readings of these stations")
	cfg, net, log, code := setup(fs, args, stderr)
	if code != 0 {
		return code
	}
	path := first(*scenarioPath, cfg.Simulator.ScenarioFile)
	sc, err := simulate.LoadScenario(path, net)
	if err != nil {
		fmt.Fprintln(stderr, "simulator:", err)
		return 1
	}
	a := sc.Acceleration
	if cfg.Simulator.Acceleration > 0 {
		a = cfg.Simulator.Acceleration
	}
	if *accel > 0 {
		a = *accel
	}
	start := time.Now()
	clock := simulate.NewClock(start, sc.Span, a)
	if code := checkOverlap(cfg, sc, net, clock, *force, stdout, stderr, log); code != 0 {
		return code
	}
	if *check {
		fmt.Fprintf(stdout, "simulator: the pipeline holds no reading of these stations after %s: the scenario can run\n", clock.SimStart.In(net.Location).Format("2006-01-02 15:04"))
		return 0
	}
	world := simulate.NewWorld(net, simulate.NewModel(net, sc.Seed), sc, clock.SimStart)
	reg := ops.NewRegistry()
	fleet := &simulate.Fleet{
		World: world, Clock: clock, Addr: first(*gateway, cfg.Simulator.Gateway), Live: *live,
		AckTimeout: cfg.Simulator.AckTimeout, MaxAttempts: cfg.Simulator.MaxAttempts, SplitAt: cfg.Simulator.SplitAt,
		Out: stdout, Metrics: simulate.NewMetrics(reg), Log: log,
	}
	runID := strconv.FormatInt(start.Unix(), 10)
	if tok := first(*token, cfg.Simulator.DrillToken); tok != "" {
		d := &simulate.APIDrill{BaseURL: strings.TrimRight(first(*apiURL, cfg.Simulator.APIURL), "/"), Token: tok, RunID: runID}
		fleet.Drill = d.Start
	} else {
		key, err := message.LoadCommandKey(cfg.Kafka.CommandsKeyFile)
		if err != nil {
			fmt.Fprintf(stderr, "simulator: drills without the api sign their commands: config key kafka.commands_key_file: %v\n", err)
			return 2
		}
		kc, err := stream.NewCluster(cfg.Kafka)
		if err != nil {
			fmt.Fprintln(stderr, "simulator:", err)
			return 2
		}
		w := stream.NewWriter(stream.WriterConfig{Cluster: kc, Topic: cfg.Kafka.Topics.Commands, BatchTimeout: cfg.Kafka.BatchTimeout}, nil)
		defer w.Close()
		d := &simulate.KafkaDrill{Writer: w, Key: key, RunID: runID, Actor: "simulator"}
		fleet.Drill = d.Start
	}
	loc := net.Location
	fmt.Fprintf(stdout, "simulator: scenario %s — %s / %s\n", sc.Name, sc.TitleZH, sc.TitleEN)
	fmt.Fprintf(stdout, "simulator: %d stations → %s; simulated %s … %s at %g× (≈ %s wall clock)%s\n",
		len(sc.Stations(net)), fleet.Addr, clock.SimStart.In(loc).Format("01-02 15:04"), clock.End().In(loc).Format("01-02 15:04"),
		a, clock.Wall(sc.Span).Round(time.Second), map[bool]string{true: ", then live", false: ""}[*live])

	ctx, stop := ops.SignalContext()
	defer stop()
	// The ops server, when asked for, starts first and stops last, once the fleet is done
	// (a Group stops when any of its components returns).
	var g ops.Group
	if cfg.Simulator.Listen != "" {
		srv := ops.NewServer(ops.ServerConfig{Addr: cfg.Simulator.Listen, Limits: service.Limits(cfg.Ops)}, reg, log)
		srv.SetReady(true)
		g.OnStop = srv.Stopping
		g.Add("ops server", srv.Run)
	}
	g.Add("fleet", fleet.Run)
	if err := g.Run(ctx); err != nil {
		log.Error("simulator run failed", "err", err)
		return 1
	}
	s := fleet.Stats()
	fmt.Fprintf(stdout, "simulator: %d uploads, %d acknowledged, %d resent, %d given up, %d dropped, %d pending\n",
		fleet.Sent(), s.Acked, s.Resent, s.GivenUp, s.Dropped, s.Pending)
	return 0
}

// checkOverlap refuses (3) a run whose simulated times the pipeline has already seen for
// its stations: the assessor would ignore the replayed, older readings and the story would
// not be told. It cannot check without Kafka; then it warns and lets the run go.
func checkOverlap(cfg *config.Config, sc *simulate.Scenario, net *network.Network, clock *simulate.Clock, force bool, stdout, stderr io.Writer, log *slog.Logger) int {
	var ids []string
	for _, s := range sc.Stations(net) {
		ids = append(ids, s.ID)
	}
	kc, err := stream.NewCluster(cfg.Kafka)
	if err != nil {
		fmt.Fprintln(stderr, "simulator:", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	latest, err := simulate.LatestObserved(ctx, kc, cfg.Kafka.Topics.Readings, ids, 500)
	if err != nil {
		log.Warn("could not check the readings topic for earlier runs", "err", err)
		return 0
	}
	if !sc.Overlap(clock.SimStart, latest) {
		return 0
	}
	loc := net.Location
	state := os.Getenv("RIVERWATCH_STATE_DIR")
	if state == "" {
		state = "~/.cache/riverwatch/state"
	}
	fmt.Fprintf(stderr, `simulator: the pipeline already holds readings of these stations up to %s (an earlier run).
  This run would replay %s … %s, and the assessor ignores a reading more than
  assessor.grace (%v) older than its station's newest: the story could not be told.
  Start from an empty stack (make down; rm -rf %s; make demo),
  or wait until %s. -force runs anyway.
`, latest.In(loc).Format("2006-01-02 15:04"), clock.SimStart.In(loc).Format("01-02 15:04"), clock.End().In(loc).Format("01-02 15:04"),
		cfg.Assessor.Grace, state, latest.Add(sc.Span).In(loc).Format("2006-01-02 15:04"))
	if force {
		fmt.Fprintln(stdout, "simulator: -force: running anyway")
		return 0
	}
	return 3
}

func cmdNarrate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("simulator narrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	scenarioPath := fs.String("scenario", "", "scenario whose story to tell (default simulator.scenario_file)")
	since := fs.String("since", "now", "read what was published from this time on: RFC 3339, Unix seconds, or now")
	timeout := fs.Duration("timeout", 30*time.Minute, "give up (exit 1, naming the missing steps) after this long")
	incidentFile := fs.String("incident-file", "", "write the story's incident id to this file when it opens")
	cfg, net, log, code := setup(fs, args, stderr)
	if code != 0 {
		return code
	}
	sc, err := simulate.LoadScenario(first(*scenarioPath, cfg.Simulator.ScenarioFile), net)
	if err != nil {
		fmt.Fprintln(stderr, "simulator:", err)
		return 1
	}
	from, err := parseSince(*since)
	if err != nil {
		fmt.Fprintln(stderr, "simulator narrate: -since:", err)
		return 2
	}
	n := simulate.NewNarrator(sc.Story, net, stdout)
	if *incidentFile != "" {
		n.OnIncident = func(id string) {
			if err := os.WriteFile(*incidentFile, []byte(id+"\n"), 0o644); err != nil {
				log.Error("write incident file", "err", err)
			}
		}
	}
	fmt.Fprintf(stdout, "narrator: %s — %s / %s (steps: %s)\n", sc.Name, sc.TitleZH, sc.TitleEN, strings.Join(sc.Story.Steps, " → "))
	sig, stop := ops.SignalContext()
	defer stop()
	ctx, cancel := context.WithTimeout(sig, *timeout)
	defer cancel()
	kc, err := stream.NewCluster(cfg.Kafka)
	if err != nil {
		fmt.Fprintln(stderr, "narrator:", err)
		return 2
	}
	errc := make(chan error, 1)
	go func() {
		errc <- simulate.Follow(ctx, kc, simulate.Topics{
			Readings: cfg.Kafka.Topics.Readings, Events: cfg.Kafka.Topics.Events, Incidents: cfg.Kafka.Topics.Incidents,
		}, from, n, log)
	}()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-errc:
			if err != nil {
				fmt.Fprintln(stderr, "simulator narrate:", err)
				return 1
			}
			n.Summary(stdout)
			if n.Complete() {
				return 0
			}
			return 1
		case <-tick.C:
			n.Flush(time.Second)
			if n.Complete() {
				cancel()
				<-errc
				n.Summary(stdout)
				return 0
			}
		}
	}
}

// parseSince reads -since: "now", Unix seconds, or RFC 3339.
func parseSince(s string) (time.Time, error) {
	if s == "" || s == "now" {
		return time.Now(), nil
	}
	if sec, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(sec, 0), nil
	}
	return time.Parse(time.RFC3339, s)
}

func cmdSink(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("simulator sink", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "", "address to listen on (default simulator.sink_listen)")
	secret := fs.String("secret", "", "HMAC secret of the generic webhook (default responder.webhook_secret; empty: signatures not checked)")
	dingSecret := fs.String("dingtalk-secret", "", "DingTalk 加签 secret to verify (empty: not checked)")
	cfg, _, log, code := setup(fs, args, stderr)
	if code != 0 {
		return code
	}
	sink := &simulate.Sink{Secret: first(*secret, cfg.Responder.WebhookSecret), DingTalkSecret: *dingSecret, Out: stdout}
	addr := first(*listen, cfg.Simulator.SinkListen)
	srv := ops.NewHTTPServer(sink, service.Limits(cfg.Ops), log)
	srv.Addr = addr
	ctx, stop := ops.SignalContext()
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	fmt.Fprintf(stdout, "sink: listening on %s (POST notifications; GET /notifications lists them)\n", addr)
	select {
	case err := <-errc:
		log.Error("sink failed", "err", err)
		return 1
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("sink shutdown", "err", err)
		return 1
	}
	fmt.Fprintf(stdout, "sink: %d notifications received, %d refused\n", len(sink.Received()), sink.Refused())
	return 0
}

func cmdLoad(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("simulator load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stations := fs.Int("stations", 10, "stations (the first N with a station in the sites file)")
	params := fs.Int("params", 8, fmt.Sprintf("parameters per upload (1–%d)", simulate.MaxLoadParams))
	rate := fs.Float64("rate", 0, "target readings per second over all stations (0: as fast as acknowledged)")
	mode := fs.String("mode", simulate.ModeHJ212, "hj212 (to the gateway) or kafka (straight to the readings topic)")
	duration := fs.Duration("duration", 30*time.Second, "how long to run")
	window := fs.Int("window", 1, "hj212: uploads a station may have unanswered")
	gateway := fs.String("gateway", "", "gateway HJ 212 address (default simulator.gateway)")
	cfg, net, _, code := setup(fs, args, stderr)
	if code != 0 {
		return code
	}
	var sites []*network.Site
	for _, s := range net.Sites() {
		if s.Station != nil && len(sites) < *stations {
			sites = append(sites, s)
		}
	}
	if len(sites) < *stations {
		fmt.Fprintf(stderr, "simulator load: %s has %d stations, %d asked: write a bigger network with `simulator sites -n %d -o FILE` and run the gateway (and this command) with RIVERWATCH_SITES_FILE=FILE\n",
			cfg.SitesFile, len(sites), *stations, *stations)
		return 2
	}
	kc, err := stream.NewCluster(cfg.Kafka)
	if err != nil {
		fmt.Fprintln(stderr, "simulator load:", err)
		return 2
	}
	ctx, stop := ops.SignalContext()
	defer stop()
	res, err := simulate.Load(ctx, simulate.LoadConfig{
		Mode: *mode, Stations: sites, Params: *params, Rate: *rate, Duration: *duration,
		Addr: first(*gateway, cfg.Simulator.Gateway), Window: *window, AckTimeout: cfg.Simulator.AckTimeout,
		Kafka: kc, Topic: cfg.Kafka.Topics.Readings, Loc: net.Location,
	})
	if err != nil {
		fmt.Fprintln(stderr, "simulator load:", err)
		return 1
	}
	fmt.Fprintln(stdout, res)
	if res.Readings == 0 {
		fmt.Fprintln(stderr, "simulator load: nothing was acknowledged (is the gateway running?)")
		return 1
	}
	return 0
}

func cmdSites(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("simulator sites", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("n", 100, "stations")
	out := fs.String("o", "", "output file (default standard output)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	w := stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintln(stderr, "simulator sites:", err)
			return 1
		}
		defer f.Close()
		w = f
	}
	if err := simulate.GenerateSites(w, *n); err != nil {
		fmt.Fprintln(stderr, "simulator sites:", err)
		return 1
	}
	return 0
}

func first(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
