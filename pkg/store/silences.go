package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/riverwatch/riverwatch/pkg/silence"
)

// SilenceQuery selects silences.
type SilenceQuery struct {
	// EndsAfter keeps the silences whose ends_at is after it (active and pending ones at
	// that time); zero keeps every silence, expired ones included.
	EndsAfter time.Time
	Limit     int // 0: no limit
}

func (r *Reader) silencesSQL(q SilenceQuery) string {
	where := ""
	if !q.EndsAfter.IsZero() {
		where = "WHERE ends_at > " + unix(q.EndsAfter)
	}
	return fmt.Sprintf("SELECT doc FROM %s FINAL %s ORDER BY starts_at DESC, id LIMIT %d",
		r.table(TableSilences), where, limitOr(q.Limit))
}

func (r *Reader) silenceSQL(id string) string {
	return fmt.Sprintf("SELECT doc FROM %s FINAL WHERE id = %s", r.table(TableSilences), quoteString(id))
}

// Silences returns the latest snapshot of each silence, the latest starting first (ties by
// id).
func (r *Reader) Silences(ctx context.Context, q SilenceQuery) ([]silence.Silence, error) {
	out, err := r.silences(ctx, r.silencesSQL(q))
	if err != nil {
		return nil, fmt.Errorf("silences: %w", err)
	}
	return out, nil
}

// Silence returns the latest snapshot of one silence, or ErrNotFound.
func (r *Reader) Silence(ctx context.Context, id string) (silence.Silence, error) {
	out, err := r.silences(ctx, r.silenceSQL(id))
	if err != nil {
		return silence.Silence{}, fmt.Errorf("silence %s: %w", id, err)
	}
	if len(out) == 0 {
		return silence.Silence{}, ErrNotFound
	}
	return out[0], nil
}

func (r *Reader) silences(ctx context.Context, sql string) ([]silence.Silence, error) {
	rows, err := r.conn.Query(ctx, sql)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []silence.Silence
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, err
		}
		var s silence.Silence
		if err := json.Unmarshal([]byte(doc), &s); err != nil {
			return nil, fmt.Errorf("decode silence document: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
