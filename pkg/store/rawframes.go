package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
)

// RawFrameQuery selects the accepted HJ 212 frames of one site whose DataTime is in
// [From, To).
type RawFrameQuery struct {
	Site     string
	From, To time.Time
	Limit    int // 0: no limit
}

func (r *Reader) rawFramesSQL(q RawFrameQuery) string {
	return fmt.Sprintf(`SELECT id, site, mn, qn, cn, data_time, received_at, received_ms, remote, raw, reading_ids
FROM %s FINAL
WHERE site = %s AND data_time >= %s AND data_time < %s
ORDER BY data_time, id LIMIT %d`,
		r.table(TableRawFrames), quoteString(q.Site), unix(q.From), unix(q.To), limitOr(q.Limit))
}

// RawFrames returns the frames q selects, oldest DataTime first; a frame received twice
// is one row (FINAL: the same id).
func (r *Reader) RawFrames(ctx context.Context, q RawFrameQuery) ([]message.RawFrame, error) {
	rows, err := r.conn.Query(ctx, r.rawFramesSQL(q))
	if err != nil {
		return nil, fmt.Errorf("raw frames of %s: %w", q.Site, err)
	}
	defer rows.Close()
	var out []message.RawFrame
	for rows.Next() {
		var (
			f  message.RawFrame
			at time.Time
			ms uint16
		)
		if err := rows.Scan(&f.ID, &f.Site, &f.MN, &f.QN, &f.CN, &f.DataTime, &at, &ms, &f.Remote, &f.Raw, &f.ReadingIDs); err != nil {
			return nil, fmt.Errorf("raw frames of %s: %w", q.Site, err)
		}
		f.DataTime, f.ReceivedAt = f.DataTime.UTC(), withMs(at, ms)
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("raw frames of %s: %w", q.Site, err)
	}
	return out, nil
}

// ExpiredRawFramePartitions returns the monthly partitions (YYYYMM) of raw_frames whose
// every DataTime is older than days before now: the months that ended before the cutoff's.
func ExpiredRawFramePartitions(partitions []string, now time.Time, days int) []string {
	if days <= 0 {
		return nil
	}
	cut := now.UTC().AddDate(0, 0, -days)
	month := cut.Year()*100 + int(cut.Month())
	var out []string
	for _, p := range partitions {
		n, err := strconv.Atoi(p)
		if err != nil || n >= month {
			continue
		}
		out = append(out, p)
	}
	return out
}

// DropExpiredRawFrames keeps raw_frames to Schema.RawFramesRetentionDays on a server
// without TTL (ClickHouse 18.16): it drops the monthly partitions wholly older than the
// retention and returns them. With TTL (the table's own) or no retention it does nothing.
func (w *Writer) DropExpiredRawFrames(ctx context.Context, now time.Time) ([]string, error) {
	s := w.schema
	if s.Features.TTL || s.RawFramesRetentionDays <= 0 {
		return nil, nil
	}
	local := s.local(rawFramesTable)
	q := fmt.Sprintf("SELECT DISTINCT partition FROM system.parts WHERE database = %s AND table = %s AND active",
		quoteString(s.Database), quoteString(local))
	rows, err := w.conn.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("raw frames retention: %w", err)
	}
	var parts []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			rows.Close()
			return nil, fmt.Errorf("raw frames retention: %w", err)
		}
		parts = append(parts, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("raw frames retention: %w", err)
	}
	expired := ExpiredRawFramePartitions(parts, now, s.RawFramesRetentionDays)
	for _, p := range expired {
		stmt := fmt.Sprintf("ALTER TABLE %s%s DROP PARTITION %s", s.Table(local), s.onCluster(), p)
		if err := w.conn.Exec(ctx, stmt); err != nil {
			return nil, fmt.Errorf("raw frames retention: drop partition %s: %w", p, err)
		}
		w.log.Info("raw frames dropped", "partition", p, "retention_days", s.RawFramesRetentionDays)
	}
	return expired, nil
}
