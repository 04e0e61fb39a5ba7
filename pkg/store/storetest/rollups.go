package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/store"
)

// Rollup is one row of readings_hourly or readings_daily as the Writer stored it, for
// tests of the rollups themselves (the Reader answers the api's means, not the rows).
// Mean, Min, Max and Last are over valid readings (flag N) and are meaningful only when
// Valid > 0.
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
// Zero times are open ends.
type RollupQuery struct {
	Site      string
	Parameter string
	From, To  time.Time
}

// Hourly returns the hourly rollup rows of q (FINAL: each once), by parameter and hour.
func (a *Archive) Hourly(t testing.TB, q RollupQuery) []Rollup {
	t.Helper()
	conds, args := rollupConds(q)
	if !q.From.IsZero() {
		conds, args = append(conds, "hour >= toDateTime(?)"), append(args, q.From.Unix())
	}
	if !q.To.IsZero() {
		conds, args = append(conds, "hour < toDateTime(?)"), append(args, q.To.Unix())
	}
	return a.rollups(t, `SELECT site, parameter, unit, hour, samples, valid, toUInt8(0), value_sum, value_min, value_max, last_value, last_at
FROM `+a.Table(store.TableReadingsHourly)+` FINAL WHERE `+strings.Join(conds, " AND ")+`
ORDER BY parameter, hour`, args)
}

// Daily returns the daily rollup rows of q (FINAL: each once), by parameter and day.
func (a *Archive) Daily(t testing.TB, q RollupQuery) []Rollup {
	t.Helper()
	conds, args := rollupConds(q)
	if !q.From.IsZero() {
		conds, args = append(conds, "day >= toDate(?)"), append(args, q.From.Format("2006-01-02"))
	}
	if !q.To.IsZero() {
		conds, args = append(conds, "day < toDate(?)"), append(args, q.To.Format("2006-01-02"))
	}
	return a.rollups(t, `SELECT site, parameter, unit, toDateTime(day, 'UTC'), samples, valid, hours, value_sum, value_min, value_max, last_value, last_at
FROM `+a.Table(store.TableReadingsDaily)+` FINAL WHERE `+strings.Join(conds, " AND ")+`
ORDER BY parameter, day`, args)
}

// rollupConds selects the site and parameter. A test's query may bind its strings and
// integers with clickhouse-go (which writes them into the text: see store.Reader).
func rollupConds(q RollupQuery) ([]string, []any) {
	conds, args := []string{"site = ?"}, []any{q.Site}
	if q.Parameter != "" {
		conds, args = append(conds, "parameter = ?"), append(args, q.Parameter)
	}
	return conds, args
}

func (a *Archive) rollups(t testing.TB, query string, args []any) []Rollup {
	t.Helper()
	rows, err := a.Conn.Query(context.Background(), query, args...)
	if err != nil {
		t.Fatalf("rollups: %v", err)
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
			t.Fatalf("rollups: %v", err)
		}
		r.Hours = int(hours)
		r.Start, r.LastAt = r.Start.UTC(), r.LastAt.UTC()
		if r.Valid > 0 {
			r.Mean = r.Sum / float64(r.Valid)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("rollups: %v", err)
	}
	return out
}

// RollupSnapshot returns the hourly and daily rollup rows of every site Readings
// generates: what must not change when a batch is replayed.
func (a *Archive) RollupSnapshot(t testing.TB) (hourly, daily []Rollup) {
	t.Helper()
	for _, site := range Sites {
		hourly = append(hourly, a.Hourly(t, RollupQuery{Site: site})...)
		daily = append(daily, a.Daily(t, RollupQuery{Site: site})...)
	}
	return hourly, daily
}
