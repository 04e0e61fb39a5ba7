package store

import (
	"errors"
	"time"
)

// What the Reader answers, and with what. The api serves these types as they are (Series,
// Point and MonthlyMean carry its JSON names), so a change here is a change of the api's
// wire format: see services/api/internal/api/openapi.json.

// ErrNotFound is returned by the Reader for a record that does not exist (yet).
var ErrNotFound = errors.New("not found")

// Resolutions of a reading series: raw readings, or the archiver's hourly and daily rollups.
const (
	ResolutionRaw  = "raw"
	ResolutionHour = "hour"
	ResolutionDay  = "day"
)

// SeriesQuery selects a reading series.
type SeriesQuery struct {
	Site       string
	Parameters []string // empty: every parameter the site reported in the range
	From, To   time.Time
	Resolution string // ResolutionRaw, ResolutionHour or ResolutionDay
	Limit      int    // points per parameter; 0: no limit
	Offset     int    // points per parameter to skip
	// MaxRows bounds the rows of the whole answer, every parameter together (an export's
	// cap, sent to ClickHouse as LIMIT; rows skipped by Offset count too); 0: no bound.
	MaxRows int
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
	// BelowDL, raw only: a non-detect, Value being the detection limit (0.01L). Buckets
	// count it at half the limit.
	BelowDL bool `json:"below_dl,omitempty"`
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
	// Min and Max are the lowest and highest valid reading of the month: the report judges
	// pH by its range, not its mean (a mean of 5.6 and 9.4 is in range; neither reading is).
	Min float64 `json:"min"`
	Max float64 `json:"max"`
	// NonDetects is how many of the month's valid readings were below the detection limit
	// (message.Reading.BelowDL): Mean, Min and Max count each at half its limit.
	NonDetects uint64 `json:"non_detects"`
	// Auto is the same over the automatic readings only (every interval but lab), which
	// take precedence over manual samples for the automatically measured items.
	Auto MeanStats `json:"auto"`
}

// MeanStats are the statistics of one subset of a month's valid readings.
type MeanStats struct {
	Count      uint64  `json:"count"`
	Mean       float64 `json:"mean"` // 0 without readings
	Min        float64 `json:"min"`
	Max        float64 `json:"max"`
	NonDetects uint64  `json:"non_detects"`
}

// Watermark summarises the newest data, compared between polls.
type Watermark struct {
	Events    uint64    // number of event rows
	EventsAt  time.Time // newest emitted_at; zero while there is no event
	Incidents uint64    // number of incident snapshot rows
	Log       uint64    // number of incident log rows
}
