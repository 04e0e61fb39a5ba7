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
	// AddColumns, when set, are columns added (where missing) after Up's statements.
	AddColumns func(Schema) []ColumnAdd
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
	return []Migration{
		{Version: 1, Name: "raw tables: readings, rejected, events", Up: create(readingsTable, rejectedTable, eventsTable)},
		{Version: 2, Name: "incident tables: incidents, incident_log, notifications", Up: create(incidentsTable, incidentLogTable, notificationsTable)},
		{Version: 3, Name: "rollups: readings_hourly, readings_daily", Up: create(hourlyTable, dailyTable)},
		{Version: 4, Name: "rollups: readings_5min, filled from readings", Up: fiveMinUp},
		{Version: 5, Name: "corrections: the record of explicit reading corrections", Up: create(correctionsTable)},
		{Version: 6, Name: "rollup_progress: how far the deferred rollup rebuilds have come", Up: create(rollupProgressTable)},
		{Version: 7, Name: "silences: the latest snapshot of every silence", Up: create(silencesTable)},
		{Version: 8, Name: "station_commands: host commands to stations and what became of them", Up: create(stationCommandsTable)},
		{Version: 9, Name: "non-detects and automatic data: readings.below_dl, rollups below_dl and auto_*",
			Up: func(Schema) []string { return nil },
			AddColumns: func(Schema) []ColumnAdd {
				out := []ColumnAdd{{Table: readingsTable, Column: "below_dl"}}
				// Rows stored before the migration read as detected and, without a way to
				// tell their manual samples apart, as automatic: the statistics of every
				// valid reading, so that no month loses its automatic data and the report
				// sets aside no manual sample it did not set aside before (docs/reports.md).
				defaults := map[string]string{"auto_valid": "valid", "auto_sum": "value_sum", "auto_min": "value_min", "auto_max": "value_max"}
				for _, t := range []tableSpec{fiveMinTable, hourlyTable, dailyTable} {
					for _, c := range rollupColumnsV9 {
						out = append(out, ColumnAdd{Table: t, Column: c.name, Default: defaults[c.name]})
					}
				}
				return out
			}},
		{Version: 10, Name: "station_commands: pol_id, info_id (query_info) and report (what the station reported)",
			Up: func(Schema) []string { return nil },
			AddColumns: func(Schema) []ColumnAdd {
				return []ColumnAdd{{Table: stationCommandsTable, Column: "pol_id"}, {Table: stationCommandsTable, Column: "info_id"}, {Table: stationCommandsTable, Column: "report"}}
			}},
		{Version: 11, Name: "events: the verification of a prediction (outcome, threshold, rise/peak/fall, and its errors)",
			Up: func(Schema) []string { return nil },
			AddColumns: func(Schema) []ColumnAdd {
				// Verdicts stored before read without a verification (outcome ''): the
				// skill report times them as it did, from arrival_at.
				var out []ColumnAdd
				for _, c := range eventColumnsV11 {
					out = append(out, ColumnAdd{Table: eventsTable, Column: c})
				}
				return out
			}},
		{Version: 12, Name: "raw_frames: the accepted HJ 212 frames, PW masked, for evidence bundles", Up: create(rawFramesTable)},
	}
}

// ColumnAdd is a column a migration adds to a table that exists. ClickHouse 18.16 has no
// ADD COLUMN IF NOT EXISTS, and a table created after the column joined its tableSpec has
// it already, so Migrate adds it only where system.columns does not list it: run again,
// or on a fresh database, the step does nothing.
type ColumnAdd struct {
	Table  tableSpec
	Column string // a column of Table's spec
	// Default, when set, is the expression the rows stored before read the column as
	// (ClickHouse computes it from their other columns); otherwise the type's default.
	Default string
}

// addColumn adds one column where it is missing: the table (the _local one and then the
// Distributed one in cluster mode), with its spec's type and the type's default.
func addColumn(ctx context.Context, conn Conn, s Schema, a ColumnAdd) error {
	var colType string
	for _, c := range a.Table.columns {
		if c.name == a.Column {
			colType = c.typ(s.Features)
		}
	}
	if colType == "" {
		return fmt.Errorf("add column %s.%s: not in the table's spec", a.Table.name, a.Column)
	}
	names := []string{s.local(a.Table)}
	if s.Cluster != "" && !a.Table.clusterWide {
		names = append(names, a.Table.name)
	}
	for _, name := range names {
		var n uint64
		q := fmt.Sprintf("SELECT count() FROM system.columns WHERE database = %s AND table = %s AND name = %s",
			quoteString(s.Database), quoteString(name), quoteString(a.Column))
		if err := conn.QueryRow(ctx, q).Scan(&n); err != nil {
			return fmt.Errorf("add column %s.%s: %w", name, a.Column, err)
		}
		if n > 0 {
			continue
		}
		if err := conn.Exec(ctx, addColumnSQL(s, name, a.Column, colType, a.Default)); err != nil {
			return fmt.Errorf("add column %s.%s: %w", name, a.Column, err)
		}
	}
	return nil
}

// addColumnSQL is the ALTER that appends a column; def (or the type's default) fills the
// rows stored before it.
func addColumnSQL(s Schema, table, column, colType, def string) string {
	q := fmt.Sprintf("ALTER TABLE %s%s ADD COLUMN %s %s", s.Table(table), s.onCluster(), quoteIdent(column), colType)
	if def != "" {
		q += " DEFAULT " + def
	}
	return q
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
		if m.AddColumns != nil {
			for _, a := range m.AddColumns(s) {
				if err := addColumn(ctx, conn, s, a); err != nil {
					return ran, fmt.Errorf("migration %d (%s): %w", m.Version, m.Name, err)
				}
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

// applyRetention sets the TTL of readings (RetentionDays) and of raw_frames
// (RawFramesRetentionDays) when the server has TTL and a table's differs. It is not a
// migration because it follows configuration, not code. Without TTL, raw_frames is kept
// to its retention by DropExpiredRawFrames (the archiver runs it hourly).
func applyRetention(ctx context.Context, conn Conn, s Schema, log *slog.Logger) error {
	if !s.Features.TTL {
		if s.RetentionDays > 0 {
			log.Warn("retention not enforced: this ClickHouse has no TTL (19.6+); delete old partitions by hand",
				"server", s.Features.Server.String(), "retention_days", s.RetentionDays)
		}
		return nil
	}
	for _, r := range []struct {
		t    tableSpec
		days int
		key  string
	}{{readingsTable, s.RetentionDays, "retention_days"}, {rawFramesTable, s.RawFramesRetentionDays, "raw_frames_retention_days"}} {
		table := s.Table(s.local(r.t))
		var create string
		if err := conn.QueryRow(ctx, "SHOW CREATE TABLE "+table).Scan(&create); err != nil {
			return fmt.Errorf("retention: show create table %s: %w", table, err)
		}
		stmt := retentionStatement(create, table+s.onCluster(), r.t.ttlColumn, r.days)
		switch {
		case stmt == "" && r.days == 0 && currentTTLDays(create) > 0:
			// REMOVE TTL only exists on recent servers; leaving data longer than asked is the
			// safe side, so say so instead of guessing the syntax.
			log.Warn(r.key+" is 0 but the table has a TTL; remove it with ALTER TABLE … REMOVE TTL",
				"table", table, "ttl_days", currentTTLDays(create))
		case stmt != "":
			if err := conn.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("retention: %w", err)
			}
			log.Info("retention set", "table", table, "days", r.days)
		}
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
