package bench

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/notify"
)

func TestParseProducerWindowReadsProgressLinesOnly(t *testing.T) {
	tests := []struct {
		line string
		ok   bool
		want ProducerWindow
	}{
		{"554606 records sent, 110633.6 records/sec (31.65 MB/sec), 831.6 ms avg latency, 1300.0 ms max latency.", true,
			ProducerWindow{Records: 554606, RecordsPerSec: 110633.6, MBPerSec: 31.65, AvgMs: 831.6, MaxMs: 1300}},
		// The final summary has percentiles after the max latency: not a window.
		{"2000000 records sent, 105091.7 records/sec (30.07 MB/sec), 630.29 ms avg latency, 1374.00 ms max latency, 707 ms 50th, 1187 ms 95th, 1295 ms 99th, 1354 ms 99.9th.", false, ProducerWindow{}},
		{"[2026-11-29 01:29:53] WARN something", false, ProducerWindow{}},
	}
	for _, tt := range tests {
		got, ok := ParseProducerWindow(tt.line)
		if ok != tt.ok || got != tt.want {
			t.Errorf("ParseProducerWindow(%q) = %+v, %v; want %+v, %v", tt.line, got, ok, tt.want, tt.ok)
		}
	}
}

func TestSummarizeLeavesOutTheWarmUpWindow(t *testing.T) {
	ws := []ProducerWindow{
		{Records: 10000, RecordsPerSec: 2000, MBPerSec: 0.5, AvgMs: 900},
		{Records: 500000, RecordsPerSec: 100000, MBPerSec: 30, AvgMs: 10},
		{Records: 300000, RecordsPerSec: 60000, MBPerSec: 18, AvgMs: 20},
	}
	p := summarize(ws)
	if p.Acked != 810000 {
		t.Errorf("acked = %d, want 810000", p.Acked)
	}
	// 800,000 records over 5 s + 5 s.
	if math.Abs(p.Rate-80000) > 1e-6 {
		t.Errorf("rate = %v, want 80000", p.Rate)
	}
	if want := (500000*10 + 300000*20) / 800000.0; math.Abs(p.AvgMs-want) > 1e-9 {
		t.Errorf("avg latency = %v, want %v", p.AvgMs, want)
	}
	if one := summarize(ws[:1]); one.Rate != 2000 {
		t.Errorf("a single window is used as it is: rate = %v, want 2000", one.Rate)
	}
}

func TestParseConsumerLines(t *testing.T) {
	summary := "2026-11-29 01:31:03:462, 2026-11-29 01:31:10:466, 286.1681, 40.8578, 1000230, 142808.3952, 1510, 5494, 52.0874, 182058.6094"
	got, ok := ParseConsumerSummary(summary)
	if !ok || got.Messages != 1000230 || got.FetchMsgPerSec != 182058.6094 || got.RebalanceMs != 1510 {
		t.Errorf("ParseConsumerSummary = %+v, %v", got, ok)
	}
	if _, ok := ParseConsumerSummary("start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec"); ok {
		t.Error("the header parsed as a summary")
	}
	n, ok := ParseConsumerInterval("2026-11-29 01:29:55:855, 0, 496.6759, 367.2005, 1736008, 1283458.7885, 0, 1007, 367.2005, 1283458.7885")
	if !ok || n != 1736008 {
		t.Errorf("ParseConsumerInterval = %v, %v; want 1736008", n, ok)
	}
}

func TestSteadyRateSkipsStartAndStopsAtTheProducer(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	iv := []ConsumerInterval{
		{0, at(1)}, {500, at(2)}, {2000, at(3)}, {5000, at(4)}, {8000, at(5)}, {11000, at(6)},
		{11500, at(7)}, // after the producer stopped: the tail is not steady
	}
	got, err := steadyRate(iv, at(6).Add(100*time.Millisecond), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// From the interval 2 s after the first with records (at 4 s, 5000) to 6 s (11000).
	if got != 3000 {
		t.Errorf("steadyRate = %v, want 3000", got)
	}
	if _, err := steadyRate([]ConsumerInterval{{0, at(1)}}, at(2), time.Second); err == nil {
		t.Error("no records: want an error")
	}
}

func TestParseEndToEndLatency(t *testing.T) {
	lines := []string{"0\t423.693847", "Avg latency: 3.9334 ms", "Percentiles: 50th = 1, 99th = 40, 99.9th = 206"}
	got, ok := ParseEndToEndLatency(lines)
	if !ok || got != (LatencyResult{AvgMs: 3.9334, P50Ms: 1, P99Ms: 40, P999Ms: 206}) {
		t.Errorf("ParseEndToEndLatency = %+v, %v", got, ok)
	}
	if _, ok := ParseEndToEndLatency(lines[:2]); ok {
		t.Error("without percentiles: want not ok")
	}
}

func TestParseLoadLine(t *testing.T) {
	n, rate, ok := ParseLoadLine("load kafka: 200 stations × 10 parameters for 20.075s: 1046000 readings (52104 readings/s), 1046 uploads, publish p50 78.94ms p99 822.05ms, 0 unacknowledged, 0 errors")
	if !ok || n != 1046000 || rate != 52104 {
		t.Errorf("ParseLoadLine = %v, %v, %v", n, rate, ok)
	}
	if _, _, ok := ParseLoadLine("simulator load: bad flag"); ok {
		t.Error("an error line parsed")
	}
}

func TestSumMetricAddsMatchingSamples(t *testing.T) {
	text := `# HELP riverwatch_archiver_rows_written_total Rows.
# TYPE riverwatch_archiver_rows_written_total counter
riverwatch_archiver_rows_written_total{table="events"} 7
riverwatch_archiver_rows_written_total{table="readings"} 1.5e+06
riverwatch_archiver_rows_written_total_extra{table="readings"} 99
riverwatch_assessor_readings_total{outcome="judged"} 10
riverwatch_assessor_readings_total{outcome="duplicate"} 2
`
	tests := []struct {
		metric string
		match  map[string]string
		want   float64
		err    bool
	}{
		{"riverwatch_archiver_rows_written_total", map[string]string{"table": "readings"}, 1.5e6, false},
		{"riverwatch_assessor_readings_total", nil, 12, false},
		{"riverwatch_assessor_readings_total", map[string]string{"outcome": "late"}, 0, true},
		{"riverwatch_missing", nil, 0, true},
	}
	for _, tt := range tests {
		got, err := sumMetric(strings.NewReader(text), tt.metric, tt.match)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("sumMetric(%s, %v) = %v, %v; want %v (error %v)", tt.metric, tt.match, got, err, tt.want, tt.err)
		}
	}
}

func TestPercentilesNearestRank(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	got := Percentiles(ds, 0.5, 0.95, 0.99, 1)
	want := []time.Duration{50 * time.Millisecond, 95 * time.Millisecond, 99 * time.Millisecond, 100 * time.Millisecond}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("q%d = %v, want %v", i, got[i], want[i])
		}
	}
	if ds[0] != 100*time.Millisecond {
		t.Error("Percentiles sorted its argument")
	}
	if got := Percentiles(nil, 0.5); got[0] != 0 {
		t.Errorf("empty: %v", got)
	}
}

func TestResolveComputesRatiosAgainstBaselines(t *testing.T) {
	r := &Run{}
	raw := &Step{Name: "kafka", Status: StatusOK}
	raw.Add(KeyKafkaProduceConsume, "produce→consume", 80000, "rec/s")
	e2e := &Step{Name: "throughput", Status: StatusOK}
	e2e.Add("e2e.kafka.rate", "end to end", 60000, "readings/s").Vs(KeyKafkaProduceConsume)
	e2e.Add("orphan", "no baseline measured", 1, "x").Vs("missing.key")
	r.Steps = []*Step{raw, e2e}
	r.Resolve()
	if f := e2e.Figures[0]; f.Ratio == nil || *f.Ratio != 0.75 {
		t.Errorf("ratio = %v, want 0.75", f.Ratio)
	}
	if f := e2e.Figures[1]; f.Ratio != nil {
		t.Errorf("ratio without a baseline = %v, want none", *f.Ratio)
	}
	var out bytes.Buffer
	r.PrintTable(&out)
	for _, want := range []string{"80,000 rec/s", "0.75×", "(missing.key not measured)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}

func TestWriteJSONRoundTrips(t *testing.T) {
	dir := t.TempDir()
	r := &Run{Version: 1, ID: "20260101T000000Z", Steps: []*Step{{Name: "memory", Status: StatusOK}}}
	r.Steps[0].Add("memory.per_series", "per series", 287, "B").WithGoal("≤ 1 KiB", true)
	path, err := r.WriteJSON(dir)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(path) != "run-20260101T000000Z.json" {
		t.Errorf("path = %s", path)
	}
	got, err := ReadRun(path)
	if err != nil {
		t.Fatal(err)
	}
	f, ok := got.Figure("memory.per_series")
	if !ok || f.Value != 287 || f.Goal == nil || !f.Goal.Met {
		t.Errorf("read back %+v, %v", f, ok)
	}
	if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("temporary file left behind: %v", err)
	}
}

func TestHumanFormatsWithSeparators(t *testing.T) {
	tests := map[float64]string{1234567: "1,234,567", -1500: "-1,500", 287: "287", 58.84: "58.8", 5.678: "5.68", 0: "0"}
	for v, want := range tests {
		if got := human(v); got != want {
			t.Errorf("human(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestGeneratedNetworksLoad(t *testing.T) {
	dir := t.TempDir()
	all := filepath.Join(dir, "all.yaml")
	if err := writeNetwork(all, 0, 60, 5); err != nil {
		t.Fatal(err)
	}
	n, err := network.Load(all)
	if err != nil {
		t.Fatalf("bench network does not load: %v", err)
	}
	if got := len(n.Sites()); got != 65 {
		t.Errorf("%d sites, want 65", got)
	}
	// A probe is alone on its river: nothing up- or downstream to group an incident with.
	if up, down := n.Upstream(probeSiteID(3)), n.Downstream(probeSiteID(3)); len(up)+len(down) != 0 {
		t.Errorf("probe has neighbours: %v %v", up, down)
	}
	set := filepath.Join(dir, "set1.yaml")
	if err := writeNetwork(set, 20, 40, 0); err != nil {
		t.Fatal(err)
	}
	n, err = network.Load(set)
	if err != nil {
		t.Fatalf("a simulator's set does not load: %v", err)
	}
	if s := n.Sites(); len(s) != 20 || s[0].ID != loadSiteID(20) {
		t.Errorf("set 1 starts at %s with %d sites", s[0].ID, len(s))
	}
	if st, _ := n.Site(loadSiteID(25)); st.Station == nil || st.Station.MN != "LD000000000025" {
		t.Errorf("station of %s: %+v", loadSiteID(25), st.Station)
	}
}

func TestGeneratedContactsLoadForTheBenchNetwork(t *testing.T) {
	dir := t.TempDir()
	sites := filepath.Join(dir, "sites.yaml")
	if err := writeNetwork(sites, 0, 20, 2); err != nil {
		t.Fatal(err)
	}
	n, err := network.Load(sites)
	if err != nil {
		t.Fatal(err)
	}
	contacts := filepath.Join(dir, "contacts.yaml")
	if err := writeContacts("..", contacts); err != nil {
		t.Fatal(err)
	}
	c, err := notify.LoadContacts(contacts, n, "http://127.0.0.1:1/hook")
	if err != nil {
		t.Fatalf("bench contacts do not load: %v", err)
	}
	if got := c.For(benchJurisdic, "eeb"); len(got) != 1 {
		t.Errorf("eeb contacts in %s: %+v", benchJurisdic, got)
	}
}

func TestProcCPUReadsUserAndSystemTime(t *testing.T) {
	stat := []byte("32541 (clickhouse-serv) S 1 32540 32540 0 -1 4194560 51234 0 12 0 1234 566 0 0 20 0 45 0 1234 468004864 19483 18446744073709551615\n")
	got, ok := procCPU(stat)
	if !ok || got != 18 {
		t.Errorf("procCPU = %v, %v; want 18 s (1234 + 566 ticks)", got, ok)
	}
	// A command with spaces and parentheses in it.
	got, ok = procCPU([]byte("7 (a (b) c) R 1 1 1 0 -1 0 0 0 0 0 100 50 0 0 20 0 1 0 1 1 1 1\n"))
	if !ok || got != 1.5 {
		t.Errorf("procCPU with an odd command = %v, %v; want 1.5", got, ok)
	}
	if _, ok := procCPU([]byte("garbage")); ok {
		t.Error("garbage parsed")
	}
}

func TestCPUCeilingsDivideTheCoresByTheCPUPerReading(t *testing.T) {
	// The single-node figures of run-20261204T011606Z, straight to Kafka: services 6.1 µs,
	// the simulator 2.3 µs, Kafka 1.7 and ClickHouse 2.0 µs per reading, 2 cores.
	s := &Step{}
	cpuCeilings(s, "kafka", "straight to Kafka", 2, 6.1, 2.3, 3.7)
	want := map[string]float64{"e2e.kafka.cpu_bound": 2 / 12.1e-6, "e2e.kafka.ceiling": 2 / 6.0e-6}
	if len(s.Figures) != len(want) {
		t.Fatalf("figures %d, want %d", len(s.Figures), len(want))
	}
	for _, f := range s.Figures {
		if w, ok := want[f.Key]; !ok || math.Abs(f.Value-w) > 1 {
			t.Errorf("%s = %.0f, want %.0f", f.Key, f.Value, w)
		}
	}
	none := &Step{}
	cpuCeilings(none, "kafka", "x", 2, 6.1, 0, 3.7) // the load generator's CPU was not measured
	if len(none.Figures) != 0 {
		t.Errorf("a ceiling without the load generator's CPU: %+v", none.Figures[0])
	}
}
