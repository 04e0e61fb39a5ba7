package backtest

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/riverwatch/riverwatch/pkg/chstore"
	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/store"
	"github.com/riverwatch/riverwatch/services/assessor/internal/assessor"
)

// Request is `assessor backtest` as parsed from its flags.
type Request struct {
	Query
	Candidate string // the candidate's riverwatch.yaml
	Format    string // table, csv or json
	Out       string // file to write ("" or "-": stdout)
}

// ParseRequest reads the flags of `assessor backtest`.
func ParseRequest(args []string, stderr io.Writer) (Request, error) {
	fs := flag.NewFlagSet("assessor backtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "start of the period (RFC 3339), required")
	to := fs.String("to", "", "end of the period (RFC 3339; default now)")
	cand := fs.String("candidate", "", "the candidate configuration: a riverwatch.yaml whose assessor section and sites_file are tested, required")
	sites := fs.String("sites", "", "comma-separated site ids (default every site)")
	format := fs.String("format", "table", "table, csv or json")
	out := fs.String("out", "", "write the report to this file (default stdout)")
	if err := fs.Parse(args); err != nil {
		return Request{}, err
	}
	var errs []error
	req := Request{Candidate: *cand, Format: *format, Out: *out}
	var err error
	if req.From, err = time.Parse(time.RFC3339, *from); err != nil {
		errs = append(errs, fmt.Errorf("-from: %q is not an RFC 3339 time", *from))
	}
	req.To = time.Now()
	if *to != "" {
		if req.To, err = time.Parse(time.RFC3339, *to); err != nil {
			errs = append(errs, fmt.Errorf("-to: %q is not an RFC 3339 time", *to))
		}
	}
	if req.Candidate == "" {
		errs = append(errs, errors.New("-candidate is required"))
	}
	if *sites != "" {
		req.Sites = strings.Split(*sites, ",")
	}
	if req.Format != "table" && req.Format != "csv" && req.Format != "json" {
		errs = append(errs, fmt.Errorf("-format: %q is not table, csv or json", req.Format))
	}
	return req, errors.Join(errs...)
}

// RulesFrom loads the rules a configuration puts in force: its sites file and its
// assessor section.
func RulesFrom(name string, cfg *config.Config) (Rules, error) {
	net, err := network.Load(cfg.SitesFile)
	if err != nil {
		return Rules{}, fmt.Errorf("%s: config key sites_file: %w", name, err)
	}
	return Rules{Name: name, Network: net, Options: assessor.OptionsFrom(cfg.Assessor)}, nil
}

// Command runs `assessor backtest` against the archive cfg names, the rules of cfg as
// the current ones.
func Command(ctx context.Context, cfg *config.Config, req Request, stdout io.Writer) error {
	current, err := RulesFrom("current", cfg)
	if err != nil {
		return err
	}
	candCfg, err := config.Load(req.Candidate)
	if err != nil {
		return fmt.Errorf("candidate %s: %w", req.Candidate, err)
	}
	candidate, err := RulesFrom("candidate", candCfg)
	if err != nil {
		return err
	}
	cc, err := chstore.ConfigFrom(cfg.ClickHouse)
	if err != nil {
		return err
	}
	conn, err := chstore.Open(ctx, cc)
	if err != nil {
		return err
	}
	defer conn.Close()
	rep, err := Run(ctx, store.NewReader(conn, cfg.ClickHouse.Database), req.Query, current, candidate)
	if err != nil {
		return err
	}
	w := stdout
	if req.Out != "" && req.Out != "-" {
		f, err := os.Create(req.Out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	switch req.Format {
	case "csv":
		err = rep.WriteCSV(w)
	case "json":
		err = rep.WriteJSON(w)
	default:
		err = rep.WriteTable(w)
	}
	return err
}
