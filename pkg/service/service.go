// Package service is the skeleton every riverwatch binary runs in: flags → configuration
// (pkg/config) → logger → metrics registry → signals → the service's components (pkg/ops
// Group: started in order, stopped in reverse order, the ops server last) → exit code.
//
// Every binary takes the same flags:
//
//	-config FILE   the configuration (default $RIVERWATCH_CONFIG, else configs/riverwatch.yaml)
//	-check         load and validate the configuration and the files it references, print
//	               every problem and exit 1, or print OK and exit 0
//
// In production mode (config key mode, the default) Main refuses to start — and -check
// reports, the same way — what a production deployment must not run with: development
// tokens, secrets and station passwords, an empty ClickHouse password, a private port on
// all interfaces (production.go, config.Config.Production). The local scripts and the
// tests run with mode development.
//
//	-version       print the version, the commit and the Go version, and exit
//
// A binary is a Program; its main is one call to Main.
package service

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/ops"
	"github.com/riverwatch/riverwatch/pkg/stream"
)

// Exit codes of Main.
const (
	ExitOK      = 0
	ExitFailure = 1 // the configuration is invalid, or the service failed
	ExitUsage   = 2 // the command line is wrong
)

// Program describes one binary.
type Program struct {
	// Name is the binary's name, in its log lines, messages and usage.
	Name string
	// Usage is printed by -h above the flags: the synopsis, one line a form.
	Usage string
	// Flags, when set, declares the program's own flags.
	Flags func(fs *flag.FlagSet)
	// Check validates what the configuration references (sites, playbooks, contacts,
	// tokens, scenarios…) beyond config.Validate. -check runs it; so should Start, by
	// building what it checks. nil: nothing more to check.
	Check func(cfg *config.Config) error
	// Start builds the service and adds its components to rt: rt.Serve adds the ops
	// server (first, so that it stops last), rt.Add the service's own components.
	Start func(ctx context.Context, rt *Runtime) error
}

// UsageError is a command-line mistake found by Start (an unknown subcommand, a missing
// flag); Main prints it with the usage and exits 2.
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }
func (e UsageError) Unwrap() error { return e.Err }

// Runtime is what Start builds the service from and into.
type Runtime struct {
	Config     *config.Config
	ConfigPath string
	Args       []string // the arguments after the flags (subcommands)
	Log        *slog.Logger
	Registry   *prometheus.Registry
	Stdout     io.Writer
	Stderr     io.Writer

	server *ops.Server
	comps  []namedRun
}

type namedRun struct {
	name string
	run  func(context.Context) error
}

// Serve adds the ops server (/metrics, /healthz, /readyz) on addr and returns it, so that
// the service can add routes to its Mux. It runs first and stops last; /readyz answers
// 503 "stopping" from the moment shutdown begins. Its limits are the ops section's.
func (rt *Runtime) Serve(addr string) *ops.Server { return rt.ServeWithMetrics(addr, "") }

// ServeWithMetrics is Serve for a service with a public port (api, gateway): with
// metricsAddr set, /metrics is served there instead of on addr (config key
// <service>.metrics_listen).
func (rt *Runtime) ServeWithMetrics(addr, metricsAddr string) *ops.Server {
	if rt.server == nil {
		rt.server = ops.NewServer(ops.ServerConfig{Addr: addr, MetricsAddr: metricsAddr, Limits: Limits(rt.Config.Ops)}, rt.Registry, rt.Log)
	}
	return rt.server
}

// Limits returns the HTTP server limits of the ops section.
func Limits(o config.Ops) ops.Limits {
	return ops.Limits{
		ReadHeaderTimeout: o.HTTPReadHeaderTimeout, ReadTimeout: o.HTTPReadTimeout, WriteTimeout: o.HTTPWriteTimeout,
		IdleTimeout: o.HTTPIdleTimeout, MaxHeaderBytes: o.HTTPMaxHeaderBytes,
	}
}

// Ready tells /readyz whether the service is ready; without Serve it does nothing.
func (rt *Runtime) Ready(ready bool) {
	if rt.server != nil {
		rt.server.SetReady(ready)
	}
}

// Add adds a component. Components start in the order added and stop in reverse order;
// when one returns, the others are stopped.
func (rt *Runtime) Add(name string, run func(context.Context) error) {
	rt.comps = append(rt.comps, namedRun{name, run})
}

// ConfigPath returns the configuration file named by $RIVERWATCH_CONFIG, else the default.
func ConfigPath() string {
	if p := os.Getenv(config.PathEnv); p != "" {
		return p
	}
	return config.DefaultPath
}

// Main runs p with the command-line arguments args (without the program name) and
// returns the exit code.
func Main(p Program, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(p.Name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", ConfigPath(), "configuration file (default: $"+config.PathEnv+", else "+config.DefaultPath+")")
	check := fs.Bool("check", false, "validate the configuration and the files it references, print every problem, exit 1 if any")
	version := fs.Bool("version", false, "print the version, the commit and the Go version, and exit")
	if p.Flags != nil {
		p.Flags(fs)
	}
	fs.Usage = func() {
		if p.Usage != "" {
			fmt.Fprint(stderr, strings.TrimRight(p.Usage, "\n")+"\n\n")
		}
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return ExitUsage
	}
	if *version {
		fmt.Fprintf(stdout, "%s %s\n", p.Name, ops.ReadBuild())
		return ExitOK
	}
	cfg, err := config.Load(*configPath)
	if err == nil {
		// Production refusals and -check's findings are reported together.
		var checked error
		if *check {
			// The kafka section's TLS and SASL files, which every service dials with.
			_, checked = stream.NewCluster(cfg.Kafka)
			if p.Check != nil {
				checked = errors.Join(checked, p.Check(cfg))
			}
		}
		err = errors.Join(production(p.Name, cfg), checked)
	}
	if *check {
		return report(p.Name, *configPath, err, stdout, stderr)
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", p.Name, err)
		return ExitFailure
	}
	log := ops.NewLogger(cfg.Log.Level, cfg.Log.Format, p.Name)
	ctx, stop := ops.SignalContext()
	defer stop()
	rt := &Runtime{
		Config: cfg, ConfigPath: *configPath, Args: fs.Args(), Log: log, Registry: ops.NewRegistry(),
		Stdout: stdout, Stderr: stderr,
	}
	if err := p.Start(ctx, rt); err != nil {
		var usage UsageError
		if errors.As(err, &usage) {
			fmt.Fprintf(stderr, "%s: %v\n", p.Name, err)
			fs.Usage()
			return ExitUsage
		}
		log.Error(p.Name+" failed to start", "err", err)
		return ExitFailure
	}
	if err := rt.run(ctx); err != nil {
		log.Error(p.Name+" failed", "err", err)
		return ExitFailure
	}
	log.Info(p.Name + " stopped")
	return ExitOK
}

// run runs the ops server and the components until ctx is done or one returns.
func (rt *Runtime) run(ctx context.Context) error {
	g := ops.Group{Timeout: rt.Config.Ops.ShutdownTimeout}
	if rt.server != nil {
		g.OnStop = rt.server.Stopping
		g.Add("ops server", rt.server.Run)
	}
	for _, c := range rt.comps {
		g.Add(c.name, c.run)
	}
	return g.Run(ctx)
}

// report prints what -check found: every problem on a line of its own, or OK.
func report(name, path string, err error, stdout, stderr io.Writer) int {
	if err == nil {
		fmt.Fprintf(stdout, "%s: %s: OK\n", name, path)
		return ExitOK
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		if strings.TrimSpace(line) != "" {
			fmt.Fprintf(stderr, "%s: %s\n", name, line)
		}
	}
	return ExitFailure
}
