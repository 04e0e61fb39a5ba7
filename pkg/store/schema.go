package store

import (
	"fmt"
	"slices"
	"strings"

	"github.com/riverwatch/riverwatch/pkg/chstore"
	"github.com/riverwatch/riverwatch/pkg/config"
)

// Table names of the contract (DESIGN.md) plus the rollups and the migration record.
const (
	TableReadings       = "readings"
	TableRejected       = "rejected"
	TableEvents         = "events"
	TableIncidents      = "incidents"
	TableIncidentLog    = "incident_log"
	TableNotifications  = "notifications"
	TableReadings5Min   = "readings_5min"
	TableReadingsHourly = "readings_hourly"
	TableReadingsDaily  = "readings_daily"
	TableMigrations     = "schema_migrations"
	// TableCorrections records every explicit correction of a reading: who, when, why, the
	// value before and after (message.Correction).
	TableCorrections = "corrections"
	// TableStationCommands records every station command and what became of it: one row
	// per record of riverwatch.station-commands (message.StationCommand).
	TableStationCommands = "station_commands"
	// TableRollupProgress holds how far the deferred rollup rebuilds have come (dirty.go).
	TableRollupProgress = "rollup_progress"
	// TableSilences holds the latest snapshot of every silence (pkg/silence), written from
	// riverwatch.incidents (message.UpdateSilence).
	TableSilences = "silences"
	// TableRawFrames holds the accepted HJ 212 frames (message.RawFrame), PW masked, for
	// archiver.raw_frames_retention_days, written from riverwatch.raw-frames.
	TableRawFrames = "raw_frames"
)

// DedupWindow is how many recent insert blocks a table remembers for insert deduplication
// (non_replicated_deduplication_window on servers with insert_deduplication_token).
const DedupWindow = 1000

// Features says what the schema and the insert path may use on a server. Old servers lack
// some features; the archiver then falls back to what works everywhere (see doc.go).
type Features struct {
	Server chstore.Version
	// LowCardinality(String) without a setting: 19.3 removed
	// allow_experimental_low_cardinality_type (18.16 needs it; we use String there).
	LowCardinality bool
	// TTL on MergeTree tables: 19.6.
	TTL bool
	// async_insert exists from 21.11; the archiver sends async_insert=0 there, because a
	// server that turns it on by default would acknowledge before the rows are in a part.
	AsyncInsert bool
	// insert_deduplication_token: 22.2. With it each insert carries a token built from the
	// Kafka offsets it holds, and the raw tables keep a deduplication window.
	DedupToken bool
}

// FeaturesFor returns the features of a server version.
func FeaturesFor(v chstore.Version) Features {
	return Features{
		Server:         v,
		LowCardinality: v.AtLeast(19, 3),
		TTL:            v.AtLeast(19, 6),
		AsyncInsert:    v.AtLeast(21, 11),
		DedupToken:     v.AtLeast(22, 2),
	}
}

// String lists the features, for logs and the migration record.
func (f Features) String() string {
	var on []string
	for name, ok := range map[string]bool{"lowcardinality": f.LowCardinality, "ttl": f.TTL, "async_insert": f.AsyncInsert, "dedup_token": f.DedupToken} {
		if ok {
			on = append(on, name)
		}
	}
	slices.Sort(on)
	return fmt.Sprintf("server %s [%s]", f.Server, strings.Join(on, ","))
}

// Schema is where and how the archive's tables are created: the database, the server's
// features and, in cluster mode, the cluster name.
type Schema struct {
	Database string
	Features Features
	// Cluster, when set, creates every table ON CLUSTER as a Replicated*MergeTree table
	// named <table>_local plus a Distributed table <table> over it; readers and writers use
	// <table> in both modes.
	Cluster string
	// RetentionDays of raw readings, where TTL exists (0: forever).
	RetentionDays int
	// RawFramesRetentionDays is the TTL of raw_frames in days (0: none).
	RawFramesRetentionDays int
}

// Table returns the quoted, database-qualified name of a table: what queries use.
func (s Schema) Table(name string) string {
	return quoteIdent(s.Database) + "." + quoteIdent(name)
}

// local returns the table that holds the data: <name>_local in cluster mode.
func (s Schema) local(t tableSpec) string {
	if s.Cluster != "" && !t.clusterWide {
		return t.name + "_local"
	}
	return t.name
}

func (s Schema) onCluster() string {
	if s.Cluster == "" {
		return ""
	}
	return " ON CLUSTER " + quoteIdent(s.Cluster)
}

// column is one column of a table; its type may depend on the server's features.
type column struct {
	name string
	typ  func(Features) string
}

func typ(t string) func(Features) string { return func(Features) string { return t } }

// lowCard is LowCardinality(String) where the server allows it without a setting, else
// String: same values, same Go type, only the storage differs.
func lowCard(f Features) string {
	if f.LowCardinality {
		return "LowCardinality(String)"
	}
	return "String"
}

const (
	tString   = "String"
	tFloat    = "Float64"
	tNullF    = "Nullable(Float64)"
	tTime     = "DateTime('UTC')"
	tNullTime = "Nullable(DateTime('UTC'))"
	tMs       = "UInt16"
	tU64      = "UInt64"
	tU32      = "UInt32"
	tBool     = "UInt8"
	tStrings  = "Array(String)"
)

// tableSpec describes one table of the store.
type tableSpec struct {
	name    string
	columns []column
	// version column of ReplacingMergeTree ("" keeps the last inserted row of a key).
	version     string
	partitionBy string // "" for none
	orderBy     string
	// shardBy is the Distributed sharding key in cluster mode. It is a function of the
	// ORDER BY key, so that every copy of a row lands on the same shard and FINAL on each
	// shard removes it.
	shardBy string
	// ttlColumn is the time column that retention applies to ("" for none).
	ttlColumn string
	// raw tables receive the Kafka batches and deduplicate insert blocks by token.
	raw bool
	// clusterWide tables are, in cluster mode, one replicated table shared by every node
	// (no _local table, no Distributed table): the migration record.
	clusterWide bool
}

func (t tableSpec) columnNames() []string {
	out := make([]string, len(t.columns))
	for i, c := range t.columns {
		out[i] = c.name
	}
	return out
}

// The tables. Every table is a ReplacingMergeTree whose ORDER BY contains the record's
// deterministic id (or the key that identifies it), so that a row written twice — a Kafka
// replay after a crash between insert and commit, a rebalance, a replay command — is one
// row for every query that reads with FINAL, and becomes one row on disk at the next merge.
// Each duplicate always lands in the same partition because the partition key is a function
// of the sorting key.
var (
	// stationCommandsTable: one row per (command, status, gateway); a replayed record is
	// the same row.
	stationCommandsTable = tableSpec{
		name: TableStationCommands,
		columns: []column{
			{"id", typ(tString)},
			{"site", lowCard},
			{"mn", typ(tString)},
			{"command", lowCard},
			{"rtd_interval_s", typ(tU32)},
			{"min_interval_min", typ(tU32)},
			{"requested_by", typ(tString)},
			{"requested_role", lowCard},
			{"reason", typ(tString)},
			{"incident_id", typ(tString)},
			{"ttl_s", typ(tU32)},
			{"at", typ(tTime)},
			{"at_ms", typ(tMs)},
			{"status", lowCard},
			{"status_at", typ(tTime)},
			{"status_ms", typ(tMs)},
			{"gateway", typ(tString)},
			{"qn", typ(tString)},
			{"qn_rtn", typ(tString)},
			{"exe_rtn", typ(tString)},
			{"attempts", typ(tU32)},
			{"detail", typ(tString)},
			// Added by migration 9 (issue #20: 3020, 1011): what query_info asked and what the
			// station reported (message.StationReport as JSON, "" for none).
			{"pol_id", typ(tString)},
			{"info_id", typ(tString)},
			{"report", typ(tString)},
		},
		partitionBy: "toYYYYMM(at)",
		orderBy:     "(site, at, id, status, gateway)",
		shardBy:     "sipHash64(site)",
		raw:         true,
	}
	correctionsTable = tableSpec{
		name: TableCorrections,
		columns: []column{
			{"id", typ(tString)},
			{"reading_id", typ(tString)},
			{"site", lowCard},
			{"parameter", lowCard},
			{"interval_kind", lowCard},
			{"observed_at", typ(tTime)},
			{"observed_ms", typ(tMs)},
			{"value", typ(tFloat)},
			{"previous", typ(tNullF)},
			{"reason", typ(tString)},
			{"actor", typ(tString)},
			{"actor_role", lowCard},
			{"at", typ(tTime)},
			{"at_ms", typ(tMs)},
		},
		partitionBy: "toYYYYMM(observed_at)",
		orderBy:     "(site, parameter, observed_at, id)",
		shardBy:     "sipHash64(site)",
		raw:         true,
	}
	silencesTable = tableSpec{
		name: TableSilences,
		columns: []column{
			{"id", typ(tString)},
			{"version", typ(tU64)},
			{"starts_at", typ(tTime)},
			{"ends_at", typ(tTime)},
			{"created_by", typ(tString)},
			{"comment", typ(tString)},
			{"updated_at", typ(tTime)},
			{"doc", typ(tString)}, // the whole silence.Silence as JSON
		},
		// The latest snapshot of a silence wins.
		version: "version",
		orderBy: "id",
		shardBy: "sipHash64(id)",
		raw:     true,
	}
	rawFramesTable = tableSpec{
		name: TableRawFrames,
		columns: []column{
			{"id", typ(tString)},
			{"site", lowCard},
			{"mn", typ(tString)},
			{"qn", typ(tString)},
			{"cn", lowCard},
			{"data_time", typ(tTime)},
			{"received_at", typ(tTime)},
			{"received_ms", typ(tMs)},
			{"remote", typ(tString)},
			{"raw", typ(tString)},
			{"reading_ids", typ(tStrings)},
		},
		// Monthly partitions: the retention drops whole months where the server has no TTL.
		partitionBy: "toYYYYMM(data_time)",
		orderBy:     "(site, data_time, id)",
		shardBy:     "sipHash64(site)",
		ttlColumn:   "data_time",
		raw:         true,
	}
	readingsTable = tableSpec{
		name: TableReadings,
		columns: []column{
			{"id", typ(tString)},
			{"site", lowCard},
			{"station", lowCard},
			{"parameter", lowCard},
			{"value", typ(tFloat)},
			{"unit", lowCard},
			{"value_min", typ(tNullF)},
			{"value_max", typ(tNullF)},
			{"interval_kind", lowCard},
			{"flag", lowCard},
			{"observed_at", typ(tTime)},
			{"observed_ms", typ(tMs)},
			{"received_at", typ(tTime)},
			{"source", lowCard},
			{"version", typ(tU64)},
			// Since migration 9: 1 for a non-detect, whose value is the detection limit.
			{"below_dl", typ(tBool)},
		},
		version: "version",
		// Monthly: 18.16 delays inserts at 150 active parts per partition and refuses them
		// at 300, so anything finer breaks backfills.
		partitionBy: "toYYYYMM(observed_at)",
		orderBy:     "(site, parameter, observed_at, id)",
		shardBy:     "sipHash64(site)",
		ttlColumn:   "observed_at",
		raw:         true,
	}
	rejectedTable = tableSpec{
		name: TableRejected,
		columns: []column{
			{"id", typ(tString)},
			{"reason", lowCard},
			{"detail", typ(tString)},
			{"station", typ(tString)},
			{"site", typ(tString)},
			{"parameter", typ(tString)},
			{"source", lowCard},
			{"remote", typ(tString)},
			{"raw", typ(tString)},
			{"received_at", typ(tTime)},
			{"received_ms", typ(tMs)},
		},
		partitionBy: "toYYYYMM(received_at)",
		orderBy:     "(reason, received_at, id)",
		shardBy:     "sipHash64(reason)",
		raw:         true,
	}
	eventsTable = tableSpec{
		name: TableEvents,
		columns: []column{
			{"id", typ(tString)},
			{"type", lowCard},
			{"site", lowCard},
			{"river", lowCard},
			{"parameter", lowCard},
			{"value", typ(tFloat)},
			{"limit_value", typ(tFloat)},
			{"target_class", lowCard},
			{"class", lowCard},
			{"multiple", typ(tFloat)},
			{"severity", lowCard},
			{"reason", typ(tString)},
			{"observed_at", typ(tTime)},
			{"observed_ms", typ(tMs)},
			{"emitted_at", typ(tTime)},
			{"reading_id", typ(tString)},
			{"reading_received_at", typ(tNullTime)},
			{"origin_site", typ(tString)},
			{"origin_event_id", typ(tString)},
			{"arrival_at", typ(tNullTime)},
			{"predicted_value", typ(tFloat)},
			{"distance_km", typ(tFloat)},
			{"version", typ(tU64)},
			// Migration 11: what a prediction.verified / .refuted found (message.Verification),
			// so that the skill report reads its errors.
			{"verification_outcome", lowCard},
			{"verification_threshold", typ(tFloat)},
			{"rise_at", typ(tNullTime)},
			{"peak_at", typ(tNullTime)},
			{"fall_at", typ(tNullTime)},
			{"rise_error_s", typ(tFloat)},
			{"peak_time_error_s", typ(tFloat)},
			{"peak_error", typ(tFloat)},
			{"duration_error_s", typ(tFloat)},
		},
		version:     "version",
		partitionBy: "toYYYYMM(observed_at)",
		orderBy:     "(site, type, observed_at, id)",
		shardBy:     "sipHash64(site)",
		raw:         true,
	}
	incidentsTable = tableSpec{
		name: TableIncidents,
		columns: []column{
			{"id", typ(tString)},
			{"version", typ(tU64)},
			{"title", typ(tString)},
			{"status", lowCard},
			{"level", lowCard},
			{"colour", lowCard},
			{"playbook", lowCard},
			{"river", lowCard},
			{"site", lowCard},
			{"sites", typ(tStrings)},
			{"parameters", typ(tStrings)},
			{"jurisdictions", typ(tStrings)},
			{"drill", typ(tBool)},
			{"event_ids", typ(tStrings)},
			{"steps", typ(tString)}, // JSON array of message.Step
			{"opened_at", typ(tTime)},
			{"acked_at", typ(tNullTime)},
			{"resolved_at", typ(tNullTime)},
			{"closed_at", typ(tNullTime)},
			{"updated_at", typ(tTime)},
			{"doc", typ(tString)}, // the whole message.Incident as JSON
		},
		// The latest snapshot of an incident wins.
		version: "version",
		orderBy: "id",
		shardBy: "sipHash64(id)",
		raw:     true,
	}
	incidentLogTable = tableSpec{
		name: TableIncidentLog,
		columns: []column{
			{"id", typ(tString)},
			{"incident_id", typ(tString)},
			{"version", typ(tU64)},
			{"at", typ(tTime)},
			{"at_ms", typ(tMs)},
			{"actor", typ(tString)},
			{"action", lowCard},
			{"detail", typ(tString)},
			{"command_id", typ(tString)}, // the operator command this entry applied, for the api's round-trip
		},
		orderBy: "(incident_id, id)",
		shardBy: "sipHash64(incident_id)",
		raw:     true,
	}
	notificationsTable = tableSpec{
		name: TableNotifications,
		columns: []column{
			{"id", typ(tString)},
			{"key", typ(tString)},
			{"incident_id", typ(tString)},
			{"step_id", typ(tString)},
			{"kind", lowCard},
			{"channel", lowCard},
			{"recipient", typ(tString)},
			{"subject", typ(tString)},
			{"body", typ(tString)},
			{"attempt", typ(tU32)},
			{"status", lowCard},
			{"error", typ(tString)},
			{"drill", typ(tBool)},
			{"at", typ(tTime)},
			{"at_ms", typ(tMs)},
		},
		// One row per delivery attempt.
		orderBy: "(incident_id, key, attempt)",
		shardBy: "sipHash64(incident_id)",
		raw:     true,
	}
	// The rollups hold one row per series and hour (day), rebuilt by the archiver from
	// `readings FINAL` after every insert that touches them; the highest version wins.
	// Statistics are over valid readings (flag N); samples counts every reading.
	// Since migration 4 the hours are summed from readings_5min, rebuilt from
	// `readings FINAL` per touched five-minute bucket (see rollup.go).
	fiveMinTable = rollupTable(TableReadings5Min, column{"bucket", typ(tTime)}, nil, "toYYYYMM(bucket)") // bucket: UTC start of the five minutes
	hourlyTable  = rollupTable(TableReadingsHourly, column{"hour", typ(tTime)}, nil, "toYYYYMM(hour)")
	dailyTable   = rollupTable(TableReadingsDaily, column{"day", typ("Date")},
		[]column{{"hours", typ("UInt8")}}, // hours of the day with at least one valid reading
		"toYear(day)")
	// One row, the latest version wins: every reading archived before `through` is in the
	// rollups. Shared by the whole cluster, like the migration record.
	rollupProgressTable = tableSpec{
		name: TableRollupProgress,
		columns: []column{
			{"name", typ(tString)},
			{"through", typ(tTime)},
			{"through_ms", typ(tMs)},
			{"at", typ(tTime)},
			{"at_ms", typ(tMs)},
			{"version", typ(tU64)},
		},
		version:     "version",
		orderBy:     "name",
		clusterWide: true,
	}
	migrationsTable = tableSpec{
		name: TableMigrations,
		columns: []column{
			{"version", typ(tU32)},
			{"name", typ(tString)},
			{"applied_at", typ(tTime)},
			{"features", typ(tString)},
		},
		orderBy:     "version",
		clusterWide: true,
	}
)

// eventColumnsV11 are the columns migration 11 adds to events.
var eventColumnsV11 = []string{"verification_outcome", "verification_threshold", "rise_at", "peak_at", "fall_at",
	"rise_error_s", "peak_time_error_s", "peak_error", "duration_error_s"}

// tables lists every table the archive creates, in creation order.
var tables = []tableSpec{readingsTable, rawFramesTable, rejectedTable, eventsTable, incidentsTable, incidentLogTable, notificationsTable, hourlyTable, dailyTable, fiveMinTable, silencesTable}

// createTable returns the DDL that creates t: one statement on a single server; in cluster
// mode the replicated local table and the Distributed table over it.
func (s Schema) createTable(t tableSpec) []string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS %s%s\n(\n", s.Table(s.local(t)), s.onCluster())
	for i, c := range t.columns {
		sep := ","
		if i == len(t.columns)-1 {
			sep = ""
		}
		fmt.Fprintf(&b, "    %s %s%s\n", quoteIdent(c.name), c.typ(s.Features), sep)
	}
	b.WriteString(")\n")
	b.WriteString("ENGINE = " + s.engine(t) + "\n")
	if t.partitionBy != "" {
		b.WriteString("PARTITION BY " + t.partitionBy + "\n")
	}
	b.WriteString("ORDER BY " + t.orderBy + "\n")
	if ttl := s.ttl(t); ttl != "" {
		b.WriteString("TTL " + ttl + "\n")
	}
	settings := []string{"index_granularity = 8192"}
	// Plain MergeTree tables deduplicate insert blocks only with a window; replicated ones
	// keep 100 blocks by default, which the same setting raises.
	if t.raw && s.Features.DedupToken {
		if s.Cluster == "" {
			settings = append(settings, fmt.Sprintf("non_replicated_deduplication_window = %d", DedupWindow))
		} else {
			settings = append(settings, fmt.Sprintf("replicated_deduplication_window = %d", DedupWindow))
		}
	}
	b.WriteString("SETTINGS " + strings.Join(settings, ", "))
	out := []string{b.String()}
	if s.Cluster != "" && !t.clusterWide {
		out = append(out, fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s%s AS %s\nENGINE = Distributed(%s, %s, %s, %s)",
			s.Table(t.name), s.onCluster(), s.Table(s.local(t)),
			quoteString(s.Cluster), quoteString(s.Database), quoteString(s.local(t)), t.shardBy))
	}
	return out
}

// engine returns the table engine: ReplacingMergeTree, replicated in cluster mode. The
// migration record is replicated across the whole cluster (one ZooKeeper path for every
// shard), so every node sees what ran.
func (s Schema) engine(t tableSpec) string {
	if s.Cluster == "" {
		return "ReplacingMergeTree(" + t.version + ")"
	}
	shard := "{shard}"
	if t.clusterWide {
		shard = "all"
	}
	args := []string{
		quoteString(fmt.Sprintf("/clickhouse/tables/%s/%s/%s", shard, s.Database, t.name)),
		quoteString("{replica}"),
	}
	if t.version != "" {
		args = append(args, t.version)
	}
	return "ReplicatedReplacingMergeTree(" + strings.Join(args, ", ") + ")"
}

// ttl returns the table's TTL clause, or "" where the server has no TTL or none is wanted.
func (s Schema) ttl(t tableSpec) string {
	days := s.RetentionDays
	if t.name == TableRawFrames {
		days = s.RawFramesRetentionDays
	}
	if !s.Features.TTL || days <= 0 || t.ttlColumn == "" {
		return ""
	}
	return ttlExpr(t.ttlColumn, days)
}

func ttlExpr(col string, days int) string {
	return fmt.Sprintf("%s + toIntervalDay(%d)", col, days)
}

// createDatabase returns the DDL that creates the database.
func (s Schema) createDatabase() string {
	return "CREATE DATABASE IF NOT EXISTS " + quoteIdent(s.Database) + s.onCluster()
}

// insertQuery returns the INSERT of a table with its columns named (18.16 requires it).
func (s Schema) insertQuery(table string, columns []string) string {
	q := make([]string, len(columns))
	for i, c := range columns {
		q[i] = quoteIdent(c)
	}
	return "INSERT INTO " + s.Table(table) + " (" + strings.Join(q, ", ") + ")"
}

func quoteIdent(s string) string {
	return "`" + strings.NewReplacer("\\", "\\\\", "`", "\\`").Replace(s) + "`"
}

func quoteString(s string) string {
	return "'" + strings.NewReplacer("\\", "\\\\", "'", "\\'").Replace(s) + "'"
}

// rollupColumnsV9 are the rollup columns migration 9 adds.
var rollupColumnsV9 = []column{
	{"below_dl", typ(tU64)},
	{"auto_valid", typ(tU64)},
	{"auto_sum", typ(tFloat)},
	{"auto_min", typ(tFloat)},
	{"auto_max", typ(tFloat)},
	{"auto_below_dl", typ(tU64)},
}

// rollupTable is the shape every rollup level shares: statistics of one (site, parameter)
// over one bucket, replaced by a newer version when the bucket is rebuilt. extra columns
// follow the sample counts.
func rollupTable(name string, bucket column, extra []column, partitionBy string) tableSpec {
	cols := []column{
		{"site", lowCard},
		{"parameter", lowCard},
		bucket,
		{"unit", lowCard},
		{"samples", typ(tU64)},
		{"valid", typ(tU64)},
	}
	cols = append(cols, extra...)
	cols = append(cols,
		column{"value_sum", typ(tFloat)},
		column{"value_min", typ(tFloat)},
		column{"value_max", typ(tFloat)},
		column{"last_value", typ(tFloat)},
		column{"last_at", typ(tTime)},
		column{"version", typ(tU64)},
	)
	// Since migration 9, after version (where ALTER … ADD COLUMN puts them): the valid
	// non-detects, and the statistics of the valid automatic readings (every interval but
	// lab), which take precedence over manual samples for the automatically measured items.
	cols = append(cols, rollupColumnsV9...)
	return tableSpec{
		name:        name,
		columns:     cols,
		version:     "version",
		partitionBy: partitionBy,
		orderBy:     "(site, parameter, " + bucket.name + ")",
		shardBy:     "sipHash64(site)",
	}
}

// NewSchema returns the schema a configuration asks for on a server of version v.
func NewSchema(cfg *config.Config, v chstore.Version) Schema {
	return Schema{
		Database:               cfg.ClickHouse.Database,
		Features:               FeaturesFor(v),
		Cluster:                cfg.ClickHouse.Cluster,
		RetentionDays:          cfg.Archiver.RetentionDays,
		RawFramesRetentionDays: cfg.Archiver.RawFramesRetentionDays,
	}
}
