package evaluate_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/evaluate"
	"github.com/riverwatch/riverwatch/pkg/standard"
)

var cst = time.FixedZone("CST", 8*3600)

func day(month, d int) time.Time { return time.Date(2025, time.Month(month), d, 10, 0, 0, 0, cst) }

// s builds a sample.
func s(site, param string, v float64, t time.Time) evaluate.Sample {
	return evaluate.Sample{Site: site, Param: param, Value: v, Time: t}
}

// nd builds a sample below the detection limit dl.
func nd(site, param string, dl float64, t time.Time) evaluate.Sample {
	return evaluate.Sample{Site: site, Param: param, BelowDL: true, DL: dl, Time: t}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func TestSampleEffectiveUsesHalfTheDetectionLimit(t *testing.T) {
	tests := []struct {
		s    evaluate.Sample
		want float64
	}{
		{evaluate.Sample{Value: 0.3}, 0.3},
		{evaluate.Sample{BelowDL: true, DL: 0.02, Value: 99}, 0.01},
		{evaluate.Sample{BelowDL: true, Value: 0.02}, 0.01}, // "0.02L": the value is the DL
	}
	for _, tc := range tests {
		if got := tc.s.Effective(); got != tc.want {
			t.Errorf("%+v.Effective() = %v, want %v", tc.s, got, tc.want)
		}
	}
}

// threeMonths is a section with monthly samples for January to March,
// worked by hand in TestSectionThreeMonthsHandWorked.
func threeMonths() []evaluate.Sample {
	const site = "TTH-S3"
	var out []evaluate.Sample
	add := func(p string, vs ...float64) {
		for i, v := range vs {
			out = append(out, s(site, p, v, day(i+1, 15)))
		}
	}
	add("ph", 7.8, 8.1, 8.0)
	add("do", 6.5, 5.5, 4.0)
	add("codmn", 5, 7, 9)
	add("cod", 18, 22, 29)
	add("nh3n", 0.8, 1.1, 1.4)
	add("tp", 0.12, 0.18)
	out = append(out, nd(site, "tp", 0.01, day(3, 15)))
	for m := 1; m <= 3; m++ {
		out = append(out, nd(site, "pb", 0.001, day(m, 15)))
	}
	add("temp", 2, 5, 10)
	add("fecal_coliform", 30000) // Class Ⅴ, but not one of the 21 items
	add("conductivity", 450, 480, 510)
	return out
}

func TestSectionThreeMonthsHandWorked(t *testing.T) {
	r := evaluate.Section(threeMonths(), standard.River)
	// Means: pH 7.97 Ⅰ; DO 16/3 = 5.33 Ⅲ; CODMn 7 Ⅳ (1/6 over); COD 23 Ⅳ
	// (0.15 over); NH3-N 1.1 Ⅳ (0.1 over); TP (0.12+0.18+0.005)/3 = 0.1017 Ⅲ;
	// Pb 0.0005 Ⅰ (all below DL 0.001 → DL/2); temperature, fecal coliforms
	// and conductivity do not count. Section: Ⅳ, 轻度污染.
	want := []struct {
		param     string
		mean      float64
		class     standard.Class
		multiple  float64
		evaluated bool
		bdl       int
	}{
		{"temp", 17.0 / 3, 0, 0, false, 0},
		{"ph", 23.9 / 3, standard.ClassI, 0, true, 0},
		{"do", 16.0 / 3, standard.ClassIII, 0, true, 0},
		{"codmn", 7, standard.ClassIV, 1.0 / 6, true, 0},
		{"cod", 23, standard.ClassIV, 0.15, true, 0},
		{"nh3n", 1.1, standard.ClassIV, 0.1, true, 0},
		{"tp", 0.305 / 3, standard.ClassIII, 0, true, 1},
		{"pb", 0.0005, standard.ClassI, 0, true, 3},
		{"fecal_coliform", 30000, standard.ClassV, 2, false, 0},
		{"conductivity", 480, 0, 0, false, 0},
	}
	if len(r.Items) != len(want) {
		t.Fatalf("%d items, want %d: %+v", len(r.Items), len(want), r.Items)
	}
	for i, w := range want {
		it := r.Items[i]
		if it.Param != w.param || !near(it.Mean, w.mean) || it.Class != w.class || !near(it.Multiple, w.multiple) ||
			it.Evaluated != w.evaluated || it.BelowDL != w.bdl {
			t.Errorf("item %d = %+v\nwant %+v", i, it, w)
		}
	}
	if r.Site != "TTH-S3" || r.Class != standard.ClassIV || r.Descriptor != "轻度污染" || r.Color != "#e8dd3e" ||
		r.Status != standard.StatusSlightlyPolluted {
		t.Errorf("section = %s %v %s %s", r.Site, r.Class, r.Descriptor, r.Color)
	}
	if got, want := r.MainPollutantsText(), "高锰酸盐指数(0.2)、化学需氧量(0.2)、氨氮(0.1)"; got != want {
		t.Errorf("main pollutants = %q, want %q", got, want)
	}
	if !r.From.Equal(day(1, 15)) || !r.To.Equal(day(3, 15)) || r.Samples != 28 || r.Skipped != 0 {
		t.Errorf("period %v – %v, %d samples, %d skipped", r.From, r.To, r.Samples, r.Skipped)
	}
	if it, ok := r.Item("nh3n"); !ok || it.Name != "氨氮" || it.N != 3 {
		t.Errorf("Item(nh3n) = %+v, %v", it, ok)
	}
}

func TestSectionSkipsNonFiniteValuesAndIgnoresUnevaluatedItems(t *testing.T) {
	r := evaluate.Section([]evaluate.Sample{
		s("X", "cod", 12, day(1, 1)),
		s("X", "cod", math.NaN(), day(1, 2)),
		s("X", "tn", 5, day(1, 1)),                 // TN: lakes only
		s("X", "fecal_coliform", 90000, day(1, 1)), // not among the 21 items
		s("X", "sulfate", 900, day(1, 1)),          // Table 2: not for class
		s("X", "mystery", 1, day(1, 1)),            // unknown code: kept, no class
	}, standard.River)
	if r.Class != standard.ClassI || r.Skipped != 1 || r.Samples != 5 || r.MainPollutants != nil {
		t.Errorf("class %v, skipped %d, samples %d, main %v", r.Class, r.Skipped, r.Samples, r.MainPollutants)
	}
	if it, ok := r.Item("mystery"); !ok || it.Class != 0 || it.Name != "" {
		t.Errorf("unknown item = %+v, %v", it, ok)
	}
	if r.Items[len(r.Items)-1].Param != "mystery" {
		t.Errorf("unknown items sort last: %+v", r.Items)
	}
	if e := evaluate.Section(nil, standard.River); e.Class != 0 || e.Descriptor != "" || e.Samples != 0 {
		t.Errorf("empty section = %+v", e)
	}
}

func TestMainPollutantOrdering(t *testing.T) {
	tests := []struct {
		name  string
		items map[string]float64
		want  string
	}{
		{"cyanide first when it exceeds, then by class and multiple",
			map[string]float64{"cyanide": 0.25, "codmn": 20, "nh3n": 1.8, "tp": 0.35, "cod": 35},
			"氰化物(0.3)、高锰酸盐指数(2.3)、氨氮(0.8)"},
		{"heavy metals first, ranked among themselves by class then multiple",
			map[string]float64{"pb": 0.06, "cr6": 0.08, "codmn": 20, "nh3n": 1.8},
			"六价铬(0.6)、铅(0.2)、高锰酸盐指数(2.3)"},
		{"worst class first, then the larger multiple, top three only",
			map[string]float64{"codmn": 12, "nh3n": 1.9, "cod": 45, "bod5": 5, "tp": 0.25},
			"化学需氧量(1.3)、高锰酸盐指数(1.0)、氨氮(0.9)"},
		{"DO has no multiple and follows items of its class that have one",
			map[string]float64{"do": 2.5, "nh3n": 1.8},
			"氨氮(0.8)、溶解氧"},
		{"pH out of range alone", map[string]float64{"ph": 9.5, "cod": 10}, "pH值"},
		{"no main pollutants at Class III",
			map[string]float64{"cod": 20, "nh3n": 1.0, "fecal_coliform": 40000}, ""},
		{"a non-priority item over III but heavy metals within III",
			map[string]float64{"pb": 0.05, "cyanide": 0.2, "codmn": 6.6}, "高锰酸盐指数(0.1)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ss []evaluate.Sample
			for p, v := range tc.items {
				ss = append(ss, s("X", p, v, day(1, 1)))
			}
			r := evaluate.Section(ss, standard.River)
			if got := r.MainPollutantsText(); got != tc.want {
				t.Errorf("main pollutants = %q, want %q", got, tc.want)
			}
			if len(r.MainPollutants) > 3 {
				t.Errorf("%d main pollutants", len(r.MainPollutants))
			}
		})
	}
}

func TestRiverWithThreeSectionsUsesMeanConcentrations(t *testing.T) {
	sections := map[string][]evaluate.Sample{
		"S1": {s("S1", "codmn", 4, day(1, 5)), s("S1", "codmn", 5, day(2, 5)), s("S1", "nh3n", 0.4, day(1, 5)), s("S1", "tp", 0.1, day(1, 5))},
		"S2": {s("S2", "codmn", 6, day(1, 5)), s("S2", "codmn", 8, day(2, 5)), s("S2", "nh3n", 0.9, day(1, 5)), s("S2", "nh3n", 1.1, day(2, 5)), s("S2", "tp", 0.15, day(1, 5))},
		"S3": {s("S3", "codmn", 8, day(1, 5)), s("S3", "nh3n", 1.6, day(1, 5)), s("S3", "tp", 0.35, day(3, 5))},
	}
	r := evaluate.River(sections)
	// Sections: S1 CODMn 4.5 → Ⅲ; S2 CODMn 7 → Ⅳ; S3 NH3-N 1.6 and TP 0.35 → Ⅴ.
	// River means: CODMn (4.5+7+8)/3 = 6.5 → Ⅳ; NH3-N (0.4+1.0+1.6)/3 = 1.0 → Ⅲ
	// (at the limit); TP (0.1+0.15+0.35)/3 = 0.2 → Ⅲ (at the limit). River Ⅳ.
	if r.Method != evaluate.MethodMean || r.Rated != 3 {
		t.Fatalf("method %s, rated %d", r.Method, r.Rated)
	}
	var classes []standard.Class
	for _, sec := range r.Sections {
		classes = append(classes, sec.Class)
	}
	if want := []standard.Class{standard.ClassIII, standard.ClassIV, standard.ClassV}; !slices.Equal(classes, want) {
		t.Errorf("section classes %v, want %v", classes, want)
	}
	wantItems := map[string]struct {
		mean  float64
		class standard.Class
	}{"codmn": {6.5, standard.ClassIV}, "nh3n": {1.0, standard.ClassIII}, "tp": {0.2, standard.ClassIII}}
	for _, it := range r.Items {
		w := wantItems[it.Param]
		if !near(it.Mean, w.mean) || it.Class != w.class || it.N != 3 {
			t.Errorf("river item %s = %+v, want mean %v class %v", it.Param, it, w.mean, w.class)
		}
	}
	if r.Class != standard.ClassIV || r.Descriptor != "轻度污染" || r.Color != "#e8dd3e" {
		t.Errorf("river = %v %s %s", r.Class, r.Descriptor, r.Color)
	}
	if !near(r.ShareIIIOrBetter, 1.0/3) || r.ShareWorseV != 0 {
		t.Errorf("shares %v %v", r.ShareIIIOrBetter, r.ShareWorseV)
	}
	// Fewer than 5 sections: main pollutants are each section's (22号).
	if r.MainPollutants != nil || r.RiverPollutants != nil {
		t.Errorf("river-level main pollutants must be empty: %v %v", r.MainPollutants, r.RiverPollutants)
	}
	if got, want := r.Sections[2].MainPollutantsText(), "总磷(0.8)、氨氮(0.6)、高锰酸盐指数(0.3)"; got != want {
		t.Errorf("S3 main pollutants %q, want %q", got, want)
	}
}

// classSamples gives samples putting a section in class c by CODMn.
func classSamples(site string, c standard.Class) []evaluate.Sample {
	v := map[standard.Class]float64{1: 1, 2: 3, 3: 5, 4: 8, 5: 12, 6: 20}[c]
	return []evaluate.Sample{s(site, "codmn", v, day(1, 1))}
}

func TestRiverWithSixSectionsUsesClassShares(t *testing.T) {
	sections := map[string][]evaluate.Sample{
		"S1": classSamples("S1", standard.ClassII),
		"S2": classSamples("S2", standard.ClassIII),
		"S3": classSamples("S3", standard.ClassIII),
		"S4": classSamples("S4", standard.ClassIV),
		"S5": append(classSamples("S5", standard.ClassWorseV), s("S5", "nh3n", 1.2, day(1, 1))),
		"S6": append(classSamples("S6", standard.ClassIII), s("S6", "nh3n", 0.4, day(1, 1))),
	}
	r := evaluate.River(sections)
	// Ⅰ–Ⅲ 4/6 = 66.7 % < 75 %, 劣Ⅴ 1/6 = 16.7 % < 20 % → 轻度污染.
	if r.Method != evaluate.MethodShare || r.Rated != 6 || r.Class != 0 {
		t.Fatalf("method %s, rated %d, class %v", r.Method, r.Rated, r.Class)
	}
	if r.Status != standard.StatusSlightlyPolluted || r.Descriptor != "轻度污染" || r.Color != "#e8dd3e" {
		t.Errorf("status %v %s %s", r.Status, r.Descriptor, r.Color)
	}
	if r.SectionsIIIOrBetter != 4 || r.SectionsWorseV != 1 || !near(r.ShareIIIOrBetter, 4.0/6) || !near(r.ShareWorseV, 1.0/6) {
		t.Errorf("shares %d %d %v %v", r.SectionsIIIOrBetter, r.SectionsWorseV, r.ShareIIIOrBetter, r.ShareWorseV)
	}
	// CODMn exceeds Ⅲ at S4 and S5 (2/6), NH3-N at S5 (1/6).
	var got []string
	for _, p := range r.RiverPollutants {
		got = append(got, p.String())
	}
	if want := []string{"高锰酸盐指数(33.3%)", "氨氮(16.7%)"}; !slices.Equal(got, want) {
		t.Errorf("river pollutants %v, want %v", got, want)
	}
	if r.Items != nil {
		t.Error("the share method has no item means")
	}
}

func TestRiverClassShareTable(t *testing.T) {
	C := func(cs ...standard.Class) []standard.Class { return cs }
	tests := []struct {
		name    string
		classes []standard.Class
		method  evaluate.Method
		want    standard.Status
	}{
		{"9 of 10 good is exactly 90 %: 优", C(1, 2, 3, 3, 3, 3, 3, 3, 3, 4), evaluate.MethodShare, standard.StatusExcellent},
		{"8 of 10 good: 良好", C(1, 2, 3, 3, 3, 3, 3, 3, 4, 4), evaluate.MethodShare, standard.StatusGood},
		{"exactly 5 sections use shares: 4 of 5 good, 良好", C(2, 3, 3, 3, 6), evaluate.MethodShare, standard.StatusGood},
		{"3 of 4 good is exactly 75 %: 良好", C(3, 3, 3, 4, 3, 3, 3, 4), evaluate.MethodShare, standard.StatusGood},
		{"劣V 2 of 6 = 33 %: 中度污染", C(3, 3, 4, 4, 6, 6), evaluate.MethodShare, standard.StatusModeratelyPolluted},
		{"劣V 1 of 5 = 20 %: 中度污染", C(3, 3, 4, 4, 6), evaluate.MethodShare, standard.StatusModeratelyPolluted},
		{"劣V 2 of 5 = 40 %: 重度污染", C(3, 4, 5, 6, 6), evaluate.MethodShare, standard.StatusHeavilyPolluted},
		{"no 劣V, 3 of 8 good: 轻度污染", C(3, 3, 3, 4, 4, 5, 5, 5), evaluate.MethodShare, standard.StatusSlightlyPolluted},
		{"4 sections use the means: CODMn (3+3+5+20)/4 = 7.75, Ⅳ", C(2, 2, 3, 6), evaluate.MethodMean, standard.StatusSlightlyPolluted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			secs := map[string][]evaluate.Sample{}
			for i, c := range tc.classes {
				id := fmt.Sprintf("S%02d", i)
				secs[id] = classSamples(id, c)
			}
			r := evaluate.River(secs)
			if r.Method != tc.method || r.Status != tc.want {
				t.Errorf("River = %s %v, want %s %v", r.Method, r.Status, tc.method, tc.want)
			}
		})
	}
}

func TestRiverIgnoresSectionsWithoutAClass(t *testing.T) {
	secs := map[string][]evaluate.Sample{}
	for i := range 4 {
		id := fmt.Sprintf("S%d", i)
		secs[id] = classSamples(id, standard.ClassII)
	}
	secs["flow-only"] = []evaluate.Sample{s("flow-only", "flow", 3, day(1, 1))}
	r := evaluate.River(secs)
	if r.Rated != 4 || r.Method != evaluate.MethodMean || len(r.Sections) != 5 {
		t.Errorf("rated %d, method %s, %d sections", r.Rated, r.Method, len(r.Sections))
	}
	if e := evaluate.River(nil); e.Status != standard.StatusNone || e.Class != 0 {
		t.Errorf("empty river = %+v", e)
	}
}

func TestLakeUsesLakeLimitsAndMeans(t *testing.T) {
	points := map[string][]evaluate.Sample{
		"P1": {s("P1", "tp", 0.04, day(1, 1)), s("P1", "tn", 1.2, day(1, 1)), s("P1", "codmn", 3, day(1, 1))},
		"P2": {s("P2", "tp", 0.08, day(1, 1)), s("P2", "tn", 0.8, day(1, 1)), s("P2", "codmn", 3, day(1, 1))},
	}
	r := evaluate.Lake(points)
	// TP (0.04+0.08)/2 = 0.06 > 0.05 (lake Ⅲ) → Ⅳ, 0.2 over; TN 1.0 Ⅲ but not one of the 21.
	if r.Method != evaluate.MethodMean || r.Class != standard.ClassIV || r.MainPollutants[0].String() != "总磷(0.2)" {
		t.Errorf("lake = %s %v %v", r.Method, r.Class, r.MainPollutants)
	}
	if tn, _ := r.Sections[0].Item("tn"); tn.Class != standard.ClassIV || tn.Evaluated {
		t.Errorf("lake TN item = %+v", tn)
	}
	if rr := evaluate.River(points); rr.Class != standard.ClassII {
		t.Errorf("the same data as a river = %v, want II (river TP limits)", rr.Class)
	}
}

func TestSourceAddsTables2And3(t *testing.T) {
	good := evaluate.Source([]evaluate.Sample{
		s("D1", "nh3n", 0.6, day(1, 1)), // Ⅲ: worse than the Ⅱ target
		s("D1", "sulfate", 200, day(1, 1)),
		s("D1", "sulfate", 260, day(2, 1)), // mean 230 ≤ 250
		nd("D1", "benzene", 0.002, day(1, 1)),
	}, standard.River, 0)
	if good.Target != standard.ClassII || good.Class != standard.ClassIII || !good.SupplementaryMet || !good.Good || good.MeetsTarget {
		t.Errorf("source = target %v class %v supp %v good %v target %v", good.Target, good.Class, good.SupplementaryMet, good.Good, good.MeetsTarget)
	}
	if len(good.Supplementary) != 2 || good.Supplementary[0].Param != "sulfate" || good.Supplementary[0].Mean != 230 || good.Supplementary[1].Mean != 0.001 {
		t.Errorf("supplementary = %+v", good.Supplementary)
	}
	bad := evaluate.Source([]evaluate.Sample{s("D2", "nh3n", 0.3, day(1, 1)), s("D2", "mn", 0.15, day(1, 1))}, standard.Lake, standard.ClassII)
	if bad.Class != standard.ClassII || bad.SupplementaryMet || bad.Good || bad.MeetsTarget || !near(bad.Supplementary[0].Multiple, 0.5) {
		t.Errorf("source exceeding manganese = %+v", bad)
	}
}

func TestIndicatorsAgainstPlanTargets(t *testing.T) {
	sec := func(c standard.Class, body standard.WaterBody) evaluate.SectionResult {
		return evaluate.SectionResult{Class: c, Body: body}
	}
	src := func(c standard.Class, good, target bool) evaluate.SourceResult {
		return evaluate.SourceResult{SectionResult: sec(c, standard.River), Good: good, MeetsTarget: target}
	}
	p := evaluate.Indicators(
		[]evaluate.SectionResult{sec(3, standard.River), sec(4, standard.River), sec(6, standard.River), sec(2, standard.River), sec(0, standard.River), sec(3, standard.Lake)},
		[]evaluate.SourceResult{src(2, true, true), src(3, false, false), src(0, false, false)},
	)
	if p.RiverSections != 4 || p.RiverSectionsIIIOrBetter != 2 || p.RiverSectionsWorseV != 1 ||
		p.ShareRiverIIIOrBetter != 0.5 || p.ShareRiverWorseV != 0.25 || p.MeetsRiverIIIOrBetter || p.MeetsRiverWorseV {
		t.Errorf("river indicators %+v", p)
	}
	if p.Lakes != 1 || p.ShareLakesIIIOrBetter != 1 || !p.MeetsLakesIIIOrBetter || !p.MeetsLakesWorseV {
		t.Errorf("lake indicators %+v", p)
	}
	if p.Sources != 2 || p.SourcesGood != 1 || p.ShareSourcesGood != 0.5 || p.MeetsSourcesGood || p.ShareSourcesMeetingTarget != 0.5 {
		t.Errorf("source indicators %+v", p)
	}
	all := evaluate.Indicators([]evaluate.SectionResult{sec(2, standard.River), sec(3, standard.River)}, []evaluate.SourceResult{src(2, true, true)})
	if !all.MeetsRiverIIIOrBetter || !all.MeetsRiverWorseV || !all.MeetsSourcesGood || all.ShareRiverIIIOrBetter != evaluate.TargetRiverSectionsIIIOrBetter {
		t.Errorf("all good = %+v", all)
	}
	none := evaluate.Indicators(nil, nil)
	if none.MeetsRiverIIIOrBetter || none.MeetsSourcesGood || none.ShareRiverIIIOrBetter != 0 {
		t.Errorf("no data must not meet targets: %+v", none)
	}
}

// TestPropertySectionIsNeverBetterThanItsWorstItem is a seeded property test:
// for random periods, the section's class is the worst class of its
// evaluated items (so never better than any of them), each item's class is
// the class of its mean, and raising one sample never improves the section.
func TestPropertySectionIsNeverBetterThanItsWorstItem(t *testing.T) {
	rng := rand.New(rand.NewPCG(2011, 22))
	params := []string{"ph", "do", "codmn", "cod", "bod5", "nh3n", "tp", "cu", "zn", "fluoride", "se", "as",
		"hg", "cd", "cr6", "pb", "cyanide", "phenol", "petroleum", "las", "sulfide", "temp", "tn", "fecal_coliform", "conductivity"}
	scale := func(p string) float64 {
		switch p {
		case "ph":
			return 14
		case "do":
			return 12
		case "temp":
			return 30
		case "conductivity":
			return 1000
		}
		l, _, ok := standard.ClassLimit(p, standard.ClassV, standard.Lake)
		if !ok {
			return 1
		}
		return l * 1.5
	}
	for iter := range 500 {
		body := standard.WaterBody(iter % 2)
		var ss []evaluate.Sample
		for _, p := range params {
			if rng.IntN(3) == 0 {
				continue
			}
			for range 1 + rng.IntN(4) {
				smp := s("X", p, rng.Float64()*scale(p), day(1+rng.IntN(12), 1+rng.IntN(28)))
				if rng.IntN(10) == 0 {
					smp = nd("X", p, rng.Float64()*scale(p)/10, smp.Time)
				}
				ss = append(ss, smp)
			}
		}
		r := evaluate.Section(ss, body)
		var worst standard.Class
		for _, it := range r.Items {
			c, err := standard.Classify(it.Param, it.Mean, body)
			if err != nil {
				c = 0
			}
			if it.Param == "ph" {
				// pH is judged by its range: the worse of its lowest and highest value.
				lo, _ := standard.Classify(it.Param, it.Min, body)
				hi, _ := standard.Classify(it.Param, it.Max, body)
				c = max(lo, hi)
			}
			if !it.HasRange || it.Min > it.Mean+1e-9 || it.Mean > it.Max+1e-9 {
				t.Fatalf("item %s mean %v outside its range %v–%v (has range %v)", it.Param, it.Mean, it.Min, it.Max, it.HasRange)
			}
			if c != it.Class {
				t.Fatalf("item %s mean %v class %v, Classify gives %v", it.Param, it.Mean, it.Class, c)
			}
			if it.Evaluated {
				if r.Class < it.Class {
					t.Fatalf("section class %v is better than item %s class %v", r.Class, it.Param, it.Class)
				}
				worst = max(worst, it.Class)
			}
		}
		if r.Class != worst {
			t.Fatalf("section class %v, worst evaluated item %v", r.Class, worst)
		}
		// Raising one pollutant sample (not pH, DO or temperature) never improves the section.
		for i, smp := range ss {
			if smp.BelowDL || smp.Param == "ph" || smp.Param == "do" || smp.Param == "temp" {
				continue
			}
			raised := slices.Clone(ss)
			raised[i].Value += rng.Float64() * scale(smp.Param)
			if r2 := evaluate.Section(raised, body); r2.Class < r.Class {
				t.Fatalf("raising %s from %v to %v improved the section from %v to %v", smp.Param, smp.Value, raised[i].Value, r.Class, r2.Class)
			}
			break
		}
	}
}

func TestSectionMeanAtALimitStaysInItsClass(t *testing.T) {
	// (0.1 + 0.2)/2 is 0.15000000000000002 in floating point; 0.15 is the
	// Class Ⅰ NH3-N limit, and limits are inclusive.
	r := evaluate.Section([]evaluate.Sample{s("X", "nh3n", 0.1, day(1, 1)), s("X", "nh3n", 0.2, day(2, 1))}, standard.River)
	if it, _ := r.Item("nh3n"); it.Class != standard.ClassI || r.Class != standard.ClassI {
		t.Errorf("mean %v: item class %v, section class %v; want I", it.Mean, it.Class, r.Class)
	}
}

func TestMultiplesArePrintedWithOneDecimalAs22HaoPrintsThem(t *testing.T) {
	// Worked by hand against Class Ⅲ: CODMn 6 mg/L, NH3-N 1.0, cyanide 0.2, TP 0.2.
	cases := []struct {
		name  string
		param string
		mean  float64
		want  string
	}{
		{"7.2 CODMn is (7.2−6)/6 = 0.2", "codmn", 7.2, "高锰酸盐指数(0.2)"},
		{"13.2 CODMn is 7.2/6 = 1.2, the method's own example", "codmn", 13.2, "高锰酸盐指数(1.2)"},
		{"2.0 NH3-N is exactly 1: printed 1.0, not 1", "nh3n", 2.0, "氨氮(1.0)"},
		{"0.25 cyanide is 0.25: a five rounds up, despite 0.24999999999999994 in floating point", "cyanide", 0.25, "氰化物(0.3)"},
		{"0.35 TP is 0.75 → 0.8", "tp", 0.35, "总磷(0.8)"},
		{"8 CODMn is 0.333… → 0.3", "codmn", 8, "高锰酸盐指数(0.3)"},
		{"2.96 NH3-N is 1.96 → 2.0", "nh3n", 2.96, "氨氮(2.0)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := evaluate.Section([]evaluate.Sample{s("X", c.param, c.mean, day(1, 1))}, standard.River)
			if got := r.MainPollutantsText(); got != c.want {
				t.Errorf("main pollutants = %q, want %q", got, c.want)
			}
		})
	}
}

func TestPHIsJudgedByItsRangeNotItsMean(t *testing.T) {
	// pH 6–9 is the limit of every class (GB 3838-2002 item 2): in range is Class Ⅰ,
	// outside it 劣Ⅴ. The mean of 5.6 and 9.4 is 7.5, in range; neither reading is.
	cases := []struct {
		name   string
		values []float64
		want   standard.Class
	}{
		{"5.6 and 9.4 average to 7.5 but both are out of range", []float64{5.6, 9.4}, standard.ClassWorseV},
		{"one reading of 9.4 among in-range ones", []float64{7, 7.5, 9.4}, standard.ClassWorseV},
		{"one reading of 5.9 below the range", []float64{5.9, 7, 8}, standard.ClassWorseV},
		{"6.0 and 9.0 are the inclusive ends of the range", []float64{6.0, 9.0}, standard.ClassI},
		{"all in range", []float64{7.1, 7.8}, standard.ClassI},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var ss []evaluate.Sample
			for i, v := range c.values {
				ss = append(ss, s("X", "ph", v, day(1, 1+i)))
			}
			r := evaluate.Section(ss, standard.River)
			it, _ := r.Item("ph")
			if it.Class != c.want || r.Class != c.want {
				t.Errorf("pH %v: item class %v, section class %v; want %v", c.values, it.Class, r.Class, c.want)
			}
			if !it.HasRange || it.Min != slices.Min(c.values) || it.Max != slices.Max(c.values) {
				t.Errorf("pH range = %v–%v (has %v), want %v–%v", it.Min, it.Max, it.HasRange, slices.Min(c.values), slices.Max(c.values))
			}
		})
	}
}

func TestSamplesThatCarryARangeJudgePHByIt(t *testing.T) {
	// The compliance report passes one sample per item: a stored mean with the
	// lowest and highest reading of the period.
	rs := func(param string, mean, lo, hi float64) evaluate.Sample {
		smp := s("X", param, mean, day(1, 1))
		smp.HasRange, smp.Min, smp.Max = true, lo, hi
		return smp
	}
	cases := []struct {
		name    string
		samples []evaluate.Sample
		want    standard.Class
		text    string
	}{
		{"pH mean 7.5 from 5.6 and 9.4 is 劣Ⅴ", []evaluate.Sample{rs("ph", 7.5, 5.6, 9.4)}, standard.ClassWorseV, "pH值"},
		{"pH mean 7.5 without a range is judged by its mean", []evaluate.Sample{s("X", "ph", 7.5, day(1, 1))}, standard.ClassI, ""},
		{"NH3-N is judged by its mean even when a reading exceeded", []evaluate.Sample{rs("nh3n", 0.4, 0.1, 1.8)}, standard.ClassII, ""},
		{"CODMn mean 13.2 is Ⅴ with multiple (13.2−6)/6 = 1.2", []evaluate.Sample{rs("codmn", 13.2, 10, 16)}, standard.ClassV, "高锰酸盐指数(1.2)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := evaluate.Section(c.samples, standard.River)
			if r.Class != c.want || r.MainPollutantsText() != c.text {
				t.Errorf("class %v, main pollutants %q; want %v, %q", r.Class, r.MainPollutantsText(), c.want, c.text)
			}
		})
	}
}

func TestRiverMeanConcentrationKeepsTheSectionsPHRange(t *testing.T) {
	// Two sections with pH means 7.0 and 8.0; one read 9.4 once. The river mean is
	// 7.5, but its pH range is 6.8–9.4: 劣Ⅴ.
	a := s("A", "ph", 7.0, day(1, 1))
	a.HasRange, a.Min, a.Max = true, 6.8, 7.2
	b := s("B", "ph", 8.0, day(1, 1))
	b.HasRange, b.Min, b.Max = true, 7.0, 9.4
	rr := evaluate.River(map[string][]evaluate.Sample{"A": {a}, "B": {b}})
	if rr.Class != standard.ClassWorseV {
		t.Errorf("river class %v, want 劣Ⅴ", rr.Class)
	}
}
