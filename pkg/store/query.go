package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
)

// Store reads the archive the way the API and the reports must: deduplicated, with FINAL,
// so that a row written twice (replays) counts once. It reads the same tables in single-
// server and cluster mode.
type Store struct {
	conn Conn
	s    Schema
}

// NewStore returns a Store on the database db.
func NewStore(conn Conn, db string) *Store {
	return &Store{conn: conn, s: Schema{Database: db}}
}

// Table returns the quoted, database-qualified name of an archive table, for queries of
// one's own (remember FINAL, see doc.go).
func (st *Store) Table(name string) string { return st.s.Table(name) }

// ReadingQuery selects readings of one series (Parameter may be empty: every parameter of
// the site) observed in [From, To). Limit 0 means no limit.
type ReadingQuery struct {
	Site      string
	Parameter string
	From, To  time.Time
	Limit     int
}

// timeRange returns the WHERE conditions of [from, to) on a DateTime column; zero times
// are open ends. Times are written as Unix seconds (the column's precision): clickhouse-go
// binds times with sub-second precision as DateTime64, which 18.16 does not have.
func timeRange(col string, from, to time.Time) []string {
	var out []string
	if !from.IsZero() {
		out = append(out, fmt.Sprintf("%s >= toDateTime(%d)", col, from.Unix()))
	}
	if !to.IsZero() {
		out = append(out, fmt.Sprintf("%s < toDateTime(%d)", col, to.Unix()))
	}
	return out
}

func where(conds []string) string {
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

// Readings returns the readings of q in time order, each once.
func (st *Store) Readings(ctx context.Context, q ReadingQuery) ([]message.Reading, error) {
	conds := []string{"site = " + quoteString(q.Site)}
	if q.Parameter != "" {
		conds = append(conds, "parameter = "+quoteString(q.Parameter))
	}
	conds = append(conds, timeRange("observed_at", q.From, q.To)...)
	query := `SELECT id, site, station, parameter, value, unit, value_min, value_max, interval_kind, flag,
    observed_at, observed_ms, received_at, source
FROM ` + st.s.Table(TableReadings) + ` FINAL` + where(conds) + `
ORDER BY observed_at, observed_ms, parameter, id`
	if q.Limit > 0 {
		query += fmt.Sprintf(" LIMIT %d", q.Limit)
	}
	rows, err := st.conn.Query(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("readings of %s: %w", q.Site, err)
	}
	defer rows.Close()
	var out []message.Reading
	for rows.Next() {
		var (
			r        message.Reading
			obs, rec time.Time
			ms       uint16
		)
		if err := rows.Scan(&r.ID, &r.Site, &r.Station, &r.Parameter, &r.Value, &r.Unit, &r.Min, &r.Max,
			&r.Interval, &r.Flag, &obs, &ms, &rec, &r.Source); err != nil {
			return nil, fmt.Errorf("readings of %s: %w", q.Site, err)
		}
		r.ObservedAt = obs.UTC().Add(time.Duration(ms) * time.Millisecond)
		r.ReceivedAt = rec.UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("readings of %s: %w", q.Site, err)
	}
	return out, nil
}

// CountReadings returns how many distinct readings were observed in [from, to) (zero
// times: unbounded).
func (st *Store) CountReadings(ctx context.Context, from, to time.Time) (uint64, error) {
	var n uint64
	q := "SELECT count() FROM " + st.s.Table(TableReadings) + " FINAL" + where(timeRange("observed_at", from, to))
	if err := st.conn.QueryRow(ctx, q).Scan(&n); err != nil {
		return 0, fmt.Errorf("count readings: %w", err)
	}
	return n, nil
}

// Rollup is one row of readings_hourly or readings_daily: statistics of a series over an
// hour or a local day. Mean, Min, Max and Last are over valid readings (flag N) and are
// meaningful only when Valid > 0.
type Rollup struct {
	Site      string
	Parameter string
	Unit      string
	Start     time.Time // the hour (UTC), or the day (midnight UTC of the local date)
	Samples   uint64    // every reading
	Valid     uint64    // readings with flag N
	Hours     int       // daily only: hours with at least one valid reading
	Sum       float64
	Mean      float64
	Min, Max  float64
	Last      float64
	LastAt    time.Time
}

// RollupQuery selects rollup rows: one site (Parameter may be empty for all of them), in
// [From, To) (hours for Hourly; for Daily, days whose date is in [From, To) as dates).
type RollupQuery struct {
	Site      string
	Parameter string
	From, To  time.Time
}

// Hourly returns the hourly rollup rows of q in time order.
func (st *Store) Hourly(ctx context.Context, q RollupQuery) ([]Rollup, error) {
	conds := []string{"site = " + quoteString(q.Site)}
	if q.Parameter != "" {
		conds = append(conds, "parameter = "+quoteString(q.Parameter))
	}
	conds = append(conds, timeRange("hour", q.From, q.To)...)
	query := `SELECT site, parameter, unit, hour, samples, valid, toUInt8(0), value_sum, value_min, value_max, last_value, last_at
FROM ` + st.s.Table(TableReadingsHourly) + ` FINAL` + where(conds) + `
ORDER BY parameter, hour`
	return st.rollups(ctx, query)
}

// Daily returns the daily rollup rows of q in date order.
func (st *Store) Daily(ctx context.Context, q RollupQuery) ([]Rollup, error) {
	conds := []string{"site = " + quoteString(q.Site)}
	if q.Parameter != "" {
		conds = append(conds, "parameter = "+quoteString(q.Parameter))
	}
	if !q.From.IsZero() {
		conds = append(conds, "day >= toDate("+quoteString(q.From.Format("2006-01-02"))+")")
	}
	if !q.To.IsZero() {
		conds = append(conds, "day < toDate("+quoteString(q.To.Format("2006-01-02"))+")")
	}
	query := `SELECT site, parameter, unit, toDateTime(day, 'UTC'), samples, valid, hours, value_sum, value_min, value_max, last_value, last_at
FROM ` + st.s.Table(TableReadingsDaily) + ` FINAL` + where(conds) + `
ORDER BY parameter, day`
	return st.rollups(ctx, query)
}

func (st *Store) rollups(ctx context.Context, query string) ([]Rollup, error) {
	rows, err := st.conn.Query(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("rollups: %w", err)
	}
	defer rows.Close()
	var out []Rollup
	for rows.Next() {
		var (
			r     Rollup
			hours uint8
		)
		if err := rows.Scan(&r.Site, &r.Parameter, &r.Unit, &r.Start, &r.Samples, &r.Valid, &hours,
			&r.Sum, &r.Min, &r.Max, &r.Last, &r.LastAt); err != nil {
			return nil, fmt.Errorf("rollups: %w", err)
		}
		r.Hours = int(hours)
		r.Start, r.LastAt = r.Start.UTC(), r.LastAt.UTC()
		if r.Valid > 0 {
			r.Mean = r.Sum / float64(r.Valid)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("rollups: %w", err)
	}
	return out, nil
}
