package store

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/chstore"
)

func TestFeaturesFollowServerVersion(t *testing.T) {
	tests := []struct {
		version                            string
		lowCard, ttl, asyncInsert, dedupTk bool
	}{
		{"18.16.1", false, false, false, false},
		{"19.3.4", true, false, false, false},
		{"19.6.2.11", true, true, false, false},
		{"21.11.1", true, true, true, false},
		{"22.2.1", true, true, true, true},
		{"24.8.4.13", true, true, true, true},
	}
	for _, tt := range tests {
		v, err := chstore.ParseVersion(tt.version)
		if err != nil {
			t.Fatal(err)
		}
		f := FeaturesFor(v)
		got := []bool{f.LowCardinality, f.TTL, f.AsyncInsert, f.DedupToken}
		want := []bool{tt.lowCard, tt.ttl, tt.asyncInsert, tt.dedupTk}
		if !slices.Equal(got, want) {
			t.Errorf("%s: lowcard,ttl,async,token = %v, want %v", tt.version, got, want)
		}
	}
}

func schemaFor(t *testing.T, version, cluster string, retention int) Schema {
	t.Helper()
	v, err := chstore.ParseVersion(version)
	if err != nil {
		t.Fatal(err)
	}
	return Schema{Database: "riverwatch", Features: FeaturesFor(v), Cluster: cluster, RetentionDays: retention}
}

func TestCreateTableOn1816UsesOnlyWhatItHas(t *testing.T) {
	s := schemaFor(t, "18.16.1", "", 365)
	ddl := strings.Join(s.createTable(readingsTable), "\n")
	for _, banned := range []string{"LowCardinality", "TTL", "deduplication_window", "DateTime64", "ON CLUSTER"} {
		if strings.Contains(ddl, banned) {
			t.Errorf("18.16 DDL contains %s:\n%s", banned, ddl)
		}
	}
	for _, want := range []string{
		"CREATE TABLE IF NOT EXISTS `riverwatch`.`readings`",
		"ENGINE = ReplacingMergeTree(version)",
		"PARTITION BY toYYYYMM(observed_at)",
		"ORDER BY (site, parameter, observed_at, id)",
		"`site` String,",
		"`observed_at` DateTime('UTC'),",
	} {
		if !strings.Contains(ddl, want) {
			t.Errorf("18.16 DDL lacks %q:\n%s", want, ddl)
		}
	}
}

func TestCreateTableOnCurrentServerUsesGatedFeatures(t *testing.T) {
	s := schemaFor(t, "24.8.4.13", "", 365)
	ddl := strings.Join(s.createTable(readingsTable), "\n")
	for _, want := range []string{
		"`site` LowCardinality(String),",
		"TTL observed_at + toIntervalDay(365)",
		"non_replicated_deduplication_window = 1000",
	} {
		if !strings.Contains(ddl, want) {
			t.Errorf("24.8 DDL lacks %q:\n%s", want, ddl)
		}
	}
	// Rollups are rebuilt, never deduplicated by block: two identical rebuilds are fine, but a
	// dropped one would not be.
	if hourly := strings.Join(s.createTable(hourlyTable), "\n"); strings.Contains(hourly, "deduplication_window") || strings.Contains(hourly, "TTL") {
		t.Errorf("rollup DDL has a deduplication window or TTL:\n%s", hourly)
	}
	if noRetention := strings.Join(schemaFor(t, "24.8", "", 0).createTable(readingsTable), "\n"); strings.Contains(noRetention, "TTL") {
		t.Errorf("retention 0 still sets a TTL:\n%s", noRetention)
	}
}

func TestClusterModeDDLIsReplicatedAndDistributed(t *testing.T) {
	s := schemaFor(t, "24.8", "rw", 0)
	if got := s.createDatabase(); got != "CREATE DATABASE IF NOT EXISTS `riverwatch` ON CLUSTER `rw`" {
		t.Errorf("create database = %q", got)
	}
	stmts := s.createTable(readingsTable)
	if len(stmts) != 2 {
		t.Fatalf("cluster mode: %d statements, want local + distributed:\n%s", len(stmts), strings.Join(stmts, "\n"))
	}
	local, dist := stmts[0], stmts[1]
	for _, want := range []string{
		"CREATE TABLE IF NOT EXISTS `riverwatch`.`readings_local` ON CLUSTER `rw`",
		"ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/riverwatch/readings', '{replica}', version)",
		"replicated_deduplication_window = 1000",
	} {
		if !strings.Contains(local, want) {
			t.Errorf("local table lacks %q:\n%s", want, local)
		}
	}
	wantDist := "CREATE TABLE IF NOT EXISTS `riverwatch`.`readings` ON CLUSTER `rw` AS `riverwatch`.`readings_local`\n" +
		"ENGINE = Distributed('rw', 'riverwatch', 'readings_local', sipHash64(site))"
	if dist != wantDist {
		t.Errorf("distributed table:\n%s\nwant:\n%s", dist, wantDist)
	}
	// A table without a version column keeps the replicated engine's two arguments.
	if rej := s.createTable(rejectedTable)[0]; !strings.Contains(rej, "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/riverwatch/rejected', '{replica}')\n") {
		t.Errorf("rejected engine:\n%s", rej)
	}
	// The migration record is one table replicated across the whole cluster.
	mig := s.createTable(migrationsTable)
	if len(mig) != 1 || !strings.Contains(mig[0], "`riverwatch`.`schema_migrations` ON CLUSTER `rw`") ||
		!strings.Contains(mig[0], "'/clickhouse/tables/all/riverwatch/schema_migrations'") {
		t.Errorf("schema_migrations in cluster mode:\n%s", strings.Join(mig, "\n"))
	}
}

func TestClusterShardKeyIsPartOfOrderKey(t *testing.T) {
	// A repeat must land on the shard that holds the original, or FINAL cannot remove it.
	for _, tb := range tables {
		inner := strings.TrimSuffix(strings.TrimPrefix(tb.shardBy, "sipHash64("), ")")
		if inner == "" || !strings.Contains(tb.orderBy, inner) {
			t.Errorf("%s: shard key %q is not in ORDER BY %s", tb.name, tb.shardBy, tb.orderBy)
		}
		if tb.partitionBy != "" {
			col := tb.partitionBy[strings.Index(tb.partitionBy, "(")+1 : len(tb.partitionBy)-1]
			if !strings.Contains(tb.orderBy, col) {
				t.Errorf("%s: partition column %s not in ORDER BY %s: repeats could land in other partitions", tb.name, col, tb.orderBy)
			}
		}
	}
}

func TestMigrationsAreNumberedInOrder(t *testing.T) {
	ms := Migrations()
	s := schemaFor(t, "18.16", "", 0)
	created := map[string]bool{}
	for i, m := range ms {
		// Strictly increasing: numbers are assigned per branch (12 may be merged before 11).
		if i > 0 && m.Version <= ms[i-1].Version || i == 0 && m.Version != 1 {
			t.Errorf("migration %d has version %d", i, m.Version)
		}
		for _, q := range m.Up(s) {
			// A rollup fill (INSERT … SELECT … FINAL into a versioned rollup) rewrites the
			// same rows with a newer version when run again, so it is idempotent too.
			fill := strings.HasPrefix(q, "INSERT INTO "+s.Table(TableReadings5Min)+" (") && strings.Contains(q, " FINAL")
			if !strings.HasPrefix(q, "CREATE TABLE IF NOT EXISTS ") && !fill {
				t.Errorf("migration %d statement is not idempotent: %.60s", m.Version, q)
			}
			for _, tb := range tables {
				if strings.HasPrefix(q, "CREATE TABLE IF NOT EXISTS "+s.Table(tb.name)+"\n") {
					created[tb.name] = true
				}
			}
		}
	}
	for _, tb := range tables {
		if !created[tb.name] {
			t.Errorf("no migration creates %s", tb.name)
		}
	}
}

func TestRetentionStatement(t *testing.T) {
	const tbl = "`riverwatch`.`readings`"
	tests := []struct {
		name, create string
		days         int
		want         string
	}{
		{"none wanted", "CREATE TABLE x ENGINE = ReplacingMergeTree(version) ORDER BY id", 0, ""},
		{"new TTL", "CREATE TABLE x ENGINE = ReplacingMergeTree(version) ORDER BY id", 30, "ALTER TABLE " + tbl + " MODIFY TTL observed_at + toIntervalDay(30)"},
		{"same TTL", "CREATE TABLE x ORDER BY id TTL observed_at + toIntervalDay(30) SETTINGS", 30, ""},
		{"same TTL, other spelling", "ORDER BY id TTL observed_at + INTERVAL 30 DAY SETTINGS", 30, ""},
		{"changed TTL", "ORDER BY id TTL observed_at + toIntervalDay(30) SETTINGS", 90, "ALTER TABLE " + tbl + " MODIFY TTL observed_at + toIntervalDay(90)"},
	}
	for _, tt := range tests {
		if got := retentionStatement(tt.create, tbl, "observed_at", tt.days); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestInsertQueryNamesColumns(t *testing.T) {
	s := schemaFor(t, "18.16", "", 0)
	got := s.insertQuery(TableIncidentLog, []string{"id", "at"})
	if got != "INSERT INTO `riverwatch`.`incident_log` (`id`, `at`)" {
		t.Errorf("insert query = %q", got)
	}
}

func TestExpiredRawFramePartitionsAreTheMonthsWhollyPastTheRetention(t *testing.T) {
	now := time.Date(2026, 12, 4, 18, 0, 0, 0, time.UTC)
	parts := []string{"202509", "202510", "202511", "202512", "202601", "202612", "tuple()"}
	for _, tc := range []struct {
		days int
		want []string
	}{
		{400, []string{"202509"}},                     // cutoff 2025-10-30: October 2025 is not wholly past
		{365, []string{"202509", "202510", "202511"}}, // cutoff 2025-12-04: November ended before it
		{30, []string{"202509", "202510", "202511", "202512", "202601"}},
		{0, nil},
	} {
		got := ExpiredRawFramePartitions(parts, now, tc.days)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%d days: %v, want %v", tc.days, got, tc.want)
		}
	}
}
