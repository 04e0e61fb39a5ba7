package evaluate_test

import (
	"math"
	"slices"
	"testing"

	"github.com/riverwatch/riverwatch/pkg/evaluate"
)

// The weights are r²/Σr² with Σr² = 1 + 0.7056 + 0.6724 + 0.6889 + 0.6889 = 3.7558, which
// the method's table prints as 0.2663, 0.1879, 0.1790, 0.1834, 0.1834.
func TestTrophicWeightsAreTheMethodsTable(t *testing.T) {
	want := map[string]float64{"chlorophyll": 0.2663, "tp": 0.1879, "tn": 0.1790, "transparency": 0.1834, "codmn": 0.1834, "nh3n": 0}
	var sum float64
	for p, w := range want {
		got := evaluate.TrophicWeight(p)
		if math.Abs(got-w) > 0.00005 {
			t.Errorf("W(%s) = %.5f, want %.4f", p, got, w)
		}
		sum += got
	}
	if math.Abs(sum-1) > 1e-12 {
		t.Errorf("weights add up to %v, want 1", sum)
	}
}

// Hand-worked cases (ln by hand, weights as above):
//
//	chla 10 mg/m³ (0.010 mg/L): 10(2.5 + 1.086·2.302585) = 50.006
//	TP 0.05: 10(9.436 + 1.624·(−2.995732)) = 45.709
//	TN 1.0: 10(5.453 + 0) = 54.53;  SD 1.0 m: 51.18
//	CODMn 4: 10(0.109 + 2.661·1.386294) = 37.979
//	Σ = 0.266255·50.006 + 0.187870·45.709 + 0.179030·54.53 + 0.183423·(51.18 + 37.979) = 48.018 → 中营养
//
//	all five 1 (chla 1 mg/m³): 0.266255·25 + 0.187870·94.36 + 0.179030·54.53 + 0.183423·(51.18 + 1.09) = 43.734
//	chla 2, TP 0.01, TN 0.3, SD 3, CODMn 1.5: 32.528, 19.572, 34.135, 29.867, 11.879 → 26.106 贫营养
//	chla 40, TP 0.2, TN 2.5, SD 0.3, CODMn 8: 65.061, 68.223, 70.052, 74.537, 56.424 → 66.702 中度富营养
func TestTLIIsTheWeightedSumOfTheFiveIndices(t *testing.T) {
	cases := []struct {
		name                 string
		chla, tp, tn, sd, cm float64 // chla in mg/L, as stored
		index                float64
		grade                evaluate.TrophicGrade
		chlaTLI              float64
	}{
		{"a mesotrophic reservoir", 0.010, 0.05, 1.0, 1.0, 4, 48.018, evaluate.TrophicMesotrophic, 50.006},
		{"every logarithm zero", 0.001, 1, 1, 1, 1, 43.734, evaluate.TrophicMesotrophic, 25},
		{"a clear mountain reservoir", 0.002, 0.01, 0.3, 3, 1.5, 26.106, evaluate.TrophicOligotrophic, 32.528},
		{"a eutrophic lake", 0.040, 0.2, 2.5, 0.3, 8, 66.702, evaluate.TrophicMiddleEutrophic, 65.061},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := evaluate.TLI(map[string]float64{"chlorophyll": c.chla, "tp": c.tp, "tn": c.tn, "transparency": c.sd, "codmn": c.cm, "nh3n": 9})
			if !r.Rated || len(r.Missing) != 0 {
				t.Fatalf("not rated, missing %v", r.Missing)
			}
			if math.Abs(r.Index-c.index) > 0.001 {
				t.Errorf("TLI(Σ) = %.4f, want %.3f", r.Index, c.index)
			}
			if r.Grade != c.grade {
				t.Errorf("grade %q, want %q", r.Grade, c.grade)
			}
			if len(r.Items) != 5 || r.Items[0].Param != "chlorophyll" || math.Abs(r.Items[0].TLI-c.chlaTLI) > 0.001 {
				t.Errorf("items %+v, want chlorophyll first with TLI %.3f", r.Items, c.chlaTLI)
			}
		})
	}
}

func TestTLIWithAMissingItemIsNotRatedAndNamesIt(t *testing.T) {
	all := map[string]float64{"chlorophyll": 0.01, "tp": 0.05, "tn": 1, "transparency": 1, "codmn": 4}
	cases := []struct {
		name    string
		edit    func(m map[string]float64)
		missing []string
	}{
		{"no transparency", func(m map[string]float64) { delete(m, "transparency") }, []string{"transparency"}},
		{"no chlorophyll nor TN", func(m map[string]float64) { delete(m, "chlorophyll"); delete(m, "tn") }, []string{"chlorophyll", "tn"}},
		{"a zero has no logarithm", func(m map[string]float64) { m["tp"] = 0 }, []string{"tp"}},
		{"NaN is no value", func(m map[string]float64) { m["codmn"] = math.NaN() }, []string{"codmn"}},
		{"nothing at all", func(m map[string]float64) { clear(m) }, evaluate.TrophicParams},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := map[string]float64{}
			for k, v := range all {
				m[k] = v
			}
			c.edit(m)
			r := evaluate.TLI(m)
			if r.Rated || r.Grade != evaluate.TrophicNone || r.Index != 0 || r.Items != nil {
				t.Errorf("rated %v, grade %q, index %v: want nothing", r.Rated, r.Grade, r.Index)
			}
			if !slices.Equal(r.Missing, c.missing) {
				t.Errorf("missing %v, want %v", r.Missing, c.missing)
			}
		})
	}
}

// 30 ≤ TLI ≤ 50 中营养, 50 < TLI ≤ 60 轻度, 60 < TLI ≤ 70 中度, > 70 重度; graded to one decimal.
func TestTrophicGradesFollowTheMethodsBounds(t *testing.T) {
	cases := []struct {
		tli  float64
		want evaluate.TrophicGrade
		name string
	}{
		{29.94, evaluate.TrophicOligotrophic, "贫营养"}, {29.96, evaluate.TrophicMesotrophic, "中营养"}, {30, evaluate.TrophicMesotrophic, "中营养"},
		{50, evaluate.TrophicMesotrophic, "中营养"}, {50.04, evaluate.TrophicMesotrophic, "中营养"}, {50.1, evaluate.TrophicLightEutrophic, "轻度富营养"},
		{60, evaluate.TrophicLightEutrophic, "轻度富营养"}, {60.1, evaluate.TrophicMiddleEutrophic, "中度富营养"},
		{70, evaluate.TrophicMiddleEutrophic, "中度富营养"}, {70.1, evaluate.TrophicHyperEutrophic, "重度富营养"},
		{0, evaluate.TrophicOligotrophic, "贫营养"}, {math.NaN(), evaluate.TrophicNone, ""},
	}
	for _, c := range cases {
		if g := evaluate.TrophicGradeOf(c.tli); g != c.want || g.Name() != c.name {
			t.Errorf("grade of %v = %q %s, want %q %s", c.tli, g, g.Name(), c.want, c.name)
		}
	}
}
