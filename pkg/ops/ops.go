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

// Limits bound what one client can hold of an HTTP server (review finding M4: without
// them a client that sends a header, or a body, a byte a minute keeps its connection, and
// its goroutine, forever). Every riverwatch HTTP server is built by NewHTTPServer with them.
type Limits struct {
	// ReadHeaderTimeout bounds reading a request's header.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included.
	ReadTimeout time.Duration
	// WriteTimeout bounds a response, from the end of the request header; a long-lived
	// response (the api's event stream) lifts it with Unbounded.
	WriteTimeout time.Duration
	// IdleTimeout closes a keep-alive connection idle this long.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds a request's header (431 beyond it).
	MaxHeaderBytes int
}

// DefaultLimits are the limits of config.Default's ops section.
func DefaultLimits() Limits {
	return Limits{
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, WriteTimeout: 2 * time.Minute,
		IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
	}
}

// NewHTTPServer returns an http.Server for h with every limit set. Every HTTP server of
// riverwatch is built here, so that none lacks one.
func NewHTTPServer(h http.Handler, l Limits, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    l.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// Unbounded lifts the write deadline of a long-lived response (Server-Sent Events), which
// would otherwise be cut at Limits.WriteTimeout, and the connection's read deadline with
// it. Call it before writing. Only the event stream should: it writes a heartbeat every few
// seconds and ends when the client goes; every other request keeps the server's limits.
func Unbounded(w http.ResponseWriter) error {
	rc := http.NewResponseController(w)
	if err := rc.SetReadDeadline(time.Time{}); err != nil {
		return fmt.Errorf("lift read deadline: %w", err)
	}
	if err := rc.SetWriteDeadline(time.Time{}); err != nil {
		return fmt.Errorf("lift write deadline: %w", err)
	}
	return nil
}

// ServerConfig says where a Server listens and with which limits.
type ServerConfig struct {
	// Addr is the service's HTTP address: /healthz, /readyz, the service's own routes, and
	// /metrics unless MetricsAddr is set.
	Addr string
	// MetricsAddr, when set, serves /metrics (and /healthz, /readyz) on a listener of its
	// own, and Addr no longer serves /metrics: the api and the gateway keep their public
	// port for their clients and their metrics on a private one.
	MetricsAddr string
	Limits      Limits
}

// Server is a service's HTTP server: its own routes plus the operational endpoints.
type Server struct {
	// Mux holds the service's routes beside /healthz and /readyz (and /metrics without
	// ServerConfig.MetricsAddr). Anything not registered is a 404.
	Mux   *http.ServeMux
	cfg   ServerConfig
	ops   *http.ServeMux // the metrics listener's, when MetricsAddr is set
	log   *slog.Logger
	ready atomic.Bool
	// stopping is set once shutdown begins; /readyz then answers 503 whatever ready says,
	// so that a load balancer takes the instance out before its components stop.
	stopping atomic.Bool
	// onListen, when set (tests), is told each address actually bound.
	onListen func(addr string)
}

// NewServer returns a Server listening on cfg's addresses once Run is called.
func NewServer(cfg ServerConfig, reg *prometheus.Registry, log *slog.Logger) *Server {
	s := &Server{Mux: http.NewServeMux(), cfg: cfg, log: log}
	metrics := s.Mux
	if cfg.MetricsAddr != "" {
		s.ops = http.NewServeMux()
		metrics = s.ops
		s.probes(s.ops)
	}
	metrics.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	s.probes(s.Mux)
	return s
}

func (s *Server) probes(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
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
}

// SetReady marks the service ready (or not) for /readyz.
func (s *Server) SetReady(ready bool) { s.ready.Store(ready) }

// Stopping marks the beginning of shutdown: from now on /readyz answers 503 "stopping".
func (s *Server) Stopping() { s.stopping.Store(true) }

// Run serves until ctx is done, then shuts down, giving requests in flight 5 s.
func (s *Server) Run(ctx context.Context) error {
	type listener struct {
		addr string
		mux  *http.ServeMux
	}
	ls := []listener{{s.cfg.Addr, s.Mux}}
	if s.ops != nil {
		ls = append(ls, listener{s.cfg.MetricsAddr, s.ops})
	}
	var servers []*http.Server
	errc := make(chan error, len(ls))
	for _, l := range ls {
		ln, err := net.Listen("tcp", l.addr)
		if err != nil {
			for _, srv := range servers {
				srv.Close()
			}
			return fmt.Errorf("listen %s: %w", l.addr, err)
		}
		srv := NewHTTPServer(l.mux, s.cfg.Limits, s.log)
		servers = append(servers, srv)
		s.log.Info("http listening", "addr", ln.Addr().String())
		if s.onListen != nil {
			s.onListen(ln.Addr().String())
		}
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("http %s: %w", l.addr, err)
			}
		}()
	}
	var failed error
	select {
	case failed = <-errc:
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	var errs []error
	for _, srv := range servers {
		if err := srv.Shutdown(shut); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, fmt.Errorf("http shutdown: %w", err))
		}
	}
	return errors.Join(append([]error{failed}, errs...)...)
}

// SignalContext returns a context cancelled on SIGINT or SIGTERM.
func SignalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}
