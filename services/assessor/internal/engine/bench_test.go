package engine

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/standard"
)

// syntheticNetwork has n sections, each alone on a river of its own, so that benchmarks
// measure judgement, not fan-out of predictions.
func syntheticNetwork(tb testing.TB, n int) *network.Network {
	tb.Helper()
	var b strings.Builder
	b.WriteString("timezone: Asia/Shanghai\njurisdictions:\n  - {id: j, name: j}\nrivers:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  - {id: r%d, name: r%d, velocity_mps: 1, flow_m3s: 5}\n", i, i)
	}
	b.WriteString("sites:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  - {id: S%d, name: s, kind: section, river: r%d, km: 1, jurisdiction: j, target_class: III, station: {mn: \"%d\", password: x}}\n", i, i, i)
	}
	net, err := network.Parse([]byte(b.String()))
	if err != nil {
		tb.Fatal(err)
	}
	return net
}

// BenchmarkJudge measures readings judged per second by one engine (one core): 200
// sites × 5 parameters, hourly values that wander inside Class II–III, one series in a
// hundred with an exceedance that opens, updates and clears.
func BenchmarkJudge(b *testing.B) {
	e, next := judgeBench(b)
	for i := 0; i < b.N; i++ {
		e.ApplyAt(next(i), NoPosition)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "readings/s")
}

// judgeReadings is a day of BenchmarkJudge's readings: 200 sites × 5 parameters, hourly.
func judgeReadings() []message.Reading {
	params := []string{"cod", "nh3n", "tp", "do", "ph"}
	base := map[string]float64{"cod": 12, "nh3n": 0.4, "tp": 0.08, "do": 7, "ph": 7.6}
	const nSeries = 200 * 5
	readings := make([]message.Reading, 0, 24*nSeries)
	for hr := 0; hr < 24; hr++ {
		for s := 0; s < 200; s++ {
			for pi, p := range params {
				v := base[p] * (1 + 0.05*float64((hr*7+s*3+pi)%11-5)/5)
				if s%100 == 0 && p == "cod" && hr >= 6 && hr < 12 {
					v = 25 + float64(hr) // opens, changes class, clears
				}
				obs := t0.Add(time.Duration(hr) * time.Hour)
				site := fmt.Sprintf("S%d", s)
				readings = append(readings, message.Reading{
					ID: message.ReadingID(site, p, "hour", obs), Site: site, Parameter: p, Value: v,
					Interval: message.IntervalHour, Flag: "N", ObservedAt: obs, ReceivedAt: obs,
				})
			}
		}
	}
	return readings
}

// judgeBench is the judge benchmarks' engine (200 sites) and their i-th reading: the day of
// judgeReadings again and again, each pass a day on so that readings stay in order. The
// timer starts when it returns.
func judgeBench(b *testing.B) (*Engine, func(i int) message.Reading) {
	b.Helper()
	clk := &fakeClock{t: t0}
	e, err := New(syntheticNetwork(b, 200), withDefaults(Options{}), clk.Now, nil)
	if err != nil {
		b.Fatal(err)
	}
	readings := judgeReadings()
	b.ReportAllocs()
	b.ResetTimer()
	return e, func(i int) message.Reading {
		r := readings[i%len(readings)]
		r.ObservedAt = r.ObservedAt.Add(time.Duration(i/len(readings)) * 24 * time.Hour)
		r.ReceivedAt = r.ObservedAt
		return r
	}
}

// BenchmarkJudgeAndDrainState measures what the assessor does per reading besides
// decoding it: judge it, then, per batch of 500, drain the changed state and encode
// each record (engine.EncodeRecord), as publishEvents does. Allocations are per reading.
func BenchmarkJudgeAndDrainState(b *testing.B) {
	e, next := judgeBench(b)
	const batch = 500
	for i := 0; i < b.N; i++ {
		e.ApplyAt(next(i), Position{Partition: 0, Offset: int64(i)})
		if i%batch == batch-1 || i == b.N-1 {
			for _, rec := range e.DrainState() {
				if _, _, err := EncodeRecord(rec); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
}

// BenchmarkSeriesMemory measures the heap held per series with 100,000 series (2,000
// sites × 50 parameters), each with a full ring of recent values, and reports it as
// bytes/series. The target is ≤ 1 KiB.
func BenchmarkSeriesMemory(b *testing.B) {
	net := syntheticNetwork(b, 2000)
	codes := standard.Codes()
	var params []string
	for _, c := range codes {
		if standard.Plausible(c, 0.5) == nil && len(params) < 50 {
			params = append(params, c)
		}
	}
	if len(params) < 50 {
		b.Fatalf("only %d parameters", len(params))
	}
	var perSeries float64
	for i := 0; i < b.N; i++ {
		clk := &fakeClock{t: t0}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		e, err := New(net, withDefaults(Options{}), clk.Now, nil)
		if err != nil {
			b.Fatal(err)
		}
		for hr := 0; hr < ringSize; hr++ {
			obs := t0.Add(time.Duration(hr) * time.Hour)
			for s := 0; s < 2000; s++ {
				site := net.Sites()[s].ID
				for j, p := range params {
					e.ApplyAt(message.Reading{
						Site: site, Parameter: p, Value: 0.4 + 0.01*float64((hr+j)%5), Flag: "N",
						Interval: message.IntervalHour, ObservedAt: obs, ReceivedAt: obs,
					}, NoPosition)
				}
			}
			e.DrainState()
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		n := e.Stats().Series
		if n != 100000 {
			b.Fatalf("%d series", n)
		}
		perSeries = float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
		runtime.KeepAlive(e)
	}
	b.ReportMetric(perSeries, "bytes/series")
}
