package service

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/riverwatch/riverwatch/pkg/auth"
	"github.com/riverwatch/riverwatch/pkg/config"
)

// A service that can take new files without a restart registers a Reloader for each
// (Runtime.OnReload); on SIGHUP Main runs them in order. A reloader validates the new file
// completely before it swaps it in: a file that does not load, or that production mode
// would refuse at start, leaves the one in use in place, and the log says why. Each
// outcome is counted in riverwatch_<service>_reloads_total{file,result}
// (result: ok | refused) and the last success is riverwatch_<service>_reload_last_success_timestamp_seconds{file}.
type reloader struct {
	file string
	fn   func() error
}

// OnReload registers fn, which reloads file (a short name: tokens, contacts), to run on
// SIGHUP. fn must swap nothing in unless the whole new file is valid.
func (rt *Runtime) OnReload(file string, fn func() error) {
	rt.reloaders = append(rt.reloaders, reloader{file, fn})
}

// Reload runs every registered reloader now, as SIGHUP does, and returns what each refused.
func (rt *Runtime) Reload() error {
	if rt.reloadMetrics == nil {
		rt.reloadMetrics = newReloadMetrics(rt.Registry, rt.name)
	}
	var errs []error
	for _, r := range rt.reloaders {
		start := time.Now()
		if err := r.fn(); err != nil {
			rt.reloadMetrics.results.WithLabelValues(r.file, "refused").Inc()
			rt.Log.Error("reload refused; keeping the "+r.file+" in use", "file", r.file, "err", err)
			errs = append(errs, fmt.Errorf("reload %s: %w", r.file, err))
			continue
		}
		rt.reloadMetrics.results.WithLabelValues(r.file, "ok").Inc()
		rt.reloadMetrics.last.WithLabelValues(r.file).SetToCurrentTime()
		rt.Log.Info("reloaded", "file", r.file, "took", time.Since(start).String())
	}
	return errors.Join(errs...)
}

// reloadOnSignal runs Reload on every signal of hup (SIGHUP, asked for before the
// components start, so that a SIGHUP never finds the default action: exit) until ctx is done.
func (rt *Runtime) reloadOnSignal(hup chan os.Signal) func(context.Context) error {
	return func(ctx context.Context) error {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-hup:
				rt.Log.Info("SIGHUP: reloading", "files", len(rt.reloaders))
				_ = rt.Reload() // logged and counted; the service keeps running either way
			}
		}
	}
}

type reloadMetrics struct {
	results *prometheus.CounterVec
	last    *prometheus.GaugeVec
}

func newReloadMetrics(reg prometheus.Registerer, service string) *reloadMetrics {
	m := &reloadMetrics{
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riverwatch_" + service + "_reloads_total", Help: "Reloads of a file on SIGHUP, by file and result (ok, refused: the file in use was kept).",
		}, []string{"file", "result"}),
		last: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "riverwatch_" + service + "_reload_last_success_timestamp_seconds", Help: "When a file was last reloaded (Unix time), by file.",
		}, []string{"file"}),
	}
	if reg != nil {
		reg.MustRegister(m.results, m.last)
	}
	return m
}

// ReloadTokens is the reloader of auth.tokens_file for a service that authenticates with
// tokens (the api, the gateway): it loads the file as at start, refuses in production mode
// a file with a development token, and only then swaps it into tokens.
func ReloadTokens(cfg *config.Config, tokens *auth.Tokens) func() error {
	return func() error {
		n, err := auth.Load(cfg.Auth.TokensFile)
		if err != nil {
			return fmt.Errorf("config key auth.tokens_file: %w", err)
		}
		if cfg.Mode == config.ModeProduction {
			if err := developmentTokens(cfg.Auth.TokensFile); err != nil {
				return err
			}
		}
		tokens.Replace(n)
		return nil
	}
}
