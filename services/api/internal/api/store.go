package api

import (
	"context"
	"errors"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
)

// ErrNotFound is returned by a Store for a record that does not exist (yet).
var ErrNotFound = errors.New("not found")

// Resolutions of a reading series: raw readings, or the archiver's hourly and daily rollups.
const (
	ResolutionRaw  = "raw"
	ResolutionHour = "hour"
	ResolutionDay  = "day"
)

// Store is everything the API reads. The ClickHouse implementation is CHStore; handler tests
// use apitest.MemStore. Every list is ordered and already filtered as the query says, so
// pagination (Limit, Offset) is the store's: the API never loads more than one page.
type Store interface {
	// Latest returns the most recent reading of every (site, parameter) of the given sites
	// observed at or after since.
	Latest(ctx context.Context, sites []string, since time.Time) ([]message.Reading, error)
	// Series returns one site's readings per parameter over [From, To) at a resolution.
	Series(ctx context.Context, q SeriesQuery) ([]Series, error)
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
}

// SeriesQuery selects a reading series.
type SeriesQuery struct {
	Site       string
	Parameters []string // empty: every parameter the site reported in the range
	From, To   time.Time
	Resolution string // ResolutionRaw, ResolutionHour or ResolutionDay
	Limit      int    // points per parameter; 0: no limit
	Offset     int    // points per parameter to skip
	// Location is the zone of the daily rollup's days: a day bucket starts at local midnight.
	Location *time.Location
}

// Series is one parameter's points, oldest first.
type Series struct {
	Parameter string  `json:"parameter"`
	Unit      string  `json:"unit"`
	Points    []Point `json:"points"`
}

// Point is one reading (raw) or the aggregate of a rollup bucket.
type Point struct {
	T     time.Time `json:"t"`
	Value float64   `json:"value"` // the reading, or the bucket's mean
	Min   float64   `json:"min"`
	Max   float64   `json:"max"`
	Count uint64    `json:"count"`          // readings in the bucket (1 for raw)
	Flag  string    `json:"flag,omitempty"` // raw only: the HJ 212 data flag
}

// EventQuery selects events.
type EventQuery struct {
	Sites    []string // nil: every site; empty non-nil: none
	Types    []string // empty: every type
	From, To time.Time
	Limit    int
	Offset   int
}

// IncidentQuery selects incidents.
type IncidentQuery struct {
	Statuses      []string // empty: every status
	Jurisdictions []string // nil: every jurisdiction; else incidents concerning any of them
	Limit         int
	Offset        int
}

// MeansQuery selects the period means behind the compliance report.
type MeansQuery struct {
	Sites    []string
	From, To time.Time
	Location *time.Location // whose calendar months
}

// MonthlyMean is the mean of one parameter at one site over one calendar month.
type MonthlyMean struct {
	Site      string    `json:"site"`
	Parameter string    `json:"parameter"`
	Month     time.Time `json:"month"` // first instant of the month, in the query's location
	Mean      float64   `json:"mean"`
	Count     uint64    `json:"count"`
}

// Watermark summarises the newest data, compared between polls.
type Watermark struct {
	Events    uint64    // number of event rows
	EventsAt  time.Time // newest emitted_at
	Incidents uint64    // number of incident snapshot rows
	Log       uint64    // number of incident log rows
}
