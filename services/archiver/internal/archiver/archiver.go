package archiver

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverwatch/riverwatch/pkg/chstore"
	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/ops"
	"github.com/riverwatch/riverwatch/pkg/store"
	"github.com/riverwatch/riverwatch/pkg/stream"
	"github.com/segmentio/kafka-go"
)

// Connect opens the ClickHouse connection (on the default database: the archiver creates
// its own) and asks the server's version, retrying for up to wait (0: until ctx is done)
// so that the archiver may start first (chstore.OpenRetrying).
func Connect(ctx context.Context, cfg config.ClickHouse, wait time.Duration, log *slog.Logger) (driver.Conn, chstore.Version, error) {
	cc, err := chstore.ConfigFrom(cfg)
	if err != nil {
		return nil, chstore.Version{}, err
	}
	cc.Database = "" // the archiver creates its database
	return chstore.OpenRetrying(ctx, cc, wait, log)
}

// GroupID returns the consumer group of the archiver for a topic kind.
func GroupID(prefix string, k store.Kind) string { return prefix + "-archiver-" + string(k) }

// Archiver consumes every archived topic in a consumer group of its own and writes each
// batch with a store.Writer. A batch is committed only after Write returned nil; while ClickHouse
// fails, the consumer retries the same batch with backoff and fetches nothing more, so
// memory stays bounded by one batch plus the reader's queue per topic.
type Archiver struct {
	cfg   *config.Config
	kafka stream.Cluster
	w     *store.Writer
	m     *store.Metrics
	km    *stream.Metrics
	log   *slog.Logger
}

// NewArchiver returns an Archiver for the topics of cfg; km are the metrics of its
// consumers (Archive.Kafka: riverwatch_archiver_kafka_*, lag per topic and partition
// among them).
func NewArchiver(cfg *config.Config, kc stream.Cluster, w *store.Writer, m *store.Metrics, km *stream.Metrics, log *slog.Logger) *Archiver {
	return &Archiver{cfg: cfg, kafka: kc, w: w, m: m, km: km, log: log}
}

// Run consumes until ctx is done (nil) or a consumer fails (its error). With
// archiver.rollup_delay set it also runs the rollup loop (rollups.go).
func (a *Archiver) Run(ctx context.Context) error {
	var g ops.Group
	write := func(ctx context.Context, k store.Kind, topic string, batch []kafka.Message) error {
		_, err := a.w.Write(ctx, k, topic, batch)
		return err
	}
	if a.cfg.Archiver.RollupDelay > 0 {
		rt := a.cfg.Archiver.RollupTopic
		if err := stream.EnsureTopics(ctx, a.kafka, stream.TopicSpec{Name: rt, Partitions: 1}); err != nil {
			return fmt.Errorf("rollup topic %s: %w", rt, err)
		}
		marks := stream.NewWriter(stream.WriterConfig{Cluster: a.kafka, Topic: rt, BatchTimeout: a.cfg.Kafka.BatchTimeout, Label: "rollups"}, a.km)
		defer marks.Close()
		marker := rollupMarker{w: marks}
		write = func(ctx context.Context, k store.Kind, topic string, batch []kafka.Message) error {
			res, err := a.w.WriteRaw(ctx, k, topic, batch)
			if err != nil {
				return err
			}
			return marker.mark(ctx, res.Dirty)
		}
		rc := stream.NewConsumer(stream.ConsumerConfig{
			Cluster:  a.kafka,
			Topic:    rt,
			GroupID:  RollupGroupID(a.cfg.Kafka.GroupPrefix),
			MaxRows:  a.cfg.Archiver.MaxRows,
			MaxDelay: a.cfg.Archiver.RollupDelay,
			MaxWait:  a.cfg.Kafka.MaxWait,
			RetryMax: a.cfg.Archiver.RetryMax,
			Logger:   a.log,
			Metrics:  a.km,
		})
		a.log.Info("rebuilding rollups from the dirty buckets", "topic", rt, "delay", a.cfg.Archiver.RollupDelay, "group", RollupGroupID(a.cfg.Kafka.GroupPrefix))
		g.Go(func(ctx context.Context) error { return rc.Run(ctx, a.rebuildMarked) })
	}
	g.Go(a.rawFramesRetention)
	for _, k := range store.Kinds() {
		topic := k.Topic(a.cfg.Kafka.Topics)
		if topic == "" {
			continue
		}
		delay := a.cfg.Archiver.MaxDelay
		if k != store.KindReadings {
			delay = a.cfg.Archiver.RecordsMaxDelay
		}
		c := stream.NewConsumer(stream.ConsumerConfig{
			Cluster:  a.kafka,
			Topic:    topic,
			GroupID:  GroupID(a.cfg.Kafka.GroupPrefix, k),
			MaxRows:  a.cfg.Archiver.MaxRows,
			MaxBytes: a.cfg.Archiver.MaxBytes,
			MaxDelay: delay,
			MaxWait:  a.cfg.Kafka.MaxWait,
			RetryMax: a.cfg.Archiver.RetryMax,
			Logger:   a.log,
			Metrics:  a.km,
		})
		a.log.Info("archiving topic", "topic", topic, "kind", k, "group", GroupID(a.cfg.Kafka.GroupPrefix, k))
		g.Go(func(ctx context.Context) error {
			return c.Run(ctx, func(ctx context.Context, batch []kafka.Message) error {
				return write(ctx, k, topic, batch)
			})
		})
	}
	return g.Run(ctx)
}

// rawFramesRetentionEvery is how often the archiver drops the expired months of
// raw_frames on a server without TTL.
const rawFramesRetentionEvery = time.Hour

// rawFramesRetention keeps raw_frames to archiver.raw_frames_retention_days where the server
// has no TTL: at start and then hourly it drops the months wholly past it. A failure is
// logged and tried again at the next tick: keeping frames longer is the safe side.
func (a *Archiver) rawFramesRetention(ctx context.Context) error {
	t := time.NewTicker(rawFramesRetentionEvery)
	defer t.Stop()
	for {
		if _, err := a.w.DropExpiredRawFrames(ctx, time.Now()); err != nil && ctx.Err() == nil {
			a.log.Warn("raw frames retention", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Archive is a connected and migrated archive: what every archiver command starts from.
type Archive struct {
	Conn     driver.Conn
	Schema   store.Schema
	Metrics  *store.Metrics
	Kafka    *stream.Metrics // of the consumers (NewArchiver)
	Writer   *store.Writer
	Migrated []store.Migration // the migrations this start applied
}

// Open connects to ClickHouse (waiting for it up to cfg.Archiver.ConnectTimeout), detects
// the server's features, applies the pending migrations and returns a store.Writer on the
// result. Its metrics are registered on reg.
func Open(ctx context.Context, cfg *config.Config, reg prometheus.Registerer, log *slog.Logger) (*Archive, error) {
	tz, err := time.LoadLocation(cfg.Archiver.RollupTimezone)
	if err != nil {
		return nil, fmt.Errorf("config key archiver.rollup_timezone: %w", err)
	}
	conn, v, err := Connect(ctx, cfg.ClickHouse, cfg.Archiver.ConnectTimeout, log)
	if err != nil {
		return nil, err
	}
	s := store.NewSchema(cfg, v)
	log.Info("clickhouse connected", "addr", cfg.ClickHouse.Addr, "database", s.Database, "features", s.Features.String(), "cluster", s.Cluster)
	ran, err := store.Migrate(ctx, conn, s, log)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("migrate %s: %w", s.Database, err)
	}
	m := store.NewMetrics(reg)
	return &Archive{
		Conn: conn, Schema: s, Metrics: m, Kafka: stream.NewMetrics(reg, "archiver"),
		Writer: store.NewWriter(conn, s, tz, m, log), Migrated: ran,
	}, nil
}

// Close closes the ClickHouse connection.
func (s *Archive) Close() error { return s.Conn.Close() }
