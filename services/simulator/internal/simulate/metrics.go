package simulate

import "github.com/prometheus/client_golang/prometheus"

// Metrics of the simulated fleet and the load generator.
type Metrics struct {
	// Frames counts uploads by outcome: acked (a 9014 came back), resent (no answer in
	// time, sent again), given_up (never answered after the last attempt), dropped (the
	// logger's backlog overflowed).
	Frames *prometheus.CounterVec
	// AckSeconds observes the time from sending a frame to its 9014.
	AckSeconds prometheus.Histogram
	// Backlog is the number of frames waiting for an acknowledgement, over all stations.
	Backlog prometheus.Gauge
	// Readings counts the values published (load mode, kafka and hj212).
	Readings prometheus.Counter
}

// NewMetrics registers the simulator's metrics on reg (nil: unregistered, still usable).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Frames: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riverwatch_simulator_frames_total",
			Help: "HJ 212 uploads of the simulated data loggers by outcome (riverwatch_simulator_frames_total): acked, resent, given_up, dropped.",
		}, []string{"outcome"}),
		AckSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "riverwatch_simulator_ack_seconds",
			Help:    "Time from sending an HJ 212 upload to the gateway's 9014 (riverwatch_simulator_ack_seconds).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
		Backlog: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "riverwatch_simulator_backlog_frames",
			Help: "Uploads the simulated data loggers hold until the gateway acknowledges them (riverwatch_simulator_backlog_frames).",
		}),
		Readings: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "riverwatch_simulator_readings_total",
			Help: "Values the simulator published (riverwatch_simulator_readings_total).",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.Frames, m.AckSeconds, m.Backlog, m.Readings)
	}
	return m
}
