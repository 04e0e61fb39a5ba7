package store

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Dirty is, per site, the UTC starts (Unix seconds) of the five-minute rollup buckets that
// archived rows touched and that are to be rebuilt. It is what the archiver records on its
// rollup topic between inserting a batch and committing it (doc.go, "Rollups off the
// commit path").
type Dirty map[string][]int64

// dirty returns the touched buckets as a Dirty, each site's buckets sorted.
func (t touchedSet) dirty() Dirty {
	if len(t) == 0 {
		return nil
	}
	out := make(Dirty, len(t))
	for site, buckets := range t {
		out[site] = slices.Sorted(maps.Keys(buckets))
	}
	return out
}

// touched returns d as the rebuild's working set.
func (d Dirty) touched() touchedSet {
	t := make(touchedSet, len(d))
	for site, buckets := range d {
		set := t[site]
		if set == nil {
			set = make(map[int64]struct{}, len(buckets))
			t[site] = set
		}
		for _, b := range buckets {
			set[b-b%bucketSeconds] = struct{}{}
		}
	}
	return t
}

// Merge adds other's buckets to d.
func (d Dirty) Merge(other Dirty) {
	for site, buckets := range other {
		for _, b := range buckets {
			if !slices.Contains(d[site], b) {
				d[site] = append(d[site], b)
			}
		}
	}
}

// Buckets returns how many (site, bucket) pairs d holds.
func (d Dirty) Buckets() int {
	n := 0
	for _, b := range d {
		n += len(b)
	}
	return n
}

// dirtyRecord is the JSON of one rollup-topic message.
type dirtyRecord struct {
	Dirty Dirty `json:"dirty"`
}

// EncodeDirty returns the value of a rollup-topic message.
func EncodeDirty(d Dirty) ([]byte, error) {
	b, err := json.Marshal(dirtyRecord{Dirty: d})
	if err != nil {
		return nil, fmt.Errorf("encode dirty rollup buckets: %w", err)
	}
	return b, nil
}

// DecodeDirty reads the value of a rollup-topic message, refusing one that names a site
// without buckets or a bucket before 1970.
func DecodeDirty(b []byte) (Dirty, error) {
	var r dirtyRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("decode dirty rollup buckets: %w", err)
	}
	for site, buckets := range r.Dirty {
		if site == "" || len(buckets) == 0 {
			return nil, fmt.Errorf("decode dirty rollup buckets: site %q without buckets", site)
		}
		for _, t := range buckets {
			if t < 0 {
				return nil, fmt.Errorf("decode dirty rollup buckets: site %s: bucket %d before 1970", site, t)
			}
		}
	}
	return r.Dirty, nil
}

// RollupProgressName is the row of rollup_progress the archiver's rollup loop keeps.
const RollupProgressName = "rollups"

// RecordRollupProgress records that every bucket marked dirty up to through (the Kafka
// time of the newest rollup-topic message a rebuild covered, on its single partition) is
// rebuilt: the hourly and daily rollups hold every reading archived before it. The api
// reports it with rolled-up series (Reader.RollupsThrough).
func (w *Writer) RecordRollupProgress(ctx context.Context, through time.Time) error {
	sec, ms := split(through)
	now, nowMs := split(time.Now())
	b := block{table: TableRollupProgress, rows: 1, cols: []blockCol{
		{"name", []string{RollupProgressName}},
		{"through", []time.Time{sec}}, {"through_ms", []uint16{ms}},
		{"at", []time.Time{now}}, {"at_ms", []uint16{nowMs}},
		{"version", []uint64{w.nextVersion()}},
	}}
	if err := w.insert(ctx, b, ""); err != nil {
		return fmt.Errorf("record rollup progress: %w", err)
	}
	return nil
}

func (r *Reader) rollupsThroughSQL() string {
	return fmt.Sprintf("SELECT through, through_ms FROM %s FINAL WHERE name = %s",
		r.table(TableRollupProgress), quoteString(RollupProgressName))
}

// RollupsThrough returns the time up to which the rollups hold every archived reading
// (RecordRollupProgress); ok is false when no deferred rebuild has run (rollups rebuilt
// inside each batch, or nothing archived yet).
func (r *Reader) RollupsThrough(ctx context.Context) (through time.Time, ok bool, err error) {
	rows, err := r.conn.Query(ctx, r.rollupsThroughSQL())
	if err != nil {
		return time.Time{}, false, fmt.Errorf("rollup progress: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			sec time.Time
			ms  uint16
		)
		if err := rows.Scan(&sec, &ms); err != nil {
			return time.Time{}, false, fmt.Errorf("rollup progress: %w", err)
		}
		through, ok = withMs(sec, ms), true
	}
	if err := rows.Err(); err != nil {
		return time.Time{}, false, fmt.Errorf("rollup progress: %w", err)
	}
	return through, ok, nil
}
