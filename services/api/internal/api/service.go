package api

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverwatch/riverwatch/pkg/auth"
	"github.com/riverwatch/riverwatch/pkg/chstore"
	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/ops"
	"github.com/riverwatch/riverwatch/pkg/store"
	"github.com/riverwatch/riverwatch/pkg/stream"
	"github.com/riverwatch/riverwatch/services/api/internal/evidence"
)

// Deps are what New takes from the binary besides the configuration.
type Deps struct {
	Log      *slog.Logger
	Registry prometheus.Registerer
	// Mux receives the API's and the dashboard's routes once ClickHouse answers (the ops
	// server's, beside /metrics, /healthz and /readyz).
	Mux *http.ServeMux
	// Assets are the dashboard's files.
	Assets fs.FS
}

// Service is the api service: the Server on ClickHouse and the commands topic, and the
// Watcher that drives the dashboards' refresh.
type Service struct {
	cfg    *config.Config
	d      Deps
	kafka  stream.Cluster
	net    *network.Network
	tokens *auth.Tokens
	key    message.CommandKey
	ev     EvidenceOptions
}

// Check loads the files the api reads (sites, tokens, the command key) and reports what
// is wrong.
func Check(cfg *config.Config) error {
	net, _, _, err := load(cfg)
	_, everr := loadEvidence(cfg, time.Now())
	var derr error
	if net != nil {
		_, derr = NewDrillScheduler(cfg.Drills, net, nil, nil, nil)
	}
	return errors.Join(err, everr, derr)
}

// loadEvidence reads what evidence bundles need: the signing key (api.evidence_key_file;
// none configured is no error, the route then answers 503) and, with a key, the
// configuration files in force (sites_file, playbooks_file, contacts_file), which must
// then be readable: a bundle without them would not say what rules were applied.
func loadEvidence(cfg *config.Config, now time.Time) (EvidenceOptions, error) {
	ev := EvidenceOptions{Margin: cfg.API.EvidenceMargin, Build: ops.ReadBuild().String()}
	if cfg.API.EvidenceKeyFile == "" {
		return ev, nil
	}
	key, err := evidence.LoadPrivateKey(cfg.API.EvidenceKeyFile)
	if err != nil {
		return ev, fmt.Errorf("config key api.evidence_key_file: %w", err)
	}
	ev.Key = key
	var errs []error
	read := func(key, path string) *ConfigSource {
		b, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("config key %s (evidence bundles carry it): %w", key, err))
			return nil
		}
		return &ConfigSource{Key: key, Path: path, Data: b, ReadAt: now}
	}
	ev.Sites = read("sites_file", cfg.SitesFile)
	ev.Playbooks = read("playbooks_file", cfg.PlaybooksFile)
	ev.Contacts = read("contacts_file", cfg.ContactsFile)
	return ev, errors.Join(errs...)
}

func load(cfg *config.Config) (*network.Network, *auth.Tokens, message.CommandKey, error) {
	net, err := network.Load(cfg.SitesFile)
	if err != nil {
		err = fmt.Errorf("config key sites_file: %w", err)
	}
	tokens, terr := auth.Load(cfg.Auth.TokensFile)
	if terr != nil {
		terr = fmt.Errorf("config key auth.tokens_file: %w", terr)
	}
	key, kerr := message.LoadCommandKey(cfg.Kafka.CommandsKeyFile)
	if kerr != nil {
		kerr = fmt.Errorf("config key kafka.commands_key_file: %w", kerr)
	}
	return net, tokens, key, errors.Join(err, terr, kerr)
}

// New loads the network and tokens of cfg; the api connects when it runs.
func New(cfg *config.Config, d Deps) (*Service, error) {
	if err := cfg.API.Validate(); err != nil {
		return nil, err
	}
	if d.Mux == nil {
		return nil, errors.New("api: Deps.Mux is required")
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	net, tokens, key, err := load(cfg)
	if err != nil {
		return nil, err
	}
	if _, err := NewDrillScheduler(cfg.Drills, net, nil, nil, nil); err != nil {
		return nil, err
	}
	ev, err := loadEvidence(cfg, time.Now())
	if err != nil {
		return nil, err
	}
	if ev.Key == nil {
		d.Log.Warn("no evidence signing key configured: GET /api/v1/incidents/{id}/evidence answers 503", "key", "api.evidence_key_file")
	}
	kc, err := stream.NewCluster(cfg.Kafka)
	if err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, d: d, kafka: kc, net: net, tokens: tokens, key: key, ev: ev}, nil
}

// Tokens returns the tokens the API authenticates with (swapped by a reload on SIGHUP).
func (s *Service) Tokens() *auth.Tokens { return s.tokens }

// Run connects to ClickHouse (retrying while it does not answer), registers the API and
// the dashboard on Deps.Mux, tells ready, and runs the Watcher until ctx is done.
func (s *Service) Run(ctx context.Context, ready func(bool)) error {
	cfg, log := s.cfg, s.d.Log
	conn, err := connect(ctx, cfg, log)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	defer conn.Close()
	km := stream.NewMetrics(s.d.Registry, "api")
	w := stream.NewWriter(stream.WriterConfig{
		Cluster: s.kafka, Topic: cfg.Kafka.Topics.Commands,
		BatchTimeout: cfg.Kafka.BatchTimeout, BatchSize: cfg.Kafka.BatchSize, Label: "commands",
	}, km)
	defer w.Close()
	// The corrections topic is the api's own: it creates it when missing (a broker that is
	// down is not fatal; a correction then fails with 503 until it is back).
	tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	if err := stream.EnsureTopics(tctx, s.kafka, stream.TopicSpec{Name: cfg.Kafka.Topics.Corrections, Partitions: cfg.Kafka.Partitions}); err != nil {
		log.Warn("could not ensure the corrections topic; continuing", "topic", cfg.Kafka.Topics.Corrections, "err", err)
	}
	cancel()
	cw := stream.NewWriter(stream.WriterConfig{
		Cluster: s.kafka, Topic: cfg.Kafka.Topics.Corrections, BatchTimeout: cfg.Kafka.BatchTimeout, Label: "corrections",
	}, km)
	defer cw.Close()
	sw := stream.NewWriter(stream.WriterConfig{
		Cluster: s.kafka, Topic: cfg.Kafka.Topics.StationCommands, BatchTimeout: cfg.Kafka.BatchTimeout, Label: "station_commands",
	}, km)
	defer sw.Close()
	commander := NewKafkaCommander(w, s.key)
	drills, err := NewDrillScheduler(cfg.Drills, s.net, commander, log, nil)
	if err != nil {
		return err
	}
	api, err := NewServer(Options{
		Network: s.net, Tokens: s.tokens, Store: store.NewReader(conn, cfg.ClickHouse.Database),
		Commander: commander, Corrector: NewKafkaCorrector(cw), Assets: s.d.Assets, Evidence: s.ev,
		StationCommander: NewKafkaStationCommander(sw),
		CommandTimeout:   cfg.API.CommandTimeout, CommandPoll: cfg.API.CommandPoll,
		RefreshInterval: cfg.API.RefreshInterval, LatestLookback: cfg.API.LatestLookback,
		RawMaxSpan: cfg.API.RawMaxSpan, HourMaxSpan: cfg.API.HourMaxSpan, QueryTimeout: cfg.API.QueryTimeout,
		RateLimit: cfg.API.RateLimit, RateBurst: cfg.API.RateBurst, MaxInflightPerToken: cfg.API.MaxInflightPerToken,
		ExportMaxRows: cfg.API.ExportMaxRows, HideSourceClassIII: !cfg.API.ReportSourceClassIII, BacktestDir: cfg.API.BacktestDir,
		ReportMinData: MinData{Monthly: cfg.API.ReportMinMonthly, Quarterly: cfg.API.ReportMinQuarterly, Annual: cfg.API.ReportMinAnnual},
		Logger:        log, Registry: s.d.Registry,
	})
	if err != nil {
		return err
	}
	api.Register(s.d.Mux)
	// The service stops when ctx is done, and so does the HTTP server, concurrently: the
	// event streams end now, or the server's graceful shutdown would wait for them (L3).
	defer api.Close()
	if ready != nil {
		ready(true)
		defer ready(false)
	}
	log.Info("api ready", "listen", cfg.API.Listen, "sites", len(s.net.Sites()), "commands_topic", cfg.Kafka.Topics.Commands, "drill_schedules", len(cfg.Drills))
	// The recurring drills run beside the Watcher and stop with it.
	dctx, stopDrills := context.WithCancel(ctx)
	drillsDone := make(chan struct{})
	go func() { defer close(drillsDone); _ = drills.Run(dctx) }()
	defer func() { stopDrills(); <-drillsDone }()
	return api.NewWatcher().Run(ctx)
}

// connect opens ClickHouse, retrying until ctx is done while it does not answer
// (chstore.OpenRetrying): the api may start before the database, and a dashboard that
// waits is better than a crash loop.
func connect(ctx context.Context, cfg *config.Config, log *slog.Logger) (driver.Conn, error) {
	user, password, err := clickHouseAccount(cfg)
	if err != nil {
		return nil, err
	}
	cc, err := chstore.ConfigFrom(cfg.ClickHouse)
	if err != nil {
		return nil, err
	}
	cc.Username, cc.Password = user, password
	conn, _, err := chstore.OpenRetrying(ctx, cc, 0, log)
	return conn, err
}

// clickHouseAccount is the account the api reads with: its own read-only one
// (api.clickhouse_username, password from api.clickhouse_password_file), else the shared
// clickhouse section's (development only; production mode refuses it).
func clickHouseAccount(cfg *config.Config) (user, password string, err error) {
	if cfg.API.ClickHouseUsername == "" {
		return cfg.ClickHouse.Username, cfg.ClickHouse.Password, nil
	}
	pw, err := config.ReadSecret(cfg.API.ClickHousePasswordFile)
	if err != nil {
		return "", "", fmt.Errorf("config key api.clickhouse_password_file: %w", err)
	}
	return cfg.API.ClickHouseUsername, pw, nil
}
