package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/riverwatch/riverwatch/pkg/auth"
	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/stream"
)

// Deps are what a Service takes from the binary.
type Deps struct {
	Log      *slog.Logger
	Registry prometheus.Registerer // metrics; nil: not registered anywhere
}

// Service is the gateway service: a Gateway wired to Kafka writers from the configuration.
type Service struct {
	cfg     *config.Config
	kafka   stream.Cluster
	log     *slog.Logger
	gw      *Gateway
	writers []*stream.Writer
	tokens  *auth.Tokens
	relay   *CommandRelay
	cmds    *stream.Consumer
}

// Check loads the files the gateway reads (sites, tokens) and reports what is wrong.
func Check(cfg *config.Config) error {
	_, _, err := load(cfg)
	return err
}

func load(cfg *config.Config) (*network.Network, *auth.Tokens, error) {
	nw, err := network.Load(cfg.SitesFile)
	if err != nil {
		err = fmt.Errorf("config key sites_file: %w", err)
	}
	tokens, terr := auth.Load(cfg.Auth.TokensFile)
	if terr != nil {
		terr = fmt.Errorf("config key auth.tokens_file: %w", terr)
	}
	return nw, tokens, errors.Join(err, terr)
}

// New builds the gateway of cfg: the network and tokens it names, kafka.Writers for
// readings (gateway.kafka_writers of them, see stream.Sharded) and rejections.
func New(cfg *config.Config, d Deps) (*Service, error) {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	nw, tokens, err := load(cfg)
	if err != nil {
		return nil, err
	}
	kc, err := stream.NewCluster(cfg.Kafka)
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, kafka: kc, log: d.Log, tokens: tokens}
	km := stream.NewMetrics(d.Registry, "gateway") // riverwatch_gateway_publish_duration_seconds{topic} …
	writer := func(topic, label string, batchSize int) *stream.Writer {
		w := stream.NewWriter(stream.WriterConfig{
			Cluster: kc, Topic: topic, BatchTimeout: cfg.Kafka.BatchTimeout, BatchSize: batchSize,
			Label: label,
		}, km)
		s.writers = append(s.writers, w)
		return w
	}
	var readings stream.Sharded // several produce requests in flight per partition
	for range cfg.Gateway.KafkaWriters {
		readings = append(readings, writer(cfg.Kafka.Topics.Readings, "readings", cfg.Gateway.PublishBatchSize))
	}
	rejected := writer(cfg.Kafka.Topics.Rejected, "rejected", cfg.Kafka.BatchSize)
	rawFrames := writer(cfg.Kafka.Topics.RawFrames, "raw_frames", cfg.Gateway.PublishBatchSize)
	s.gw, err = NewGateway(Parts{
		Network: nw, Tokens: tokens, Readings: readings, Rejected: rejected, RawFrames: rawFrames, Log: d.Log, Registry: d.Registry,
	}, cfg.Gateway)
	if err != nil {
		s.close()
		return nil, err
	}
	instance, err := Instance(cfg.Gateway)
	if err != nil {
		s.close()
		return nil, err
	}
	s.relay = NewCommandRelay(s.gw, writer(cfg.Kafka.Topics.StationCommands, "station_commands", cfg.Kafka.BatchSize), instance)
	s.cmds = stream.NewConsumer(stream.ConsumerConfig{
		Cluster: kc, Topic: cfg.Kafka.Topics.StationCommands, GroupID: CommandGroup(cfg.Kafka.GroupPrefix, instance),
		MaxRows: 100, MaxDelay: 5 * time.Millisecond, MaxWait: cfg.Kafka.MaxWait, StartLast: true, Logger: d.Log, Metrics: km,
	})
	return s, nil
}

// Tokens returns the tokens the HTTP uploads authenticate with (swapped by a reload on SIGHUP).
func (s *Service) Tokens() *auth.Tokens { return s.tokens }

// Routes registers the HTTP uploads (/api/v1/) on mux.
func (s *Service) Routes(mux *http.ServeMux) { mux.Handle("/api/v1/", s.gw.Handler()) }

// Run creates the topics when they are missing, listens for stations and serves them
// until ctx is done; ready is told once the listener is bound and when shutdown begins
// (connections then drain). It closes the writers when it returns.
func (s *Service) Run(ctx context.Context, ready func(bool)) error {
	defer s.close()
	// A fresh development broker has no topics; a broker that is down is not fatal:
	// stations are simply not answered until it is back.
	topicCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	if err := stream.EnsureTopics(topicCtx, s.kafka,
		stream.TopicSpec{Name: s.cfg.Kafka.Topics.Readings, Partitions: s.cfg.Kafka.Partitions},
		stream.TopicSpec{Name: s.cfg.Kafka.Topics.Rejected, Partitions: s.cfg.Kafka.Partitions},
		stream.TopicSpec{Name: s.cfg.Kafka.Topics.RawFrames, Partitions: s.cfg.Kafka.Partitions},
		stream.TopicSpec{Name: s.cfg.Kafka.Topics.StationCommands, Partitions: s.cfg.Kafka.Partitions}); err != nil {
		s.log.Warn("could not ensure topics; continuing", "err", err)
	}
	cancel()
	if err := s.gw.Listen(); err != nil {
		return err
	}
	if ready != nil {
		ready(true)
		defer ready(false)
		go func() {
			<-ctx.Done()
			ready(false) // stop taking traffic while connections drain
		}()
	}
	// Station commands: the relay's outbox and its consumer run beside the listener.
	cctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { _ = s.relay.Run(cctx) })
	wg.Go(func() {
		if err := s.cmds.Run(cctx, s.relay.Handle); err != nil && cctx.Err() == nil {
			s.log.Error("station commands consumer stopped", "err", err)
		}
	})
	err := s.gw.RunTCP(ctx)
	stop()
	wg.Wait()
	return err
}

// Instance returns the name of this gateway replica: gateway.instance, else the host name.
func Instance(c config.Gateway) (string, error) {
	if c.Instance != "" {
		return c.Instance, nil
	}
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "", fmt.Errorf("config key gateway.instance: empty, and no host name to default to: %w", err)
	}
	return h, nil
}

// CommandGroup is the consumer group of station commands of one gateway replica.
func CommandGroup(prefix, instance string) string {
	return prefix + ".gateway.station-commands." + instance
}

func (s *Service) close() {
	for _, w := range s.writers {
		w.Close()
	}
}
