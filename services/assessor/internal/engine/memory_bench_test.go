package engine_test

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/standard"
	"github.com/riverwatch/riverwatch/services/assessor/internal/assessor"
	"github.com/riverwatch/riverwatch/services/assessor/internal/engine"
)

// memoryParams are the parameters each memory-benchmark site reports.
var memoryParams = []string{"temp", "ph", "do", "conductivity", "turbidity", "codmn", "nh3n", "tp", "tn", "cod"}

// liveHeap returns the live heap after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkEngineHeapPerSeries drives one Engine with RIVERWATCH_BENCH_SERIES series
// (default 10,000; make bench asks for 100,000) of a generated network and reports the live
// heap the engine holds per series once every series has state ("B/series"), the heap of the
// engine with its network ("engine-MiB") and how fast one goroutine judges ("readings/s").
// make bench runs it once (-benchtime 1x) and reads the three figures.
func BenchmarkEngineHeapPerSeries(b *testing.B) {
	n := 10_000
	if s := os.Getenv("RIVERWATCH_BENCH_SERIES"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 {
			b.Fatalf("RIVERWATCH_BENCH_SERIES=%q: want a positive integer", s)
		}
		n = v
	}
	sites := (n + len(memoryParams) - 1) / len(memoryParams)
	if sites > math.MaxUint16 {
		b.Fatalf("%d sites is more than the engine holds", sites)
	}
	var sb strings.Builder
	sb.WriteString("timezone: Asia/Shanghai\njurisdictions:\n  - {id: m, name: m}\nrivers:\n")
	for r := 0; r < (sites+19)/20; r++ {
		fmt.Fprintf(&sb, "  - {id: r%d, name: r%d, velocity_mps: 1.0, flow_m3s: 5.0}\n", r, r)
	}
	sb.WriteString("sites:\n")
	for i := 0; i < sites; i++ {
		fmt.Fprintf(&sb, "  - {id: M%05d, name: m%d, kind: section, river: r%d, km: %d, jurisdiction: m, target_class: III}\n", i, i, i/20, 1+(i%20)*5)
	}
	net, err := network.Parse([]byte(sb.String()))
	if err != nil {
		b.Fatalf("network: %v", err)
	}
	ids := make([]string, sites)
	for i := range ids {
		ids[i] = fmt.Sprintf("M%05d", i)
	}
	units := make([]string, len(memoryParams))
	for i, p := range memoryParams {
		units[i] = standard.CanonicalUnit(p)
	}
	// Keep the collector from running during the timing; collect explicitly around it.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	start := time.Now().Add(-time.Hour).Truncate(time.Second)
	reading := func(site, param, round int) message.Reading {
		v := 0.5 + float64((site*7+param*13+round*3)%100)/400 // compliant, varied values
		if memoryParams[param] == "ph" {
			v = 7 + v/2
		}
		obs := start.Add(time.Duration(round) * time.Minute)
		return message.Reading{
			ID: "x", Site: ids[site], Parameter: memoryParams[param], Value: v, Unit: units[param],
			Interval: message.IntervalRealtime, Flag: message.FlagNormal, ObservedAt: obs, ReceivedAt: obs,
			Source: message.SourceHJ212,
		}
	}
	for b.Loop() {
		before := liveHeap()
		eng, err := engine.New(net, assessor.OptionsFrom(config.Default().Assessor), func() time.Time { return start.Add(time.Hour) }, nil)
		if err != nil {
			b.Fatalf("engine: %v", err)
		}
		empty := liveHeap()
		const rounds = 5 // a few readings per series, so rings and medians have content
		var count int
		t0 := time.Now()
		for round := 0; round < rounds; round++ {
			for i := 0; i < sites; i++ {
				for p := range memoryParams {
					if i*len(memoryParams)+p >= n {
						break
					}
					eng.ApplyAt(reading(i, p, round), engine.Position{Partition: int32(i % 6), Offset: int64(count)})
					count++
				}
			}
		}
		el := time.Since(t0)
		full := liveHeap()
		runtime.KeepAlive(eng)
		b.ReportMetric(float64(full-empty)/float64(n), "B/series")
		b.ReportMetric(float64(full-before)/(1<<20), "engine-MiB")
		b.ReportMetric(float64(count)/el.Seconds(), "readings/s")
		b.ReportMetric(float64(n), "series")
	}
}
