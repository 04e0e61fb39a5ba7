package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverwatch/riverwatch/pkg/auth"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
)

// Commander sends an operator's command to the responder (riverwatch.commands).
type Commander interface {
	Send(ctx context.Context, cmd message.Command) error
}

// Options builds a Server. Network, Tokens, Store, Commander and Corrector are required.
type Options struct {
	Network   *network.Network
	Tokens    *auth.Tokens
	Store     Store
	Commander Commander
	// Corrector publishes admins' corrections of stored readings.
	Corrector Corrector
	// StationCommander publishes station command requests (nil: POST …/commands answers
	// 503).
	StationCommander StationCommander
	// Assets is the dashboard's file tree (services/api/internal/dashboard); nil serves no dashboard.
	Assets fs.FS
	// Evidence configures the signed evidence bundles (evidence.go); without a key their
	// route answers 503.
	Evidence EvidenceOptions
	// CommandTimeout bounds how long a command request waits for the responder.
	CommandTimeout time.Duration
	// CommandPoll is how often the API looks for the responder's log entry of a command.
	CommandPoll time.Duration
	// RefreshInterval is how often the Watcher polls the Store for changes.
	RefreshInterval time.Duration
	// LatestLookback bounds how old a site's latest reading may be to count as current.
	LatestLookback time.Duration
	// RawMaxSpan and HourMaxSpan choose the resolution of a series when the caller does not:
	// raw up to RawMaxSpan, hourly rollups up to HourMaxSpan, daily beyond.
	RawMaxSpan  time.Duration
	HourMaxSpan time.Duration
	// QueryTimeout bounds each request's work (the event stream excepted).
	QueryTimeout time.Duration
	// RateLimit (requests per second) and RateBurst shape each token name's bucket;
	// MaxInflightPerToken bounds one token name's requests answered at once (the event
	// stream excepted). Defaults 50, 200 and 4 (config keys api.rate_limit, ...).
	RateLimit           float64
	RateBurst           int
	MaxInflightPerToken int
	// InflightWait is how long a request over MaxInflightPerToken waits for a slot before
	// its 429. Default 2 s.
	InflightWait time.Duration
	// ExportMaxRows bounds the rows of one CSV export of readings. Default 500000.
	ExportMaxRows int
	// ReportMinData is the minimum data of the compliance report's periods; zero fields take
	// DefaultMinData's.
	ReportMinData MinData
	Logger        *slog.Logger
	Registry      prometheus.Registerer
	// Now is the clock; nil uses time.Now.
	Now func() time.Time
	// HideSourceClassIII leaves out the drinking-water sources' compliance against Class Ⅲ
	// plus Tables 2 and 3 (config api.report_source_class_iii: false; default shown).
	HideSourceClassIII bool
	// BacktestDir holds the backtests the CLI stored as JSON (config api.backtest_dir);
	// empty: none.
	BacktestDir string
}

// Server serves the REST API and the dashboard.
type Server struct {
	opt Options
	// rolesOnce reads the role names of the contacts file once, for the reports.
	rolesOnce sync.Once
	roles     map[string]string
	net       *network.Network
	tokens    *auth.Tokens
	store     Store
	cmd       Commander
	log       *slog.Logger
	metrics   *metrics
	hub       *Hub
	now       func() time.Time
	routes    []Route
	limits    *limiter
	// closing ends the event streams when the service stops (Close), so that the HTTP
	// server's graceful shutdown does not wait for dashboards that never hang up.
	closing   chan struct{}
	closeOnce sync.Once
}

// Route is one registered endpoint of the API. Register builds the table and Routes and
// RouteTable expose it: the OpenAPI test and the authorisation matrix walk it, so a new
// route is covered by both without a test being edited.
type Route struct {
	Method, Pattern string
	// Role is the least role that may call the route; "" for a public one.
	Role string
}

// NewServer returns a Server (New builds one from the configuration, with ClickHouse and Kafka).
func NewServer(opt Options) (*Server, error) {
	switch {
	case opt.Network == nil:
		return nil, errors.New("api: Network is required")
	case opt.Tokens == nil:
		return nil, errors.New("api: Tokens is required")
	case opt.Store == nil:
		return nil, errors.New("api: Store is required")
	case opt.Commander == nil:
		return nil, errors.New("api: Commander is required")
	case opt.Corrector == nil:
		return nil, errors.New("api: Corrector is required")
	}
	if opt.CommandTimeout <= 0 {
		opt.CommandTimeout = 5 * time.Second
	}
	if opt.CommandPoll <= 0 {
		opt.CommandPoll = 100 * time.Millisecond
	}
	if opt.RefreshInterval <= 0 {
		opt.RefreshInterval = 2 * time.Second
	}
	if opt.LatestLookback <= 0 {
		opt.LatestLookback = 30 * 24 * time.Hour
	}
	if opt.RawMaxSpan <= 0 {
		opt.RawMaxSpan = 48 * time.Hour
	}
	if opt.HourMaxSpan <= 0 {
		opt.HourMaxSpan = 92 * 24 * time.Hour
	}
	if opt.QueryTimeout <= 0 {
		opt.QueryTimeout = 30 * time.Second
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Registry == nil {
		opt.Registry = prometheus.NewRegistry()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.RateLimit <= 0 {
		opt.RateLimit = 50
	}
	if opt.RateBurst <= 0 {
		opt.RateBurst = 200
	}
	if opt.MaxInflightPerToken <= 0 {
		opt.MaxInflightPerToken = 4
	}
	if opt.InflightWait <= 0 {
		opt.InflightWait = 2 * time.Second
	}
	if opt.ExportMaxRows <= 0 {
		opt.ExportMaxRows = 500000
	}
	if opt.ReportMinData.Monthly <= 0 {
		opt.ReportMinData.Monthly = DefaultMinData.Monthly
	}
	if opt.ReportMinData.Quarterly <= 0 {
		opt.ReportMinData.Quarterly = DefaultMinData.Quarterly
	}
	if opt.ReportMinData.Annual <= 0 {
		opt.ReportMinData.Annual = DefaultMinData.Annual
	}
	m, err := newMetrics(opt.Registry)
	if err != nil {
		return nil, err
	}
	s := &Server{
		opt: opt, net: opt.Network, tokens: opt.Tokens, store: opt.Store, cmd: opt.Commander,
		log: opt.Logger, metrics: m, now: opt.Now, closing: make(chan struct{}),
		// The rate is wall-clock time whatever Now says (tests freeze Now for their data).
		limits: newLimiter(opt.RateLimit, opt.RateBurst, opt.MaxInflightPerToken, opt.InflightWait, time.Now),
	}
	s.hub = NewHub(m.sseClients)
	return s, nil
}

// Hub returns the server's Server-Sent Events hub, which a Watcher feeds.
func (s *Server) Hub() *Hub { return s.hub }

// Close ends every open event stream (their dashboards reconnect to another instance or
// after the restart) and refuses new ones; the rest of the API keeps answering until the
// HTTP server shuts down. Call it when the service begins to stop.
func (s *Server) Close() { s.closeOnce.Do(func() { close(s.closing) }) }

// Register adds every route to mux (ops.Server.Mux in the service).
func (s *Server) Register(mux *http.ServeMux) {
	s.routes = nil
	// handle registers a route: authenticated for role (none when ""), then wrapped in
	// outer (auth.AllowQueryToken, for the event stream).
	handle := func(method, pattern, name, role string, h http.HandlerFunc, outer ...func(http.HandlerFunc) http.HandlerFunc) {
		s.routes = append(s.routes, Route{Method: method, Pattern: pattern, Role: role})
		if role != "" {
			h = s.auth(name, role, h)
		}
		for _, o := range outer {
			h = o(h)
		}
		mux.Handle(method+" "+pattern, s.instrument(name, h))
	}
	handle("GET", "/api/v1/openapi.json", "openapi", "", s.handleOpenAPI)
	handle("GET", "/api/v1/me", "me", auth.RoleViewer, s.handleMe)
	handle("GET", "/api/v1/rivers", "rivers", auth.RoleViewer, s.handleRivers)
	handle("GET", "/api/v1/sites", "sites", auth.RoleViewer, s.handleSites)
	handle("GET", "/api/v1/sites/{id}", "site", auth.RoleViewer, s.handleSite)
	handle("GET", "/api/v1/sites/{id}/readings", "readings", auth.RoleViewer, s.handleReadings)
	handle("GET", "/api/v1/sites/{id}/readings/corrections", "corrections", auth.RoleViewer, s.handleCorrections)
	handle("POST", "/api/v1/sites/{id}/readings/corrections", "correct", auth.RoleAdmin, s.handleCorrect)
	handle("GET", "/api/v1/sites/{id}/commands", "station_commands", auth.RoleViewer, s.handleStationCommands)
	handle("POST", "/api/v1/sites/{id}/commands", "station_command", auth.RoleResponder, s.handleStationCommand)
	handle("GET", "/api/v1/events", "events", auth.RoleViewer, s.handleEvents)
	handle("GET", "/api/v1/predictions/skill", "skill", auth.RoleViewer, s.handleSkill)
	handle("GET", "/api/v1/incidents", "incidents", auth.RoleViewer, s.handleIncidents)
	handle("GET", "/api/v1/incidents/{id}", "incident", auth.RoleViewer, s.handleIncident)
	handle("GET", "/api/v1/incidents/{id}/evidence", "evidence", auth.RoleResponder, s.handleEvidence)
	handle("GET", "/api/v1/incidents/{id}/sources", "sources", auth.RoleViewer, s.handleSources)
	handle("GET", "/api/v1/incidents/{id}/report", "incident_report", auth.RoleViewer, s.handleReport)
	handle("POST", "/api/v1/incidents/{id}/ack", "ack", auth.RoleResponder, s.handleAck)
	handle("POST", "/api/v1/incidents/{id}/resolve", "resolve", auth.RoleResponder, s.handleResolve)
	handle("POST", "/api/v1/incidents/{id}/receipt", "receipt", auth.RoleResponder, s.handleReceipt)
	handle("POST", "/api/v1/incidents/{id}/steps/{step}/done", "step_done", auth.RoleResponder, s.handleStepDone)
	handle("POST", "/api/v1/drills", "drill", auth.RoleAdmin, s.handleDrill)
	handle("GET", "/api/v1/drills", "drills", auth.RoleViewer, s.handleDrills)
	handle("GET", "/api/v1/reports/compliance", "compliance", auth.RoleViewer, s.handleCompliance)
	handle("GET", "/api/v1/reports/drills", "drill_report", auth.RoleViewer, s.handleDrillReport)
	handle("GET", "/api/v1/reports/monthly", "monthly_report", auth.RoleViewer, s.handleMonthlyReport)
	handle("GET", "/api/v1/backtests", "backtests", auth.RoleViewer, s.handleBacktests)
	handle("GET", "/api/v1/backtests/{name}", "backtest", auth.RoleViewer, s.handleBacktest)
	handle("GET", "/api/v1/silences", "silences", auth.RoleViewer, s.handleSilences)
	handle("POST", "/api/v1/silences", "silence_create", auth.RoleAdmin, s.handleCreateSilence)
	handle("GET", "/api/v1/silences/{id}", "silence", auth.RoleViewer, s.handleSilence)
	handle("DELETE", "/api/v1/silences/{id}", "silence_expire", auth.RoleAdmin, s.handleExpireSilence)
	// The event stream alone takes its token from ?access_token= too: EventSource cannot
	// set headers, and the stream carries only "reload" notices.
	handle("GET", "/api/v1/stream", "stream", auth.RoleViewer, s.handleStream, auth.AllowQueryToken)
	// A documented path asked with a method it does not serve is a 405 naming the methods
	// it does (RFC 9110 §15.5.6), not the 404 of the catch-all below.
	allowed := map[string][]string{}
	var paths []string
	for _, rt := range s.routes {
		if allowed[rt.Pattern] == nil {
			paths = append(paths, rt.Pattern)
		}
		allowed[rt.Pattern] = append(allowed[rt.Pattern], rt.Method)
		if rt.Method == http.MethodGet {
			allowed[rt.Pattern] = append(allowed[rt.Pattern], http.MethodHead)
		}
	}
	for _, pattern := range paths {
		allow := strings.Join(allowed[pattern], ", ")
		mux.Handle(pattern, s.instrument("method_not_allowed", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			s.fail(w, r, http.StatusMethodNotAllowed, "method_not_allowed", "%s %s: allowed %s", r.Method, r.URL.Path, allow)
		}))
	}
	// Anything else under /api/ is a JSON 404, not the dashboard.
	mux.Handle("/api/", s.instrument("unknown", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, http.StatusNotFound, "not_found", "no such endpoint: %s %s", r.Method, r.URL.Path)
	}))
	if s.opt.Assets != nil {
		files := http.FileServerFS(s.opt.Assets)
		mux.Handle("GET /{$}", s.instrument("dashboard", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "no-cache")
			w.Header().Set("Content-Security-Policy", dashboardCSP)
			http.ServeFileFS(w, r, s.opt.Assets, "index.html")
		}))
		mux.Handle("GET /static/", s.instrument("static", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "no-cache")
			w.Header().Set("Content-Security-Policy", dashboardCSP)
			http.StripPrefix("/static", files).ServeHTTP(w, r)
		}))
	}
}

// Routes returns the "METHOD /pattern" of every API route registered by Register.
func (s *Server) Routes() []string {
	out := make([]string, len(s.routes))
	for i, r := range s.routes {
		out[i] = r.Method + " " + r.Pattern
	}
	return out
}

// RouteTable returns every API route registered by Register, with the role it needs.
func (s *Server) RouteTable() []Route { return slices.Clone(s.routes) }

// Handler returns a mux with every route, for tests and for embedding.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	s.Register(mux)
	return mux
}

type principalKey struct{}

// principal returns the caller authenticated by auth.
func principal(r *http.Request) *auth.Principal {
	p, _ := r.Context().Value(principalKey{}).(*auth.Principal)
	return p
}

// auth authenticates the bearer token (401), applies the token name's rate limit (429),
// checks the role (403) and, but for the event stream, holds one of the token name's
// request slots while the handler runs (429 when none comes free).
func (s *Server) auth(name, role string, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := s.tokens.Authenticate(r)
		if a, ok := r.Context().Value(accessKey{}).(*access); ok && err == nil {
			a.token = p.Name
		}
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="riverwatch"`)
			s.fail(w, r, http.StatusUnauthorized, "unauthorized", "%v", err)
			return
		}
		if ok, wait := s.limits.allow(p.Name); !ok {
			w.Header().Set("Retry-After", retryAfter(wait))
			s.fail(w, r, http.StatusTooManyRequests, "rate_limited", "token %s made more than %g requests per second (burst %d): retry after %s",
				p.Name, s.opt.RateLimit, s.opt.RateBurst, retryAfter(wait)+"s")
			return
		}
		if !p.Can(role) {
			s.fail(w, r, http.StatusForbidden, "forbidden", "role %s may not do this (needs %s)", p.Role, role)
			return
		}
		if name != "stream" {
			if !s.limits.acquire(r.Context(), p.Name) {
				w.Header().Set("Retry-After", "1")
				s.fail(w, r, http.StatusTooManyRequests, "too_many_inflight", "token %s has %d requests in progress already: retry after 1s",
					p.Name, s.opt.MaxInflightPerToken)
				return
			}
			defer s.limits.release(p.Name)
		}
		next(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	}
}

// statusWriter records the status code and the bytes of the body, for metrics and the
// access log.
type statusWriter struct {
	http.ResponseWriter
	code  int
	bytes int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Flush lets Server-Sent Events through the wrapper.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Browser security headers (M10). The API's answers are data, never a page: nothing may
// load from them or frame them. The dashboard loads its own script, style and images only
// (no inline script or style: app.js sets colours through the CSSOM), and nobody may frame
// it (clickjacking of its command buttons).
const (
	apiCSP       = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
	dashboardCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
		"base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"
)

// securityHeaders are sent with every answer of the API and the dashboard.
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", apiCSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
}

type requestIDKey struct{}

// accessKey holds the request's *access, which auth fills in for the access log.
type accessKey struct{}

// access is what the access log says of a request beyond the request itself: the name of
// the token that authenticated it ("" when none did).
type access struct{ token string }

// requestID returns the id instrument gave the request: it is in the X-Request-Id header
// of the answer, in the body of a 5xx and in the log line that says what failed.
func requestID(r *http.Request) string {
	id, _ := r.Context().Value(requestIDKey{}).(string)
	return id
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (s *Server) instrument(name string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := newRequestID()
		securityHeaders(w.Header())
		w.Header().Set("X-Request-Id", id)
		a := &access{}
		r = r.WithContext(context.WithValue(context.WithValue(r.Context(), requestIDKey{}, id), accessKey{}, a))
		sw := &statusWriter{ResponseWriter: w}
		if name != "stream" {
			ctx, cancel := context.WithTimeout(r.Context(), s.opt.QueryTimeout)
			defer cancel()
			r = r.WithContext(ctx)
		}
		h(sw, r)
		if sw.code == 0 {
			sw.code = http.StatusOK
		}
		elapsed := time.Since(start)
		s.metrics.requests.WithLabelValues(name, strconv.Itoa(sw.code)).Inc()
		if name != "stream" {
			s.metrics.duration.WithLabelValues(name).Observe(elapsed.Seconds())
		}
		s.accessLog(r, name, id, a.token, sw, elapsed)
	})
}

// accessLog writes one line per answered request (an event stream when it ends): who
// (token name, remote address), what (method, route, path — never the query string, which
// may carry the event stream's access_token), the outcome (status, bytes) and how long it
// took. Errors and refusals are lines too, so that an operator can count what a token did.
func (s *Server) accessLog(r *http.Request, route, id, token string, sw *statusWriter, elapsed time.Duration) {
	level := slog.LevelInfo
	if sw.code >= 500 {
		level = slog.LevelWarn
	}
	s.log.LogAttrs(r.Context(), level, "request",
		slog.String("method", r.Method), slog.String("route", route), slog.String("path", r.URL.Path),
		slog.Int("status", sw.code), slog.Int64("bytes", sw.bytes),
		slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
		slog.String("token", token), slog.String("remote", r.RemoteAddr), slog.String("request_id", id))
}

// apiError is the body of every error response.
type apiError struct {
	Error     string `json:"error"`
	Code      string `json:"code"`
	CommandID string `json:"command_id,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// fail answers an error as JSON, counts it by reason and logs server errors.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, code, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.metrics.errors.WithLabelValues(code).Inc()
	if status >= 500 {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "request_id", requestID(r), "err", msg)
	} else {
		s.log.Debug("request refused", "method", r.Method, "path", r.URL.Path, "status", status, "err", msg)
	}
	writeJSON(w, status, apiError{Error: msg, Code: code, RequestID: requestID(r)})
}

// internalFail answers a server-side failure without its text (L7: a ClickHouse or Kafka
// error names hosts, users, tables and SQL): the client gets what failed and the request
// id, the log gets the error with the same id.
func (s *Server) internalFail(w http.ResponseWriter, r *http.Request, status int, code, what string, err error) {
	s.metrics.errors.WithLabelValues(code).Inc()
	id := requestID(r)
	s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "request_id", id, "status", status, "what", what, "err", err)
	msg := what + ": internal error"
	switch status {
	case http.StatusGatewayTimeout:
		msg = what + ": the query took too long"
	case http.StatusServiceUnavailable:
		msg = what + ": temporarily unavailable"
	}
	writeJSON(w, status, apiError{Error: msg + " (request id " + id + ")", Code: code, RequestID: id})
}

// storeFail answers a Store error: 404 for ErrNotFound, 504 when the request's deadline
// passed, 500 otherwise; the error's text goes to the log only.
func (s *Server) storeFail(w http.ResponseWriter, r *http.Request, what string, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		s.fail(w, r, http.StatusNotFound, "not_found", "%s not found", what)
	case errors.Is(err, context.DeadlineExceeded), expired(r.Context()) && !errors.Is(r.Context().Err(), context.Canceled):
		s.internalFail(w, r, http.StatusGatewayTimeout, "timeout", what, err)
	case errors.Is(err, context.Canceled):
		// The client went away; nobody reads the answer.
		s.metrics.errors.WithLabelValues("canceled").Inc()
	default:
		s.internalFail(w, r, http.StatusInternalServerError, "store", what, err)
	}
}

// writeJSON encodes before writing, so that a value JSON cannot hold (a NaN or an
// infinity read from storage) becomes a 500 with a message rather than a truncated 200.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		buf.Reset()
		status = http.StatusInternalServerError
		_ = enc.Encode(apiError{Error: "encode response: " + err.Error(), Code: "encode"})
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// expired reports whether ctx is done or its deadline has passed. clickhouse-go turns a
// context's deadline into the connection's, so a query cut by it can fail with a network
// "i/o timeout" that does not wrap DeadlineExceeded, sometimes before ctx.Err() is set.
func expired(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}

// badRequest is a caller's mistake in a query parameter or body.
type badRequest struct{ msg string }

func (e *badRequest) Error() string { return e.msg }

func badf(format string, args ...any) error { return &badRequest{msg: fmt.Sprintf(format, args...)} }

// parseTime reads an RFC 3339 time or a YYYY-MM-DD date (midnight in the network's zone).
func (s *Server) parseTime(r *http.Request, key string, def time.Time) (time.Time, error) {
	v := strings.TrimSpace(r.URL.Query().Get(key))
	if v == "" {
		return def, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.ParseInLocation("2006-01-02", v, s.net.Location); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, badf("%s=%q: want an RFC 3339 time (2024-06-01T08:00:00+08:00) or a date (2024-06-01)", key, v)
}

// parseRange reads from and to, defaulting to the span before now.
func (s *Server) parseRange(r *http.Request, span time.Duration) (from, to time.Time, err error) {
	to, err = s.parseTime(r, "to", s.now().UTC())
	if err != nil {
		return
	}
	from, err = s.parseTime(r, "from", to.Add(-span))
	if err != nil {
		return
	}
	if !from.Before(to) {
		err = badf("from (%s) must be before to (%s)", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	return
}

// Page limits of lists (events, incidents). ClickHouse reads offset+limit rows to answer a
// page, so the offset is bounded too: far pages are reached by narrowing from/to.
const (
	defaultLimit = 100
	maxLimit     = 1000
	maxOffset    = 100_000
)

// parsePage reads limit (1..max) and offset (0..maxOff). Both are parsed as decimal ints
// and range-checked before any arithmetic, so offset+limit cannot overflow.
func parsePage(r *http.Request, def, max, maxOff int) (limit, offset int, err error) {
	limit, offset = def, 0
	q := r.URL.Query()
	if v := q.Get("limit"); v != "" {
		n, e := strconv.Atoi(v)
		if e != nil || n < 1 || n > max {
			return 0, 0, badf("limit=%q: want an integer from 1 to %d", v, max)
		}
		limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, e := strconv.Atoi(v)
		if e != nil || n < 0 || n > maxOff {
			return 0, 0, badf("offset=%q: want an integer from 0 to %d (narrow from and to to reach further)", v, maxOff)
		}
		offset = n
	}
	return limit, offset, nil
}

// listOf splits a comma-separated query parameter; repeated keys add up.
func listOf(r *http.Request, key string) []string {
	var out []string
	for _, v := range r.URL.Query()[key] {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// Page is a page of a list.
type Page[T any] struct {
	Items  []T `json:"items"`
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
	// NextOffset is the offset of the next page; absent on the last page.
	NextOffset *int `json:"next_offset,omitempty"`
}

// page builds a Page from up to limit+1 items fetched.
func page[T any](items []T, limit, offset int) Page[T] {
	p := Page[T]{Items: items, Limit: limit, Offset: offset}
	if len(items) > limit {
		p.Items = items[:limit]
		next := offset + limit
		p.NextOffset = &next
	}
	if p.Items == nil {
		p.Items = []T{}
	}
	return p
}

// wantCSV reports whether the caller asked for CSV (format=csv or Accept: text/csv).
func wantCSV(r *http.Request) bool {
	if f := r.URL.Query().Get("format"); f != "" {
		return strings.EqualFold(f, "csv")
	}
	return strings.Contains(r.Header.Get("Accept"), "text/csv")
}

// checkFormat refuses formats other than json and csv.
func checkFormat(r *http.Request) error {
	switch f := strings.ToLower(r.URL.Query().Get("format")); f {
	case "", "json", "csv":
		return nil
	default:
		return badf("format=%q: want json or csv", f)
	}
}

// handleBad answers a badRequest as 400 and anything else as a store failure.
func (s *Server) handleErr(w http.ResponseWriter, r *http.Request, what string, err error) {
	var br *badRequest
	if errors.As(err, &br) {
		s.fail(w, r, http.StatusBadRequest, "bad_request", "%s", br.msg)
		return
	}
	s.storeFail(w, r, what, err)
}
