package store

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Conn is the part of a clickhouse-go native connection (driver.Conn) the archive uses.
type Conn interface {
	Exec(ctx context.Context, query string, args ...any) error
	Query(ctx context.Context, query string, args ...any) (driver.Rows, error)
	QueryRow(ctx context.Context, query string, args ...any) driver.Row
	PrepareBatch(ctx context.Context, query string, opts ...driver.PrepareBatchOption) (driver.Batch, error)
}

// Migration is one numbered step of the schema. Up returns its DDL for a schema (server
// features, cluster mode). Every statement is idempotent (IF NOT EXISTS), so a migration
// interrupted half way is simply run again. Versions are never reused or edited once
// released: a change to the schema is a new migration.
type Migration struct {
	Version int
	Name    string
	Up      func(Schema) []string
	// apply, when set, runs after Up's statements: a step that reads the server first
	// (addColumns).
	apply func(context.Context, Conn, Schema) error
}

// Migrations returns the archive's migrations in order.
func Migrations() []Migration {
	create := func(specs ...tableSpec) func(Schema) []string {
		return func(s Schema) []string {
			var out []string
			for _, t := range specs {
				out = append(out, s.createTable(t)...)
			}
			return out
		}
	}
	none := func(Schema) []string { return nil }
	return []Migration{
		{Version: 1, Name: "raw tables: readings, rejected, events", Up: create(readingsTable, rejectedTable, eventsTable)},
		{Version: 2, Name: "incident tables: incidents, incident_log, notifications", Up: create(incidentsTable, incidentLogTable, notificationsTable)},
		{Version: 3, Name: "rollups: readings_hourly, readings_daily", Up: create(hourlyTable, dailyTable)},
		{Version: 4, Name: "rollups: readings_5min, filled from readings", Up: fiveMinUp},
		{Version: 5, Name: "corrections: the record of explicit reading corrections", Up: create(correctionsTable)},
		{Version: 6, Name: "rollup_progress: how far the deferred rollup rebuilds have come", Up: create(rollupProgressTable)},
		{Version: 7, Name: "silences: the latest snapshot of every silence", Up: create(silencesTable)},
		{Version: 8, Name: "station_commands: host commands to stations and what became of them", Up: create(stationCommandsTable)},
		{Version: 9, Name: "station_commands: pol_id, info_id (query_info) and report (what the station reported)",
			Up: none, apply: addColumns(stationCommandsTable, "pol_id", "info_id", "report")},
	}
}

// addColumns adds columns of t's spec to a table created before they were in it, on the
// local and, in cluster mode, the distributed table: only those missing, read from
// system.columns (ClickHouse 18.16 has no ADD COLUMN IF NOT EXISTS), so a table created
// with them already, or a migration run again after a failure, is left as it is.
func addColumns(t tableSpec, names ...string) func(context.Context, Conn, Schema) error {
	return func(ctx context.Context, conn Conn, s Schema) error {
		tables := []string{s.local(t)}
		if s.Cluster != "" && !t.clusterWide {
			tables = append(tables, t.name)
		}
		for _, table := range tables {
			have, err := tableColumns(ctx, conn, s.Database, table)
			if err != nil {
				return err
			}
			for _, name := range names {
				for _, c := range t.columns {
					if c.name != name || have[name] {
						continue
					}
					q := "ALTER TABLE " + s.Table(table) + s.onCluster() + " ADD COLUMN " + quoteIdent(c.name) + " " + c.typ(s.Features)
					if err := conn.Exec(ctx, q); err != nil {
						return fmt.Errorf("add column %s.%s: %w", table, name, err)
					}
				}
			}
		}
		return nil
	}
}

// tableColumns returns the names of a table's columns.
func tableColumns(ctx context.Context, conn Conn, database, table string) (map[string]bool, error) {
	rows, err := conn.Query(ctx, "SELECT name FROM system.columns WHERE database = "+quoteString(database)+" AND table = "+quoteString(table))
	if err != nil {
		return nil, fmt.Errorf("columns of %s: %w", table, err)
	}
	defer rows.Close()
	have := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("columns of %s: %w", table, err)
		}
		have[name] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("columns of %s: %w", table, err)
	}
	return have, nil
}

// fiveMinUp creates readings_5min and fills it from the readings already stored, so that
// hours rebuilt from it after the upgrade still count the readings archived before it.
// The fill is a rebuild like any other (rollup.go): run again, it writes the same numbers
// with a higher version. Its version is taken now, so a rebuild by an archiver already
// running the new code (which read readings FINAL earlier) does not win over it.
func fiveMinUp(s Schema) []string {
	version := fmt.Sprintf("toUInt64(%d)", time.Now().UnixNano())
	return append(s.createTable(fiveMinTable),
		s.insertQuery(TableReadings5Min, fiveMinTable.columnNames())+"\n"+
			bucketSelectSQL(s, nil, 0, 4294967295, version))
}

// Migrate creates the database and the migration record if needed, runs the migrations not
// recorded yet, and records each one after all its statements succeeded. Running it again
// is a no-op. It returns the migrations it ran. It then brings the readings' retention (TTL)
// in line with the schema's RetentionDays where the server supports TTL.
func Migrate(ctx context.Context, conn Conn, s Schema, log *slog.Logger) ([]Migration, error) {
	if err := conn.Exec(ctx, s.createDatabase()); err != nil {
		return nil, fmt.Errorf("create database %s: %w", s.Database, err)
	}
	for _, q := range s.createTable(migrationsTable) {
		if err := conn.Exec(ctx, q); err != nil {
			return nil, fmt.Errorf("create %s: %w", TableMigrations, err)
		}
	}
	done, err := AppliedMigrations(ctx, conn, s)
	if err != nil {
		return nil, err
	}
	var ran []Migration
	for _, m := range Migrations() {
		if done[m.Version] {
			continue
		}
		for i, q := range m.Up(s) {
			if err := conn.Exec(ctx, q); err != nil {
				return ran, fmt.Errorf("migration %d (%s), statement %d: %w", m.Version, m.Name, i+1, err)
			}
		}
		if m.apply != nil {
			if err := m.apply(ctx, conn, s); err != nil {
				return ran, fmt.Errorf("migration %d (%s): %w", m.Version, m.Name, err)
			}
		}
		if err := recordMigration(ctx, conn, s, m); err != nil {
			return ran, err
		}
		log.Info("migration applied", "version", m.Version, "name", m.Name, "features", s.Features.String(), "cluster", s.Cluster)
		ran = append(ran, m)
	}
	if err := applyRetention(ctx, conn, s, log); err != nil {
		return ran, err
	}
	return ran, nil
}

// AppliedMigrations returns the versions recorded in schema_migrations.
func AppliedMigrations(ctx context.Context, conn Conn, s Schema) (map[int]bool, error) {
	rows, err := conn.Query(ctx, "SELECT version FROM "+s.Table(TableMigrations)+" FINAL")
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", TableMigrations, err)
	}
	defer rows.Close()
	done := map[int]bool{}
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("read %s: %w", TableMigrations, err)
		}
		done[int(v)] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", TableMigrations, err)
	}
	return done, nil
}

func recordMigration(ctx context.Context, conn Conn, s Schema, m Migration) error {
	b, err := conn.PrepareBatch(ctx, s.insertQuery(TableMigrations, migrationsTable.columnNames()))
	if err != nil {
		return fmt.Errorf("record migration %d: %w", m.Version, err)
	}
	defer b.Close()
	if err := b.Append(uint32(m.Version), m.Name, time.Now().UTC(), s.Features.String()); err != nil {
		return fmt.Errorf("record migration %d: %w", m.Version, err)
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("record migration %d: %w", m.Version, err)
	}
	return nil
}

// applyRetention sets the readings' TTL to RetentionDays when the server has TTL and the
// table's differs. It is not a migration because it follows configuration, not code.
func applyRetention(ctx context.Context, conn Conn, s Schema, log *slog.Logger) error {
	if !s.Features.TTL {
		if s.RetentionDays > 0 {
			log.Warn("retention not enforced: this ClickHouse has no TTL (19.6+); delete old partitions by hand",
				"server", s.Features.Server.String(), "retention_days", s.RetentionDays)
		}
		return nil
	}
	table := s.Table(s.local(readingsTable))
	var create string
	if err := conn.QueryRow(ctx, "SHOW CREATE TABLE "+table).Scan(&create); err != nil {
		return fmt.Errorf("retention: show create table %s: %w", table, err)
	}
	stmt := retentionStatement(create, table+s.onCluster(), readingsTable.ttlColumn, s.RetentionDays)
	switch {
	case stmt == "" && s.RetentionDays == 0 && currentTTLDays(create) > 0:
		// REMOVE TTL only exists on recent servers; leaving data longer than asked is the
		// safe side, so say so instead of guessing the syntax.
		log.Warn("retention_days is 0 but readings has a TTL; remove it with ALTER TABLE … REMOVE TTL",
			"table", table, "ttl_days", currentTTLDays(create))
	case stmt != "":
		if err := conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("retention: %w", err)
		}
		log.Info("retention set", "table", table, "days", s.RetentionDays)
	}
	return nil
}

var ttlPattern = regexp.MustCompile(`TTL\s+\w+\s*\+\s*(?:toIntervalDay\((\d+)\)|INTERVAL\s+(\d+)\s+DAY)`)

// currentTTLDays returns the retention in days of a CREATE TABLE statement, 0 for none.
func currentTTLDays(create string) int {
	m := ttlPattern.FindStringSubmatch(create)
	if m == nil {
		return 0
	}
	for _, g := range m[1:] {
		if n, err := strconv.Atoi(g); err == nil {
			return n
		}
	}
	return 0
}

// retentionStatement returns the ALTER that sets the TTL to days, or "" when nothing is to
// change (same TTL already, or no retention wanted).
func retentionStatement(create, table, col string, days int) string {
	if days <= 0 || currentTTLDays(create) == days {
		return ""
	}
	return fmt.Sprintf("ALTER TABLE %s MODIFY TTL %s", table, ttlExpr(col, days))
}
