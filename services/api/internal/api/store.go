package api

import (
	"context"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/silence"
	"github.com/riverwatch/riverwatch/pkg/store"
)

// ErrNotFound is returned by a Store for a record that does not exist (yet).
var ErrNotFound = store.ErrNotFound

// Resolutions of a reading series: raw readings, or the archiver's hourly and daily rollups.
const (
	ResolutionRaw  = store.ResolutionRaw
	ResolutionHour = store.ResolutionHour
	ResolutionDay  = store.ResolutionDay
)

// The queries and answers of a Store are the read model's (pkg/store), named here as the
// API uses them.
type (
	// SeriesQuery selects a reading series.
	SeriesQuery = store.SeriesQuery
	// Series is one parameter's points, oldest first.
	Series = store.Series
	// Point is one reading (raw) or the aggregate of a rollup bucket.
	Point = store.Point
	// EventQuery selects events.
	EventQuery = store.EventQuery
	// IncidentQuery selects incidents.
	IncidentQuery = store.IncidentQuery
	// MeansQuery selects the period means behind the compliance report.
	MeansQuery = store.MeansQuery
	// MonthlyMean is the mean of one parameter at one site over one calendar month.
	MonthlyMean = store.MonthlyMean
	// MeanStats are the statistics of a subset of a month's readings (its automatic ones).
	MeanStats = store.MeanStats
	// Watermark summarises the newest data, compared between polls.
	Watermark = store.Watermark
	// CorrectionQuery selects the corrections of a site's readings.
	CorrectionQuery = store.CorrectionQuery
	// StationCommandQuery selects the station commands of a site.
	StationCommandQuery = store.StationCommandQuery
	// CorrectionCount is the corrected readings of a site in a month.
	CorrectionCount = store.CorrectionCount
	// SilenceQuery selects silences.
	SilenceQuery = store.SilenceQuery
	// RawFrameQuery selects the accepted HJ 212 frames of a site.
	RawFrameQuery = store.RawFrameQuery
)

// Store is everything the API reads. The ClickHouse implementation is store.Reader; handler
// tests use apitest.MemStore, and the conformance suite pkg/store/storetest holds the two
// to the same answers. Every list is ordered and already filtered as the query says, so
// pagination (Limit, Offset) is the store's: the API never loads more than one page.
type Store interface {
	// Latest returns the most recent reading of every (site, parameter) of the given sites
	// observed at or after since.
	Latest(ctx context.Context, sites []string, since time.Time) ([]message.Reading, error)
	// Series returns one site's readings per parameter over [From, To) at a resolution.
	Series(ctx context.Context, q SeriesQuery) ([]Series, error)
	// SeriesEach streams what Series answers, point by point in the same order, without
	// holding it (SeriesQuery.MaxRows bounds the rows); an error of fn stops it and is
	// returned as it is.
	SeriesEach(ctx context.Context, q SeriesQuery, fn func(parameter, unit string, p Point) error) error
	// Events returns events, newest first.
	Events(ctx context.Context, q EventQuery) ([]message.Event, error)
	// OpenExceedances returns, for each (site, parameter) of the given sites whose latest
	// exceedance event is not exceedance.cleared, that latest event.
	OpenExceedances(ctx context.Context, sites []string) ([]message.Event, error)
	// Incidents returns the latest snapshot of each incident, newest opened first.
	Incidents(ctx context.Context, q IncidentQuery) ([]message.Incident, error)
	// Incident returns the latest snapshot of one incident, or ErrNotFound.
	Incident(ctx context.Context, id string) (message.Incident, error)
	// IncidentLog returns an incident's audit trail, oldest first.
	IncidentLog(ctx context.Context, id string) ([]message.LogEntry, error)
	// Notifications returns an incident's delivery attempts, oldest first.
	Notifications(ctx context.Context, id string) ([]message.Notification, error)
	// CommandLog returns the log entry with which the responder applied (or refused) a
	// command, or ErrNotFound while it has not.
	CommandLog(ctx context.Context, commandID string) (message.LogEntry, error)
	// MonthlyMeans returns the arithmetic mean of each (site, parameter) per calendar month
	// of loc, over readings with the normal flag observed in [From, To).
	MonthlyMeans(ctx context.Context, q MeansQuery) ([]MonthlyMean, error)
	// Watermark returns what changed last, so the API can tell dashboards to refresh.
	Watermark(ctx context.Context) (Watermark, error)
	// Corrections returns the explicit corrections of a site's readings observed in
	// [From, To), the latest first.
	Corrections(ctx context.Context, q CorrectionQuery) ([]message.Correction, error)
	// StationCommands returns every record of a site's station commands requested in
	// [From, To): the latest command first, its records in the order they were made.
	StationCommands(ctx context.Context, q StationCommandQuery) ([]message.StationCommand, error)
	// RollupsThrough is the time up to which the rollups hold every archived reading; ok
	// is false when they are rebuilt with every batch.
	RollupsThrough(ctx context.Context) (through time.Time, ok bool, err error)
	// MonthlyCorrections counts the corrected readings of q.Sites per calendar month.
	MonthlyCorrections(ctx context.Context, q MeansQuery) ([]CorrectionCount, error)
	// Silences returns the latest snapshot of each silence, the latest starting first.
	Silences(ctx context.Context, q SilenceQuery) ([]silence.Silence, error)
	// Silence returns the latest snapshot of one silence, or ErrNotFound.
	Silence(ctx context.Context, id string) (silence.Silence, error)
	// RawFrames returns the accepted HJ 212 frames (PW masked) of a site with DataTime in
	// [From, To), oldest first.
	RawFrames(ctx context.Context, q RawFrameQuery) ([]message.RawFrame, error)
}

var _ Store = (*store.Reader)(nil)
