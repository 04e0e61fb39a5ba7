package api

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics of the api, registered on the registry passed to New.
type metrics struct {
	requests    *prometheus.CounterVec   // riverwatch_api_requests_total{route,code}
	duration    *prometheus.HistogramVec // riverwatch_api_request_duration_seconds{route}
	errors      *prometheus.CounterVec   // riverwatch_api_errors_total{reason}
	commands    *prometheus.CounterVec   // riverwatch_api_commands_total{type,outcome}
	commandWait prometheus.Histogram     // riverwatch_api_command_wait_seconds
	sseClients  prometheus.Gauge         // riverwatch_api_sse_clients
	refreshes   prometheus.Counter       // riverwatch_api_refresh_notices_total
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riverwatch_api_requests_total",
			Help: "riverwatch_api_requests_total counts API and dashboard requests by route and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "riverwatch_api_request_duration_seconds",
			Help:    "riverwatch_api_request_duration_seconds is the time to answer a request, by route (the event stream excluded).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riverwatch_api_errors_total",
			Help: "riverwatch_api_errors_total counts refused or failed requests by reason (bad_request, unauthorized, forbidden, not_found, conflict, store, ...).",
		}, []string{"reason"}),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riverwatch_api_commands_total",
			Help: "riverwatch_api_commands_total counts operator commands by type and outcome (applied, pending, refused, send_failed).",
		}, []string{"type", "outcome"}),
		commandWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "riverwatch_api_command_wait_seconds",
			Help:    "riverwatch_api_command_wait_seconds is the time from publishing a command to seeing the responder apply it.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2, 3, 5, 10, 30},
		}),
		sseClients: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "riverwatch_api_sse_clients",
			Help: "riverwatch_api_sse_clients is the number of dashboards connected to the event stream.",
		}),
		refreshes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "riverwatch_api_refresh_notices_total",
			Help: "riverwatch_api_refresh_notices_total counts change notices sent to the event stream.",
		}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.errors, m.commands, m.commandWait, m.sseClients, m.refreshes} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("api metrics: %w", err)
		}
	}
	return m, nil
}
