// Package ops gives every riverwatch binary the same operational frame: a structured
// logger, a Prometheus registry, an HTTP server with /metrics, /healthz and /readyz beside
// the service's own routes, and a run loop that stops everything gracefully on SIGINT or
// SIGTERM. Group runs a service's components: started in order, stopped in reverse order,
// the ops server (started first) last.
package ops

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewLogger returns a slog logger writing to stderr at the given level ("debug", "info",
// "warn", "error") in "text" or "json" format.
func NewLogger(level, format, service string) *slog.Logger {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		lv = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler = slog.NewTextHandler(os.Stderr, opts)
	if format == "json" {
		h = slog.NewJSONHandler(os.Stderr, opts)
	}
	return slog.New(h).With("service", service)
}

// NewRegistry returns a Prometheus registry with the Go and process collectors and
// riverwatch_build_info.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		newBuildInfo(ReadBuild()))
	return reg
}

// Server is a service's HTTP server: its own routes plus the operational endpoints.
type Server struct {
	Mux   *http.ServeMux
	addr  string
	log   *slog.Logger
	ready atomic.Bool
	// stopping is set once shutdown begins; /readyz then answers 503 whatever ready says,
	// so that a load balancer takes the instance out before its components stop.
	stopping atomic.Bool
	srv      *http.Server
	// onListen, when set (tests), is told the address actually bound.
	onListen func(addr string)
}

// NewServer returns a Server listening on addr once Run is called.
func NewServer(addr string, reg *prometheus.Registry, log *slog.Logger) *Server {
	s := &Server{Mux: http.NewServeMux(), addr: addr, log: log}
	s.Mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	s.Mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok\n"))
	})
	s.Mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if s.stopping.Load() {
			http.Error(w, "stopping", http.StatusServiceUnavailable)
			return
		}
		if !s.ready.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
	return s
}

// SetReady marks the service ready (or not) for /readyz.
func (s *Server) SetReady(ready bool) { s.ready.Store(ready) }

// Stopping marks the beginning of shutdown: from now on /readyz answers 503 "stopping".
func (s *Server) Stopping() { s.stopping.Store(true) }

// Run serves until ctx is done, then shuts down, giving requests in flight 5 s.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", s.addr, err)
	}
	s.srv = &http.Server{Handler: s.Mux, ReadHeaderTimeout: 10 * time.Second}
	s.log.Info("http listening", "addr", ln.Addr().String())
	if s.onListen != nil {
		s.onListen(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("http %s: %w", s.addr, err)
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(shut); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http shutdown: %w", err)
	}
	return nil
}

// SignalContext returns a context cancelled on SIGINT or SIGTERM.
func SignalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}
