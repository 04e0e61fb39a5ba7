package assessor

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// metrics are the Kafka side's metrics; the engine's are in services/assessor/internal/engine,
// those of its consumer and writers (riverwatch_assessor_kafka_*: records, commits, commit
// failures, last committed offset and lag per partition; and
// riverwatch_assessor_publish_duration_seconds{topic} and _publish_failures_total{topic},
// topic being events, state or rejected) in pkg/stream (stream.Metrics):
//
//	riverwatch_assessor_batch_duration_seconds          fetch of a batch's first reading → offsets committed
//	riverwatch_assessor_batch_readings                  readings per batch
//	riverwatch_assessor_event_latency_seconds           reading received (gateway) → its event published
//	riverwatch_assessor_decode_errors_total             readings that could not be decoded (sent to rejected)
//	riverwatch_assessor_restores_total                  state restores (one per partition assignment)
//	riverwatch_assessor_restored_records_total          state records loaded by restores
type metrics struct {
	batchDuration   prometheus.Histogram
	batchReadings   prometheus.Histogram
	eventLatency    prometheus.Histogram
	decodeErrors    prometheus.Counter
	restores        prometheus.Counter
	restoredRecords prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	// Latency buckets from 1 ms to 10 s: the batching delay is milliseconds, a restore or
	// a broker hiccup seconds.
	lat := prometheus.ExponentialBucketsRange(0.001, 10, 16)
	return &metrics{
		batchDuration: f.NewHistogram(prometheus.HistogramOpts{
			Name: "riverwatch_assessor_batch_duration_seconds", Buckets: lat,
			Help: "Processing latency of a batch of readings: from fetching its first reading to committing its offsets, events and state published in between.",
		}),
		batchReadings: f.NewHistogram(prometheus.HistogramOpts{
			Name: "riverwatch_assessor_batch_readings", Buckets: prometheus.ExponentialBuckets(1, 4, 8),
			Help: "Readings per batch.",
		}),
		eventLatency: f.NewHistogram(prometheus.HistogramOpts{
			Name: "riverwatch_assessor_event_latency_seconds", Buckets: lat,
			Help: "From a reading's received_at (stamped by the gateway) to the publication of the event it caused.",
		}),
		decodeErrors: f.NewCounter(prometheus.CounterOpts{
			Name: "riverwatch_assessor_decode_errors_total",
			Help: "Readings on the readings topic that could not be decoded; each is published to the rejected topic.",
		}),
		restores: f.NewCounter(prometheus.CounterOpts{
			Name: "riverwatch_assessor_restores_total",
			Help: "State restores from the compacted state topic, one per partition assignment.",
		}),
		restoredRecords: f.NewCounter(prometheus.CounterOpts{
			Name: "riverwatch_assessor_restored_records_total",
			Help: "State records loaded by restores.",
		}),
	}
}
