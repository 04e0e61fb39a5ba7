package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// goalBytesPerSeries is issue 10's memory goal for the assessor.
const goalBytesPerSeries = 1024

// engineBenchPkg is the assessor's engine, whose Go benchmark the memory step runs: the
// engine is the assessor's own package (Go's internal rule keeps it there), so the step
// measures it through `go test -bench` instead of importing it.
const engineBenchPkg = "./services/assessor/internal/engine"

// Memory runs the engine's BenchmarkEngineHeapPerSeries once with Settings.Series series
// (sites × 10 parameters of a generated network): the live heap the engine holds per series
// once every series has state, and how fast it judges readings on one goroutine.
func Memory(ctx context.Context, e *Env, s *Step) error {
	n := e.Settings.Series
	cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", "^BenchmarkEngineHeapPerSeries$",
		"-benchtime", "1x", "-count", "1", engineBenchPkg)
	cmd.Dir = e.Root
	cmd.Env = append(os.Environ(), "RIVERWATCH_BENCH_SERIES="+strconv.Itoa(n))
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("memory: go test -bench: %w\n%s", err, out)
	}
	m, err := benchMetrics(string(out), "BenchmarkEngineHeapPerSeries")
	if err != nil {
		return fmt.Errorf("memory: %w", err)
	}
	per := m["B/series"]
	s.Add("memory.per_series", fmt.Sprintf("engine heap per series (%d series)", n), per, "B").
		WithGoal("≤ 1 KiB per series", per <= goalBytesPerSeries)
	s.Add("memory.engine_total", "engine heap, network and sites included", m["engine-MiB"], "MiB")
	s.Add("memory.judge_rate", "engine alone: readings judged on one goroutine", m["readings/s"], "readings/s").
		Vs(KeyKafkaProduceConsume)
	s.Note("memory: %d series (sites × 10 parameters of a generated network), 5 readings per series, by %s's BenchmarkEngineHeapPerSeries; heap measured after runtime.GC with the engine alive",
		n, engineBenchPkg)
	return nil
}

// benchMetrics reads the value/unit pairs of one benchmark's result line of `go test -bench`
// output ("BenchmarkX-2  1  123 ns/op  456 B/series ...").
func benchMetrics(out, name string) (map[string]float64, error) {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || (f[0] != name && !strings.HasPrefix(f[0], name+"-")) {
			continue
		}
		m := map[string]float64{}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("%s: value %q of %s: %w", name, f[i], f[i+1], err)
			}
			m[f[i+1]] = v
		}
		return m, nil
	}
	return nil, fmt.Errorf("no result line for %s in:\n%s", name, out)
}
