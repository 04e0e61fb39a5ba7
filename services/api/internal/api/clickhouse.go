package api

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/store"
)

// CHStore reads the archiver's tables (pkg/store). Every table is a ReplacingMergeTree,
// so queries read with FINAL (or pick the newest row with argMax) to see each record once.
//
// Values are written into the SQL as literals rather than bound: ids are quoted here, times
// are Unix seconds, and everything that reaches a query was validated by the handler first
// (site ids from the network, parameter codes from pkg/standard, types and statuses from
// fixed lists). Writing `site IN ('a', 'b')` also keeps the primary-key index in use.
type CHStore struct {
	conn   driver.Conn
	schema store.Schema
}

// NewCHStore returns a Store over the archive in database.
func NewCHStore(conn driver.Conn, database string) *CHStore {
	return &CHStore{conn: conn, schema: store.Schema{Database: database}}
}

func (s *CHStore) table(name string) string { return s.schema.Table(name) }

func quote(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

// inList returns "('a', 'b')"; a list of one is written twice so that ClickHouse does not
// read "('a')" as a scalar in parentheses.
func inList(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = quote(v)
	}
	if len(q) == 1 {
		q = append(q, q[0])
	}
	return "(" + strings.Join(q, ", ") + ")"
}

func unix(t time.Time) string { return "toDateTime(" + strconv.FormatInt(t.Unix(), 10) + ")" }

func withMs(t time.Time, ms uint16) time.Time {
	return t.UTC().Add(time.Duration(ms) * time.Millisecond)
}

// Latest implements Store.
func (s *CHStore) Latest(ctx context.Context, sites []string, since time.Time) ([]message.Reading, error) {
	if len(sites) == 0 {
		return nil, nil
	}
	// argMax over (time, version) picks the newest reading of each series and, among copies
	// of one reading, the newest receipt: no FINAL needed.
	q := fmt.Sprintf(`SELECT site, parameter,
    argMax(id, (observed_at, observed_ms, version)), argMax(value, (observed_at, observed_ms, version)),
    argMax(unit, (observed_at, observed_ms, version)), argMax(flag, (observed_at, observed_ms, version)),
    argMax(interval_kind, (observed_at, observed_ms, version)), argMax(source, (observed_at, observed_ms, version)),
    max(observed_at), argMax(observed_ms, (observed_at, observed_ms, version))
FROM %s
WHERE site IN %s AND observed_at >= %s
GROUP BY site, parameter
ORDER BY site, parameter`, s.table(store.TableReadings), inList(sites), unix(since))
	rows, err := s.conn.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("latest readings: %w", err)
	}
	defer rows.Close()
	var out []message.Reading
	for rows.Next() {
		var r message.Reading
		var at time.Time
		var ms uint16
		if err := rows.Scan(&r.Site, &r.Parameter, &r.ID, &r.Value, &r.Unit, &r.Flag, &r.Interval, &r.Source, &at, &ms); err != nil {
			return nil, fmt.Errorf("latest readings: %w", err)
		}
		r.ObservedAt = withMs(at, ms)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("latest readings: %w", err)
	}
	return out, nil
}

// Series implements Store: raw readings from readings FINAL, buckets from the rollups.
func (s *CHStore) Series(ctx context.Context, q SeriesQuery) ([]Series, error) {
	where := fmt.Sprintf("site = %s", quote(q.Site))
	if len(q.Parameters) > 0 {
		where += " AND parameter IN " + inList(q.Parameters)
	}
	loc := q.Location
	if loc == nil {
		loc = time.UTC
	}
	limitBy := ""
	if q.Limit > 0 {
		// LIMIT n OFFSET m BY is newer than 18.16: take offset+limit per parameter and skip
		// the offset here.
		limitBy = fmt.Sprintf("LIMIT %d BY parameter", q.Offset+q.Limit)
	}
	var sql string
	switch q.Resolution {
	case ResolutionRaw:
		sql = fmt.Sprintf(`SELECT parameter, unit, observed_at, observed_ms, value,
    ifNull(value_min, value), ifNull(value_max, value), toUInt64(1), flag
FROM %s FINAL
WHERE %s AND observed_at >= %s AND observed_at < %s
ORDER BY parameter, observed_at, observed_ms
%s`, s.table(store.TableReadings), where, unix(q.From), unix(q.To), limitBy)
	case ResolutionHour:
		sql = fmt.Sprintf(`SELECT parameter, unit, hour, toUInt16(0), value_sum / valid, value_min, value_max, valid, ''
FROM %s FINAL
WHERE %s AND hour >= %s AND hour < %s AND valid > 0
ORDER BY parameter, hour
%s`, s.table(store.TableReadingsHourly), where, unix(q.From.Truncate(time.Hour)), unix(q.To), limitBy)
	case ResolutionDay:
		// day is a local date of the archiver's time zone (the network's): read it as a
		// date and place the bucket at that local midnight.
		sql = fmt.Sprintf(`SELECT parameter, unit, toDateTime(day, 'UTC'), toUInt16(0), value_sum / valid, value_min, value_max, valid, ''
FROM %s FINAL
WHERE %s AND day >= toDate(%s) AND day <= toDate(%s) AND valid > 0
ORDER BY parameter, day
%s`, s.table(store.TableReadingsDaily), where, quote(q.From.In(loc).Format("2006-01-02")),
			quote(q.To.Add(-time.Second).In(loc).Format("2006-01-02")), limitBy)
	default:
		return nil, fmt.Errorf("series: unknown resolution %q", q.Resolution)
	}
	rows, err := s.conn.Query(ctx, sql)
	if err != nil {
		return nil, fmt.Errorf("series %s %s: %w", q.Site, q.Resolution, err)
	}
	defer rows.Close()
	var out []Series
	skipped := 0
	for rows.Next() {
		var (
			param, unit, flag string
			t                 time.Time
			ms                uint16
			p                 Point
		)
		if err := rows.Scan(&param, &unit, &t, &ms, &p.Value, &p.Min, &p.Max, &p.Count, &flag); err != nil {
			return nil, fmt.Errorf("series %s: %w", q.Site, err)
		}
		if len(out) == 0 || out[len(out)-1].Parameter != param {
			out = append(out, Series{Parameter: param, Unit: unit})
			skipped = 0
		}
		if skipped < q.Offset {
			skipped++
			continue
		}
		p.T, p.Flag = withMs(t, ms), flag
		if q.Resolution == ResolutionDay {
			u := t.UTC()
			p.T = time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, loc).UTC()
		}
		last := &out[len(out)-1]
		last.Points = append(last.Points, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("series %s: %w", q.Site, err)
	}
	return out, nil
}

const eventColumns = `id, type, site, river, parameter, value, limit_value, target_class, class, multiple,
    severity, reason, observed_at, observed_ms, emitted_at, reading_id, reading_received_at,
    origin_site, origin_event_id, arrival_at, predicted_value, distance_km`

func scanEvents(rows driver.Rows) ([]message.Event, error) {
	var out []message.Event
	for rows.Next() {
		var (
			e        message.Event
			obs      time.Time
			ms       uint16
			rra, arr *time.Time
		)
		if err := rows.Scan(&e.ID, &e.Type, &e.Site, &e.River, &e.Parameter, &e.Value, &e.Limit, &e.TargetClass,
			&e.Class, &e.Multiple, &e.Severity, &e.Reason, &obs, &ms, &e.EmittedAt, &e.ReadingID, &rra,
			&e.OriginSite, &e.OriginEventID, &arr, &e.PredictedValue, &e.DistanceKm); err != nil {
			return nil, err
		}
		e.ObservedAt = withMs(obs, ms)
		e.EmittedAt = e.EmittedAt.UTC()
		if rra != nil {
			e.ReadingReceivedAt = rra.UTC()
		}
		if arr != nil {
			e.ArrivalAt = arr.UTC()
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Events implements Store.
func (s *CHStore) Events(ctx context.Context, q EventQuery) ([]message.Event, error) {
	if q.Sites != nil && len(q.Sites) == 0 {
		return nil, nil
	}
	where := fmt.Sprintf("observed_at >= %s AND observed_at < %s", unix(q.From), unix(q.To))
	if q.Sites != nil {
		where += " AND site IN " + inList(q.Sites)
	}
	if len(q.Types) > 0 {
		where += " AND type IN " + inList(q.Types)
	}
	sql := fmt.Sprintf("SELECT %s FROM %s FINAL WHERE %s ORDER BY observed_at DESC, observed_ms DESC, id LIMIT %d, %d",
		eventColumns, s.table(store.TableEvents), where, q.Offset, limitOr(q.Limit))
	rows, err := s.conn.Query(ctx, sql)
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	defer rows.Close()
	out, err := scanEvents(rows)
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	return out, nil
}

func limitOr(n int) int {
	if n <= 0 {
		return 1 << 30
	}
	return n
}

// OpenExceedances implements Store: the newest exceedance event of each series, kept when
// it is not a clearing.
func (s *CHStore) OpenExceedances(ctx context.Context, sites []string) ([]message.Event, error) {
	if len(sites) == 0 {
		return nil, nil
	}
	types := inList([]string{message.EventExceedanceOpened, message.EventExceedanceUpdated, message.EventExceedanceCleared})
	sql := fmt.Sprintf(`SELECT %s FROM %s FINAL
WHERE id IN (
    SELECT argMax(id, (observed_at, observed_ms, emitted_at, type = %s))
    FROM %s
    WHERE site IN %s AND type IN %s
    GROUP BY site, parameter
) AND type != %s
ORDER BY site, parameter`,
		eventColumns, s.table(store.TableEvents),
		// A clearing and an update at the same instant: the clearing is the newer state.
		quote(message.EventExceedanceCleared),
		s.table(store.TableEvents), inList(sites), types, quote(message.EventExceedanceCleared))
	rows, err := s.conn.Query(ctx, sql)
	if err != nil {
		return nil, fmt.Errorf("open exceedances: %w", err)
	}
	defer rows.Close()
	out, err := scanEvents(rows)
	if err != nil {
		return nil, fmt.Errorf("open exceedances: %w", err)
	}
	return out, nil
}

func scanIncidents(rows driver.Rows) ([]message.Incident, error) {
	var out []message.Incident
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, err
		}
		var inc message.Incident
		if err := json.Unmarshal([]byte(doc), &inc); err != nil {
			return nil, fmt.Errorf("decode incident document: %w", err)
		}
		out = append(out, inc)
	}
	return out, rows.Err()
}

// Incidents implements Store.
func (s *CHStore) Incidents(ctx context.Context, q IncidentQuery) ([]message.Incident, error) {
	if q.Jurisdictions != nil && len(q.Jurisdictions) == 0 {
		return nil, nil
	}
	var conds []string
	if len(q.Statuses) > 0 {
		conds = append(conds, "status IN "+inList(q.Statuses))
	}
	if q.Jurisdictions != nil {
		js := make([]string, len(q.Jurisdictions))
		for i, j := range q.Jurisdictions {
			js[i] = quote(j)
		}
		conds = append(conds, "arrayExists(j -> has(["+strings.Join(js, ", ")+"], j), jurisdictions)")
	}
	where := ""
	if len(conds) > 0 {
		where = "WHERE " + strings.Join(conds, " AND ")
	}
	sql := fmt.Sprintf("SELECT doc FROM %s FINAL %s ORDER BY opened_at DESC, id LIMIT %d, %d",
		s.table(store.TableIncidents), where, q.Offset, limitOr(q.Limit))
	rows, err := s.conn.Query(ctx, sql)
	if err != nil {
		return nil, fmt.Errorf("incidents: %w", err)
	}
	defer rows.Close()
	out, err := scanIncidents(rows)
	if err != nil {
		return nil, fmt.Errorf("incidents: %w", err)
	}
	return out, nil
}

// Incident implements Store.
func (s *CHStore) Incident(ctx context.Context, id string) (message.Incident, error) {
	rows, err := s.conn.Query(ctx, fmt.Sprintf("SELECT doc FROM %s FINAL WHERE id = %s", s.table(store.TableIncidents), quote(id)))
	if err != nil {
		return message.Incident{}, fmt.Errorf("incident %s: %w", id, err)
	}
	defer rows.Close()
	list, err := scanIncidents(rows)
	if err != nil {
		return message.Incident{}, fmt.Errorf("incident %s: %w", id, err)
	}
	if len(list) == 0 {
		return message.Incident{}, ErrNotFound
	}
	return list[0], nil
}

const logColumns = "id, incident_id, version, at, at_ms, actor, action, detail, command_id"

func (s *CHStore) logEntries(ctx context.Context, where string) ([]message.LogEntry, error) {
	rows, err := s.conn.Query(ctx, fmt.Sprintf("SELECT %s FROM %s FINAL WHERE %s ORDER BY at, at_ms, version, id",
		logColumns, s.table(store.TableIncidentLog), where))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []message.LogEntry
	for rows.Next() {
		var e message.LogEntry
		var ms uint16
		if err := rows.Scan(&e.ID, &e.IncidentID, &e.Version, &e.At, &ms, &e.Actor, &e.Action, &e.Detail, &e.CommandID); err != nil {
			return nil, err
		}
		e.At = withMs(e.At, ms)
		out = append(out, e)
	}
	return out, rows.Err()
}

// IncidentLog implements Store.
func (s *CHStore) IncidentLog(ctx context.Context, id string) ([]message.LogEntry, error) {
	out, err := s.logEntries(ctx, "incident_id = "+quote(id))
	if err != nil {
		return nil, fmt.Errorf("incident log %s: %w", id, err)
	}
	return out, nil
}

// CommandLog implements Store.
func (s *CHStore) CommandLog(ctx context.Context, commandID string) (message.LogEntry, error) {
	out, err := s.logEntries(ctx, "command_id = "+quote(commandID))
	if err != nil {
		return message.LogEntry{}, fmt.Errorf("command log %s: %w", commandID, err)
	}
	if len(out) == 0 {
		return message.LogEntry{}, ErrNotFound
	}
	return out[len(out)-1], nil
}

// Notifications implements Store.
func (s *CHStore) Notifications(ctx context.Context, id string) ([]message.Notification, error) {
	rows, err := s.conn.Query(ctx, fmt.Sprintf(`SELECT id, key, incident_id, step_id, kind, channel, recipient, subject, body,
    attempt, status, error, drill, at, at_ms
FROM %s FINAL WHERE incident_id = %s ORDER BY at, at_ms, key, attempt`, s.table(store.TableNotifications), quote(id)))
	if err != nil {
		return nil, fmt.Errorf("notifications %s: %w", id, err)
	}
	defer rows.Close()
	var out []message.Notification
	for rows.Next() {
		var (
			n       message.Notification
			attempt uint32
			drill   uint8
			ms      uint16
		)
		if err := rows.Scan(&n.ID, &n.Key, &n.IncidentID, &n.StepID, &n.Kind, &n.Channel, &n.Recipient, &n.Subject,
			&n.Body, &attempt, &n.Status, &n.Error, &drill, &n.At, &ms); err != nil {
			return nil, fmt.Errorf("notifications %s: %w", id, err)
		}
		n.Attempt, n.Drill, n.At = int(attempt), drill == 1, withMs(n.At, ms)
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("notifications %s: %w", id, err)
	}
	return out, nil
}

// MonthlyMeans implements Store from the daily rollup, whose days are local days of the
// archiver's time zone (the network's): a local month is a set of whole days. The range is
// taken in whole days: the day of From through the day before To's day end.
func (s *CHStore) MonthlyMeans(ctx context.Context, q MeansQuery) ([]MonthlyMean, error) {
	if len(q.Sites) == 0 {
		return nil, nil
	}
	loc := q.Location
	if loc == nil {
		loc = time.UTC
	}
	first := q.From.In(loc).Format("2006-01-02")
	last := q.To.Add(-time.Second).In(loc).Format("2006-01-02")
	sql := fmt.Sprintf(`SELECT site, parameter, toStartOfMonth(day) AS m, sum(value_sum) / sum(valid), sum(valid)
FROM %s FINAL
WHERE site IN %s AND day >= toDate(%s) AND day <= toDate(%s) AND valid > 0
GROUP BY site, parameter, m
ORDER BY site, parameter, m`, s.table(store.TableReadingsDaily), inList(q.Sites), quote(first), quote(last))
	rows, err := s.conn.Query(ctx, sql)
	if err != nil {
		return nil, fmt.Errorf("monthly means: %w", err)
	}
	defer rows.Close()
	var out []MonthlyMean
	for rows.Next() {
		var m MonthlyMean
		var month time.Time
		if err := rows.Scan(&m.Site, &m.Parameter, &month, &m.Mean, &m.Count); err != nil {
			return nil, fmt.Errorf("monthly means: %w", err)
		}
		m.Month = time.Date(month.Year(), month.Month(), 1, 0, 0, 0, 0, loc)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("monthly means: %w", err)
	}
	return out, nil
}

// Watermark implements Store with row counts and the newest event time: cheap aggregates
// that change whenever the archiver inserts (and, harmlessly, when a merge removes copies).
func (s *CHStore) Watermark(ctx context.Context) (Watermark, error) {
	var w Watermark
	sql := fmt.Sprintf(`SELECT (SELECT count() FROM %s), (SELECT max(emitted_at) FROM %s),
    (SELECT count() FROM %s), (SELECT count() FROM %s)`,
		s.table(store.TableEvents), s.table(store.TableEvents),
		s.table(store.TableIncidents), s.table(store.TableIncidentLog))
	if err := s.conn.QueryRow(ctx, sql).Scan(&w.Events, &w.EventsAt, &w.Incidents, &w.Log); err != nil {
		return w, fmt.Errorf("watermark: %w", err)
	}
	return w, nil
}
