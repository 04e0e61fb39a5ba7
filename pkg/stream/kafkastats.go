package stream

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
)

// kafka-go keeps statistics of each Writer and Reader (WriterStats, ReaderStats) and hands
// them out as counts since the previous call. clientStats turns them into Prometheus
// counters at each scrape: it asks every live client, adds what it says to the totals of the
// client's topic label, and folds a client's last counts in when it closes, so that the
// counters only ever rise.
//
//	riverwatch_<svc>_kafka_writer_writes_total{topic}     produce requests sent
//	riverwatch_<svc>_kafka_writer_messages_total{topic}   messages written
//	riverwatch_<svc>_kafka_writer_bytes_total{topic}      bytes written
//	riverwatch_<svc>_kafka_writer_errors_total{topic}     failed produce requests
//	riverwatch_<svc>_kafka_writer_retries_total{topic}    produce attempts retried
//	riverwatch_<svc>_kafka_reader_fetches_total{topic}    fetch requests of the consumers' partition readers
//	riverwatch_<svc>_kafka_reader_bytes_total{topic}      bytes fetched
//	riverwatch_<svc>_kafka_reader_errors_total{topic}     failed fetches
//	riverwatch_<svc>_kafka_reader_timeouts_total{topic}   fetches that timed out
//	riverwatch_<svc>_kafka_reader_dials_total{topic}      connections dialled to partition leaders
type clientStats struct {
	descs   []*prometheus.Desc
	mu      sync.Mutex
	clients map[any]client
	totals  map[string][]float64 // by topic label, in descs' order
}

// client is one live Writer or Reader and the topic label its counts go to.
type client struct {
	label string
	read  func() []float64 // the counts since the previous read, in descs' order
}

func newClientStats(name func(string) string, kind string, what []string) *clientStats {
	s := &clientStats{clients: map[any]client{}, totals: map[string][]float64{}}
	for _, w := range what {
		s.descs = append(s.descs, prometheus.NewDesc(name("kafka_"+kind+"_"+w+"_total"),
			"kafka-go "+kind+" statistics: "+w+", by topic (the "+kind+"'s label).", []string{"topic"}, nil))
	}
	return s
}

// writerCounts are WriterStats' counters, in the order of writerStatNames.
var writerStatNames = []string{"writes", "messages", "bytes", "errors", "retries"}

func writerCounts(s kafka.WriterStats) []float64 {
	return []float64{float64(s.Writes), float64(s.Messages), float64(s.Bytes), float64(s.Errors), float64(s.Retries)}
}

// readerCounts are ReaderStats' counters, in the order of readerStatNames.
var readerStatNames = []string{"fetches", "bytes", "errors", "timeouts", "dials"}

func readerCounts(s kafka.ReaderStats) []float64 {
	return []float64{float64(s.Fetches), float64(s.Bytes), float64(s.Errors), float64(s.Timeouts), float64(s.Dials)}
}

// add starts counting a client; key identifies it for remove.
func (s *clientStats) add(key any, label string, read func() []float64) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clients[key] = client{label: label, read: read}
	if s.totals[label] == nil {
		s.totals[label] = make([]float64, len(s.descs))
	}
}

// remove folds a closing client's last counts in and stops asking it.
func (s *clientStats) remove(key any) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.clients[key]; ok {
		s.fold(c)
		delete(s.clients, key)
	}
}

func (s *clientStats) fold(c client) {
	t := s.totals[c.label]
	for i, v := range c.read() {
		t[i] += v
	}
}

// Describe implements prometheus.Collector.
func (s *clientStats) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range s.descs {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (s *clientStats) Collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.clients {
		s.fold(c)
	}
	for label, t := range s.totals {
		for i, d := range s.descs {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, t[i], label)
		}
	}
}
