package stream

import (
	"errors"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
)

// Metrics are the Kafka metrics of one service, shared by all its consumers and writers. The
// subsystem is the service (assessor, archiver, …), so that every name says who consumes or
// publishes:
//
//	riverwatch_<svc>_kafka_records_total{topic}                    records fetched and handed to a handler
//	riverwatch_<svc>_kafka_commits_total{topic}                    offset commits that succeeded
//	riverwatch_<svc>_kafka_commit_failures_total{topic}            offset commits that failed (the batch is replayed)
//	riverwatch_<svc>_kafka_last_committed_offset{topic,partition}  the last offset committed (next to read); -1 until the first commit
//	riverwatch_<svc>_kafka_lag_records{topic,partition}            records behind the partition's end: set at each commit, and measured
//	                                                               against the brokers every ConsumerConfig.LagInterval (15 s), so that
//	                                                               it rises while a stuck consumer commits nothing
//	riverwatch_<svc>_kafka_last_commit_timestamp_seconds{topic}    when an offset commit last succeeded (Unix time; progress)
//	riverwatch_<svc>_publish_duration_seconds{topic}               one synchronous publish (acks=all)
//	riverwatch_<svc>_last_publish_timestamp_seconds{topic}         when a publish was last acknowledged (Unix time; progress)
//	riverwatch_<svc>_publish_failures_total{topic}                 publishes Kafka did not acknowledge
//
// The publish metrics keep the names the services had before they shared this set (the
// benchmark and the dashboards read them); their topic label is the writer's short name
// (WriterConfig.Label: events, state, readings, …), the consumer metrics' the topic itself.
// Partition gauges are reset at each generation, so a partition that moved to another
// instance does not keep a stale lag here.
//
// A nil *Metrics records nothing.
type Metrics struct {
	records         *prometheus.CounterVec
	commits         *prometheus.CounterVec
	commitFailures  *prometheus.CounterVec
	committed       *prometheus.GaugeVec
	lag             *prometheus.GaugeVec
	lastCommit      *prometheus.GaugeVec
	lastPublish     *prometheus.GaugeVec
	publishSeconds  *prometheus.HistogramVec
	publishFailures *prometheus.CounterVec
	// writers and readers export kafka-go's own statistics (kafkastats.go).
	writers, readers *clientStats
}

// NewMetrics creates the Kafka metrics of a service (subsystem: "assessor", "archiver", …)
// and registers them on reg. Calling it again with the same registry and subsystem returns
// metrics bound to the collectors already registered, so that several components of one
// service can each ask for the set.
func NewMetrics(reg prometheus.Registerer, subsystem string) *Metrics {
	name := func(n string) string { return "riverwatch_" + subsystem + "_" + n }
	m := &Metrics{
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: name("kafka_records_total"), Help: "Kafka records fetched and handed to a handler, by topic.",
		}, []string{"topic"}),
		commits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: name("kafka_commits_total"), Help: "Offset commits that succeeded, by topic.",
		}, []string{"topic"}),
		commitFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: name("kafka_commit_failures_total"), Help: "Offset commits that failed, by topic (usually a rebalance); the batch is replayed by whoever consumes next.",
		}, []string{"topic"}),
		committed: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: name("kafka_last_committed_offset"), Help: "The last offset committed (the next to read), by topic and partition; -1 until the first commit of a generation.",
		}, []string{"topic", "partition"}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: name("kafka_lag_records"), Help: "Records between the last commit and the partition's high watermark, by topic and partition: set at each commit and measured against the brokers every 15 s, also while nothing is committed.",
		}, []string{"topic", "partition"}),
		lastCommit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: name("kafka_last_commit_timestamp_seconds"), Help: "When an offset commit last succeeded (Unix time), by topic: time() minus it is how long the consumer has made no progress.",
		}, []string{"topic"}),
		lastPublish: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: name("last_publish_timestamp_seconds"), Help: "When a publish was last acknowledged by Kafka (Unix time), by topic.",
		}, []string{"topic"}),
		publishSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: name("publish_duration_seconds"), Help: "Time from a publish call until Kafka acknowledged every message of it (acks=all), by topic.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16), // 0.5 ms … 16 s
		}, []string{"topic"}),
		publishFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: name("publish_failures_total"), Help: "Publish calls that Kafka did not acknowledge, by topic.",
		}, []string{"topic"}),
		writers: newClientStats(name, "writer", writerStatNames),
		readers: newClientStats(name, "reader", readerStatNames),
	}
	if reg != nil {
		m.records = register(reg, m.records)
		m.commits = register(reg, m.commits)
		m.commitFailures = register(reg, m.commitFailures)
		m.committed = register(reg, m.committed)
		m.lag = register(reg, m.lag)
		m.lastCommit = register(reg, m.lastCommit)
		m.lastPublish = register(reg, m.lastPublish)
		m.publishSeconds = register(reg, m.publishSeconds)
		m.publishFailures = register(reg, m.publishFailures)
		m.writers = register(reg, m.writers)
		m.readers = register(reg, m.readers)
	}
	return m
}

// register registers c, or returns the collector registered before under its name.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
	}
	panic(err) // a name clash with another kind of metric: a programming error
}

// addWriter exports w's kafka-go statistics under label until removeWriter.
func (m *Metrics) addWriter(label string, w *kafka.Writer) {
	if m != nil {
		m.writers.add(w, label, func() []float64 { return writerCounts(w.Stats()) })
	}
}

func (m *Metrics) removeWriter(w *kafka.Writer) {
	if m != nil {
		m.writers.remove(w)
	}
}

// readerStatser is the part of kafka.Reader whose statistics are exported.
type readerStatser interface{ Stats() kafka.ReaderStats }

// addReader exports a partition reader's kafka-go statistics under topic until removeReader.
func (m *Metrics) addReader(topic string, r readerStatser) {
	if m != nil {
		m.readers.add(r, topic, func() []float64 { return readerCounts(r.Stats()) })
	}
}

func (m *Metrics) removeReader(r readerStatser) {
	if m != nil {
		m.readers.remove(r)
	}
}

func (m *Metrics) fetched(topic string, n int) {
	if m != nil {
		m.records.WithLabelValues(topic).Add(float64(n))
	}
}

// generation resets the partition gauges of topic to the assigned partitions.
func (m *Metrics) generation(topic string, partitions []int) {
	if m == nil {
		return
	}
	m.committed.DeletePartialMatch(prometheus.Labels{"topic": topic})
	m.lag.DeletePartialMatch(prometheus.Labels{"topic": topic})
	for _, p := range partitions {
		m.committed.WithLabelValues(topic, strconv.Itoa(p)).Set(-1)
	}
}

func (m *Metrics) commit(topic string, o Offsets, err error) {
	if m == nil {
		return
	}
	if err != nil {
		m.commitFailures.WithLabelValues(topic).Inc()
		return
	}
	m.commits.WithLabelValues(topic).Inc()
	m.lastCommit.WithLabelValues(topic).SetToCurrentTime()
	for p, off := range o {
		part := strconv.Itoa(p)
		m.committed.WithLabelValues(topic, part).Set(float64(off.Next))
		m.lag.WithLabelValues(topic, part).Set(float64(max(off.HighWaterMark-off.Next, 0)))
	}
}

func (m *Metrics) published(label string, seconds float64, err error) {
	if m == nil {
		return
	}
	m.publishSeconds.WithLabelValues(label).Observe(seconds)
	if err != nil {
		m.publishFailures.WithLabelValues(label).Inc()
		return
	}
	m.lastPublish.WithLabelValues(label).SetToCurrentTime()
}
