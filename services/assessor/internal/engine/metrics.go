package engine

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/riverwatch/riverwatch/pkg/message"
)

// Metrics are the engine's Prometheus metrics:
//
//	riverwatch_assessor_readings_total{outcome}   readings by what the engine did with them
//	riverwatch_assessor_events_total{type}        events emitted, by event type
//	riverwatch_assessor_series                    series (site × parameter) in memory
//	riverwatch_assessor_stations                  stations watched for silence
//	riverwatch_assessor_station_offline{site}     1 while a watched station is offline, else 0
//	riverwatch_assessor_open_exceedances          exceedances open now
//	riverwatch_assessor_active_predictions        predictions issued and not cleared
//	riverwatch_assessor_reach_velocity_scale_ratio{origin,site}  a reach's re-tuned velocity scale
type Metrics struct {
	readings    *prometheus.CounterVec
	events      *prometheus.CounterVec
	series      prometheus.Gauge
	stations    prometheus.Gauge
	offline     *prometheus.GaugeVec
	open        prometheus.Gauge
	predictions prometheus.Gauge
	reachScale  *prometheus.GaugeVec
	reachDisp   *prometheus.GaugeVec
	byOutcome   map[string]prometheus.Counter
	byType      map[string]prometheus.Counter
}

// outcomes lists every label value of riverwatch_assessor_readings_total.
var outcomes = []string{
	OutcomeJudged, OutcomeNotApplicable, OutcomeFlag, OutcomeOverRange, OutcomeImplausible,
	OutcomeFlatLine, OutcomeDuplicate, OutcomeReplayed, OutcomeLateJudged, OutcomeLateBeyondGrace,
	OutcomeDailyAverage, OutcomePeriodSuperseded, OutcomeBackfill, OutcomeUnknownSite, OutcomeUnknownParameter,
}

// eventTypes lists every event type of the contract.
var eventTypes = []string{
	message.EventExceedanceOpened, message.EventExceedanceUpdated, message.EventExceedanceCleared,
	message.EventPredictionIssued, message.EventPredictionCleared, message.EventQualitySuspect,
	message.EventStationOffline, message.EventStationOnline,
	message.EventPredictionVerified, message.EventPredictionRefuted,
}

// NewMetrics registers the engine's metrics on reg; nil registers them nowhere (tests,
// benchmarks).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	f := promauto.With(reg)
	m := &Metrics{
		readings: f.NewCounterVec(prometheus.CounterOpts{
			Name: "riverwatch_assessor_readings_total",
			Help: "Readings seen by the assessor's engine, by outcome: judged, not_applicable, flag, over_range, implausible, flat_line, duplicate, replayed, late, late_beyond_grace, daily_average, period_superseded, unknown_site, unknown_parameter.",
		}, []string{"outcome"}),
		events: f.NewCounterVec(prometheus.CounterOpts{
			Name: "riverwatch_assessor_events_total",
			Help: "Events emitted by the assessor's engine, by type (a replay after a crash counts its events again; their ids are the same).",
		}, []string{"type"}),
		series: f.NewGauge(prometheus.GaugeOpts{
			Name: "riverwatch_assessor_series",
			Help: "Series (site × parameter) whose state the assessor holds.",
		}),
		stations: f.NewGauge(prometheus.GaugeOpts{
			Name: "riverwatch_assessor_stations",
			Help: "Stations the assessor has heard from and watches for silence.",
		}),
		offline: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "riverwatch_assessor_station_offline",
			Help: "1 while a station this assessor watches is offline (silent past its interval × assessor.offline_factor), 0 once it reports; one series per site heard from. With several assessors, take max by (site).",
		}, []string{"site"}),
		open: f.NewGauge(prometheus.GaugeOpts{
			Name: "riverwatch_assessor_open_exceedances",
			Help: "Exceedances open now in the series this assessor owns.",
		}),
		predictions: f.NewGauge(prometheus.GaugeOpts{
			Name: "riverwatch_assessor_active_predictions",
			Help: "Downstream predictions issued and not yet cleared.",
		}),
		reachScale: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "riverwatch_assessor_reach_velocity_scale_ratio",
			Help: "The factor a reach's (origin site → predicted site) velocities are multiplied by, re-tuned from its verified arrivals (docs/plume.md, Re-tuning); 1 is the configured velocity. One series per reach once tuned.",
		}, []string{"origin", "site"}),
		reachDisp: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "riverwatch_assessor_reach_dispersion_scale_ratio",
			Help: "The factor a reach's (origin site → predicted site) spread variance — its dispersion coefficients, or Jobson's spread squared — is multiplied by, re-tuned from tracer drills' breakthroughs (docs/plume.md, Re-tuning); 1 is the configured or Jobson value. One series per reach once a tracer tuned it.",
		}, []string{"origin", "site"}),
		byOutcome: map[string]prometheus.Counter{},
		byType:    map[string]prometheus.Counter{},
	}
	// Resolve every label once: the hot path then costs one atomic add, and every series
	// is exported from the start (at 0), so rate() works from the first scrape.
	for _, o := range outcomes {
		m.byOutcome[o] = m.readings.WithLabelValues(o)
	}
	for _, t := range eventTypes {
		m.byType[t] = m.events.WithLabelValues(t)
	}
	return m
}

func (m *Metrics) outcome(o string) { m.byOutcome[o].Inc() }

func (m *Metrics) event(t string) { m.byType[t].Inc() }

// stationOffline sets a site's riverwatch_assessor_station_offline.
func (m *Metrics) stationOffline(site string, offline bool) {
	v := 0.0
	if offline {
		v = 1
	}
	m.offline.WithLabelValues(site).Set(v)
}
