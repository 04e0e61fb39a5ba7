package bench

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/detect"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/standard"
)

// goalBytesPerSeries is issue 10's memory goal for the assessor.
const goalBytesPerSeries = 1024

// memoryParams are the parameters each memory-step site reports (Series / len sites).
var memoryParams = []string{"temp", "ph", "do", "conductivity", "turbidity", "codmn", "nh3n", "tp", "tn", "cod"}

// heap returns the live heap after a full collection.
func heap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// Memory drives pkg/detect's Engine in this process with Settings.Series series (sites ×
// 10 parameters of a generated network) and measures the live heap the engine holds per
// series once every series has state, and how fast it judges readings on one goroutine.
func Memory(ctx context.Context, e *Env, s *Step) error {
	n := e.Settings.Series
	sites := (n + len(memoryParams) - 1) / len(memoryParams)
	if sites > math.MaxUint16 {
		return fmt.Errorf("memory: %d sites is more than the engine holds", sites)
	}
	var b strings.Builder
	b.WriteString("timezone: Asia/Shanghai\njurisdictions:\n  - {id: m, name: m}\nrivers:\n")
	for r := 0; r < (sites+19)/20; r++ {
		fmt.Fprintf(&b, "  - {id: r%d, name: r%d, velocity_mps: 1.0, flow_m3s: 5.0}\n", r, r)
	}
	b.WriteString("sites:\n")
	for i := 0; i < sites; i++ {
		fmt.Fprintf(&b, "  - {id: M%05d, name: m%d, kind: section, river: r%d, km: %d, jurisdiction: m, target_class: III}\n", i, i, i/20, 1+(i%20)*5)
	}
	net, err := network.Parse([]byte(b.String()))
	if err != nil {
		return fmt.Errorf("memory network: %w", err)
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
	before := heap()
	eng, err := detect.New(net, detect.OptionsFrom(config.Default().Assessor), func() time.Time { return start.Add(time.Hour) }, nil)
	if err != nil {
		return fmt.Errorf("memory: engine: %w", err)
	}
	empty := heap()
	const rounds = 5 // a few readings per series, so rings and medians have content
	var count int
	t0 := time.Now()
	for round := 0; round < rounds; round++ {
		for i := 0; i < sites && count < n*rounds; i++ {
			for p := range memoryParams {
				if i*len(memoryParams)+p >= n {
					break
				}
				eng.ApplyAt(reading(i, p, round), detect.Position{Partition: int32(i % 6), Offset: int64(count)})
				count++
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	el := time.Since(t0)
	full := heap()
	runtime.KeepAlive(eng)
	per := float64(full-empty) / float64(n)
	s.Add("memory.per_series", fmt.Sprintf("engine heap per series (%d series)", n), per, "B").
		WithGoal("≤ 1 KiB per series", per <= goalBytesPerSeries)
	s.Add("memory.engine_total", "engine heap, network and sites included", float64(full-before)/(1<<20), "MiB")
	s.Add("memory.judge_rate", "engine alone: readings judged on one goroutine", float64(count)/el.Seconds(), "readings/s").
		Vs(KeyKafkaProduceConsume)
	s.Note("memory: %d sites × %d parameters of a generated network, %d readings per series; heap measured after runtime.GC with the engine alive",
		sites, len(memoryParams), rounds)
	return nil
}
