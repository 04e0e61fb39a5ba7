package store

import (
	"context"
	"fmt"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
)

// CorrectionQuery selects the corrections of one site's readings observed in [From, To).
type CorrectionQuery struct {
	Site     string
	From, To time.Time
	Limit    int // 0: no limit
	Offset   int
}

func (r *Reader) correctionsSQL(q CorrectionQuery) string {
	return fmt.Sprintf(`SELECT id, reading_id, site, parameter, interval_kind, observed_at, observed_ms, value, previous,
    reason, actor, actor_role, at, at_ms
FROM %s FINAL
WHERE site = %s AND observed_at >= %s AND observed_at < %s
ORDER BY at DESC, at_ms DESC, id LIMIT %d, %d`, r.table(TableCorrections), quoteString(q.Site), unix(q.From), unix(q.To), q.Offset, limitOr(q.Limit))
}

// Corrections returns the corrections of a site's readings observed in [From, To), the
// latest first: each with who made it, when, why, and the value before and after.
func (r *Reader) Corrections(ctx context.Context, q CorrectionQuery) ([]message.Correction, error) {
	rows, err := r.conn.Query(ctx, r.correctionsSQL(q))
	if err != nil {
		return nil, fmt.Errorf("corrections of %s: %w", q.Site, err)
	}
	defer rows.Close()
	var out []message.Correction
	for rows.Next() {
		var (
			c         message.Correction
			obs, at   time.Time
			oms, atMs uint16
		)
		if err := rows.Scan(&c.ID, &c.Reading.ID, &c.Reading.Site, &c.Reading.Parameter, &c.Reading.Interval, &obs, &oms,
			&c.Reading.Value, &c.Previous, &c.Reason, &c.Actor, &c.ActorRole, &at, &atMs); err != nil {
			return nil, fmt.Errorf("corrections of %s: %w", q.Site, err)
		}
		c.Reading.ObservedAt, c.At = withMs(obs, oms), withMs(at, atMs)
		c.Reading.ReceivedAt, c.Reading.Source = c.At, message.SourceCorrection
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("corrections of %s: %w", q.Site, err)
	}
	return out, nil
}

// CorrectionCount is how many readings of one site observed in one calendar month were
// corrected, and by how many corrections (a reading corrected twice counts once in
// Readings and twice in Corrections).
type CorrectionCount struct {
	Site        string    `json:"site"`
	Month       time.Time `json:"month"` // first instant of the month, in the query's location
	Readings    uint64    `json:"readings"`
	Corrections uint64    `json:"corrections"`
}

func (r *Reader) monthlyCorrectionsSQL(q MeansQuery) string {
	return fmt.Sprintf(`SELECT site, toStartOfMonth(toDate(observed_at, %s)) AS m, uniqExact(reading_id), count()
FROM %s FINAL
WHERE site IN %s AND observed_at >= %s AND observed_at < %s
GROUP BY site, m
ORDER BY site, m`, quoteString(locationOr(q.Location).String()), r.table(TableCorrections), inList(q.Sites), unix(q.From), unix(q.To))
}

// MonthlyCorrections counts the corrected readings of q.Sites observed in [From, To) per
// calendar month of q.Location, for the reports: a report says how many of the values it
// rests on an admin changed (docs/security.md, M5).
func (r *Reader) MonthlyCorrections(ctx context.Context, q MeansQuery) ([]CorrectionCount, error) {
	if len(q.Sites) == 0 {
		return nil, nil
	}
	loc := locationOr(q.Location)
	rows, err := r.conn.Query(ctx, r.monthlyCorrectionsSQL(q))
	if err != nil {
		return nil, fmt.Errorf("monthly corrections: %w", err)
	}
	defer rows.Close()
	var out []CorrectionCount
	for rows.Next() {
		var (
			c     CorrectionCount
			month time.Time
		)
		if err := rows.Scan(&c.Site, &month, &c.Readings, &c.Corrections); err != nil {
			return nil, fmt.Errorf("monthly corrections: %w", err)
		}
		c.Month = time.Date(month.Year(), month.Month(), 1, 0, 0, 0, 0, loc)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("monthly corrections: %w", err)
	}
	return out, nil
}
