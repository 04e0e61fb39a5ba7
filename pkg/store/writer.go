package store

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/segmentio/kafka-go"
)

// Writer archives Kafka batches into ClickHouse: one INSERT per table per batch, columns
// named, then the rollups the batch touched. It is safe for concurrent use by the
// per-topic consumers.
type Writer struct {
	conn   Conn
	schema Schema
	tz     *time.Location
	m      *Metrics
	log    *slog.Logger

	mu          sync.Mutex
	lastVersion uint64
}

// NewWriter returns a Writer. tz is the time zone of the daily rollup's days (nil: UTC).
func NewWriter(conn Conn, s Schema, tz *time.Location, m *Metrics, log *slog.Logger) *Writer {
	if tz == nil {
		tz = time.UTC
	}
	return &Writer{conn: conn, schema: s, tz: tz, m: m, log: log}
}

// Schema returns the schema the Writer writes to.
func (w *Writer) Schema() Schema { return w.schema }

// WriteResult says what one batch became.
type WriteResult struct {
	Rows     map[string]int // rows per table
	Rejected int            // messages recorded in rejected as undecodable
	// Dirty is what WriteRaw left for RebuildDirty: the rollup buckets the batch touched.
	Dirty Dirty
}

// Write archives one batch of a topic of the given kind. It returns nil only once every
// row is in ClickHouse and the touched rollups are rebuilt: the caller may then commit the
// offsets. On error nothing is to be committed and the same batch may be retried; retrying
// (or replaying) is harmless, see doc.go.
func (w *Writer) Write(ctx context.Context, kind Kind, topic string, msgs []kafka.Message) (WriteResult, error) {
	res, err := w.WriteRaw(ctx, kind, topic, msgs)
	if err != nil {
		return res, err
	}
	if len(res.Dirty) > 0 {
		if err := w.RebuildDirty(ctx, res.Dirty); err != nil {
			w.m.Errors.WithLabelValues(topic, "rollup").Inc()
			return res, err
		}
	}
	return res, nil
}

// WriteRaw archives one batch without rebuilding its rollups: it returns once every row is
// in ClickHouse, with the buckets it touched in WriteResult.Dirty. The caller records those
// durably (the archiver: on its rollup topic) before it commits the offsets, and has them
// rebuilt by RebuildDirty later; a crash in between replays the batch, which records them
// again.
func (w *Writer) WriteRaw(ctx context.Context, kind Kind, topic string, msgs []kafka.Message) (WriteResult, error) {
	res := WriteResult{Rows: map[string]int{}}
	if len(msgs) == 0 {
		return res, nil
	}
	rows := decodeBatch(kind, topic, msgs)
	ranges := offsetRanges(topic, msgs)
	for _, b := range rows.blocks() {
		if err := w.insert(ctx, b, b.table+"|"+ranges); err != nil {
			w.m.Errors.WithLabelValues(topic, "insert").Inc()
			return res, err
		}
		res.Rows[b.table] = b.rows
	}
	res.Dirty = rows.touched.dirty()
	// Counted once the batch is durable, so that a retried batch does not count twice.
	if n := len(rows.failures); n > 0 {
		res.Rejected = n
		w.m.Errors.WithLabelValues(topic, "decode").Add(float64(n))
		f := rows.failures[0]
		w.log.Warn("messages not archivable, recorded in rejected", "topic", topic, "count", n,
			"reason", ReasonDecode, "first_partition", f.msg.Partition, "first_offset", f.msg.Offset, "first_err", f.err)
	}
	size := 0
	for _, m := range msgs {
		size += len(m.Value)
	}
	w.m.Batches.WithLabelValues(topic).Inc()
	w.m.BatchRows.WithLabelValues(topic).Observe(float64(len(msgs)))
	w.m.BatchBytes.WithLabelValues(topic).Observe(float64(size))
	return res, nil
}

// offsetRanges describes the Kafka offsets of a batch: "topic|p0:100-250,p2:7-99". With the
// table name in front it is the batch's insert deduplication token: the same offsets always
// hold the same messages and so the same rows, so a server that has seen the token may
// drop the block. Batches cut differently after a crash get other tokens; their repeats are
// removed by ReplacingMergeTree and FINAL.
func offsetRanges(topic string, msgs []kafka.Message) string {
	type rng struct{ lo, hi int64 }
	parts := map[int]rng{}
	for _, m := range msgs {
		r, ok := parts[m.Partition]
		if !ok {
			r = rng{m.Offset, m.Offset}
		}
		r.lo, r.hi = min(r.lo, m.Offset), max(r.hi, m.Offset)
		parts[m.Partition] = r
	}
	ids := make([]int, 0, len(parts))
	for p := range parts {
		ids = append(ids, p)
	}
	slices.Sort(ids)
	var b strings.Builder
	b.WriteString(topic)
	b.WriteByte('|')
	for i, p := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		r := parts[p]
		b.WriteString("p" + strconv.Itoa(p) + ":" + strconv.FormatInt(r.lo, 10) + "-" + strconv.FormatInt(r.hi, 10))
	}
	return b.String()
}

// insertContext adds the settings every archive insert needs on this server. Settings are
// sent only to servers that know them: an unknown setting fails the query, and 18.16
// refuses string settings from clickhouse-go.
func (w *Writer) insertContext(ctx context.Context, token string) context.Context {
	settings := clickhouse.Settings{}
	f := w.schema.Features
	if f.AsyncInsert {
		settings["async_insert"] = 0 // acknowledge only once the rows are in a part
	}
	if f.DedupToken && token != "" {
		settings["insert_deduplication_token"] = token
	}
	if w.schema.Cluster != "" {
		settings["insert_distributed_sync"] = 1 // return only once the shards have the rows
	}
	if len(settings) == 0 {
		return ctx
	}
	return clickhouse.Context(ctx, clickhouse.WithSettings(settings))
}

// insert sends one block as one INSERT.
func (w *Writer) insert(ctx context.Context, b block, token string) error {
	start := time.Now()
	batch, err := w.conn.PrepareBatch(w.insertContext(ctx, token), w.schema.insertQuery(b.table, b.names()))
	if err != nil {
		return fmt.Errorf("insert into %s: %w", b.table, err)
	}
	defer batch.Close()
	for i, c := range b.cols {
		if err := batch.Column(i).Append(c.data); err != nil {
			return fmt.Errorf("insert into %s: column %s: %w", b.table, c.name, err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert %d rows into %s: %w", b.rows, b.table, err)
	}
	w.m.InsertSeconds.WithLabelValues(b.table).Observe(time.Since(start).Seconds())
	w.m.Rows.WithLabelValues(b.table).Add(float64(b.rows))
	return nil
}

// nextVersion returns a rollup version: the time in nanoseconds, strictly increasing within
// the process even if the clock steps back.
func (w *Writer) nextVersion() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	v := max(uint64(time.Now().UnixNano()), w.lastVersion+1)
	w.lastVersion = v
	return v
}

// RebuildDirty recomputes the five-minute buckets, then the hours, then the days, that one
// or more batches touched; each level from the one below it (rollup.go). It is idempotent:
// rebuilding a bucket again, or one no batch changed, writes the same numbers.
func (w *Writer) RebuildDirty(ctx context.Context, d Dirty) error {
	return w.rebuildRollups(ctx, d.touched())
}

func (w *Writer) rebuildRollups(ctx context.Context, t touchedSet) error {
	ctx = w.insertContext(ctx, "")
	start := time.Now()
	for _, p := range planRebuilds(t.bucketSpans(), maxSitesPerQuery) {
		if err := w.conn.Exec(ctx, bucketRebuildSQL(w.schema, p, w.nextVersion())); err != nil {
			return fmt.Errorf("rebuild %s for %d sites: %w", TableReadings5Min, len(p.sites), err)
		}
	}
	w.m.RollupSeconds.WithLabelValues(TableReadings5Min).Observe(time.Since(start).Seconds())
	start = time.Now()
	for _, p := range planRebuilds(t.hourSpans(), maxSitesPerQuery) {
		if err := w.conn.Exec(ctx, hourlyRebuildSQL(w.schema, p, w.nextVersion())); err != nil {
			return fmt.Errorf("rebuild %s for %d sites: %w", TableReadingsHourly, len(p.sites), err)
		}
	}
	w.m.RollupSeconds.WithLabelValues(TableReadingsHourly).Observe(time.Since(start).Seconds())
	start = time.Now()
	for _, p := range planRebuilds(t.daySpans(w.tz), maxSitesPerQuery) {
		if err := w.conn.Exec(ctx, dailyRebuildSQL(w.schema, p, w.tz.String(), w.nextVersion())); err != nil {
			return fmt.Errorf("rebuild %s for %d sites: %w", TableReadingsDaily, len(p.sites), err)
		}
	}
	w.m.RollupSeconds.WithLabelValues(TableReadingsDaily).Observe(time.Since(start).Seconds())
	return nil
}
