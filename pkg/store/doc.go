// Package store is riverwatch's memory: it writes every Kafka topic into ClickHouse
// (readings, rejections, events, incident snapshots, the incident log, notifications),
// owns the schema and its migrations, keeps hourly and daily rollups, and is the one
// reader of them (Reader: the api, the reports, the benchmark), whose queries count every
// record once.
//
// # Delivery: nothing lost, nothing counted twice
//
//	Kafka ──FetchMessage──► batch (rows | bytes | time) ──► decode ──► one INSERT per table
//	      ◄──commit offsets── dirty buckets on Kafka ◄── ClickHouse returned ◄──┘
//
// One consumer group per topic (<kafka.group_prefix>-archiver-<kind>). A batch becomes one
// INSERT per table with its columns named, and the offsets are committed only after
// ClickHouse returned and the rollup buckets the batch touched are recorded durably
// (Writer.WriteRaw; the archiver puts them on archiver.rollup_topic, whose own consumer
// rebuilds them — "Rollups off the commit path" below). With archiver.rollup_delay 0 the
// batch rebuilds its rollups itself before the commit (Writer.Write).
// When an insert fails — ClickHouse down, a network cut — the same batch is retried with
// backoff (archiver.retry_max) and nothing more is fetched, so consumption pauses with
// memory bounded by one batch plus the reader's queue per topic, and resumes without loss.
//
// A crash between the insert and the commit, or a rebalance, re-delivers messages that are
// already stored. They become the same rows: every row's key is the record's deterministic
// id (message.ReadingID, EventID, RejectionID; incident id + version; notification
// incident + key + attempt) and its version comes from the record, never from the clock.
// Every table is a ReplacingMergeTree ordered by that key, so repeats are one row for every
// query with FINAL, and one row on disk after the next merge. On servers with
// insert_deduplication_token (22.2+), each insert also carries a token built from the
// Kafka offset ranges of the batch ("<table>|<topic>|p0:100-250,p2:7-99"), so a retried
// batch is dropped by the server before it is even stored.
//
// A message that does not decode, or lacks what its table needs (a reading without site
// or time, an incident update of unknown kind), never blocks its topic: it is recorded in
// rejected with reason undecodable and its topic/partition/offset
// (message.UndecodableRejection, as every consumer records such a message), counted in
// riverwatch_archiver_errors_total{stage="decode"}, logged, and committed.
//
// # Rollups, and why they are not materialized views
//
// A materialized view aggregates every inserted block, repeats included, so a replayed
// batch would be counted twice in it even though readings deduplicates. Instead, after
// each batch the archiver recomputes the touched (site, parameter, five minutes) rows of
// readings_5min from readings FINAL, then the touched hours of readings_hourly from
// readings_5min FINAL, then the touched local days of readings_daily from readings_hourly
// FINAL, and inserts them with a newer version into ReplacingMergeTree tables.
// Recomputing is idempotent: inserting the same batch twice leaves counts and means
// unchanged (TestRollupsUnchangedByReplayedBatch). Counts, sums, minima, maxima and the
// last value compose exactly from level to level (the mean is value_sum / valid). Daily
// rows use local calendar days in archiver.rollup_timezone (Asia/Shanghai by default).
// Migration 4 added readings_5min and filled it from the readings stored before.
//
// # Rollups off the commit path
//
// A rebuild's cost grows with the rows already in the touched hours, not with the batch,
// and it used to sit between the insert and the commit of every readings batch. Now the
// readings path records the touched buckets (Dirty) on a one-partition Kafka topic before
// it commits, and a separate consumer of that topic merges what arrived within
// archiver.rollup_delay into one rebuild (RebuildDirty), records the Kafka time of the
// newest mark it covered in rollup_progress (RecordRollupProgress: every reading archived
// before it is in the rollups; the api answers it as rollups_through), and commits only
// then. No rebuild is lost to a crash — a mark is committed after its rebuild, a batch after
// its mark — and none can double-count, because a rebuild recomputes from FINAL. Tests:
// archiver TestReadingsCommitBeforeTheirRollupsWhichFollowWithAWatermark and the SIGKILL
// and ClickHouse-outage tests, which check the rollups once the rollup loop has committed.
//
// # Reading the archive
//
// Reader (reader.go) is the one reader of these tables: the api serves it (behind the
// api's own Store interface) and the benchmark times its queries. It reads with FINAL, or
// picks the newest row with argMax, so each record counts once; its doc says why its SQL
// is built as text and how values are quoted, and testdata/sql holds the SQL of every
// query it sends. The in-memory store of the api's tests is held to the same answers by
// the conformance suite in storetest. A query of one's own must read with FINAL too,
// otherwise a row may appear twice until merged:
//
//	SELECT … FROM riverwatch.readings FINAL WHERE site = 'STH-S2' AND parameter = 'cod'
//	  AND observed_at >= toDateTime(…) AND observed_at < toDateTime(…)
//
// Filter FINAL queries on ORDER BY columns; for other columns (flag, status) filter in an
// aggregate (countIf) or an outer query, so the newest version is chosen first. Times are
// DateTime('UTC') seconds; the millisecond part, where a record has one, is in a separate
// *_ms column.
//
// # Schema
//
// Database: clickhouse.database (riverwatch). In cluster mode each table below is a
// Distributed table over <table>_local; the names and columns are the same.
//
//	readings       ReplacingMergeTree(version) PARTITION BY toYYYYMM(observed_at)
//	               ORDER BY (site, parameter, observed_at, id)
//	    id, site, station, parameter, value (canonical unit), unit, value_min, value_max
//	    (Nullable: period min/max), interval_kind (rtd|min|hour|day|lab), flag (HJ 212; N
//	    valid), observed_at, observed_ms, received_at, source (hj212|http|csv),
//	    version (2⁶³−1 − received_at in ms, ReadingVersion: the first receipt of an id stands;
//	    2⁶³ + corrected_at in ms for an explicit correction, CorrectionVersion), below_dl
//	    (UInt8, migration 9: 1 for a non-detect, whose value is the detection limit)
//	rejected       ReplacingMergeTree PARTITION BY toYYYYMM(received_at)
//	               ORDER BY (reason, received_at, id)
//	    id, reason, detail, station, site, parameter, source, remote, raw, received_at,
//	    received_ms
//	events         ReplacingMergeTree(version) PARTITION BY toYYYYMM(observed_at)
//	               ORDER BY (site, type, observed_at, id)
//	    id, type, site, river, parameter, value, limit_value, target_class, class, multiple,
//	    severity, reason, observed_at, observed_ms, emitted_at, reading_id,
//	    reading_received_at (Nullable), origin_site, origin_event_id, arrival_at
//	    (Nullable), predicted_value, distance_km, version (emitted_at in ms), and since
//	    migration 11 a verdict's message.Verification: verification_outcome ('' for other
//	    events and verdicts stored before), verification_threshold, rise_at, peak_at,
//	    fall_at (Nullable, seconds), rise_error_s, peak_time_error_s, peak_error,
//	    duration_error_s
//	incidents      ReplacingMergeTree(version) ORDER BY id — the latest snapshot wins
//	    id, version, title, status, level, colour, playbook, river, site, sites,
//	    parameters, jurisdictions, event_ids (Array(String)), drill (UInt8), steps (JSON
//	    array of message.Step), opened_at, acked_at, resolved_at, closed_at (Nullable),
//	    updated_at, doc (the whole message.Incident as JSON)
//	incident_log   ReplacingMergeTree ORDER BY (incident_id, id)
//	    id, incident_id, version, at, at_ms, actor, action, detail
//	notifications  ReplacingMergeTree ORDER BY (incident_id, key, attempt) — one row per attempt
//	    id, key, incident_id, step_id, kind, channel, recipient, subject, body, attempt,
//	    status (sent, failed, interrupted; inhibited: held by a silence, error says which;
//	    released), error, drill, at, at_ms
//	silences       ReplacingMergeTree(version) ORDER BY id — the latest snapshot wins
//	    id, version, starts_at, ends_at, created_by, comment, updated_at, doc (the whole
//	    silence.Silence as JSON); a silence's audit trail is in incident_log under its id
//	readings_5min  ReplacingMergeTree(version) PARTITION BY toYYYYMM(bucket)
//	               ORDER BY (site, parameter, bucket)
//	    the columns of readings_hourly with bucket (UTC start of five minutes) for hour
//	readings_hourly ReplacingMergeTree(version) PARTITION BY toYYYYMM(hour)
//	               ORDER BY (site, parameter, hour)
//	    site, parameter, hour (UTC hour start), unit, samples (all readings), valid (flag
//	    N), value_sum, value_min, value_max, last_value, last_at (over valid readings;
//	    0 when valid = 0), version, and since migration 9 below_dl (valid non-detects),
//	    auto_valid, auto_sum, auto_min, auto_max, auto_below_dl (the same over the valid
//	    automatic readings, interval_kind other than lab). A non-detect enters value_sum,
//	    value_min, value_max and auto_* at half its detection limit (环办监测函〔2020〕82号,
//	    point 7); last_value keeps the limit.
//	readings_daily ReplacingMergeTree(version) PARTITION BY toYear(day)
//	               ORDER BY (site, parameter, day)
//	    site, parameter, day (local date), unit, samples, valid, hours (hours with valid
//	    data), value_sum, value_min, value_max, last_value, last_at, version, below_dl,
//	    auto_valid, auto_sum, auto_min, auto_max, auto_below_dl
//	schema_migrations ReplacingMergeTree ORDER BY version
//	    version, name, applied_at, features
//
// The mean of a rollup row is value_sum / valid.
//
// # Migrations and server versions
//
// Migrations are numbered Go steps (Migrations) applied at every start and by
// `archiver migrate`; schema_migrations records each one after all its statements ran, and
// every statement is idempotent, so running them again is a no-op. A column added to a
// table that exists (Migration.AddColumns, from migration 9) is added only where
// system.columns does not list it, since 18.16 has no ADD COLUMN IF NOT EXISTS; a table
// created later has it from its spec. The DDL depends on the
// server version (chstore.ServerVersion), gated as follows:
//
//	LowCardinality(String)     19.3+ (18.16 needs allow_experimental_low_cardinality_type;
//	                           String is used there)
//	TTL (archiver.retention_days on readings)   19.6+ (18.16: not enforced, a warning is
//	                           logged; drop old monthly partitions by hand)
//	async_insert=0 sent        21.11+ (the setting does not exist before)
//	insert_deduplication_token 22.2+, with non_replicated_deduplication_window (or
//	                           replicated_deduplication_window in cluster mode) = DedupWindow
//	                           on the raw tables
//
// Debian's 18.16 (used in the tests here) gets String columns, no TTL and no tokens; the
// deduplication there rests on ReplacingMergeTree and FINAL, which exist everywhere.
// Columns of a table created on an old server stay as they were after a server upgrade.
//
// # Performance
//
// BenchmarkInsertReadings (RIVERWATCH_INTEGRATION=1 go test -run '^$' -bench
// BenchmarkInsertReadings -benchtime 20x ./pkg/store/) measures rows/s into readings on
// the real server, taking turns with clickhouse-client inserting the same kind of rows as
// TSV, and the whole per-batch path with the rollup rebuild; BenchmarkDecodeReadings the
// CPU cost before the insert. Readings are decoded without reflection in the common case
// (message.DecodeReadingInterned, formerly this package's fastjson.go), which made
// decoding about four times faster than encoding/json; raw HJ 212 frames likewise
// (message.DecodeRawFrameInterned, BenchmarkDecodeRawFrame in pkg/message). BenchmarkRollupFullHour measures
// the rebuild of a batch landing in an hour that already holds 4 million readings,
// against the pre-migration-4 rebuild of the whole hour from readings. On 18.16 the cost
// of `readings FINAL` follows the granules (8192 rows) a range touches more than the rows
// inside it, so a five-minute range costs not much less than an hour; see rollup.go.
//
// # Cluster mode
//
// With clickhouse.cluster set, every statement runs ON CLUSTER <name>; each table is a
// ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/<db>/<table>', '{replica}'[,
// version]) named <table>_local plus a Distributed(<cluster>, <db>, <table>_local,
// sipHash64(<key>)) named <table>. The sharding key is part of the ORDER BY key, so every
// repeat of a row lands on the same shard and FINAL per shard removes it. Inserts go
// through the Distributed tables with insert_distributed_sync=1, so ClickHouse returns only
// once the shards have the rows. schema_migrations is one replicated table shared by the
// whole cluster. The macros {shard} and {replica} must be defined on every node.
package store
