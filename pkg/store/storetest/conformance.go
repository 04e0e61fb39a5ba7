package storetest

import (
	"context"
	"errors"
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/silence"
	"github.com/riverwatch/riverwatch/pkg/store"
)

// Reader is the read model under test: what the api reads (its Store interface), as
// store.Reader implements it on ClickHouse and apitest.MemStore in memory.
type Reader interface {
	Latest(ctx context.Context, sites []string, since time.Time) ([]message.Reading, error)
	Series(ctx context.Context, q store.SeriesQuery) ([]store.Series, error)
	SeriesEach(ctx context.Context, q store.SeriesQuery, fn func(parameter, unit string, p store.Point) error) error
	Events(ctx context.Context, q store.EventQuery) ([]message.Event, error)
	OpenExceedances(ctx context.Context, sites []string) ([]message.Event, error)
	Incidents(ctx context.Context, q store.IncidentQuery) ([]message.Incident, error)
	Incident(ctx context.Context, id string) (message.Incident, error)
	IncidentLog(ctx context.Context, id string) ([]message.LogEntry, error)
	Notifications(ctx context.Context, id string) ([]message.Notification, error)
	CommandLog(ctx context.Context, commandID string) (message.LogEntry, error)
	MonthlyMeans(ctx context.Context, q store.MeansQuery) ([]store.MonthlyMean, error)
	Watermark(ctx context.Context) (store.Watermark, error)
	Corrections(ctx context.Context, q store.CorrectionQuery) ([]message.Correction, error)
	StationCommands(ctx context.Context, q store.StationCommandQuery) ([]message.StationCommand, error)
	MonthlyCorrections(ctx context.Context, q store.MeansQuery) ([]store.CorrectionCount, error)
	Silences(ctx context.Context, q store.SilenceQuery) ([]silence.Silence, error)
	Silence(ctx context.Context, id string) (silence.Silence, error)
	RawFrames(ctx context.Context, q store.RawFrameQuery) ([]message.RawFrame, error)
}

// Seeder stores records the way the pipeline delivers them: each call is one batch, as
// the archiver writes one batch from Kafka (for ClickHouse: through store.Writer, which
// also rebuilds the rollups). A record may come again — a replay — or in a newer version.
type Seeder interface {
	Readings(t testing.TB, rs ...message.Reading)
	Events(t testing.TB, es ...message.Event)
	IncidentUpdates(t testing.TB, us ...message.IncidentUpdate)
	Corrections(t testing.TB, cs ...message.Correction)
	StationCommands(t testing.TB, cs ...message.StationCommand)
	RawFrames(t testing.TB, fs ...message.RawFrame)
}

// Run runs the conformance suite: every behaviour of the read model the api relies on,
// each subtest on a fresh, empty store from newStore. The daily buckets are expected on
// the days of Asia/Shanghai, archiver.rollup_timezone's default.
func Run(t *testing.T, newStore func(t *testing.T) (Reader, Seeder)) {
	for _, c := range []struct {
		name string
		fn   func(*testing.T, Reader, Seeder)
	}{
		{"ReadingsSeriesAndMeans", readingsSeriesAndMeans},
		{"EventsAndOpenExceedances", eventsAndOpenExceedances},
		{"IncidentsLogsNotificationsAndCommands", incidentsLogsAndCommands},
		{"TheFirstReceiptStandsUntilACorrection", firstReceiptAndCorrections},
		{"SilencesLatestSnapshotWins", silencesLatestSnapshot},
		{"StationCommandsAndTheirOutcomesInOrder", stationCommandsAndOutcomes},
		{"NonDetectsAtHalfTheLimitAndAutomaticStatsApart", nonDetectsAndAutomatic},
		{"RawFramesOfASiteOncePerFrameOldestFirst", rawFramesOfASite},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, s := newStore(t)
			c.fn(t, r, s)
		})
	}
}

func shanghai(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func reading(site, param string, v float64, at time.Time, flag string) message.Reading {
	return message.Reading{
		ID: message.ReadingID(site, param, message.IntervalHour, at), Site: site, Station: "mn-" + site, Parameter: param,
		Value: v, Unit: "mg/L", Interval: message.IntervalHour, Flag: flag, ObservedAt: at, ReceivedAt: at.Add(time.Minute),
		Source: message.SourceHJ212,
	}
}

// readingsSeriesAndMeans: raw readings each once (FINAL), the first receipt of a reading
// standing, pages per parameter, hourly buckets in UTC and daily buckets on local days over
// valid readings only, monthly means over local months, and the latest reading per series.
func readingsSeriesAndMeans(t *testing.T, r Reader, s Seeder) {
	ctx := context.Background()
	loc := shanghai(t)
	// 1 February 2026, 00:00 in Shanghai = 31 January 16:00 UTC.
	start := time.Date(2026, 1, 31, 12, 0, 0, 0, time.UTC)
	var rs []message.Reading
	for h := range 24 {
		at := start.Add(time.Duration(h) * time.Hour)
		rs = append(rs, reading("STH-S2", "nh3n", float64(h), at, message.FlagNormal),
			reading("STH-S2", "do", 6, at.Add(30*time.Minute+250*time.Millisecond), message.FlagNormal))
	}
	lo, hi := 0.5, 1.5
	rs[2].Min, rs[2].Max = &lo, &hi                                                             // nh3n at +1 h: a period reading
	rs = append(rs, reading("STH-S2", "nh3n", 999, start.Add(90*time.Minute), "D"))             // invalid: not in statistics
	rs = append(rs, reading("STH-S1", "nh3n", 0.4, start.Add(3*time.Hour), message.FlagNormal)) // another site
	rs = append(rs, reading("STH-S2", "tp", 0.2, start.Add(-72*time.Hour), message.FlagNormal)) // before the window
	s.Readings(t, rs...)
	s.Readings(t, rs[:10]...) // a replayed batch
	// A later receipt of nh3n at +5 h with another value (a resend, or an upload that
	// produces the station's reading id): the first receipt stands (security review M5).
	rewrite := rs[10]
	rewrite.Value, rewrite.ReceivedAt = 50, rewrite.ReceivedAt.Add(time.Hour)
	s.Readings(t, rewrite)
	valueAt := func(h int) float64 { return float64(h) } // nh3n's valid value at hour h as stored
	day := start.Add(24 * time.Hour)

	raw, err := r.Series(ctx, store.SeriesQuery{Site: "STH-S2", Parameters: []string{"nh3n"}, From: start, To: day, Resolution: store.ResolutionRaw, Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) != 1 || raw[0].Parameter != "nh3n" || raw[0].Unit != "mg/L" || len(raw[0].Points) != 25 {
		t.Fatalf("raw nh3n: %+v, want 25 points, each once", raw)
	}
	pts := raw[0].Points
	for i := 1; i < len(pts); i++ {
		if !pts[i-1].T.Before(pts[i].T) {
			t.Errorf("raw points out of order at %d: %v then %v", i, pts[i-1].T, pts[i].T)
		}
	}
	if p := pts[1]; p.Value != 1 || p.Min != 0.5 || p.Max != 1.5 || p.Count != 1 || p.Flag != message.FlagNormal {
		t.Errorf("raw period point %+v, want value 1, min 0.5, max 1.5 (the reading's own), count 1, flag N", p)
	}
	if p := pts[2]; p.Value != 999 || p.Min != 999 || p.Max != 999 || p.Flag != "D" || !p.T.Equal(start.Add(90*time.Minute)) {
		t.Errorf("raw flagged point %+v, want 999 flagged D at +90 min, min = max = value", p)
	}
	if p := pts[6]; p.Value != 5 {
		t.Errorf("raw point received twice %+v, want the first receipt's value (5), not the later 50", p)
	}

	all, err := r.Series(ctx, store.SeriesQuery{Site: "STH-S2", From: start, To: day, Resolution: store.ResolutionRaw, Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	if got := params(all); !slices.Equal(got, []string{"do", "nh3n"}) {
		t.Errorf("raw, every parameter: %v, want [do nh3n] (tp reported only before the window)", got)
	}
	if len(all) == 2 && !all[0].Points[0].T.Equal(start.Add(30*time.Minute+250*time.Millisecond)) {
		t.Errorf("raw do starts at %v, want %v (milliseconds kept)", all[0].Points[0].T, start.Add(30*time.Minute+250*time.Millisecond))
	}
	// Bounds are compared in whole seconds, the column's precision: do's reading at
	// 12:30:00.250 is in [12:30:00.400, 12:31).
	second, err := r.Series(ctx, store.SeriesQuery{Site: "STH-S2", Parameters: []string{"do"}, From: start.Add(30*time.Minute + 400*time.Millisecond),
		To: start.Add(31 * time.Minute), Resolution: store.ResolutionRaw, Location: loc})
	if err != nil || len(second) != 1 || len(second[0].Points) != 1 {
		t.Errorf("raw do in [12:30:00.400, 12:31): %+v %v, want the reading of 12:30:00.250", second, err)
	}
	page, err := r.Series(ctx, store.SeriesQuery{Site: "STH-S2", From: start, To: day, Resolution: store.ResolutionRaw, Limit: 5, Offset: 3, Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 2 || len(page[0].Points) != 5 || len(page[1].Points) != 5 || page[0].Parameter != "do" ||
		!page[1].Points[0].T.Equal(start.Add(2*time.Hour)) {
		t.Errorf("raw page (limit 5 offset 3 per parameter): %+v", page)
	}
	// SeriesEach streams what Series answers, point for point; MaxRows bounds the whole.
	var streamed []store.Series
	err = r.SeriesEach(ctx, store.SeriesQuery{Site: "STH-S2", From: start, To: day, Resolution: store.ResolutionRaw, Location: loc},
		func(param, unit string, p store.Point) error {
			if len(streamed) == 0 || streamed[len(streamed)-1].Parameter != param {
				streamed = append(streamed, store.Series{Parameter: param, Unit: unit})
			}
			streamed[len(streamed)-1].Points = append(streamed[len(streamed)-1].Points, p)
			return nil
		})
	if err != nil || !reflect.DeepEqual(streamed, all) {
		t.Errorf("raw, streamed: %+v %v\nwant what Series answers: %+v", streamed, err, all)
	}
	capped := 0
	err = r.SeriesEach(ctx, store.SeriesQuery{Site: "STH-S2", From: start, To: day, Resolution: store.ResolutionRaw, MaxRows: 7, Location: loc},
		func(string, string, store.Point) error { capped++; return nil })
	if err != nil || capped != 7 {
		t.Errorf("raw, streamed with MaxRows 7: %d points, %v", capped, err)
	}
	stop := errors.New("enough")
	if err := r.SeriesEach(ctx, store.SeriesQuery{Site: "STH-S2", From: start, To: day, Resolution: store.ResolutionRaw, Location: loc},
		func(string, string, store.Point) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("raw, streamed, fn stops: %v, want fn's error", err)
	}
	beyond, err := r.Series(ctx, store.SeriesQuery{Site: "STH-S2", Parameters: []string{"do"}, From: start, To: day, Resolution: store.ResolutionRaw, Limit: 5, Offset: 30, Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	if len(beyond) != 1 || beyond[0].Parameter != "do" || len(beyond[0].Points) != 0 {
		t.Errorf("raw page past the end: %+v, want the series without points (it has readings in the range)", beyond)
	}
	empty, err := r.Series(ctx, store.SeriesQuery{Site: "STH-S2", From: day.Add(time.Hour), To: day.Add(2 * time.Hour), Resolution: store.ResolutionRaw, Location: loc})
	if err != nil || len(empty) != 0 {
		t.Errorf("raw, nothing in range: %+v %v, want no series", empty, err)
	}

	hourly, err := r.Series(ctx, store.SeriesQuery{Site: "STH-S2", Parameters: []string{"nh3n"}, From: start.Add(10 * time.Minute), To: day, Resolution: store.ResolutionHour, Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	if len(hourly) != 1 || len(hourly[0].Points) != 24 {
		t.Fatalf("hourly nh3n: %+v, want 24 buckets (From rounds down to its hour)", hourly)
	}
	for h, p := range hourly[0].Points {
		if v := valueAt(h); p.Value != v || p.Min != v || p.Max != v || p.Count != 1 || p.Flag != "" || !p.T.Equal(start.Add(time.Duration(h)*time.Hour)) {
			t.Errorf("hour bucket %d: %+v, want the one valid reading %v at %v", h, p, v, start.Add(time.Duration(h)*time.Hour))
		}
	}
	hpage, err := r.Series(ctx, store.SeriesQuery{Site: "STH-S2", From: start, To: day, Resolution: store.ResolutionHour, Limit: 2, Offset: 4, Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	if got := params(hpage); !slices.Equal(got, []string{"do", "nh3n"}) || len(hpage[1].Points) != 2 || hpage[1].Points[1].Value != 5 {
		t.Errorf("hourly page (limit 2 offset 4): %+v", hpage)
	}

	daily, err := r.Series(ctx, store.SeriesQuery{Site: "STH-S2", Parameters: []string{"nh3n"}, From: start.Add(-48 * time.Hour), To: start.Add(48 * time.Hour), Resolution: store.ResolutionDay, Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	// Local days: 31 Jan (12:00–15:00 UTC: hours 0..3) and 1 Feb (16:00 UTC on: 4..23).
	var feb float64
	for h := 4; h < 24; h++ {
		feb += valueAt(h)
	}
	if len(daily) != 1 || len(daily[0].Points) != 2 {
		t.Fatalf("daily nh3n: %+v, want two local days", daily)
	}
	if p := daily[0].Points; p[0].Count != 4 || p[0].Value != 1.5 || p[0].Min != 0 || p[0].Max != 3 ||
		!p[0].T.Equal(time.Date(2026, 1, 31, 0, 0, 0, 0, loc)) ||
		p[1].Count != 20 || math.Abs(p[1].Value-feb/20) > 1e-9 || p[1].Max != 23 || !p[1].T.Equal(time.Date(2026, 2, 1, 0, 0, 0, 0, loc)) {
		t.Errorf("daily buckets (local days, valid readings): %+v", p)
	}

	means, err := r.MonthlyMeans(ctx, store.MeansQuery{Sites: []string{"STH-S2", "STH-S1"}, From: time.Date(2026, 1, 1, 0, 0, 0, 0, loc), To: time.Date(2026, 3, 1, 0, 0, 0, 0, loc), Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	want := []store.MonthlyMean{
		{Site: "STH-S1", Parameter: "nh3n", Month: time.Date(2026, 1, 1, 0, 0, 0, 0, loc), Mean: 0.4, Count: 1},
		{Site: "STH-S2", Parameter: "do", Month: time.Date(2026, 1, 1, 0, 0, 0, 0, loc), Mean: 6, Count: 4},
		{Site: "STH-S2", Parameter: "do", Month: time.Date(2026, 2, 1, 0, 0, 0, 0, loc), Mean: 6, Count: 20},
		{Site: "STH-S2", Parameter: "nh3n", Month: time.Date(2026, 1, 1, 0, 0, 0, 0, loc), Mean: 1.5, Count: 4},
		{Site: "STH-S2", Parameter: "nh3n", Month: time.Date(2026, 2, 1, 0, 0, 0, 0, loc), Mean: feb / 20, Count: 20},
		{Site: "STH-S2", Parameter: "tp", Month: time.Date(2026, 1, 1, 0, 0, 0, 0, loc), Mean: 0.2, Count: 1},
	}
	if !slices.EqualFunc(means, want, func(a, b store.MonthlyMean) bool {
		return a.Site == b.Site && a.Parameter == b.Parameter && a.Month.Equal(b.Month) && math.Abs(a.Mean-b.Mean) < 1e-9 && a.Count == b.Count
	}) {
		t.Errorf("monthly means (local months, valid readings):\n got %+v\nwant %+v", means, want)
	}
	// Each month carries its lowest and highest valid reading (the report judges pH by them).
	for _, m := range means {
		if m.Min > m.Mean+1e-9 || m.Mean > m.Max+1e-9 || m.Count == 1 && (m.Min != m.Mean || m.Max != m.Mean) {
			t.Errorf("monthly range of %s %s %s: %v ≤ %v ≤ %v does not hold", m.Site, m.Parameter, m.Month.Format("2006-01"), m.Min, m.Mean, m.Max)
		}
	}
	// A range inside days is taken in whole local days: 31 January 10:00 to 1 February
	// 02:00 is the two days, every reading of the series but tp's.
	days, err := r.MonthlyMeans(ctx, store.MeansQuery{Sites: []string{"STH-S2", "STH-S1"}, From: time.Date(2026, 1, 31, 10, 0, 0, 0, loc), To: time.Date(2026, 2, 1, 2, 0, 0, 0, loc), Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	if want := slices.DeleteFunc(slices.Clone(want), func(m store.MonthlyMean) bool { return m.Parameter == "tp" }); !slices.EqualFunc(days, want, func(a, b store.MonthlyMean) bool {
		return a.Site == b.Site && a.Parameter == b.Parameter && a.Month.Equal(b.Month) && math.Abs(a.Mean-b.Mean) < 1e-9 && a.Count == b.Count
	}) {
		t.Errorf("monthly means over part of two days (whole days count):\n got %+v\nwant %+v", days, want)
	}
	if none, err := r.MonthlyMeans(ctx, store.MeansQuery{From: start, To: day, Location: loc}); err != nil || len(none) != 0 {
		t.Errorf("monthly means of no site: %+v %v", none, err)
	}

	latest, err := r.Latest(ctx, []string{"STH-S2", "STH-S1", "TTH-S9"}, start)
	if err != nil {
		t.Fatal(err)
	}
	// rs ends nh3n +23 h, do +23 h 30 min, the flagged nh3n, STH-S1's nh3n, tp.
	last := rs[len(rs)-4]
	wantLatest := []message.Reading{
		{ID: rs[len(rs)-2].ID, Site: "STH-S1", Parameter: "nh3n", Value: 0.4, Unit: "mg/L", Interval: message.IntervalHour, Flag: message.FlagNormal, ObservedAt: start.Add(3 * time.Hour), Source: message.SourceHJ212},
		{ID: last.ID, Site: "STH-S2", Parameter: "do", Value: 6, Unit: "mg/L", Interval: message.IntervalHour, Flag: message.FlagNormal, ObservedAt: last.ObservedAt, Source: message.SourceHJ212},
		{ID: rs[len(rs)-5].ID, Site: "STH-S2", Parameter: "nh3n", Value: 23, Unit: "mg/L", Interval: message.IntervalHour, Flag: message.FlagNormal, ObservedAt: start.Add(23 * time.Hour), Source: message.SourceHJ212},
	}
	// ReceivedAt is when a reading of the pair last arrived (the api tells a station that
	// sends late observations from one that is silent), to the second.
	for i := range wantLatest {
		w := &wantLatest[i]
		for _, rd := range rs {
			if rd.Site == w.Site && rd.Parameter == w.Parameter && !rd.ObservedAt.Before(start) && rd.ReceivedAt.Truncate(time.Second).After(w.ReceivedAt) {
				w.ReceivedAt = rd.ReceivedAt.Truncate(time.Second)
			}
		}
	}
	if !slices.EqualFunc(latest, wantLatest, func(a, b message.Reading) bool {
		return a.ID == b.ID && a.Site == b.Site && a.Parameter == b.Parameter && a.Value == b.Value && a.Unit == b.Unit &&
			a.Interval == b.Interval && a.Flag == b.Flag && a.ObservedAt.Equal(b.ObservedAt) && a.Source == b.Source &&
			a.Station == "" && a.Min == nil && a.Max == nil && a.ReceivedAt.Equal(b.ReceivedAt) && !b.ReceivedAt.IsZero()
	}) {
		t.Errorf("latest (what a latest reading carries, no more):\n got %+v\nwant %+v", latest, wantLatest)
	}
	if got, err := r.Latest(ctx, []string{"STH-S2"}, day); err != nil || len(got) != 0 {
		t.Errorf("latest since a time after every reading: %+v %v", got, err)
	}
	if got, err := r.Latest(ctx, nil, start); err != nil || len(got) != 0 {
		t.Errorf("latest of no site: %+v %v", got, err)
	}
}

func params(ss []store.Series) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.Parameter)
	}
	return out
}

// eventsAndOpenExceedances: events each once, the newest emission winning, newest first,
// filtered and paged; open exceedances with a clearing winning a tie.
func eventsAndOpenExceedances(t *testing.T, r Reader, s Seeder) {
	ctx := context.Background()
	at := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	ev := func(typ, site, param string, dt time.Duration) message.Event {
		obs := at.Add(dt)
		return message.Event{ID: message.EventID(typ, site, param, obs, ""), Type: typ, Site: site, Parameter: param, Value: 2, Limit: 1,
			TargetClass: "III", Class: "IV", Multiple: 1, Severity: "severe", ReadingID: "r-" + param,
			ObservedAt: obs, EmittedAt: obs.Add(time.Second), ReadingReceivedAt: obs.Add(time.Minute), ArrivalAt: obs.Add(time.Hour)}
	}
	events := []message.Event{
		ev(message.EventExceedanceOpened, "STH-S2", "nh3n", 0),
		ev(message.EventExceedanceUpdated, "STH-S2", "nh3n", time.Hour),
		ev(message.EventExceedanceOpened, "STH-S2", "tp", 0),
		ev(message.EventExceedanceCleared, "STH-S2", "tp", 2*time.Hour),
		ev(message.EventQualitySuspect, "STH-S3", "do", 30*time.Minute+500*time.Millisecond),
		// An update and a clearing at the same instant: the clearing is the newer state.
		ev(message.EventExceedanceOpened, "STH-S3", "codmn", 0),
		ev(message.EventExceedanceUpdated, "STH-S3", "codmn", 90*time.Minute),
		ev(message.EventExceedanceCleared, "STH-S3", "codmn", 90*time.Minute),
		ev(message.EventExceedanceOpened, "TTH-S1", "cod", 0), // a site not asked for
	}
	before, err := r.Watermark(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if before.Events != 0 || !before.EventsAt.IsZero() {
		t.Errorf("watermark of an empty store: %+v, want no events and a zero time", before)
	}
	s.Events(t, events...)
	s.Events(t, events...) // replayed
	// nh3n's update emitted again later with another value: the newest emission wins.
	again := events[1]
	again.Value, again.EmittedAt = 2.5, again.EmittedAt.Add(time.Minute)
	s.Events(t, again)
	events[1] = again

	w, err := r.Watermark(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var newest time.Time
	for _, e := range events {
		if emitted := e.EmittedAt.Truncate(time.Second); emitted.After(newest) {
			newest = emitted
		}
	}
	if w.Events < uint64(len(events)) || !w.EventsAt.Equal(newest) {
		t.Errorf("watermark %+v, want at least %d events, the newest emitted at %v", w, len(events), newest)
	}

	all, err := r.Events(ctx, store.EventQuery{From: at.Add(-time.Hour), To: at.Add(3 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	byTime := slices.Clone(events)
	slices.SortStableFunc(byTime, func(a, b message.Event) int {
		if c := b.ObservedAt.Compare(a.ObservedAt); c != 0 {
			return c
		}
		if a.ID < b.ID {
			return -1
		}
		if a.ID > b.ID {
			return 1
		}
		return 0
	})
	if !slices.EqualFunc(all, byTime, sameEvent) {
		t.Errorf("events, newest first, each once:\n got %+v\nwant %+v", all, byTime)
	}
	some, err := r.Events(ctx, store.EventQuery{Sites: []string{"STH-S2", "STH-S3"}, Types: []string{message.EventExceedanceOpened}, From: at, To: at.Add(3 * time.Hour), Limit: 2, Offset: 1})
	if err != nil {
		t.Fatal(err)
	}
	// Opened events of STH-S2 and STH-S3, all at `at`: by id, skipping the first.
	var opened []message.Event
	for _, e := range byTime {
		if e.Type == message.EventExceedanceOpened && e.Site != "TTH-S1" {
			opened = append(opened, e)
		}
	}
	if !slices.EqualFunc(some, opened[1:3], sameEvent) {
		t.Errorf("filtered page:\n got %+v\nwant %+v", some, opened[1:3])
	}
	window, err := r.Events(ctx, store.EventQuery{From: at.Add(time.Hour), To: at.Add(2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	var inWindow []message.Event // [+1 h, +2 h): tp's clearing at +2 h is not in it
	for _, e := range byTime {
		if !e.ObservedAt.Before(at.Add(time.Hour)) && e.ObservedAt.Before(at.Add(2*time.Hour)) {
			inWindow = append(inWindow, e)
		}
	}
	if len(inWindow) != 3 || !slices.EqualFunc(window, inWindow, sameEvent) {
		t.Errorf("events in [+1 h, +2 h):\n got %+v\nwant %+v", window, inWindow)
	}
	if none, err := r.Events(ctx, store.EventQuery{Sites: []string{}, From: at, To: at.Add(3 * time.Hour)}); err != nil || len(none) != 0 {
		t.Errorf("no visible site: %+v %v", none, err)
	}

	open, err := r.OpenExceedances(ctx, []string{"STH-S2", "STH-S3"})
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != 1 || !sameEvent(open[0], again) {
		t.Errorf("open exceedances %+v, want nh3n's newest update only (tp and codmn were cleared)", open)
	}
	if none, err := r.OpenExceedances(ctx, nil); err != nil || len(none) != 0 {
		t.Errorf("open exceedances of no site: %+v %v", none, err)
	}
}

// sameEvent tells whether got is what the archive keeps of want: its times to the
// second, the observation to the millisecond.
func sameEvent(got, want message.Event) bool {
	a, b := got, want
	b.ObservedAt = b.ObservedAt.Truncate(time.Millisecond)
	b.EmittedAt = b.EmittedAt.Truncate(time.Second)
	b.ReadingReceivedAt = b.ReadingReceivedAt.Truncate(time.Second)
	b.ArrivalAt = b.ArrivalAt.Truncate(time.Second)
	return a.ID == b.ID && a.Type == b.Type && a.Site == b.Site && a.Parameter == b.Parameter && a.Value == b.Value &&
		a.Limit == b.Limit && a.TargetClass == b.TargetClass && a.Class == b.Class && a.Multiple == b.Multiple &&
		a.Severity == b.Severity && a.ReadingID == b.ReadingID && a.ObservedAt.Equal(b.ObservedAt) &&
		a.EmittedAt.Equal(b.EmittedAt) && a.ReadingReceivedAt.Equal(b.ReadingReceivedAt) && a.ArrivalAt.Equal(b.ArrivalAt)
}

// incidentsLogsAndCommands: the newest snapshot of an incident whatever the order its
// versions arrive in, filters on its status and jurisdictions, the audit trail and the
// delivery attempts each once in order, the log entry of a command, and the watermark.
func incidentsLogsAndCommands(t *testing.T, r Reader, s Seeder) {
	ctx := context.Background()
	at := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	inc := func(id string, version uint64, status string, opened time.Duration, juris ...string) message.IncidentUpdate {
		return message.IncidentUpdate{Kind: message.UpdateIncident, Incident: &message.Incident{
			ID: id, Version: version, Title: id, Status: status, Level: "IV", Colour: "blue", Site: "STH-S2", Sites: []string{"STH-S2"},
			Jurisdictions: juris, Steps: []message.Step{{ID: "s1", Jurisdiction: juris[0], Role: "duty", Action: "report", Deadline: at.Add(time.Hour)}},
			OpenedAt: at.Add(opened), UpdatedAt: at.Add(time.Duration(version) * time.Minute),
		}}
	}
	logEntry := func(id, incident string, version uint64, dt time.Duration, action, command string) message.IncidentUpdate {
		return message.IncidentUpdate{Kind: message.UpdateLog, Log: &message.LogEntry{ID: id, IncidentID: incident, Version: version,
			At: at.Add(dt), Actor: "responder", Action: action, CommandID: command}}
	}
	note := func(id, key string, attempt int, dt time.Duration, status string) message.IncidentUpdate {
		return message.IncidentUpdate{Kind: message.UpdateNotification, Notification: &message.Notification{ID: id, Key: key,
			IncidentID: "a", StepID: "s1", Kind: "assign", Channel: "webhook", Recipient: "duty", Attempt: attempt, Status: status, At: at.Add(dt)}}
	}
	before, err := r.Watermark(ctx)
	if err != nil {
		t.Fatal(err)
	}
	batch := []message.IncidentUpdate{
		inc("a", 1, message.IncidentOpen, 0, "changji", "xpcc6", "bole"),
		inc("b", 1, message.IncidentOpen, time.Hour, "urumqi"),
		inc("c", 4, message.IncidentResolved, 0, "xpcc12"),
		inc(`q'\"x`, 1, message.IncidentResolved, -time.Hour, "hami"),
		inc("a", 2, message.IncidentAcknowledged, 0, "changji", "xpcc6"),
		logEntry("l2", "a", 2, time.Minute+300*time.Millisecond, "acknowledged", "cmd-1"),
		logEntry("l1", "a", 1, 0, "opened", ""),
		logEntry("l3", "a", 2, time.Minute+300*time.Millisecond, "note", ""),
		logEntry("l9", "b", 1, 0, "opened", ""),
		note("n2", "k1", 2, 2*time.Second, "sent"),
		note("n1", "k1", 1, time.Second, "failed"),
	}
	s.IncidentUpdates(t, batch...)
	afterFirst, err := r.Watermark(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if afterFirst.Incidents <= before.Incidents || afterFirst.Log <= before.Log {
		t.Errorf("watermark did not move: %+v → %+v", before, afterFirst)
	}
	s.IncidentUpdates(t, batch[:1]...) // version 1 of a again, after version 2: a replay
	s.IncidentUpdates(t, batch...)     // the whole batch replayed
	// cmd-2 refused, then applied on a retry: the newest entry is the answer.
	s.IncidentUpdates(t, logEntry("l5", "b", 1, 5*time.Minute, "command_refused", "cmd-2"))
	s.IncidentUpdates(t, logEntry("l6", "b", 2, 6*time.Minute, "acknowledged", "cmd-2"))
	after, err := r.Watermark(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.Log <= afterFirst.Log {
		t.Errorf("watermark's log count did not move: %+v → %+v", afterFirst, after)
	}

	got, err := r.Incident(ctx, "a")
	if err != nil || got.Version != 2 || got.Status != message.IncidentAcknowledged || len(got.Steps) != 1 || got.Steps[0].Role != "duty" ||
		!slices.Equal(got.Jurisdictions, []string{"changji", "xpcc6"}) {
		t.Errorf("incident a: %+v %v, want the newest snapshot (version 2) whatever arrived after it", got, err)
	}
	if _, err := r.Incident(ctx, "zzz"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown incident: %v, want ErrNotFound", err)
	}
	// Values are literals in the SQL: quotes and backslashes stay inside them.
	if _, err := r.Incident(ctx, `a' OR id != '`); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an id that closes its quote: %v, want ErrNotFound", err)
	}
	if got, err := r.Incident(ctx, `q'\"x`); err != nil || got.ID != `q'\"x` {
		t.Errorf("an id with a quote and a backslash: %+v %v", got, err)
	}
	for _, c := range []struct {
		name string
		q    store.IncidentQuery
		want []string
	}{
		{"every incident, newest opened first", store.IncidentQuery{}, []string{"b", "a", "c", `q'\"x`}},
		{"jurisdiction", store.IncidentQuery{Jurisdictions: []string{"xpcc6", "urumqi"}}, []string{"b", "a"}},
		{"jurisdiction of none", store.IncidentQuery{Jurisdictions: []string{"kashgar"}}, nil},
		{"jurisdiction of an older version only", store.IncidentQuery{Jurisdictions: []string{"bole"}}, nil},
		{"no jurisdiction", store.IncidentQuery{Jurisdictions: []string{}}, nil},
		{"status of the newest version only", store.IncidentQuery{Statuses: []string{message.IncidentOpen}}, []string{"b"}},
		{"statuses", store.IncidentQuery{Statuses: []string{message.IncidentAcknowledged, message.IncidentResolved}}, []string{"a", "c", `q'\"x`}},
		{"page", store.IncidentQuery{Limit: 1, Offset: 1}, []string{"a"}},
		{"page past the end", store.IncidentQuery{Limit: 5, Offset: 5}, nil},
		{"jurisdiction with a quote", store.IncidentQuery{Jurisdictions: []string{"hami', 'changji"}}, nil},
	} {
		list, err := r.Incidents(ctx, c.q)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, i := range list {
			ids = append(ids, i.ID)
		}
		if !slices.Equal(ids, c.want) {
			t.Errorf("incidents, %s: %v, want %v", c.name, ids, c.want)
		}
	}

	log, err := r.IncidentLog(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range log {
		ids = append(ids, e.ID)
	}
	if !slices.Equal(ids, []string{"l1", "l2", "l3"}) || !log[1].At.Equal(at.Add(time.Minute+300*time.Millisecond)) || log[1].CommandID != "cmd-1" {
		t.Errorf("incident log %v (%+v), want l1 l2 l3 each once, by time, version and id, milliseconds kept", ids, log)
	}
	entry, err := r.CommandLog(ctx, "cmd-1")
	if err != nil || entry.ID != "l2" || entry.IncidentID != "a" || entry.Version != 2 || entry.Action != "acknowledged" {
		t.Errorf("command log cmd-1: %+v %v", entry, err)
	}
	if entry, err := r.CommandLog(ctx, "cmd-2"); err != nil || entry.ID != "l6" || entry.Action != "acknowledged" {
		t.Errorf("command log cmd-2: %+v %v, want the newest entry (applied on retry)", entry, err)
	}
	if _, err := r.CommandLog(ctx, "cmd-unknown"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("command not applied yet: %v, want ErrNotFound", err)
	}
	notes, err := r.Notifications(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != 2 || notes[0].ID != "n1" || notes[0].Attempt != 1 || notes[0].Status != "failed" || notes[1].ID != "n2" ||
		notes[1].Status != "sent" || !notes[1].At.Equal(at.Add(2*time.Second)) || notes[1].Channel != "webhook" {
		t.Errorf("notifications %+v, want attempts 1 and 2 each once, oldest first", notes)
	}
	if notes, err := r.Notifications(ctx, "b"); err != nil || len(notes) != 0 {
		t.Errorf("notifications of b: %+v %v", notes, err)
	}
}

// rawFramesOfASite: a site's frames in [From, To) by DataTime, oldest first, a frame
// delivered twice (a replay) answered once, with its reading ids and receipt to the ms.
func rawFramesOfASite(t *testing.T, r Reader, s Seeder) {
	base := time.Date(2026, 6, 15, 1, 0, 0, 0, time.UTC)
	mk := func(site, qn string, at time.Time) message.RawFrame {
		return message.RawFrame{ID: message.RawFrameID("mn-"+site, qn, "2061", at), Site: site, MN: "mn-" + site, QN: qn, CN: "2061",
			DataTime: at, ReceivedAt: at.Add(1500 * time.Millisecond), Remote: "10.0.0.1:1", Raw: "QN=" + qn + ";PW=***;CP=&&&&",
			ReadingIDs: []string{"r-" + qn, "s-" + qn}}
	}
	a, b, c := mk("STH-S2", "1", base), mk("STH-S2", "2", base.Add(time.Hour)), mk("STH-S2", "3", base.Add(2*time.Hour))
	other := mk("STH-S1", "4", base.Add(time.Hour))
	s.RawFrames(t, b, a, other)
	s.RawFrames(t, b, c) // b again
	got, err := r.RawFrames(context.Background(), store.RawFrameQuery{Site: "STH-S2", From: base, To: base.Add(2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !reflect.DeepEqual(got[0], a) || !reflect.DeepEqual(got[1], b) {
		t.Errorf("raw frames %+v, want %+v and %+v", got, a, b)
	}
	if got, _ := r.RawFrames(context.Background(), store.RawFrameQuery{Site: "STH-S2", From: base, To: base.Add(3 * time.Hour), Limit: 1}); len(got) != 1 || got[0].ID != a.ID {
		t.Errorf("limit 1: %+v", got)
	}
}
