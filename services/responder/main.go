// Command responder turns events into incidents, runs the joint-response playbooks
// (configs/playbooks.yaml) against the contact directory (configs/contacts.yaml), notifies,
// escalates and resolves, and publishes every change on riverwatch.incidents.
//
//	responder [-config FILE] [-check]
//
// -check validates the configuration, network, contacts and playbooks and exits. The logic
// lives in services/responder/internal/responder, services/responder/internal/incident, services/responder/internal/playbook and pkg/notify.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	_ "time/tzdata" // the network's time zone must load on hosts without zoneinfo

	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/ops"
	"github.com/riverwatch/riverwatch/services/responder/internal/responder"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("responder", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "configs/riverwatch.yaml", "configuration file")
	check := fs.Bool("check", false, "validate the configuration and playbooks, then exit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := config.Load(*configPath)
	if err != nil {
		fmt.Fprintln(stderr, "responder:", err)
		return 1
	}
	log := ops.NewLogger(cfg.Log.Level, cfg.Log.Format, "responder")
	reg := ops.NewRegistry()
	r, err := responder.New(cfg, log, reg, responder.Options{})
	if err != nil {
		fmt.Fprintln(stderr, "responder:", err)
		return 1
	}
	if *check {
		fmt.Fprintln(stderr, "responder: configuration, contacts and playbooks are valid")
		return 0
	}
	ctx, stop := ops.SignalContext()
	defer stop()
	srv := ops.NewServer(cfg.Responder.Listen, reg, log)
	r.Routes(srv.Mux)
	var g ops.Group
	g.Go(srv.Run)
	g.Go(func(ctx context.Context) error { return r.Run(ctx, srv.SetReady) })
	if err := g.Run(ctx); err != nil {
		log.Error("responder failed", "err", err)
		return 1
	}
	log.Info("responder stopped")
	return 0
}
