package responder

import "github.com/prometheus/client_golang/prometheus"

// metrics of the responder; those of its consumers and writers (riverwatch_responder_kafka_*,
// and riverwatch_responder_publish_duration_seconds{topic} for the incidents, state and
// rejected topics) are stream.Metrics.
type metrics struct {
	events        *prometheus.CounterVec
	commands      *prometheus.CounterVec
	notifications *prometheus.CounterVec
	deliveryTime  *prometheus.HistogramVec
	incidents     *prometheus.GaugeVec
	queued        prometheus.Gauge
	invalid       *prometheus.CounterVec
	persistErrors prometheus.Counter
	silences      *prometheus.GaugeVec
	inhibited     prometheus.Counter
	// sourceRankings counts the upstream rankings of search steps, by outcome.
	sourceRankings *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riverwatch_responder_events_total", Help: "Events consumed, by outcome (opened, grouped, cleared, duplicate, unrelated, no_playbook, stale, invalid).",
		}, []string{"outcome"}),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riverwatch_responder_commands_total", Help: "Operator commands consumed, by type and outcome (applied, rejected, unauthorised: refused by pkg/authz, duplicate, stale, invalid; unsigned_command, bad_signature: not applied for its signature, type unknown).",
		}, []string{"type", "outcome"}),
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riverwatch_responder_notifications_total", Help: "Delivery attempts, by channel and status.",
		}, []string{"channel", "status"}),
		deliveryTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "riverwatch_responder_delivery_duration_seconds", Help: "Duration of one delivery attempt.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}, []string{"channel"}),
		incidents: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "riverwatch_responder_incidents", Help: "Incidents held, by status.",
		}, []string{"status"}),
		queued: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "riverwatch_responder_notifications_queued", Help: "Notifications queued or being delivered.",
		}),
		invalid: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riverwatch_responder_invalid_records_total", Help: "Records that could not be decoded, by source.",
		}, []string{"source"}),
		persistErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "riverwatch_responder_persist_errors_total", Help: "Failed writes to the incidents, state or rejected topic (retried).",
		}),
		silences: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "riverwatch_responder_silences", Help: "Silences held, by state now (pending, active, expired within the retention).",
		}, []string{"state"}),
		inhibited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "riverwatch_responder_notifications_inhibited_total", Help: "Notifications held by a silence or an inhibition (recorded as inhibited).",
		}),
		sourceRankings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riverwatch_responder_source_rankings_total", Help: "Upstream source rankings for search steps, by outcome (ok, none: no candidate with evidence, timeout: past responder.sources_timeout, error).",
		}, []string{"outcome"}),
	}
	if reg != nil {
		reg.MustRegister(m.events, m.commands, m.notifications, m.deliveryTime, m.incidents, m.queued, m.invalid, m.persistErrors, m.silences, m.inhibited, m.sourceRankings)
	}
	return m
}
