// Package apitest holds test doubles of the api package: MemStore, an in-memory Store with
// the same semantics as the ClickHouse one, and Applier, a Commander that applies commands
// to a MemStore as the responder would. They serve handler tests and the dashboard's browser
// tests; integration tests use the real ClickHouse store and the real responder.
package apitest

import (
	"context"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/silence"
	"github.com/riverwatch/riverwatch/pkg/store"
	"github.com/riverwatch/riverwatch/services/api/internal/api"
)

// MemStore is an in-memory api.Store. It keeps records as the archive's tables do
// (pkg/store): one row per key, the newest version winning (a tie: the later write), times
// to the precision of their columns, and row counts for the Watermark that include
// replays, as ClickHouse's do until a merge. pkg/store/storetest's conformance suite holds
// it to the ClickHouse Reader's answers. It is safe for concurrent use.
type MemStore struct {
	mu             sync.Mutex
	readings       []message.Reading
	readingAt      map[string]int // reading id → index in readings
	readingVersion []uint64       // store.ReadingVersion or store.CorrectionVersion of readings[i]
	corrections    []message.Correction
	correctionAt   map[string]int // correction id → index in corrections
	stationCmds    []message.StationCommand
	stationCmdAt   map[stationCommandKey]int
	events         []message.Event
	eventAt        map[eventKey]int
	eventVersion   []int64 // emitted_at in ms of events[i]
	eventRows      uint64  // event rows written, replays included
	incidents      map[string]message.Incident
	snapshots      uint64 // incident snapshot rows written
	log            []message.LogEntry
	logAt          map[[2]string]int // (incident id, entry id) → index in log
	logRows        uint64
	notifications  []message.Notification
	notificationAt map[notificationKey]int
	silences       map[string]silence.Silence
	rawFrames      map[string]message.RawFrame // by id
	// Fail, when set, is returned by every read: for error-path tests.
	Fail error
	// Through, when set, is what RollupsThrough answers: rollups rebuilt apart from the
	// raw readings, as the archiver's rollup loop does.
	Through time.Time
}

// eventKey is the events table's ORDER BY key.
type eventKey struct {
	site, typ string
	at        int64 // observed_at, in seconds
	id        string
}

// notificationKey is the notifications table's ORDER BY key.
type notificationKey struct {
	incident, key string
	attempt       int
}

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore {
	return &MemStore{
		incidents: map[string]message.Incident{}, readingAt: map[string]int{}, correctionAt: map[string]int{}, eventAt: map[eventKey]int{},
		logAt: map[[2]string]int{}, notificationAt: map[notificationKey]int{}, silences: map[string]silence.Silence{},
	}
}

var _ api.Store = (*MemStore)(nil)

// The columns' precision: DateTime is whole seconds; observed_ms and at_ms add milliseconds.
func ms(t time.Time) time.Time  { return t.UTC().Truncate(time.Millisecond) }
func sec(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }

// outside tells whether t is outside [from, to) as the queries compare: observed_at (whole
// seconds) with the whole seconds of the bounds.
func outside(t, from, to time.Time) bool {
	return sec(t).Before(sec(from)) || !sec(t).Before(sec(to))
}

// AddReadings stores readings. A reading id stored again replaces the stored copy only
// if it was received earlier: the first receipt stands (store.ReadingVersion).
func (m *MemStore) AddReadings(rs ...message.Reading) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range rs {
		r.ObservedAt, r.ReceivedAt = ms(r.ObservedAt), ms(r.ReceivedAt)
		m.putReading(r, store.ReadingVersion(r.ReceivedAt))
	}
}

// AddCorrections stores corrections as the archiver does: the corrected reading with a
// version above every receipt's (store.CorrectionVersion), and the record.
func (m *MemStore) AddCorrections(cs ...message.Correction) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range cs {
		c.At = ms(c.At)
		r := c.Reading
		r.ObservedAt, r.ReceivedAt, r.Source = ms(r.ObservedAt), c.At, message.SourceCorrection
		if r.ID == "" {
			r.ID = message.ReadingID(r.Site, r.Parameter, r.Interval, r.ObservedAt)
		}
		c.Reading = r
		m.putReading(r, store.CorrectionVersion(c.At))
		if i, ok := m.correctionAt[c.ID]; ok {
			m.corrections[i] = c
			continue
		}
		m.correctionAt[c.ID] = len(m.corrections)
		m.corrections = append(m.corrections, c)
	}
}

// putReading keeps one row per reading id, the highest version winning (a tie: the later
// write), as ReplacingMergeTree does.
func (m *MemStore) putReading(r message.Reading, version uint64) {
	if i, ok := m.readingAt[r.ID]; ok && r.ID != "" {
		if version >= m.readingVersion[i] {
			m.readings[i], m.readingVersion[i] = r, version
		}
		return
	}
	m.readingAt[r.ID] = len(m.readings)
	m.readings = append(m.readings, r)
	m.readingVersion = append(m.readingVersion, version)
}

// RollupsThrough implements api.Store: the in-memory store computes its rollups when
// asked, so they are never behind (ok false, as with rollups rebuilt inside each batch),
// unless a test set Through.
func (m *MemStore) RollupsThrough(context.Context) (time.Time, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Fail != nil {
		return time.Time{}, false, m.Fail
	}
	return m.Through, !m.Through.IsZero(), nil
}

// MonthlyCorrections implements api.Store: corrected readings and corrections per site and
// calendar month of q.Location, ordered by site and month.
func (m *MemStore) MonthlyCorrections(_ context.Context, q api.MeansQuery) ([]api.CorrectionCount, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Fail != nil {
		return nil, m.Fail
	}
	loc := q.Location
	if loc == nil {
		loc = time.UTC
	}
	type key struct {
		site  string
		month time.Time
	}
	counts := map[key]*api.CorrectionCount{}
	readings := map[key]map[string]bool{}
	for _, c := range m.corrections {
		if !slices.Contains(q.Sites, c.Reading.Site) || outside(c.Reading.ObservedAt, q.From, q.To) {
			continue
		}
		l := c.Reading.ObservedAt.In(loc)
		k := key{c.Reading.Site, time.Date(l.Year(), l.Month(), 1, 0, 0, 0, 0, loc)}
		if counts[k] == nil {
			counts[k], readings[k] = &api.CorrectionCount{Site: k.site, Month: k.month}, map[string]bool{}
		}
		counts[k].Corrections++
		readings[k][c.Reading.ID] = true
	}
	out := make([]api.CorrectionCount, 0, len(counts))
	for k, c := range counts {
		c.Readings = uint64(len(readings[k]))
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Site != out[j].Site {
			return out[i].Site < out[j].Site
		}
		return out[i].Month.Before(out[j].Month)
	})
	return out, nil
}

// Corrections implements api.Store.
func (m *MemStore) Corrections(_ context.Context, q api.CorrectionQuery) ([]message.Correction, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Fail != nil {
		return nil, m.Fail
	}
	var out []message.Correction
	for _, c := range m.corrections {
		if c.Reading.Site == q.Site && !outside(c.Reading.ObservedAt, q.From, q.To) {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].At.Equal(out[j].At) {
			return out[i].At.After(out[j].At)
		}
		return out[i].ID < out[j].ID
	})
	out = out[min(q.Offset, len(out)):]
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

// AddEvents stores events. An event stored again replaces the stored copy unless that one
// was emitted later (version: emitted_at in ms).
func (m *MemStore) AddEvents(es ...message.Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range es {
		version := e.EmittedAt.UnixMilli()
		e.ObservedAt, e.EmittedAt = ms(e.ObservedAt), sec(e.EmittedAt)
		if !e.ReadingReceivedAt.IsZero() {
			e.ReadingReceivedAt = sec(e.ReadingReceivedAt)
		}
		if !e.ArrivalAt.IsZero() {
			e.ArrivalAt = sec(e.ArrivalAt)
		}
		m.eventRows++
		k := eventKey{e.Site, e.Type, e.ObservedAt.Unix(), e.ID}
		if i, ok := m.eventAt[k]; ok {
			if version >= m.eventVersion[i] {
				m.events[i], m.eventVersion[i] = e, version
			}
			continue
		}
		m.eventAt[k] = len(m.events)
		m.events = append(m.events, e)
		m.eventVersion = append(m.eventVersion, version)
	}
}

// PutIncident stores an incident snapshot; the highest version wins.
func (m *MemStore) PutIncident(inc message.Incident) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.snapshots++
	if old, ok := m.incidents[inc.ID]; ok && old.Version > inc.Version {
		return
	}
	m.incidents[inc.ID] = inc
}

// PutSilence stores a silence snapshot; the highest version wins (a tie: the later write).
func (m *MemStore) PutSilence(s silence.Silence) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.silences[s.ID]; ok && old.Version > s.Version {
		return
	}
	s.StartsAt, s.EndsAt, s.UpdatedAt = s.StartsAt.UTC(), s.EndsAt.UTC(), s.UpdatedAt.UTC()
	m.silences[s.ID] = s
}

// Silences implements api.Store.
func (m *MemStore) Silences(_ context.Context, q store.SilenceQuery) ([]silence.Silence, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Fail != nil {
		return nil, m.Fail
	}
	var out []silence.Silence
	for _, s := range m.silences {
		if !q.EndsAfter.IsZero() && !sec(s.EndsAt).After(sec(q.EndsAfter)) {
			continue
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b silence.Silence) int {
		if c := sec(b.StartsAt).Compare(sec(a.StartsAt)); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

// Silence implements api.Store.
func (m *MemStore) Silence(_ context.Context, id string) (silence.Silence, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Fail != nil {
		return silence.Silence{}, m.Fail
	}
	s, ok := m.silences[id]
	if !ok {
		return silence.Silence{}, api.ErrNotFound
	}
	return s, nil
}

// AddLog stores audit-trail entries; an entry stored again replaces the stored copy.
func (m *MemStore) AddLog(es ...message.LogEntry) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range es {
		e.At = ms(e.At)
		m.logRows++
		k := [2]string{e.IncidentID, e.ID}
		if i, ok := m.logAt[k]; ok {
			m.log[i] = e
			continue
		}
		m.logAt[k] = len(m.log)
		m.log = append(m.log, e)
	}
}

// AddNotifications stores delivery attempts; an attempt stored again replaces the stored
// copy.
func (m *MemStore) AddNotifications(ns ...message.Notification) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, n := range ns {
		n.At = ms(n.At)
		k := notificationKey{n.IncidentID, n.Key, n.Attempt}
		if i, ok := m.notificationAt[k]; ok {
			m.notifications[i] = n
			continue
		}
		m.notificationAt[k] = len(m.notifications)
		m.notifications = append(m.notifications, n)
	}
}

// Latest implements api.Store.
func (m *MemStore) Latest(_ context.Context, sites []string, since time.Time) ([]message.Reading, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Fail != nil {
		return nil, m.Fail
	}
	type key struct{ site, param string }
	latest := map[key]message.Reading{}
	for _, r := range m.readings {
		if !slices.Contains(sites, r.Site) || sec(r.ObservedAt).Before(sec(since)) {
			continue
		}
		k := key{r.Site, r.Parameter}
		cur, ok := latest[k]
		received := r.ReceivedAt.Truncate(time.Second) // max(received_at) of a DateTime column
		if ok && cur.ReceivedAt.After(received) {
			received = cur.ReceivedAt
		}
		if !ok || r.ObservedAt.After(cur.ObservedAt) {
			// What the ClickHouse query selects of the newest reading, no more.
			cur = message.Reading{ID: r.ID, Site: r.Site, Parameter: r.Parameter, Value: r.Value, Unit: r.Unit,
				Flag: r.Flag, Interval: r.Interval, Source: r.Source, ObservedAt: r.ObservedAt, BelowDL: r.BelowDL}
		}
		cur.ReceivedAt = received
		latest[k] = cur
	}
	out := make([]message.Reading, 0, len(latest))
	for _, r := range latest {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Site != out[j].Site {
			return out[i].Site < out[j].Site
		}
		return out[i].Parameter < out[j].Parameter
	})
	return out, nil
}

// SeriesEach implements api.Store: Series, one point at a time, at most q.MaxRows.
func (m *MemStore) SeriesEach(ctx context.Context, q api.SeriesQuery, fn func(parameter, unit string, p api.Point) error) error {
	series, err := m.Series(ctx, q)
	if err != nil {
		return err
	}
	rows := 0
	for _, sr := range series {
		for _, p := range sr.Points {
			if q.MaxRows > 0 && rows >= q.MaxRows {
				return nil
			}
			rows++
			if err := fn(sr.Parameter, sr.Unit, p); err != nil {
				return err
			}
		}
	}
	return nil
}

// Series implements api.Store, computing the rollups as the archiver does: statistics over
// readings with the normal flag, hourly buckets in UTC, daily buckets in q.Location. A
// parameter is in the answer when it has points in the range, even if the page (Offset)
// skips them all.
func (m *MemStore) Series(_ context.Context, q api.SeriesQuery) ([]api.Series, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Fail != nil {
		return nil, m.Fail
	}
	loc := q.Location
	if loc == nil {
		loc = time.UTC
	}
	byParam := map[string][]message.Reading{}
	units := map[string]string{}
	for _, r := range m.readings {
		if r.Site != q.Site || (len(q.Parameters) > 0 && !slices.Contains(q.Parameters, r.Parameter)) {
			continue
		}
		byParam[r.Parameter] = append(byParam[r.Parameter], r)
		units[r.Parameter] = r.Unit
	}
	params := make([]string, 0, len(byParam))
	for p := range byParam {
		params = append(params, p)
	}
	sort.Strings(params)
	var out []api.Series
	for _, p := range params {
		rs := byParam[p]
		sort.Slice(rs, func(i, j int) bool { return rs[i].ObservedAt.Before(rs[j].ObservedAt) })
		var points []api.Point
		switch q.Resolution {
		case api.ResolutionRaw:
			for _, r := range rs {
				if outside(r.ObservedAt, q.From, q.To) {
					continue
				}
				pt := api.Point{T: r.ObservedAt.UTC(), Value: r.Value, Min: r.Value, Max: r.Value, Count: 1, Flag: r.Flag, BelowDL: r.BelowDL}
				if r.Min != nil {
					pt.Min = *r.Min
				}
				if r.Max != nil {
					pt.Max = *r.Max
				}
				points = append(points, pt)
			}
		default:
			bucket := func(t time.Time) time.Time { return t.UTC().Truncate(time.Hour) }
			from, to := q.From.Truncate(time.Hour), q.To
			if q.Resolution == api.ResolutionDay {
				bucket = func(t time.Time) time.Time {
					l := t.In(loc)
					return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc).UTC()
				}
				from = bucket(q.From)
				to = bucket(q.To.Add(-time.Second)).AddDate(0, 0, 1)
			}
			var cur *api.Point
			var sum float64
			flush := func() {
				if cur != nil {
					cur.Value = sum / float64(cur.Count)
					points = append(points, *cur)
				}
				cur = nil
			}
			for _, r := range rs {
				if r.Flag != message.FlagNormal {
					continue
				}
				b := bucket(r.ObservedAt)
				if b.Before(from) || !b.Before(to) {
					continue
				}
				v := r.StatValue() // a non-detect at half its limit, as the rollups count it
				if cur == nil || !cur.T.Equal(b) {
					flush()
					cur = &api.Point{T: b, Min: v, Max: v}
					sum = 0
				}
				cur.Count++
				sum += v
				cur.Min, cur.Max = min(cur.Min, v), max(cur.Max, v)
			}
			flush()
		}
		if len(points) == 0 {
			continue
		}
		points = points[min(q.Offset, len(points)):]
		if q.Limit > 0 && len(points) > q.Limit {
			points = points[:q.Limit]
		}
		if len(points) == 0 {
			points = nil
		}
		out = append(out, api.Series{Parameter: p, Unit: units[p], Points: points})
	}
	return out, nil
}

// Events implements api.Store.
func (m *MemStore) Events(_ context.Context, q api.EventQuery) ([]message.Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Fail != nil {
		return nil, m.Fail
	}
	var out []message.Event
	for _, e := range m.events {
		if (q.Sites != nil && !slices.Contains(q.Sites, e.Site)) ||
			(len(q.Types) > 0 && !slices.Contains(q.Types, e.Type)) ||
			outside(e.ObservedAt, q.From, q.To) {
			continue
		}
		out = append(out, e)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].ObservedAt.Equal(out[j].ObservedAt) {
			return out[i].ObservedAt.After(out[j].ObservedAt)
		}
		return out[i].ID < out[j].ID
	})
	return paginate(out, q.Offset, q.Limit), nil
}

func paginate[T any](list []T, offset, limit int) []T {
	if offset >= len(list) {
		return nil
	}
	list = list[offset:]
	if limit > 0 && len(list) > limit {
		list = list[:limit]
	}
	return list
}

// OpenExceedances implements api.Store.
func (m *MemStore) OpenExceedances(_ context.Context, sites []string) ([]message.Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Fail != nil {
		return nil, m.Fail
	}
	type key struct{ site, param string }
	last := map[key]message.Event{}
	for _, e := range m.events {
		switch e.Type {
		case message.EventExceedanceOpened, message.EventExceedanceUpdated, message.EventExceedanceCleared:
		default:
			continue
		}
		if !slices.Contains(sites, e.Site) {
			continue
		}
		k := key{e.Site, e.Parameter}
		if cur, ok := last[k]; !ok || newerExceedance(e, cur) {
			last[k] = e
		}
	}
	var out []message.Event
	for _, e := range last {
		if e.Type != message.EventExceedanceCleared {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Site != out[j].Site {
			return out[i].Site < out[j].Site
		}
		return out[i].Parameter < out[j].Parameter
	})
	return out, nil
}

// newerExceedance orders exceedance events as the ClickHouse query's argMax does: by
// observation, then emission, then a clearing before anything else at the same instant.
func newerExceedance(e, than message.Event) bool {
	if c := e.ObservedAt.Compare(than.ObservedAt); c != 0 {
		return c > 0
	}
	if c := e.EmittedAt.Compare(than.EmittedAt); c != 0 {
		return c > 0
	}
	return e.Type == message.EventExceedanceCleared && than.Type != message.EventExceedanceCleared
}

// Incidents implements api.Store.
func (m *MemStore) Incidents(_ context.Context, q api.IncidentQuery) ([]message.Incident, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Fail != nil {
		return nil, m.Fail
	}
	var out []message.Incident
	for _, inc := range m.incidents {
		if len(q.Statuses) > 0 && !slices.Contains(q.Statuses, inc.Status) {
			continue
		}
		if q.Jurisdictions != nil && !slices.ContainsFunc(inc.Jurisdictions, func(j string) bool { return slices.Contains(q.Jurisdictions, j) }) {
			continue
		}
		out = append(out, inc)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].OpenedAt.Equal(out[j].OpenedAt) {
			return out[i].OpenedAt.After(out[j].OpenedAt)
		}
		return out[i].ID < out[j].ID
	})
	return paginate(out, q.Offset, q.Limit), nil
}

// Incident implements api.Store.
func (m *MemStore) Incident(_ context.Context, id string) (message.Incident, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Fail != nil {
		return message.Incident{}, m.Fail
	}
	inc, ok := m.incidents[id]
	if !ok {
		return message.Incident{}, api.ErrNotFound
	}
	return inc, nil
}

// IncidentLog implements api.Store.
func (m *MemStore) IncidentLog(_ context.Context, id string) ([]message.LogEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Fail != nil {
		return nil, m.Fail
	}
	var out []message.LogEntry
	for _, e := range m.log {
		if e.IncidentID == id {
			out = append(out, e)
		}
	}
	sortLog(out)
	return out, nil
}

// Notifications implements api.Store.
func (m *MemStore) Notifications(_ context.Context, id string) ([]message.Notification, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Fail != nil {
		return nil, m.Fail
	}
	var out []message.Notification
	for _, n := range m.notifications {
		if n.IncidentID == id {
			out = append(out, n)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if !a.At.Equal(b.At) {
			return a.At.Before(b.At)
		}
		if a.Key != b.Key {
			return a.Key < b.Key
		}
		return a.Attempt < b.Attempt
	})
	return out, nil
}

// sortLog orders entries as the incident_log query does: by time, version, id.
func sortLog(es []message.LogEntry) {
	sort.Slice(es, func(i, j int) bool {
		a, b := es[i], es[j]
		if !a.At.Equal(b.At) {
			return a.At.Before(b.At)
		}
		if a.Version != b.Version {
			return a.Version < b.Version
		}
		return a.ID < b.ID
	})
}

// CommandLog implements api.Store.
func (m *MemStore) CommandLog(_ context.Context, commandID string) (message.LogEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Fail != nil {
		return message.LogEntry{}, m.Fail
	}
	var entries []message.LogEntry
	for _, e := range m.log {
		if e.CommandID == commandID {
			entries = append(entries, e)
		}
	}
	if len(entries) == 0 {
		return message.LogEntry{}, api.ErrNotFound
	}
	sortLog(entries)
	return entries[len(entries)-1], nil
}

// MonthlyMeans implements api.Store over readings with the normal flag, on whole local
// days of q.Location as the ClickHouse Reader reads the daily rollup.
func (m *MemStore) MonthlyMeans(_ context.Context, q api.MeansQuery) ([]api.MonthlyMean, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Fail != nil {
		return nil, m.Fail
	}
	loc := q.Location
	if loc == nil {
		loc = time.UTC
	}
	type key struct {
		site, param string
		month       time.Time
	}
	type acc struct{ all, auto store.MeanStats }
	add := func(st *store.MeanStats, r *message.Reading) {
		v := r.StatValue() // a non-detect at half its limit, as the rollups count it
		if st.Count == 0 || v < st.Min {
			st.Min = v
		}
		if st.Count == 0 || v > st.Max {
			st.Max = v
		}
		st.Mean += v // the sum until the end
		st.Count++
		if r.BelowDL {
			st.NonDetects++
		}
	}
	// Whole local days, as the daily rollup answers: the day of From through the day
	// before To's day end.
	day := func(t time.Time) time.Time {
		l := t.In(loc)
		return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
	}
	first, last := day(q.From), day(q.To.Add(-time.Second))
	sums := map[key]*acc{}
	for i := range m.readings {
		r := &m.readings[i]
		if d := day(r.ObservedAt); r.Flag != message.FlagNormal || !slices.Contains(q.Sites, r.Site) || d.Before(first) || d.After(last) {
			continue
		}
		l := r.ObservedAt.In(loc)
		k := key{r.Site, r.Parameter, time.Date(l.Year(), l.Month(), 1, 0, 0, 0, 0, loc)}
		a := sums[k]
		if a == nil {
			a = &acc{}
			sums[k] = a
		}
		add(&a.all, r)
		if !r.Manual() {
			add(&a.auto, r)
		}
	}
	out := make([]api.MonthlyMean, 0, len(sums))
	for k, a := range sums {
		if a.auto.Count > 0 {
			a.auto.Mean /= float64(a.auto.Count)
		}
		out = append(out, api.MonthlyMean{Site: k.site, Parameter: k.param, Month: k.month, Mean: a.all.Mean / float64(a.all.Count),
			Count: a.all.Count, Min: a.all.Min, Max: a.all.Max, NonDetects: a.all.NonDetects, Auto: a.auto})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Site != b.Site {
			return a.Site < b.Site
		}
		if a.Parameter != b.Parameter {
			return a.Parameter < b.Parameter
		}
		return a.Month.Before(b.Month)
	})
	return out, nil
}

// Watermark implements api.Store.
func (m *MemStore) Watermark(context.Context) (api.Watermark, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Fail != nil {
		return api.Watermark{}, m.Fail
	}
	w := api.Watermark{Events: m.eventRows, Incidents: m.snapshots, Log: m.logRows}
	for _, e := range m.events {
		if e.EmittedAt.After(w.EventsAt) {
			w.EventsAt = e.EmittedAt
		}
	}
	return w, nil
}
