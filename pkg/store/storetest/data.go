package storetest

import (
	"math"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/segmentio/kafka-go"
)

// Sites and Params are the series Readings generates.
var (
	Sites  = []string{"STH-S1", "STH-S2", "STH-S3", "THH-S1", "THH-S2"}
	Params = []string{"cod", "nh3n", "tp", "do", "ph"}
)

// Readings returns n deterministic readings: every site and parameter once a minute from
// base; one in seven is flagged D (not valid) so rollups distinguish samples and valid.
func Readings(n int, base time.Time) []message.Reading {
	out := make([]message.Reading, 0, n)
	per := len(Sites) * len(Params)
	for i := range n {
		site, param := Sites[i%len(Sites)], Params[(i/len(Sites))%len(Params)]
		at := base.Add(time.Duration(i/per) * time.Minute)
		flag := message.FlagNormal
		if i%7 == 3 {
			flag = "D"
		}
		out = append(out, message.Reading{
			ID: message.ReadingID(site, param, message.IntervalMinute, at), Site: site, Station: "mn-" + site,
			Parameter: param, Value: float64(i%97) / 10, Unit: "mg/L", Interval: message.IntervalMinute,
			Flag: flag, ObservedAt: at, ReceivedAt: at.Add(2 * time.Second), Source: message.SourceHJ212,
		})
	}
	return out
}

// ReadingKey is the message key of a reading: its site, as the gateway publishes it.
func ReadingKey(r message.Reading) string { return r.Site }

// AsMessages encodes records as Kafka messages with consecutive offsets on one partition.
func AsMessages[T any](t testing.TB, recs []T, key func(T) string, partition int, firstOffset int64) []kafka.Message {
	t.Helper()
	out, err := encode(recs, key, partition, firstOffset)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// MetricValue reads a counter or gauge (testutil.ToFloat64 would need a module this
// repository does not have); NaN for any other kind.
func MetricValue(m prometheus.Metric) float64 {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		return math.NaN()
	}
	switch {
	case d.Counter != nil:
		return d.Counter.GetValue()
	case d.Gauge != nil:
		return d.Gauge.GetValue()
	}
	return math.NaN()
}
