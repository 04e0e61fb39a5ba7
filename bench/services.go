package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/stream"
)

// serviceOrder is the order services start in: the archiver creates the schema the api
// reads; the responder consumes what the assessor publishes.
var serviceOrder = []string{"archiver", "gateway", "assessor", "responder", "api"}

// probeSites is how many probe sites the bench network has: enough for every probe of
// the latency runs, each on a site of its own.
const probeSites = 600

// service is one service process of the bench stack.
type service struct {
	name  string
	cmd   *Command
	http  string // host:port of its HTTP server (/metrics, /readyz, api routes)
	pprof string // host:port of net/http/pprof when profiling
	log   string
}

// stack is the run's own set of service processes, on free ports, reading and writing the
// run's topics and database.
type stack struct {
	mu          sync.Mutex
	prepared    bool
	nextStation int // first load station not handed out yet
	sites       string
	contacts    string
	tokens      string
	hj212       string // gateway HJ 212 address
	addrs       map[string]string
	running     map[string]*service
	sink        *Sink
	sinkSrv     *http.Server
	sinkURL     string
	probes      atomic.Int64 // probe sites handed out
	offered     atomic.Int64 // readings the loads and probes put into the pipeline
	probeW      *stream.Writer
}

// prepareStack writes the bench network, creates the run's topics, starts the webhook
// sink and picks the ports. Done once per run.
func (e *Env) prepareStack(ctx context.Context) error {
	st := &e.stack
	if st.prepared {
		return nil
	}
	st.sites = filepath.Join(e.WorkDir(), "sites.yaml")
	if err := writeNetwork(st.sites, 0, e.loadStations(), probeSites); err != nil {
		return err
	}
	if err := e.prepareAPITokens(); err != nil {
		return err
	}
	st.contacts = filepath.Join(e.WorkDir(), "contacts.yaml")
	if err := writeContacts(e.Root, st.contacts); err != nil {
		return err
	}
	var specs []stream.TopicSpec
	for _, t := range e.topics().All() {
		specs = append(specs, stream.TopicSpec{Name: t, Partitions: e.Settings.Partitions})
	}
	specs = append(specs,
		stream.TopicSpec{Name: e.Topic("assessor-state"), Partitions: e.Settings.Partitions, Compacted: true},
		stream.TopicSpec{Name: e.Topic("responder-state"), Partitions: e.Settings.Partitions, Compacted: true})
	if err := stream.EnsureTopics(ctx, stream.Plain(e.Brokers...), specs...); err != nil {
		return err
	}
	// Hold every port until all are picked: a port closed at once may be handed out again.
	// The sink keeps its listener; the services' ports are released for them to bind.
	st.addrs = map[string]string{}
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	names := append(slicesClone(serviceOrder), "hj212")
	if e.profile != "" {
		for _, n := range serviceOrder {
			names = append(names, "pprof-"+n)
		}
	}
	for _, name := range names {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		held = append(held, l)
		st.addrs[name] = l.Addr().String()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	st.addrs["sink"] = ln.Addr().String()
	st.hj212 = st.addrs["hj212"]
	st.sink = NewSink()
	st.sinkSrv = &http.Server{Handler: st.sink, ReadHeaderTimeout: 10 * time.Second}
	go st.sinkSrv.Serve(ln)
	st.sinkURL = "http://" + st.addrs["sink"] + "/hook"
	st.running = map[string]*service{}
	st.prepared = true
	return nil
}

func slicesClone(s []string) []string { return append([]string(nil), s...) }

// topics are the run's contract topics.
func (e *Env) topics() config.Topics {
	return config.Topics{
		Readings: e.Topic("readings"), Rejected: e.Topic("rejected"), Events: e.Topic("events"),
		Incidents: e.Topic("incidents"), Commands: e.Topic("commands"), Corrections: e.Topic("corrections"),
		StationCommands: e.Topic("station-commands"), RawFrames: e.Topic("raw-frames"),
	}
}

// serviceEnv is the environment every bench process gets: RIVERWATCH_* overrides pointing
// it at the run's topics, database, network and ports.
func (e *Env) serviceEnv() []string {
	st := &e.stack
	t := e.topics()
	env := append(os.Environ(),
		"RIVERWATCH_MODE=development", // the bench runs the repository's development files
		"RIVERWATCH_KAFKA_BROKERS="+strings.Join(e.Brokers, ","),
		"RIVERWATCH_KAFKA_PARTITIONS="+strconv.Itoa(e.Settings.Partitions),
		"RIVERWATCH_KAFKA_GROUP_PREFIX="+e.Prefix,
		"RIVERWATCH_KAFKA_TOPICS_READINGS="+t.Readings,
		"RIVERWATCH_KAFKA_TOPICS_REJECTED="+t.Rejected,
		"RIVERWATCH_KAFKA_TOPICS_EVENTS="+t.Events,
		"RIVERWATCH_KAFKA_TOPICS_INCIDENTS="+t.Incidents,
		"RIVERWATCH_KAFKA_TOPICS_COMMANDS="+t.Commands,
		"RIVERWATCH_KAFKA_TOPICS_CORRECTIONS="+t.Corrections,
		"RIVERWATCH_KAFKA_TOPICS_RAW_FRAMES="+t.RawFrames,
		"RIVERWATCH_ASSESSOR_STATE_TOPIC="+e.Topic("assessor-state"),
		"RIVERWATCH_RESPONDER_STATE_TOPIC="+e.Topic("responder-state"),
		"RIVERWATCH_ARCHIVER_ROLLUP_TOPIC="+e.Topic("archiver-rollups"),
		"RIVERWATCH_CLICKHOUSE_ADDR="+e.CHAddr,
		"RIVERWATCH_CLICKHOUSE_DATABASE="+e.Database,
		"RIVERWATCH_SITES_FILE="+st.sites,
		"RIVERWATCH_CONTACTS_FILE="+st.contacts,
		"RIVERWATCH_PLAYBOOKS_FILE="+filepath.Join(e.Root, "configs", "playbooks.yaml"),
		"RIVERWATCH_AUTH_TOKENS_FILE="+st.tokens,
		"RIVERWATCH_RESPONDER_WEBHOOK_URL="+st.sinkURL,
		"RIVERWATCH_GATEWAY_HJ212_LISTEN="+st.hj212,
		"RIVERWATCH_SIMULATOR_GATEWAY="+st.hj212,
		// The load generator plays every station from this host (gateway.max_connections_per_address).
		"RIVERWATCH_GATEWAY_MAX_CONNECTIONS_PER_ADDRESS=100000",
		"RIVERWATCH_LOG_LEVEL=warn",
	)
	env = append(env, e.Settings.ServiceEnv...)
	for _, name := range serviceOrder {
		env = append(env, "RIVERWATCH_"+strings.ToUpper(name)+"_LISTEN="+st.addrs[name])
	}
	return env
}

// Services makes sure the named services of the bench stack run, starting the missing ones
// in pipeline order and waiting for each to be ready. A service that is not built, or
// does not start, makes the caller's step not available.
func (e *Env) Services(ctx context.Context, names ...string) error {
	st := &e.stack
	st.mu.Lock()
	defer st.mu.Unlock()
	if err := e.prepareStack(ctx); err != nil {
		return err
	}
	for _, name := range serviceOrder {
		if !contains(names, name) || st.running[name] != nil {
			continue
		}
		if contains(e.Settings.Without, name) {
			return notAvailable("%s left out (-without)", name)
		}
		bin, err := e.binary(name)
		if err != nil {
			return err
		}
		s, err := e.startService(ctx, name, bin)
		if err != nil {
			return notAvailable("%s did not start: %v", name, err)
		}
		st.running[name] = s
	}
	return nil
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func (e *Env) startService(ctx context.Context, name, bin string) (*service, error) {
	st := &e.stack
	logPath := filepath.Join(e.LogDir(), name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex
	write := func(l Line) {
		mu.Lock()
		fmt.Fprintln(f, l.Text)
		mu.Unlock()
	}
	env := e.serviceEnv()
	pprofAddr := st.addrs["pprof-"+name]
	if pprofAddr != "" {
		env = append(env, "RWBENCH_PPROF="+pprofAddr)
	}
	// A context of its own: a service outlives the step that started it.
	cmd, err := e.startWithEnv(context.WithoutCancel(ctx), write, env, bin, "-config", filepath.Join(e.Root, "configs", "riverwatch.yaml"))
	if err != nil {
		f.Close()
		return nil, err
	}
	s := &service{name: name, cmd: cmd, http: st.addrs[name], pprof: pprofAddr, log: logPath}
	e.Log.Info("service starting", "name", name, "http", s.http, "log", logPath)
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-cmd.done:
			return nil, fmt.Errorf("exited during start: %s", lastLine(logPath))
		case <-ctx.Done():
			cmd.Stop()
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if ready(s.http) {
			return s, nil
		}
	}
	cmd.Stop()
	return nil, fmt.Errorf("not ready on %s within 90 s: %s", s.http, lastLine(logPath))
}

func ready(addr string) bool {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get("http://" + addr + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func lastLine(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return "(no log)"
	}
	defer f.Close()
	var last string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if t := strings.TrimSpace(sc.Text()); t != "" {
			last = t
		}
	}
	if last == "" {
		return "(empty log)"
	}
	return last
}

// StopServices stops the bench stack and the sink.
func (e *Env) StopServices() {
	st := &e.stack
	st.mu.Lock()
	defer st.mu.Unlock()
	for i := len(serviceOrder) - 1; i >= 0; i-- {
		if s := st.running[serviceOrder[i]]; s != nil {
			s.cmd.Stop()
			delete(st.running, serviceOrder[i])
		}
	}
	if st.sinkSrv != nil {
		st.sinkSrv.Close()
	}
	if st.probeW != nil {
		st.probeW.Close()
	}
}

// serviceAddr returns the HTTP address of a running service.
func (e *Env) serviceAddr(name string) string {
	e.stack.mu.Lock()
	defer e.stack.mu.Unlock()
	if s := e.stack.running[name]; s != nil {
		return s.http
	}
	return ""
}

// Sink is the bench's webhook receiver: it answers every notification at once and records
// when it arrived.
type Sink struct {
	mu       sync.Mutex
	received []Delivery
}

// Delivery is one notification the sink received.
type Delivery struct {
	IncidentID string
	Kind       string
	At         time.Time
}

// NewSink returns an empty sink.
func NewSink() *Sink { return &Sink{} }

// ServeHTTP records a notification.
func (s *Sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var m struct {
		IncidentID string `json:"incident_id"`
		Kind       string `json:"kind"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.received = append(s.received, Delivery{IncidentID: m.IncidentID, Kind: m.Kind, At: at})
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// Received returns the deliveries so far.
func (s *Sink) Received() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.received...)
}

// scrape fetches a service's /metrics and returns the sum of the samples of a metric
// whose labels include every pair in match.
func scrape(ctx context.Context, addr, metric string, match map[string]string) (float64, error) {
	b, err := fetchMetrics(ctx, addr)
	if err != nil {
		return 0, err
	}
	return sumMetric(bytes.NewReader(b), metric, match)
}

// fetchMetrics returns the body of a service's /metrics.
func fetchMetrics(ctx context.Context, addr string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s/metrics: %s", addr, resp.Status)
	}
	return io.ReadAll(resp.Body)
}

// sumMetric sums the samples of metric in Prometheus text format whose labels include
// every pair in match.
func sumMetric(r io.Reader, metric string, match map[string]string) (float64, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var sum float64
	found := false
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' || !strings.HasPrefix(line, metric) {
			continue
		}
		rest := line[len(metric):]
		labels := ""
		switch {
		case strings.HasPrefix(rest, "{"):
			end := strings.LastIndexByte(rest, '}')
			if end < 0 {
				continue
			}
			labels, rest = rest[1:end], rest[end+1:]
		case strings.HasPrefix(rest, " "):
		default:
			continue // another metric with this prefix
		}
		if !labelsMatch(labels, match) {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue
		}
		sum += v
		found = true
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	if !found {
		return 0, errMetricMissing
	}
	return sum, nil
}

var errMetricMissing = errors.New("metric not exposed")

func labelsMatch(labels string, match map[string]string) bool {
	for k, v := range match {
		if !strings.Contains(labels, k+`="`+v+`"`) {
			return false
		}
	}
	return true
}
