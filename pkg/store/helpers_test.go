package store

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverwatch/riverwatch/pkg/chstore"
	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/testinfra"
)

// The tests of this package that reach into the Writer and the schema are internal, and an
// internal test cannot import storetest (which imports this package): they keep this
// small env. Every other integration test of the archive uses storetest.Archive.

// quiet is the logger of tests: failures say what matters.
func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// env is one integration test's archive: real ClickHouse, a database of its own, migrated.
type env struct {
	cfg    *config.Config
	conn   driver.Conn
	schema Schema
	w      *Writer
	m      *Metrics
}

// unmigrated connects to the test's ClickHouse and returns the schema of the test's own
// database, nothing created yet: the migration tests build an older archive in it.
func unmigrated(t testing.TB) (*config.Config, driver.Conn, Schema) {
	t.Helper()
	cfg := testinfra.Config(t)
	conn := testinfra.ClickHouse(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	v, err := chstore.ServerVersion(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, conn, NewSchema(cfg, v)
}

func newEnv(t testing.TB) *env {
	t.Helper()
	cfg, conn, s := unmigrated(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := Migrate(ctx, conn, s, quiet()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	tz, err := time.LoadLocation(cfg.Archiver.RollupTimezone)
	if err != nil {
		t.Fatal(err)
	}
	m := NewMetrics(prometheus.NewRegistry())
	return &env{cfg: cfg, conn: conn, schema: s, m: m, w: NewWriter(conn, s, tz, m, quiet())}
}

// count runs a query returning one UInt64.
func (e *env) count(t testing.TB, query string, args ...any) uint64 {
	t.Helper()
	var n uint64
	q := fmt.Sprintf(query, args...)
	if err := e.conn.QueryRow(context.Background(), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func (e *env) table(name string) string { return e.schema.Table(name) }
