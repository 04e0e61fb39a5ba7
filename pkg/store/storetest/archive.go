package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverwatch/riverwatch/pkg/chstore"
	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/store"
	"github.com/riverwatch/riverwatch/pkg/testinfra"
	"github.com/segmentio/kafka-go"
)

// Quiet returns the logger of tests: failures say what matters.
func Quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// Archive is one integration test's archive on the real ClickHouse: a database of its
// own (dropped when the test ends), migrated, with the archiver's Writer and the Reader
// on it. Its topics and consumer groups (Config) are the test's own too.
type Archive struct {
	Config   *config.Config
	Conn     driver.Conn
	Schema   store.Schema
	Location *time.Location       // archiver.rollup_timezone: the daily rollup's days
	Registry *prometheus.Registry // Metrics are registered here; a test may add its own
	Metrics  *store.Metrics
	Writer   *store.Writer
	Reader   *store.Reader

	mu     sync.Mutex
	offset int64 // the last offset Write gave a message
}

// NewArchive returns the test's archive; it skips the test unless RIVERWATCH_INTEGRATION=1.
func NewArchive(t testing.TB) *Archive {
	t.Helper()
	cfg := testinfra.Config(t)
	conn := testinfra.ClickHouse(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	v, err := chstore.ServerVersion(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	s := store.NewSchema(cfg, v)
	if _, err := store.Migrate(ctx, conn, s, Quiet()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	loc, err := time.LoadLocation(cfg.Archiver.RollupTimezone)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m := store.NewMetrics(reg)
	return &Archive{
		Config: cfg, Conn: conn, Schema: s, Location: loc, Registry: reg, Metrics: m,
		Writer: store.NewWriter(conn, s, loc, m, Quiet()),
		Reader: store.NewReader(conn, s.Database),
	}
}

// Table returns the quoted, database-qualified name of a table.
func (a *Archive) Table(name string) string { return a.Schema.Table(name) }

// Count runs a query (built with fmt.Sprintf from query and args) returning one UInt64.
func (a *Archive) Count(t testing.TB, query string, args ...any) uint64 {
	t.Helper()
	var n uint64
	q := fmt.Sprintf(query, args...)
	if err := a.Conn.QueryRow(context.Background(), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// Write archives records as the archiver does with one batch from Kafka: one Writer.Write
// (rows, then the rollups the batch touched), the messages on partition 0 of topic
// "t.<kind>" with offsets after the last ones Write gave.
func Write[T any](t testing.TB, a *Archive, kind store.Kind, key func(T) string, records ...T) {
	t.Helper()
	if err := WriteErr(a, kind, key, records...); err != nil {
		t.Fatal(err)
	}
}

// WriteErr is Write returning the error, for goroutines that must not call t.Fatal.
func WriteErr[T any](a *Archive, kind store.Kind, key func(T) string, records ...T) error {
	a.mu.Lock()
	first := a.offset + 1
	a.offset += int64(len(records))
	a.mu.Unlock()
	msgs, err := encode(records, key, 0, first)
	if err != nil {
		return err
	}
	topic := "t." + string(kind)
	for i := range msgs {
		msgs[i].Topic = topic
	}
	if _, err := a.Writer.Write(context.Background(), kind, topic, msgs); err != nil {
		return fmt.Errorf("archive %s: %w", kind, err)
	}
	return nil
}

// Readings implements Seeder: one batch of readings through the Writer.
func (a *Archive) Readings(t testing.TB, rs ...message.Reading) {
	t.Helper()
	Write(t, a, store.KindReadings, ReadingKey, rs...)
}

// Events implements Seeder: one batch of events through the Writer.
func (a *Archive) Events(t testing.TB, es ...message.Event) {
	t.Helper()
	Write(t, a, store.KindEvents, func(e message.Event) string { return e.Site }, es...)
}

// IncidentUpdates implements Seeder: one batch of incident updates through the Writer.
func (a *Archive) IncidentUpdates(t testing.TB, us ...message.IncidentUpdate) {
	t.Helper()
	Write(t, a, store.KindIncidents, UpdateIncidentID, us...)
}

// Corrections implements Seeder: one batch of corrections through the Writer.
func (a *Archive) Corrections(t testing.TB, cs ...message.Correction) {
	t.Helper()
	Write(t, a, store.KindCorrections, func(c message.Correction) string { return c.Reading.Site }, cs...)
}

// StationCommands implements Seeder: one batch of station-command records through the
// Writer.
func (a *Archive) StationCommands(t testing.TB, cs ...message.StationCommand) {
	t.Helper()
	Write(t, a, store.KindStationCommands, func(c message.StationCommand) string { return c.Site }, cs...)
}

// RawFrames implements Seeder: one batch of accepted HJ 212 frames through the Writer.
func (a *Archive) RawFrames(t testing.TB, fs ...message.RawFrame) {
	t.Helper()
	Write(t, a, store.KindRawFrames, func(f message.RawFrame) string { return f.Site }, fs...)
}

var _ Seeder = (*Archive)(nil)

// UpdateIncidentID returns the incident an update concerns: the responder's message key.
func UpdateIncidentID(u message.IncidentUpdate) string {
	switch {
	case u.Incident != nil:
		return u.Incident.ID
	case u.Log != nil:
		return u.Log.IncidentID
	case u.Notification != nil:
		return u.Notification.IncidentID
	}
	return ""
}

func encode[T any](recs []T, key func(T) string, partition int, firstOffset int64) ([]kafka.Message, error) {
	out := make([]kafka.Message, len(recs))
	for i, r := range recs {
		b, err := json.Marshal(r)
		if err != nil {
			return nil, err
		}
		out[i] = kafka.Message{Key: []byte(key(r)), Value: b, Partition: partition, Offset: firstOffset + int64(i), Time: time.Now()}
	}
	return out, nil
}
