package gateway

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics of the gateway; its Kafka writers' (publish latency and failures, by topic:
// readings, rejected) are stream.Metrics, registered by services/gateway. Label values come from fixed sets: reason codes, sources
// (hj212, http, csv), topics (readings, rejected), answer CNs, HTTP endpoints and codes.
type metrics struct {
	framesAccepted   prometheus.Counter     // riverwatch_gateway_frames_accepted_total
	framesRefused    *prometheus.CounterVec // riverwatch_gateway_frames_refused_total{reason}
	framesUnacked    prometheus.Counter     // riverwatch_gateway_frames_unacknowledged_total
	readingsAccepted *prometheus.CounterVec // riverwatch_gateway_readings_accepted_total{source}
	readingsRefused  *prometheus.CounterVec // riverwatch_gateway_readings_refused_total{source,reason}
	connsOpen        prometheus.Gauge       // riverwatch_gateway_connections_open
	connsTotal       prometheus.Counter     // riverwatch_gateway_connections_total
	connsRefused     prometheus.Counter     // riverwatch_gateway_connections_refused_total
	answers          *prometheus.CounterVec // riverwatch_gateway_answers_total{cn}
	httpRequests     *prometheus.CounterVec // riverwatch_gateway_http_requests_total{endpoint,code}
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		framesAccepted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "riverwatch_gateway_frames_accepted_total",
			Help: "HJ 212 frames (and split messages) whose content is stored in Kafka; answered when asked.",
		}),
		framesRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riverwatch_gateway_frames_refused_total",
			Help: "HJ 212 frames and HTTP requests refused as a whole, by reason (recorded on the rejected topic).",
		}, []string{"reason"}),
		framesUnacked: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "riverwatch_gateway_frames_unacknowledged_total",
			Help: "HJ 212 frames left unanswered because Kafka did not acknowledge them; the station resends.",
		}),
		readingsAccepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riverwatch_gateway_readings_accepted_total",
			Help: "Readings published to the readings topic, by source (hj212, http, csv).",
		}, []string{"source"}),
		readingsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riverwatch_gateway_readings_refused_total",
			Help: "Single readings (items, rows) refused, by source and reason (recorded on the rejected topic).",
		}, []string{"source", "reason"}),
		connsOpen: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "riverwatch_gateway_connections_open",
			Help: "Open HJ 212 station connections.",
		}),
		connsTotal: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "riverwatch_gateway_connections_total",
			Help: "HJ 212 station connections accepted.",
		}),
		connsRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "riverwatch_gateway_connections_refused_total",
			Help: "HJ 212 connections refused because gateway.max_connections were open.",
		}),
		answers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riverwatch_gateway_answers_total",
			Help: "HJ 212 packets sent to stations, by command code (9014, 9011, 1012).",
		}, []string{"cn"}),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riverwatch_gateway_http_requests_total",
			Help: "HTTP uploads by endpoint (json, csv) and status code.",
		}, []string{"endpoint", "code"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.framesAccepted, m.framesRefused, m.framesUnacked, m.readingsAccepted,
		m.readingsRefused, m.connsOpen, m.connsTotal, m.connsRefused,
		m.answers, m.httpRequests} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("ingest: register metrics: %w", err)
		}
	}
	return m, nil
}
