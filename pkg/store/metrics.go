package store

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the archiver's Prometheus metrics of the ClickHouse side; those of its Kafka
// consumers (records, commits, lag per topic and partition) are stream.Metrics.
type Metrics struct {
	// Rows counts rows written per table (a replayed row counts again: it was written).
	Rows *prometheus.CounterVec
	// Batches counts batches archived per topic.
	Batches *prometheus.CounterVec
	// BatchRows and BatchBytes observe the size of each archived batch per topic.
	BatchRows  *prometheus.HistogramVec
	BatchBytes *prometheus.HistogramVec
	// InsertSeconds observes each INSERT per table; RollupSeconds each rollup rebuild.
	InsertSeconds *prometheus.HistogramVec
	RollupSeconds *prometheus.HistogramVec
	// Errors counts failures per topic and stage: decode (a message recorded in rejected
	// instead), insert and rollup (the batch is retried).
	Errors *prometheus.CounterVec
	// RollupLag is how far the last deferred rebuild trailed its newest dirty mark.
	RollupLag prometheus.Gauge
}

// NewMetrics creates the metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Rows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riverwatch_archiver_rows_written_total", Help: "Rows written to ClickHouse, per table.",
		}, []string{"table"}),
		Batches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riverwatch_archiver_batches_total", Help: "Kafka batches archived (rows inserted), per topic.",
		}, []string{"topic"}),
		BatchRows: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "riverwatch_archiver_batch_size_rows", Help: "Messages per archived batch.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 10),
		}, []string{"topic"}),
		BatchBytes: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "riverwatch_archiver_batch_size_bytes", Help: "Bytes of message values per archived batch.",
			Buckets: prometheus.ExponentialBuckets(256, 4, 10),
		}, []string{"topic"}),
		InsertSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "riverwatch_archiver_insert_duration_seconds", Help: "Duration of one INSERT, per table.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
		}, []string{"table"}),
		RollupSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "riverwatch_archiver_rollup_duration_seconds", Help: "Duration of rebuilding the rollups a batch touched.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
		}, []string{"rollup"}),
		Errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riverwatch_archiver_errors_total", Help: "Archiver failures per topic and stage (decode, insert, rollup).",
		}, []string{"topic", "stage"}),
		RollupLag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "riverwatch_archiver_rollup_lag_seconds",
			Help: "How long before the end of the last deferred rollup rebuild its newest dirty bucket was marked: the rollups' staleness while the loop keeps up.",
		}),
	}
	reg.MustRegister(m.Rows, m.Batches, m.BatchRows, m.BatchBytes, m.InsertSeconds, m.RollupSeconds, m.Errors, m.RollupLag)
	return m
}
