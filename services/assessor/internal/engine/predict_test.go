package engine

import (
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9*math.Max(1, math.Abs(b)) }

// The test network (testdata/network.yaml): main river 1 m/s, 10 m³/s; tributary 0.5 m/s,
// 2 m³/s, 20 km long, joining the main river at km 50. On the tributary: T1 (km 5,
// section), TO (km 10, outfall GB18918-1A, 0.5 m³/s), T2 (km 15, section). On the main
// river: M1 10, O1 20 (outfall, 1 m³/s), M2 30, D1 60 (drinking source, Class II), M3 80,
// L1 90.
func TestPredictionFromAnOutfallOnATributary(t *testing.T) {
	e, _ := newTestEngine(t, Options{})
	// Background: COD 10 above the outfall, 12 at the drinking source; nothing known at
	// M3 or L1.
	applyAll(e, rd("T1", "cod", 10, 0), rd("D1", "cod", 12, 0))

	// COD 100 against the permit's 50: multiple 1.0, severe, opens at once.
	spill := rd("TO", "cod", 100, h)
	evs := e.Apply(spill)
	if len(evs) == 0 || evs[0].Type != message.EventExceedanceOpened {
		t.Fatalf("events %v", types(evs))
	}
	opened := evs[0]
	preds := only(evs, message.EventPredictionIssued)

	// At the outfall: (100 × 0.5 + 10 × 2)/(0.5 + 2) = 28.
	// T2, 5 km down the tributary at 0.5 m/s: 10,000 s; 28 > 20 (Class III): issued.
	// D1, 10 km to the mouth at 0.5 m/s + 10 km of main river at 1 m/s: 30,000 s; the
	//   plume (2.5 m³/s at 28) mixes with the main river (10 m³/s at D1's 12):
	//   (28 × 2.5 + 12 × 10)/12.5 = 15.2 > 15 (Class II): issued.
	// M2 is upstream of the confluence; M3 and L1: (28 × 2.5 + 0 × 10)/12.5 = 5.6 meets.
	want := []struct {
		site    string
		value   float64
		travel  time.Duration
		dist    float64
		limit   float64
		target  string
		class   string
		multipl float64
	}{
		{"T2", 28, 10000 * time.Second, 5, 20, "III", "IV", 0.4},
		{"D1", 15.2, 30000 * time.Second, 20, 15, "II", "III", 0},
	}
	if len(preds) != len(want) {
		t.Fatalf("predictions %d: %+v", len(preds), preds)
	}
	for i, w := range want {
		p := preds[i]
		if p.Site != w.site || !near(p.PredictedValue, w.value) || !near(p.Value, w.value) ||
			!p.ArrivalAt.Equal(spill.ObservedAt.Add(w.travel)) || !near(p.DistanceKm, w.dist) ||
			p.Limit != w.limit || p.TargetClass != w.target || p.Class != w.class || !near(p.Multiple, w.multipl) {
			t.Errorf("prediction %d:\n got %+v\nwant %+v", i, p, w)
		}
		if p.OriginSite != "TO" || p.OriginEventID != opened.ID || !p.ObservedAt.Equal(spill.ObservedAt) ||
			p.ID != message.EventID(message.EventPredictionIssued, w.site, "cod", spill.ObservedAt, "TO") {
			t.Errorf("prediction %d identity: %+v", i, p)
		}
	}
}

func TestOutfallUsesItsMeasuredFlow(t *testing.T) {
	e, _ := newTestEngine(t, Options{})
	// Measured 1.5 m³/s instead of the 0.5 of sites.yaml; no background anywhere:
	// (100 × 1.5 + 0 × 2)/3.5 = 42.857…
	applyAll(e, rd("TO", "flow", 1.5, 0))
	preds := only(e.Apply(rd("TO", "cod", 100, h)), message.EventPredictionIssued)
	if len(preds) == 0 || preds[0].Site != "T2" || !near(preds[0].PredictedValue, 150.0/3.5) {
		t.Fatalf("predictions %+v", preds)
	}
}

func TestPredictionFromASectionIsCarriedAndDiluted(t *testing.T) {
	e, _ := newTestEngine(t, Options{})
	// COD 45 at T1: 劣V, opens at once. Carried to T2 (same river): 45. Into the main
	// river: (45 × 2 + 0 × 10)/12 = 7.5 meets Class II (15) at D1: no prediction there.
	preds := only(e.Apply(rd("T1", "cod", 45, 0)), message.EventPredictionIssued)
	if len(preds) != 1 || preds[0].Site != "T2" || !near(preds[0].PredictedValue, 45) ||
		!preds[0].ArrivalAt.Equal(t0.Add(20000*time.Second)) || preds[0].Severity != SeveritySevere {
		t.Fatalf("predictions %+v", preds)
	}
}

func TestPredictionDecay(t *testing.T) {
	// k = 0.1/h for NH3-N. M1 → M2: 20 km at 1 m/s = 20,000 s = 5.5 h:
	// 2.0 × e^(−0.55) = 1.1539…; M1 → D1: 50 km, 13.8 h: 2.0 × e^(−1.3889) = 0.4988 < 0.5.
	e, _ := newTestEngine(t, Options{DecayPerHour: map[string]float64{"nh3n": 0.1}})
	preds := only(e.Apply(rd("M1", "nh3n", 2.0, 0)), message.EventPredictionIssued)
	if len(preds) != 1 || preds[0].Site != "M2" || !near(preds[0].PredictedValue, 2.0*math.Exp(-0.1*20000/3600)) {
		t.Fatalf("predictions %+v", preds)
	}
}

func TestNoPredictionForDOOrPH(t *testing.T) {
	e, _ := newTestEngine(t, Options{})
	evs := applyAll(e, rd("M1", "do", 1.0, 0), rd("M1", "ph", 11, h))
	if n := len(only(evs, message.EventPredictionIssued)); n != 0 || len(only(evs, message.EventExceedanceOpened)) != 2 {
		t.Fatalf("events %v", types(evs))
	}
}

func TestPredictionClearsWhenTheCleanWaterArrives(t *testing.T) {
	e, clk := newTestEngine(t, Options{})
	applyAll(e, rd("T1", "cod", 10, 0), rd("D1", "cod", 12, 0))
	applyAll(e, rd("TO", "cod", 100, h))                             // T2 and D1 predicted
	evs := applyAll(e, hourly("TO", "cod", 0, 0, 30, 30, 30)[2:]...) // 2 h, 3 h, 4 h: clean
	if !equal(types(local(evs)), []string{message.EventExceedanceCleared}) {
		t.Fatalf("events %v", types(evs))
	}
	clearedAt := t0.Add(4 * h)
	// Clean water reaches T2 10,000 s after the clearing, D1 30,000 s after it, in
	// observed time: readings anywhere move the stream time on (T1 is upstream of both).
	clk.t = clearedAt.Add(100 * h) // the wall clock is no judge of it
	applyAll(e, rd("T1", "cod", 10, 4*h+10000*time.Second-time.Second))
	if evs := predTick(e, clk.t); len(evs) != 0 {
		t.Fatalf("before the clean water: %v", types(evs))
	}
	applyAll(e, rd("T1", "cod", 10, 4*h+10000*time.Second))
	evs = predTick(e, clk.t)
	if len(evs) != 1 || evs[0].Type != message.EventPredictionCleared || evs[0].Site != "T2" ||
		!evs[0].ObservedAt.Equal(clearedAt.Add(10000*time.Second)) || evs[0].OriginSite != "TO" ||
		evs[0].OriginEventID != message.EventID(message.EventExceedanceOpened, "TO", "cod", t0.Add(h), "") ||
		evs[0].ID != message.EventID(message.EventPredictionCleared, "T2", "cod", t0.Add(h), "TO") {
		t.Fatalf("at T2's arrival: %+v", evs)
	}
	// A downstream reading observed after the clean water's arrival clears too.
	evs = only(applyAll(e, rd("D1", "cod", 12, 4*h+30000*time.Second)), message.EventPredictionCleared)
	if len(evs) != 0 {
		t.Fatalf("reading %v", types(evs))
	}
	evs = predTick(e, clk.t)
	if len(evs) != 1 || evs[0].Site != "D1" || evs[0].Type != message.EventPredictionCleared ||
		!evs[0].ObservedAt.Equal(clearedAt.Add(30000*time.Second)) {
		t.Fatalf("D1: %+v", evs)
	}
	if st := e.Stats(); st.Predictions != 0 {
		t.Errorf("predictions left: %d", st.Predictions)
	}
}

func TestPredictionRefutedByDownstreamReadings(t *testing.T) {
	e, clk := newTestEngine(t, Options{PredictionWindow: h})
	applyAll(e, rd("M1", "nh3n", 2.0, 0)) // severe: opens; M2 predicted at 5 h 33 min
	arrival := t0.Add(20000 * time.Second)
	// Compliant at M2 inside the window: not yet refuted.
	applyAll(e, rd("M2", "nh3n", 0.4, 6*h))
	if evs := predTick(e, clk.t); len(evs) != 0 {
		t.Fatalf("inside the window: %v", types(evs))
	}
	// Compliant after arrival + 1 h: refuted.
	late := arrival.Add(h).Sub(t0) + time.Minute
	applyAll(e, rd("M2", "nh3n", 0.41, late))
	evs := predTick(e, clk.t)
	if len(evs) != 1 || evs[0].Type != message.EventPredictionCleared || evs[0].Site != "M2" ||
		!evs[0].ObservedAt.Equal(t0.Add(late)) {
		t.Fatalf("refuted: %+v", evs)
	}
}

func TestPredictionNotRefutedWhileTheDownstreamExceedanceIsOpen(t *testing.T) {
	e, clk := newTestEngine(t, Options{PredictionWindow: h})
	applyAll(e, rd("M1", "nh3n", 2.0, 0))
	// The plume arrives at M2: severe there too; then one compliant reading, which does
	// not clear M2's own exceedance.
	applyAll(e, rd("M2", "nh3n", 2.1, 6*h), rd("M2", "nh3n", 0.4, 8*h))
	if evs := predTick(e, clk.t); len(evs) != 0 {
		t.Fatalf("events %v", types(evs))
	}
}

func TestWorseUpstreamReissuesAndNewOpeningSupersedes(t *testing.T) {
	e, _ := newTestEngine(t, Options{})
	applyAll(e, rd("T1", "cod", 10, 0))
	first := only(e.Apply(rd("TO", "cod", 100, h)), message.EventPredictionIssued) // T2 at 28
	if len(first) != 1 {
		t.Fatalf("first %+v", first)
	}
	// 300: (300 × 0.5 + 20)/2.5 = 68, 2.4 × the earlier 28 → re-issued for T2 with the
	// new trigger's id; the main river now gets (68 × 2.5)/12.5 = 13.6 at D1 (Class II 15:
	// meets, no background known at D1).
	evs := e.Apply(rd("TO", "cod", 300, 2*h))
	re := only(evs, message.EventPredictionIssued)
	if len(re) != 1 || re[0].Site != "T2" || !near(re[0].PredictedValue, 68) ||
		re[0].ID != message.EventID(message.EventPredictionIssued, "T2", "cod", t0.Add(2*h), "TO") ||
		re[0].OriginEventID != first[0].OriginEventID {
		t.Fatalf("re-issue %+v", re)
	}
	if len(only(evs, message.EventExceedanceUpdated)) != 1 {
		t.Fatalf("events %v", types(evs))
	}
	// Clear, then reopen before the clean water reached T2: the old prediction is
	// superseded (cleared) before the new one is issued.
	applyAll(e, hourly("TO", "cod", 0, 0, 0, 30, 30, 30)[3:]...) // 3 h, 4 h, 5 h: clean
	evs = e.Apply(rd("TO", "cod", 100, 6*h))
	if !equal(types(evs), []string{message.EventPredictionCleared, message.EventExceedanceOpened, message.EventPredictionIssued}) {
		t.Fatalf("reopen %v", types(evs))
	}
}

// predTick runs Tick and keeps the prediction events (the fake clock also silences
// stations).
func predTick(e *Engine, now time.Time) []message.Event {
	return only(e.Tick(now), message.EventPredictionCleared)
}

// The spill of TestPredictionFromAnOutfallOnATributary through the plume model
// (docs/plume.md), computed by hand. The test network configures no transport, so the
// spread is Jobson's (σ = 0.055 T per leg, adding linearly) and the band's factor 1.5.
// The release began at t0 + 1 h (it opened at once) and lasts, as known, one hourly
// interval: τ = 3600 s. At the outfall C₀ = 28 (before decay; there is none).
//
// T2: 5 km at 0.5 m/s, T = 10000 s, σ = 550 s. leading 8900 s, peak 10000 + 1800 = 11800 s,
// back down 10000 + 3600 + 1100 = 14700 s; earliest at 0.75 m/s: T = 6666.7, 0.89·T =
// 5933.3 s; latest at 1/3 m/s: T = 15000, σ = 825, 15000 + 3600 + 1650 = 20250 s.
// Attenuation erf(3600/(2√2·550)) = erf(2.31426) = 1 − 0.001064 = 0.998936 → 27.9702.
//
// D1: 10 km of trib at 0.5 (20000 s) + 10 km of main at 1.0 (10000 s): T = 30000 s,
// σ = 0.055·(20000 + 10000) = 1650 s. leading 26700, peak 31800, back down 36900 s.
// Dilution: the plume's 2 + 0.5 m³/s into main's 10 + 2 + 0.5: 2.5/12.5 = 0.2, background
// D1's 12: plateau 12 + 16·0.2 = 15.2 (the mass balance's value); attenuation
// erf(3600/(2√2·1650)) = erf(0.771389) = 0.724688 (series) → 12 + 3.2·0.724688 = 14.3190.
func TestPredictionCarriesTheArrivalWindow(t *testing.T) {
	e, _ := newTestEngine(t, Options{})
	applyAll(e, rd("T1", "cod", 10, 0), rd("D1", "cod", 12, 0))
	preds := only(e.Apply(rd("TO", "cod", 100, h)), message.EventPredictionIssued)
	start := t0.Add(h)
	want := []struct {
		site                                      string
		earliest, leading, peak, trailing, latest time.Duration
		peakC, velocity                           float64
	}{
		{"T2", 5933333 * time.Millisecond, 8900 * time.Second, 11800 * time.Second, 14700 * time.Second, 20250 * time.Second, 27.9702, 0.5},
		{"D1", 0, 26700 * time.Second, 31800 * time.Second, 36900 * time.Second, 0, 14.3190, 20000.0 / 30000},
	}
	if len(preds) != len(want) {
		t.Fatalf("predictions %+v", preds)
	}
	for i, w := range want {
		p := preds[i].Prediction
		if p.Site != w.site || p.Origin != "TO" || p.Parameter != "cod" || !p.ReleaseStart.Equal(start) || p.Confidence != "low" {
			t.Errorf("prediction %d: %+v", i, p)
		}
		times := []struct {
			name string
			got  time.Time
			want time.Duration
		}{{"leading", p.Leading, w.leading}, {"peak", p.Peak, w.peak}, {"trailing", p.Trailing, w.trailing},
			{"earliest", p.Earliest, w.earliest}, {"latest", p.Latest, w.latest}}
		for _, tm := range times {
			if tm.want == 0 {
				continue // not computed by hand
			}
			if d := tm.got.Sub(start) - tm.want; d < -time.Second || d > time.Second {
				t.Errorf("%s %s = start + %v, want + %v", w.site, tm.name, tm.got.Sub(start), tm.want)
			}
		}
		if math.Abs(p.PeakConcentration-w.peakC) > 1e-3 || math.Abs(p.VelocityMPS-w.velocity) > 1e-9 {
			t.Errorf("%s: peak %.4f at %.4f m/s, want %.4f at %.4f", w.site, p.PeakConcentration, p.VelocityMPS, w.peakC, w.velocity)
		}
	}
}

// A live discharge at T1 (8 m³/s, four times the configured 2) speeds the tributary up by
// v = 0.5·(8/2)^0.285 = 0.5·e^(0.285·ln 4) = 0.5·1.484524 = 0.742262 m/s: T2, 5 km below
// the outfall, is reached after 5000/0.742262 = 6736.2 s instead of 10000 s, and every
// velocity came from a measurement: confidence medium.
func TestLiveDischargeDrivesTheVelocity(t *testing.T) {
	e, _ := newTestEngine(t, Options{})
	applyAll(e, rd("T1", "cod", 10, 0), rd("T1", "flow", 8, 0))
	spill := rd("TO", "cod", 100, h)
	preds := only(e.Apply(spill), message.EventPredictionIssued)
	if len(preds) == 0 || preds[0].Site != "T2" {
		t.Fatalf("predictions %+v", preds)
	}
	p := preds[0]
	if d := p.ArrivalAt.Sub(spill.ObservedAt) - 6736200*time.Millisecond; d < -time.Second || d > time.Second {
		t.Errorf("arrival after %v, want 6736.2 s", p.ArrivalAt.Sub(spill.ObservedAt))
	}
	if p.Prediction.Confidence != "medium" || math.Abs(p.Prediction.VelocityMPS-0.742262) > 1e-5 {
		t.Errorf("window %+v, want confidence medium at 0.742262 m/s", p.Prediction)
	}

	// Six hours and more later the reading is stale: back to the configured 0.5 m/s.
	e2, _ := newTestEngine(t, Options{})
	applyAll(e2, rd("T1", "flow", 8, 0), rd("T1", "cod", 10, 7*h))
	late := rd("TO", "cod", 100, 8*h)
	preds = only(e2.Apply(late), message.EventPredictionIssued)
	if len(preds) == 0 || !preds[0].ArrivalAt.Equal(late.ObservedAt.Add(10000*time.Second)) || preds[0].Prediction.Confidence != "low" {
		t.Errorf("with a stale flow reading: %+v", preds)
	}
}

// The spill of TestWorseUpstreamReissuesAndNewOpeningSupersedes on a network with a
// sluice on the tributary at km 12 (2 km below the outfall) and a pond on the main river at
// km 55 (15 km along the way, 5 km above D1). The earliest leading edge (velocity × 1.5,
// Jobson's 0.89) reaches the sluice after 0.89 × 2000/0.75 = 2373.3 s and the pond after
// 0.89 × (10000/0.75 + 5000/1.5) = 14833.3 s. Issued at the release's start (t0 + 1 h),
// the prediction at D1 names the sluice with 2373 s left; re-issued an hour later, the
// edge has passed the sluice, and it names the pond: 14833.3 − 3600 = 11233 s left. The
// section T2 gets no recommendation: only intakes do.
func TestPredictionAtAnIntakeRecommendsTheNextSpaceNotYetPassed(t *testing.T) {
	data, err := os.ReadFile("testdata/network.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Replace(string(data), "    joins: {river: main, at_km: 50}\n", `    joins: {river: main, at_km: 50}
    emergency_spaces: [{id: G1, name: 支流节制闸, kind: sluice, km: 12, operated_by: {jurisdiction: up, role: emergency}}]
`, 1)
	doc = strings.Replace(doc, "    flow_m3s: 10.0\n", "    flow_m3s: 10.0\n    emergency_spaces: [{id: P1, name: 干流调蓄池, kind: pond, km: 55, capacity_m3: 50000}]\n", 1)
	n, err := network.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(n.EmergencySpaces()) != 2 {
		t.Fatalf("the test network did not take the spaces: %+v", n.EmergencySpaces())
	}
	clk := &fakeClock{t: t0}
	e, err := New(n, withDefaults(Options{}), clk.Now, nil)
	if err != nil {
		t.Fatal(err)
	}
	applyAll(e, rd("T1", "cod", 10, 0), rd("D1", "cod", 12, 0))
	start := t0.Add(h)
	// at returns the prediction for site, its act-by time cut to the millisecond (the
	// hand figures' precision).
	at := func(evs []message.Event, site string) message.Prediction {
		t.Helper()
		for _, ev := range only(evs, message.EventPredictionIssued) {
			if ev.Site == site {
				p := ev.Prediction
				p.Interception.ActBy = p.Interception.ActBy.Truncate(time.Millisecond)
				return p
			}
		}
		t.Fatalf("no prediction for %s in %v", site, types(evs))
		return message.Prediction{}
	}
	first := e.Apply(rd("TO", "cod", 100, h))
	want := message.Interception{Space: "G1", Name: "支流节制闸", Kind: "sluice", Km: 12, River: "trib", ToIntakeKm: 18,
		ActBy: start.Add(2373333 * time.Millisecond), TimeLeftS: 2373, Jurisdiction: "up", Role: "emergency"}
	if got := at(first, "D1"); got.Interception != want || got.InterceptionNoneReason != "" {
		t.Errorf("at the issue: %+v (%q), want %+v", got.Interception, got.InterceptionNoneReason, want)
	}
	if got := at(first, "T2"); !got.Interception.IsZero() || got.InterceptionNoneReason != "" {
		t.Errorf("a section got %+v (%q)", got.Interception, got.InterceptionNoneReason)
	}
	// 300 → D1 (68 × 2.5 + 12 × 10)/12.5 = 23.2, far worse than 15.2: re-issued.
	again := e.Apply(rd("TO", "cod", 300, 2*h))
	want = message.Interception{Space: "P1", Name: "干流调蓄池", Kind: "pond", Km: 55, River: "main", ToIntakeKm: 5,
		ActBy: start.Add(14833333 * time.Millisecond), TimeLeftS: 11233}
	if got := at(again, "D1"); got.Interception != want {
		t.Errorf("an hour on: %+v, want %+v", got.Interception, want)
	}
}
