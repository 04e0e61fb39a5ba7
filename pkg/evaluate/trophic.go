package evaluate

import (
	"math"
)

// The trophic state index of lakes and reservoirs (综合营养状态指数, TLI(Σ)) follows the
// China National Environmental Monitoring Centre's 《湖泊（水库）富营养化评价方法及分级技术规定》
// (2001), which 22号 cites for the trophic state of lakes and reservoirs (facts §2.1: chlorophyll
// a, TP, TN, transparency, CODMn):
//
//	TLI(Σ) = Σ Wj·TLI(j),  Wj = r²ij / Σ r²ij  (r with chlorophyll a: 1, 0.84, 0.82, −0.83, 0.83)
//	TLI(chla)  = 10(2.5   + 1.086 ln chla)   chla in mg/m³
//	TLI(TP)    = 10(9.436 + 1.624 ln TP)     mg/L
//	TLI(TN)    = 10(5.453 + 1.694 ln TN)     mg/L
//	TLI(SD)    = 10(5.118 − 1.94  ln SD)     m
//	TLI(CODMn) = 10(0.109 + 2.661 ln CODMn)  mg/L
//
// Grades: TLI < 30 贫营养; 30 ≤ TLI ≤ 50 中营养; 50 < TLI ≤ 60 轻度富营养; 60 < TLI ≤ 70
// 中度富营养; TLI > 70 重度富营养.

// TrophicGrade is a grade of the trophic state index.
type TrophicGrade string

// The grades of TLI(Σ).
const (
	TrophicNone            TrophicGrade = ""                 // not computed
	TrophicOligotrophic    TrophicGrade = "oligotrophic"     // 贫营养, < 30
	TrophicMesotrophic     TrophicGrade = "mesotrophic"      // 中营养, 30–50
	TrophicLightEutrophic  TrophicGrade = "light_eutrophic"  // 轻度富营养, 50–60
	TrophicMiddleEutrophic TrophicGrade = "middle_eutrophic" // 中度富营养, 60–70
	TrophicHyperEutrophic  TrophicGrade = "hyper_eutrophic"  // 重度富营养, > 70
)

// Name is the grade in Chinese, "" for TrophicNone.
func (g TrophicGrade) Name() string {
	switch g {
	case TrophicOligotrophic:
		return "贫营养"
	case TrophicMesotrophic:
		return "中营养"
	case TrophicLightEutrophic:
		return "轻度富营养"
	case TrophicMiddleEutrophic:
		return "中度富营养"
	case TrophicHyperEutrophic:
		return "重度富营养"
	}
	return ""
}

// TrophicGradeOf grades an index. The index is graded as reports print it, to one decimal,
// so that a printed 50.0 is never 轻度富营养.
func TrophicGradeOf(tli float64) TrophicGrade {
	v := math.Round(tli*10) / 10
	switch {
	case math.IsNaN(v):
		return TrophicNone
	case v < 30:
		return TrophicOligotrophic
	case v <= 50:
		return TrophicMesotrophic
	case v <= 60:
		return TrophicLightEutrophic
	case v <= 70:
		return TrophicMiddleEutrophic
	}
	return TrophicHyperEutrophic
}

// trophicParam is one of the five parameters of TLI(Σ).
type trophicParam struct {
	param string  // canonical code
	r     float64 // correlation with chlorophyll a
	a, b  float64 // TLI(j) = 10(a + b ln x)
	scale float64 // canonical unit → the formula's unit
}

// TrophicParams are the canonical codes of the five parameters, in the method's order.
var TrophicParams = []string{"chlorophyll", "tp", "tn", "transparency", "codmn"}

// trophicParams: chlorophyll a is canonical in mg/L (package standard) and the formula
// takes mg/m³ (µg/L), hence ×1000.
var trophicParams = [5]trophicParam{
	{"chlorophyll", 1, 2.5, 1.086, 1000},
	{"tp", 0.84, 9.436, 1.624, 1},
	{"tn", 0.82, 5.453, 1.694, 1},
	{"transparency", -0.83, 5.118, -1.94, 1},
	{"codmn", 0.83, 0.109, 2.661, 1},
}

// TrophicItem is one parameter's part of TLI(Σ).
type TrophicItem struct {
	Param  string  // canonical code
	Mean   float64 // the period mean, canonical unit
	TLI    float64 // TLI(j)
	Weight float64 // Wj
}

// TrophicResult is the trophic state of a lake or reservoir over a period.
type TrophicResult struct {
	// Rated is true when all five parameters had a usable mean; Index and Grade are set only then.
	Rated bool
	Index float64 // TLI(Σ)
	Grade TrophicGrade
	// Items are the five parameters' parts (Rated only), in the method's order.
	Items []TrophicItem
	// Missing names, in the method's order, the parameters without a usable mean: absent,
	// not finite, or not above zero (the logarithm needs a positive value).
	Missing []string
}

// TrophicWeight returns Wj of a parameter, 0 for one not in TLI(Σ).
func TrophicWeight(param string) float64 {
	var sum float64
	for _, p := range trophicParams {
		sum += p.r * p.r
	}
	for _, p := range trophicParams {
		if p.param == param {
			return p.r * p.r / sum
		}
	}
	return 0
}

// TLI computes the trophic state index TLI(Σ) from the period means of a lake or reservoir,
// keyed by canonical code, in canonical units (chlorophyll a in mg/L, transparency in m,
// the others in mg/L). With any of the five parameters missing the result is not rated and
// names them: the weights are those of all five, and the method gives no rule for fewer.
func TLI(means map[string]float64) TrophicResult {
	var r TrophicResult
	items := make([]TrophicItem, 0, len(trophicParams))
	var sum float64
	for _, p := range trophicParams {
		v, ok := means[p.param]
		if !ok || math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 {
			r.Missing = append(r.Missing, p.param)
			continue
		}
		w := TrophicWeight(p.param)
		t := 10 * (p.a + p.b*math.Log(v*p.scale))
		items = append(items, TrophicItem{Param: p.param, Mean: v, TLI: t, Weight: w})
		sum += w * t
	}
	if len(r.Missing) > 0 {
		return r
	}
	r.Rated, r.Index, r.Grade, r.Items = true, sum, TrophicGradeOf(sum), items
	return r
}
