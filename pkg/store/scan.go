package store

import (
	"context"
	"fmt"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
)

// ScanQuery selects the readings a replay of history reads: [From, To), of the given sites
// (all sites when empty).
type ScanQuery struct {
	From, To time.Time
	Sites    []string
}

// scanSQL reads readings FINAL (each reading once, its newest copy) in the order they were
// observed, the order the assessor's engine judges them in.
func (r *Reader) scanSQL(q ScanQuery) string {
	where := fmt.Sprintf("observed_at >= %s AND observed_at < %s", unix(q.From), unix(q.To))
	if len(q.Sites) > 0 {
		where += " AND site IN " + inList(q.Sites)
	}
	return fmt.Sprintf(`SELECT id, site, station, parameter, value, unit, value_min, value_max, interval_kind, flag,
    observed_at, observed_ms, received_at, source, below_dl
FROM %s FINAL
WHERE %s
ORDER BY observed_at, observed_ms, site, parameter`, r.table(TableReadings), where)
}

// ScanReadings streams the readings of q to fn in observation order, without holding
// them: a backtest over months reads millions. An error from fn stops the scan.
func (r *Reader) ScanReadings(ctx context.Context, q ScanQuery, fn func(message.Reading) error) error {
	rows, err := r.conn.Query(ctx, r.scanSQL(q))
	if err != nil {
		return fmt.Errorf("scan readings: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var rd message.Reading
		var obs, rec time.Time
		var ms uint16
		var belowDL uint8
		if err := rows.Scan(&rd.ID, &rd.Site, &rd.Station, &rd.Parameter, &rd.Value, &rd.Unit, &rd.Min, &rd.Max,
			&rd.Interval, &rd.Flag, &obs, &ms, &rec, &rd.Source, &belowDL); err != nil {
			return fmt.Errorf("scan readings: %w", err)
		}
		rd.BelowDL = belowDL == 1
		rd.ObservedAt = withMs(obs, ms)
		rd.ReceivedAt = rec.UTC()
		if err := fn(rd); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("scan readings: %w", err)
	}
	return nil
}
