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
