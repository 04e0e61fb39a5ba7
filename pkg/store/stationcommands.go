package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
)

// StationCommandQuery selects the records of the station commands requested in
// [From, To) of one site, or, when Incident is set instead, those a playbook of that
// incident asked for, at whatever sites (joint monitoring reaches the stations upstream
// and downstream).
type StationCommandQuery struct {
	Site     string
	Incident string
	From, To time.Time
	Limit    int // 0: no limit
}

// scope names what q selects, for the errors.
func (q StationCommandQuery) scope() string {
	if q.Incident != "" {
		return "incident " + q.Incident
	}
	return q.Site
}

func (r *Reader) stationCommandsSQL(q StationCommandQuery) string {
	where := "site = " + quoteString(q.Site)
	if q.Incident != "" {
		where = "incident_id = " + quoteString(q.Incident)
	}
	return fmt.Sprintf(`SELECT id, site, mn, command, rtd_interval_s, min_interval_min, requested_by, requested_role, reason,
    incident_id, ttl_s, at, at_ms, status, status_at, status_ms, gateway, qn, qn_rtn, exe_rtn, attempts, detail,
    pol_id, info_id, report
FROM %s FINAL
WHERE %s AND at >= %s AND at < %s
ORDER BY at DESC, at_ms DESC, id, status_at, status_ms, status, gateway LIMIT %d`,
		r.table(TableStationCommands), where, unix(q.From), unix(q.To), limitOr(q.Limit))
}

// StationCommands returns every record of the station commands q selects: the latest command first, each command's records in the order they were
// made (the request, then what the gateways recorded).
func (r *Reader) StationCommands(ctx context.Context, q StationCommandQuery) ([]message.StationCommand, error) {
	rows, err := r.conn.Query(ctx, r.stationCommandsSQL(q))
	if err != nil {
		return nil, fmt.Errorf("station commands of %s: %w", q.scope(), err)
	}
	defer rows.Close()
	var out []message.StationCommand
	for rows.Next() {
		var (
			c                     message.StationCommand
			rtd, mins, ttl, tries uint32
			at, st                time.Time
			atMs, stMs            uint16
			report                string
		)
		if err := rows.Scan(&c.ID, &c.Site, &c.MN, &c.Command, &rtd, &mins, &c.RequestedBy, &c.RequestedRole, &c.Reason,
			&c.Incident, &ttl, &at, &atMs, &c.Status, &st, &stMs, &c.Gateway, &c.QN, &c.QnRtn, &c.ExeRtn, &tries, &c.Detail,
			&c.PolID, &c.InfoID, &report); err != nil {
			return nil, fmt.Errorf("station commands of %s: %w", q.scope(), err)
		}
		c.RtdInterval, c.MinInterval, c.TTLSeconds, c.Attempts = int(rtd), int(mins), int(ttl), int(tries)
		c.At, c.StatusAt = withMs(at, atMs), withMs(st, stMs)
		if report != "" {
			var rep message.StationReport
			if err := json.Unmarshal([]byte(report), &rep); err != nil {
				return nil, fmt.Errorf("station commands of %s: report of %s: %w", q.scope(), c.ID, err)
			}
			c.Report = &rep
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("station commands of %s: %w", q.scope(), err)
	}
	return out, nil
}
