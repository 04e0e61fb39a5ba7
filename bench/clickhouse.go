package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/riverwatch/riverwatch/pkg/chstore"
	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/store"
)

// Figure keys of the raw ClickHouse step.
const (
	KeyCHInsert      = "clickhouse.insert.rate"
	KeyCHInsertBatch = "clickhouse.insert_batches.rate"
)

// rawTable is the table the raw insert fills: a copy of readings' schema.
const rawTable = "raw_readings"

// openCH connects to the server's default database.
func (e *Env) openCH(ctx context.Context) (driver.Conn, error) {
	return chstore.Open(ctx, chstore.Config{Addr: e.CHAddr, Database: "default", Username: "default", DialTimeout: config.Default().ClickHouse.DialTimeout})
}

// PrepareDatabase drops the run's database and creates it afresh with the archive's own
// migrations, so that the raw insert, the archiver and the api all see the real schema.
func (e *Env) PrepareDatabase(ctx context.Context) (chstore.Version, error) {
	conn, err := e.openCH(ctx)
	if err != nil {
		return chstore.Version{}, err
	}
	defer conn.Close()
	v, err := chstore.ServerVersion(ctx, conn)
	if err != nil {
		return v, err
	}
	if err := conn.Exec(ctx, e.dropDatabase(e.Database)); err != nil {
		return v, fmt.Errorf("drop %s: %w", e.Database, err)
	}
	cfg := config.Default()
	cfg.ClickHouse.Database, cfg.ClickHouse.Cluster = e.Database, e.CHCluster
	if _, err := store.Migrate(ctx, conn, store.NewSchema(&cfg, v), e.Log); err != nil {
		return v, err
	}
	return v, nil
}

// RawClickHouse inserts the same rows the archiver writes, with clickhouse-client, into a
// table with the schema of readings: in one INSERT (the server's best case) and in
// inserts of archiver.max_rows rows (the archiver's batch size).
func RawClickHouse(ctx context.Context, e *Env, s *Step) error {
	conn, err := e.openCH(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	table := e.Database + "." + rawTable
	if err := conn.Exec(ctx, "DROP TABLE IF EXISTS "+table); err != nil {
		return err
	}
	create := fmt.Sprintf("CREATE TABLE %s AS %s.%s", table, e.Database, store.TableReadings)
	if e.CHCluster != "" {
		// On a cluster readings is a Distributed table (a copy would insert into the run's
		// readings) over a replicated one (a copy would claim its ZooKeeper path): the raw
		// baseline is the same columns in a plain ReplacingMergeTree on the first replica.
		create = fmt.Sprintf("CREATE TABLE %s AS %s.%s_local ENGINE = ReplacingMergeTree(version) PARTITION BY toYYYYMM(observed_at) ORDER BY (site, parameter, observed_at, id)",
			table, e.Database, store.TableReadings)
	}
	if err := conn.Exec(ctx, create); err != nil {
		return fmt.Errorf("create %s: %w", table, err)
	}
	n := e.Settings.CHRows
	path := filepath.Join(e.WorkDir(), "rows.tsv")
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer os.Remove(path)
	if err := writeRowsTSV(f, n, e.Settings.Stations); err != nil {
		f.Close()
		return fmt.Errorf("write rows: %w", err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	st, _ := os.Stat(path)
	s.Note("raw ClickHouse rows: %d readings rows (%d B each as TSV) into a copy of readings (ReplacingMergeTree, ORDER BY site, parameter, observed_at, id)",
		n, st.Size()/int64(n))

	insert := func(blockRows int) (float64, error) {
		if err := conn.Exec(ctx, "TRUNCATE TABLE "+table); err != nil {
			return 0, err
		}
		in, err := os.Open(path)
		if err != nil {
			return 0, err
		}
		defer in.Close()
		args := []string{"--query", fmt.Sprintf("INSERT INTO %s (%s) FORMAT TabSeparated", table, readingColumns)}
		if blockRows > 0 {
			args = append(args, "--max_insert_block_size", strconv.Itoa(blockRows))
		}
		start := time.Now()
		if _, err := e.CHClient(ctx, in, args...); err != nil {
			return 0, err
		}
		el := time.Since(start)
		var got uint64
		if err := conn.QueryRow(ctx, "SELECT count() FROM "+table).Scan(&got); err != nil {
			return 0, err
		}
		if got != uint64(n) {
			return 0, fmt.Errorf("raw insert: %d rows in %s, want %d", got, table, n)
		}
		return float64(n) / el.Seconds(), nil
	}
	e.Log.Info("raw clickhouse: one insert", "rows", n)
	one, err := insert(0)
	if err != nil {
		return err
	}
	s.Add(KeyCHInsert, "insert (one INSERT)", one, "rows/s")
	batch := config.Default().Archiver.MaxRows
	e.Log.Info("raw clickhouse: insert in blocks", "rows", n, "block_rows", batch)
	blocks, err := insert(batch)
	if err != nil {
		return err
	}
	s.Add(KeyCHInsertBatch, fmt.Sprintf("insert (blocks of %d rows)", batch), blocks, "rows/s")
	return conn.Exec(ctx, "TRUNCATE TABLE "+table)
}
