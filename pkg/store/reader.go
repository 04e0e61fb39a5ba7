package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/riverwatch/riverwatch/pkg/message"
)

// Reader is riverwatch's one reader of the archive: the api reads through it (behind its
// own small Store interface) and the benchmark times its queries. Every table is a
// ReplacingMergeTree, so queries read with FINAL, or pick the newest row with argMax, to
// see each record once however often it was written (see doc.go).
//
// # Why the SQL is text
//
// Each query is built as one string by a builder of its own (latestSQL, seriesSQL, …,
// rendered into testdata/sql by the golden test) and sent without arguments. ClickHouse
// 18.16, the oldest server riverwatch supports, has no server-side query parameters (the
// native protocol carries them from revision 54459, a 22.x server), so clickhouse-go's `?`
// binding would substitute text in the client anyway — and it writes a time with a
// fraction of a second as toDateTime64, which 18.16 does not have. Writing the literals
// here keeps them under our control:
//
//   - strings (site ids, parameter codes, event types, statuses, incident and command
//     ids) are quoted by quoteString, which escapes the backslash and the single quote;
//     identifiers (database, table) by quoteIdent, through Schema.Table;
//   - times are whole Unix seconds, toDateTime(<n>) — the columns' precision; the
//     milliseconds of a record are in its *_ms column — and local dates 'YYYY-MM-DD';
//   - limits and offsets are Go ints, written with strconv/%d.
//
// Everything that reaches a query was also validated by the api's handler first (site ids
// from the network, parameter codes from pkg/standard, types and statuses from fixed
// lists). Writing `site IN ('a', 'b')` as literals also keeps the primary-key index in use.
type Reader struct {
	conn Conn
	s    Schema
}

// NewReader returns a Reader of the archive in database.
func NewReader(conn Conn, database string) *Reader {
	return &Reader{conn: conn, s: Schema{Database: database}}
}

func (r *Reader) table(name string) string { return r.s.Table(name) }

// inList returns "('a', 'b')"; a list of one is written twice so that ClickHouse does not
// read "('a')" as a scalar in parentheses.
func inList(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = quoteString(v)
	}
	if len(q) == 1 {
		q = append(q, q[0])
	}
	return "(" + strings.Join(q, ", ") + ")"
}

// unix writes a time as the DateTime of its whole second.
func unix(t time.Time) string { return "toDateTime(" + strconv.FormatInt(t.Unix(), 10) + ")" }

func withMs(t time.Time, ms uint16) time.Time {
	return t.UTC().Add(time.Duration(ms) * time.Millisecond)
}

func locationOr(loc *time.Location) *time.Location {
	if loc == nil {
		return time.UTC
	}
	return loc
}

func limitOr(n int) int {
	if n <= 0 {
		return 1 << 30
	}
	return n
}

// latestSQL: argMax over (time, version) picks the newest reading of each series and,
// among copies of one reading, the first receipt (store.ReadingVersion): no FINAL needed.
func (r *Reader) latestSQL(sites []string, since time.Time) string {
	return fmt.Sprintf(`SELECT site, parameter,
    argMax(id, (observed_at, observed_ms, version)), argMax(value, (observed_at, observed_ms, version)),
    argMax(unit, (observed_at, observed_ms, version)), argMax(flag, (observed_at, observed_ms, version)),
    argMax(interval_kind, (observed_at, observed_ms, version)), argMax(source, (observed_at, observed_ms, version)),
    max(observed_at), argMax(observed_ms, (observed_at, observed_ms, version)),
    argMax(below_dl, (observed_at, observed_ms, version)), max(received_at)
FROM %s
WHERE site IN %s AND observed_at >= %s
GROUP BY site, parameter
ORDER BY site, parameter`, r.table(TableReadings), inList(sites), unix(since))
}

// Latest returns the most recent reading of every (site, parameter) of the given sites
// observed at or after since, ordered by site and parameter. Its ReceivedAt is when a
// reading of the pair last arrived, which may be later than the newest one's (a back-fill).
func (r *Reader) Latest(ctx context.Context, sites []string, since time.Time) ([]message.Reading, error) {
	if len(sites) == 0 {
		return nil, nil
	}
	rows, err := r.conn.Query(ctx, r.latestSQL(sites, since))
	if err != nil {
		return nil, fmt.Errorf("latest readings: %w", err)
	}
	defer rows.Close()
	var out []message.Reading
	for rows.Next() {
		var rd message.Reading
		var at time.Time
		var ms uint16
		var belowDL uint8
		if err := rows.Scan(&rd.Site, &rd.Parameter, &rd.ID, &rd.Value, &rd.Unit, &rd.Flag, &rd.Interval, &rd.Source, &at, &ms, &belowDL, &rd.ReceivedAt); err != nil {
			return nil, fmt.Errorf("latest readings: %w", err)
		}
		rd.ObservedAt, rd.BelowDL = withMs(at, ms), belowDL == 1
		out = append(out, rd)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("latest readings: %w", err)
	}
	return out, nil
}

// SeriesSQL returns the one query Series sends for q: raw readings from readings FINAL,
// buckets from the hourly or daily rollup. The benchmark sends it straight to ClickHouse
// to measure what the api adds.
func (r *Reader) SeriesSQL(q SeriesQuery) (string, error) {
	where := fmt.Sprintf("site = %s", quoteString(q.Site))
	if len(q.Parameters) > 0 {
		where += " AND parameter IN " + inList(q.Parameters)
	}
	loc := locationOr(q.Location)
	limitBy := ""
	if q.Limit > 0 {
		// LIMIT n OFFSET m BY is newer than 18.16: take offset+limit per parameter and skip
		// the offset in Series.
		limitBy = fmt.Sprintf("LIMIT %d BY parameter", q.Offset+q.Limit)
	}
	if q.MaxRows > 0 {
		// The offset's rows are read too (and skipped in SeriesEach).
		limitBy = strings.TrimPrefix(limitBy+fmt.Sprintf("\nLIMIT %d", q.MaxRows), "\n")
	}
	switch q.Resolution {
	case ResolutionRaw:
		return fmt.Sprintf(`SELECT parameter, unit, observed_at, observed_ms, value,
    ifNull(value_min, value), ifNull(value_max, value), toUInt64(1), flag, below_dl
FROM %s FINAL
WHERE %s AND observed_at >= %s AND observed_at < %s
ORDER BY parameter, observed_at, observed_ms
%s`, r.table(TableReadings), where, unix(q.From), unix(q.To), limitBy), nil
	case ResolutionHour:
		return fmt.Sprintf(`SELECT parameter, unit, hour, toUInt16(0), value_sum / valid, value_min, value_max, valid, '', toUInt8(0)
FROM %s FINAL
WHERE %s AND hour >= %s AND hour < %s AND valid > 0
ORDER BY parameter, hour
%s`, r.table(TableReadingsHourly), where, unix(q.From.Truncate(time.Hour)), unix(q.To), limitBy), nil
	case ResolutionDay:
		// day is a local date of the archiver's time zone (the network's): read it as a
		// date and place the bucket at that local midnight.
		return fmt.Sprintf(`SELECT parameter, unit, toDateTime(day, 'UTC'), toUInt16(0), value_sum / valid, value_min, value_max, valid, '', toUInt8(0)
FROM %s FINAL
WHERE %s AND day >= toDate(%s) AND day <= toDate(%s) AND valid > 0
ORDER BY parameter, day
%s`, r.table(TableReadingsDaily), where, quoteString(q.From.In(loc).Format("2006-01-02")),
			quoteString(q.To.Add(-time.Second).In(loc).Format("2006-01-02")), limitBy), nil
	}
	return "", fmt.Errorf("series: unknown resolution %q", q.Resolution)
}

// Series returns one site's points per parameter over [From, To) at a resolution, each
// parameter's oldest first, parameters in code order; Limit and Offset count per
// parameter. Buckets hold valid readings (flag N) only; a bucket without any is absent.
func (r *Reader) Series(ctx context.Context, q SeriesQuery) ([]Series, error) {
	var out []Series
	err := r.scanSeries(ctx, q, func(param, unit string) {
		out = append(out, Series{Parameter: param, Unit: unit})
	}, func(_, _ string, p Point) error {
		last := &out[len(out)-1]
		last.Points = append(last.Points, p)
		return nil
	})
	return out, err
}

// SeriesEach streams what Series answers, one point at a time in the same order, without
// holding the answer: the api's CSV export writes each row as it is read. An error from
// fn stops the query and is returned as it is.
func (r *Reader) SeriesEach(ctx context.Context, q SeriesQuery, fn func(parameter, unit string, p Point) error) error {
	return r.scanSeries(ctx, q, func(string, string) {}, fn)
}

// scanSeries runs q, telling each parameter as its first row arrives (even when the
// offset skips all its rows) and each point after the offset.
func (r *Reader) scanSeries(ctx context.Context, q SeriesQuery, param func(parameter, unit string), fn func(parameter, unit string, p Point) error) error {
	sql, err := r.SeriesSQL(q)
	if err != nil {
		return err
	}
	loc := locationOr(q.Location)
	rows, err := r.conn.Query(ctx, sql)
	if err != nil {
		return fmt.Errorf("series %s %s: %w", q.Site, q.Resolution, err)
	}
	defer rows.Close()
	current, skipped := "", 0
	for rows.Next() {
		var (
			name, unit, flag string
			t                time.Time
			ms               uint16
			belowDL          uint8
			p                Point
		)
		if err := rows.Scan(&name, &unit, &t, &ms, &p.Value, &p.Min, &p.Max, &p.Count, &flag, &belowDL); err != nil {
			return fmt.Errorf("series %s: %w", q.Site, err)
		}
		if name != current {
			current, skipped = name, 0
			param(name, unit)
		}
		if skipped < q.Offset {
			skipped++
			continue
		}
		p.T, p.Flag, p.BelowDL = withMs(t, ms), flag, belowDL == 1
		if q.Resolution == ResolutionDay {
			u := t.UTC()
			p.T = time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, loc).UTC()
		}
		if err := fn(name, unit, p); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("series %s: %w", q.Site, err)
	}
	return nil
}

const eventColumns = `id, type, site, river, parameter, value, limit_value, target_class, class, multiple,
    severity, reason, observed_at, observed_ms, emitted_at, reading_id, reading_received_at,
    origin_site, origin_event_id, arrival_at, predicted_value, distance_km,
    verification_outcome, verification_threshold, rise_at, peak_at, fall_at,
    rise_error_s, peak_time_error_s, peak_error, duration_error_s`

func scanEvents(rows driver.Rows) ([]message.Event, error) {
	var out []message.Event
	for rows.Next() {
		var (
			e        message.Event
			obs      time.Time
			ms       uint16
			rra, arr *time.Time
			v        message.Verification
			vr, vp   *time.Time
			vf       *time.Time
		)
		if err := rows.Scan(&e.ID, &e.Type, &e.Site, &e.River, &e.Parameter, &e.Value, &e.Limit, &e.TargetClass,
			&e.Class, &e.Multiple, &e.Severity, &e.Reason, &obs, &ms, &e.EmittedAt, &e.ReadingID, &rra,
			&e.OriginSite, &e.OriginEventID, &arr, &e.PredictedValue, &e.DistanceKm,
			&v.Outcome, &v.Threshold, &vr, &vp, &vf, &v.RiseErrorS, &v.PeakTimeErrorS, &v.PeakError, &v.DurationErrorS); err != nil {
			return nil, err
		}
		if v.Outcome != "" {
			// Its times to the second, as the columns keep them; the peak is the value.
			v.Peak = e.Value
			for _, p := range []struct {
				dst *time.Time
				src *time.Time
			}{{&v.RiseAt, vr}, {&v.PeakAt, vp}, {&v.FallAt, vf}} {
				if p.src != nil {
					*p.dst = p.src.UTC()
				}
			}
			e.Verification = v
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

func (r *Reader) eventsSQL(q EventQuery) string {
	where := fmt.Sprintf("observed_at >= %s AND observed_at < %s", unix(q.From), unix(q.To))
	if q.Sites != nil {
		where += " AND site IN " + inList(q.Sites)
	}
	if len(q.Types) > 0 {
		where += " AND type IN " + inList(q.Types)
	}
	return fmt.Sprintf("SELECT %s FROM %s FINAL WHERE %s ORDER BY observed_at DESC, observed_ms DESC, id LIMIT %d, %d",
		eventColumns, r.table(TableEvents), where, q.Offset, limitOr(q.Limit))
}

// Events returns the events observed in [From, To), newest first (ties by id).
func (r *Reader) Events(ctx context.Context, q EventQuery) ([]message.Event, error) {
	if q.Sites != nil && len(q.Sites) == 0 {
		return nil, nil
	}
	rows, err := r.conn.Query(ctx, r.eventsSQL(q))
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

func (r *Reader) openExceedancesSQL(sites []string) string {
	types := inList([]string{message.EventExceedanceOpened, message.EventExceedanceUpdated, message.EventExceedanceCleared})
	return fmt.Sprintf(`SELECT %s FROM %s FINAL
WHERE id IN (
    SELECT argMax(id, (observed_at, observed_ms, emitted_at, type = %s))
    FROM %s
    WHERE site IN %s AND type IN %s
    GROUP BY site, parameter
) AND type != %s
ORDER BY site, parameter`,
		eventColumns, r.table(TableEvents),
		// A clearing and an update at the same instant: the clearing is the newer state.
		quoteString(message.EventExceedanceCleared),
		r.table(TableEvents), inList(sites), types, quoteString(message.EventExceedanceCleared))
}

// OpenExceedances returns, for each (site, parameter) of the given sites whose newest
// exceedance event is not exceedance.cleared, that newest event, ordered by site and
// parameter. A clearing at the same instant as an update wins.
func (r *Reader) OpenExceedances(ctx context.Context, sites []string) ([]message.Event, error) {
	if len(sites) == 0 {
		return nil, nil
	}
	rows, err := r.conn.Query(ctx, r.openExceedancesSQL(sites))
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

func (r *Reader) incidentsSQL(q IncidentQuery) string {
	var conds []string
	if len(q.Statuses) > 0 {
		conds = append(conds, "status IN "+inList(q.Statuses))
	}
	if q.Jurisdictions != nil {
		js := make([]string, len(q.Jurisdictions))
		for i, j := range q.Jurisdictions {
			js[i] = quoteString(j)
		}
		conds = append(conds, "arrayExists(j -> has(["+strings.Join(js, ", ")+"], j), jurisdictions)")
	}
	where := ""
	if len(conds) > 0 {
		where = "WHERE " + strings.Join(conds, " AND ")
	}
	return fmt.Sprintf("SELECT doc FROM %s FINAL %s ORDER BY opened_at DESC, id LIMIT %d, %d",
		r.table(TableIncidents), where, q.Offset, limitOr(q.Limit))
}

// Incidents returns the latest snapshot of each incident, newest opened first (ties by id).
func (r *Reader) Incidents(ctx context.Context, q IncidentQuery) ([]message.Incident, error) {
	if q.Jurisdictions != nil && len(q.Jurisdictions) == 0 {
		return nil, nil
	}
	rows, err := r.conn.Query(ctx, r.incidentsSQL(q))
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

func (r *Reader) incidentSQL(id string) string {
	return fmt.Sprintf("SELECT doc FROM %s FINAL WHERE id = %s", r.table(TableIncidents), quoteString(id))
}

// Incident returns the latest snapshot of one incident, or ErrNotFound.
func (r *Reader) Incident(ctx context.Context, id string) (message.Incident, error) {
	rows, err := r.conn.Query(ctx, r.incidentSQL(id))
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

func (r *Reader) logSQL(where string) string {
	return fmt.Sprintf("SELECT %s FROM %s FINAL WHERE %s ORDER BY at, at_ms, version, id",
		logColumns, r.table(TableIncidentLog), where)
}

func (r *Reader) incidentLogSQL(id string) string {
	return r.logSQL("incident_id = " + quoteString(id))
}

func (r *Reader) commandLogSQL(commandID string) string {
	return r.logSQL("command_id = " + quoteString(commandID))
}

func (r *Reader) logEntries(ctx context.Context, sql string) ([]message.LogEntry, error) {
	rows, err := r.conn.Query(ctx, sql)
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

// IncidentLog returns an incident's audit trail, oldest first.
func (r *Reader) IncidentLog(ctx context.Context, id string) ([]message.LogEntry, error) {
	out, err := r.logEntries(ctx, r.incidentLogSQL(id))
	if err != nil {
		return nil, fmt.Errorf("incident log %s: %w", id, err)
	}
	return out, nil
}

// CommandLog returns the log entry with which the responder applied (or refused) a
// command — the newest, should there be several — or ErrNotFound while it has not.
func (r *Reader) CommandLog(ctx context.Context, commandID string) (message.LogEntry, error) {
	out, err := r.logEntries(ctx, r.commandLogSQL(commandID))
	if err != nil {
		return message.LogEntry{}, fmt.Errorf("command log %s: %w", commandID, err)
	}
	if len(out) == 0 {
		return message.LogEntry{}, ErrNotFound
	}
	return out[len(out)-1], nil
}

func (r *Reader) notificationsSQL(id string) string {
	return fmt.Sprintf(`SELECT id, key, incident_id, step_id, kind, channel, recipient, subject, body,
    attempt, status, error, drill, at, at_ms
FROM %s FINAL WHERE incident_id = %s ORDER BY at, at_ms, key, attempt`, r.table(TableNotifications), quoteString(id))
}

// Notifications returns an incident's delivery attempts, oldest first.
func (r *Reader) Notifications(ctx context.Context, id string) ([]message.Notification, error) {
	rows, err := r.conn.Query(ctx, r.notificationsSQL(id))
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

func (r *Reader) monthlyMeansSQL(q MeansQuery) string {
	loc := locationOr(q.Location)
	first := q.From.In(loc).Format("2006-01-02")
	last := q.To.Add(-time.Second).In(loc).Format("2006-01-02")
	return fmt.Sprintf(`SELECT site, parameter, toStartOfMonth(day) AS m, sum(value_sum) / sum(valid), sum(valid), min(value_min), max(value_max),
    sum(below_dl), sum(auto_valid), if(sum(auto_valid) > 0, sum(auto_sum) / sum(auto_valid), 0),
    minIf(auto_min, auto_valid > 0), maxIf(auto_max, auto_valid > 0), sum(auto_below_dl)
FROM %s FINAL
WHERE site IN %s AND day >= toDate(%s) AND day <= toDate(%s) AND valid > 0
GROUP BY site, parameter, m
ORDER BY site, parameter, m`, r.table(TableReadingsDaily), inList(q.Sites), quoteString(first), quoteString(last))
}

// MonthlyMeans returns the mean of each (site, parameter) per calendar month of
// q.Location over valid readings, from the daily rollup, whose days are local days of the
// archiver's time zone (the network's): a local month is a set of whole days. The range is
// taken in whole days: the day of From through the day before To's day end.
func (r *Reader) MonthlyMeans(ctx context.Context, q MeansQuery) ([]MonthlyMean, error) {
	if len(q.Sites) == 0 {
		return nil, nil
	}
	loc := locationOr(q.Location)
	rows, err := r.conn.Query(ctx, r.monthlyMeansSQL(q))
	if err != nil {
		return nil, fmt.Errorf("monthly means: %w", err)
	}
	defer rows.Close()
	var out []MonthlyMean
	for rows.Next() {
		var m MonthlyMean
		var month time.Time
		if err := rows.Scan(&m.Site, &m.Parameter, &month, &m.Mean, &m.Count, &m.Min, &m.Max,
			&m.NonDetects, &m.Auto.Count, &m.Auto.Mean, &m.Auto.Min, &m.Auto.Max, &m.Auto.NonDetects); err != nil {
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

func (r *Reader) watermarkSQL() string {
	return fmt.Sprintf(`SELECT (SELECT count() FROM %s), (SELECT max(emitted_at) FROM %s),
    (SELECT count() FROM %s), (SELECT count() FROM %s)`,
		r.table(TableEvents), r.table(TableEvents),
		r.table(TableIncidents), r.table(TableIncidentLog))
}

// Watermark returns row counts and the newest event time: cheap aggregates that change
// whenever the archiver inserts (and, harmlessly, when a merge removes copies), so the api
// can tell dashboards to refresh.
func (r *Reader) Watermark(ctx context.Context) (Watermark, error) {
	var w Watermark
	if err := r.conn.QueryRow(ctx, r.watermarkSQL()).Scan(&w.Events, &w.EventsAt, &w.Incidents, &w.Log); err != nil {
		return w, fmt.Errorf("watermark: %w", err)
	}
	// max() of no rows is the DateTime zero, the Unix epoch.
	if w.EventsAt.Unix() <= 0 {
		w.EventsAt = time.Time{}
	} else {
		w.EventsAt = w.EventsAt.UTC()
	}
	return w, nil
}
