package evaluate

import (
	"github.com/riverwatch/riverwatch/pkg/standard"
)

// LimitResult is the period mean of a GB 3838-2002 Table 2 or Table 3 item
// at a drinking-water source against its single limit.
type LimitResult struct {
	Param string  // canonical code
	Name  string  // Chinese name
	N     int     // samples averaged
	Mean  float64 // arithmetic mean of the effective values
	Limit float64 // the single limit (facts §1.2, §1.3)
	Meets bool    // Mean ≤ Limit
	// Multiple is (Mean − Limit)/Limit when the limit is exceeded, else 0.
	Multiple float64
}

// SourceResult is the period assessment of a centralized drinking-water
// source (集中式饮用水水源地).
type SourceResult struct {
	// SectionResult is the single-factor assessment of the Table 1 items.
	SectionResult
	// Target is the source's target class (Class Ⅱ unless given).
	Target standard.Class
	// Supplementary holds the Table 2 and Table 3 items sampled, in the
	// standard's order.
	Supplementary []LimitResult
	// SupplementaryMet is true when no Table 2/3 item exceeds its limit.
	SupplementaryMet bool
	// Good (水质优良) is true when the class is Ⅲ or better (优 or 良好, facts
	// §2.3) and no Table 2/3 item exceeds its limit.
	Good bool
	// MeetsTarget is true when the class is the target or better and no
	// Table 2/3 item exceeds its limit.
	MeetsTarget bool
}

// Source assesses a period of a drinking-water source: the Table 1 items as
// a section (Section), plus the Table 2 and Table 3 items' means against
// their single limits, which apply to drinking-water sources only (facts
// §1.2, §1.3). A zero target means Class Ⅱ (grade-1 protection zone).
func Source(samples []Sample, body standard.WaterBody, target standard.Class) SourceResult {
	if target == 0 {
		target = standard.ClassII
	}
	r := SourceResult{SectionResult: Section(samples, body), Target: target, SupplementaryMet: true}
	for _, it := range r.Items {
		lim, ok := standard.DrinkingLimit(it.Param)
		if !ok {
			continue
		}
		v, err := standard.Judge(standard.Target{Kind: standard.DrinkingSource, Class: target, Body: body}, it.Param, it.Mean, nil)
		if err != nil || !v.Applicable {
			continue
		}
		r.Supplementary = append(r.Supplementary, LimitResult{
			Param: it.Param, Name: it.Name, N: it.N, Mean: it.Mean, Limit: lim, Meets: v.Meets, Multiple: v.Multiple,
		})
		if !v.Meets {
			r.SupplementaryMet = false
		}
	}
	rated := r.Class != 0
	r.Good = rated && r.Class <= standard.ClassIII && r.SupplementaryMet
	r.MeetsTarget = rated && r.Class <= target && r.SupplementaryMet
	return r
}

// Targets for 2025 of the water indicators of 表2—1 "昌吉市生态环境保护'十四五'
// 规划主要指标" (the plan in shared/seed): all binding (约束性), and equal to
// the 2020 baselines.
const (
	// TargetRiverSectionsIIIOrBetter: 水质达到或好于Ⅲ类的河流断面比例 100 %.
	TargetRiverSectionsIIIOrBetter = 1.0
	// TargetRiverSectionsWorseV: 水质为劣V类的河流断面比例 0.
	TargetRiverSectionsWorseV = 0.0
	// TargetLakesIIIOrBetter: 水质达到或好于Ⅲ类的湖库比例 100 %.
	TargetLakesIIIOrBetter = 1.0
	// TargetLakesWorseV: 水质劣V类的湖库比例 0.
	TargetLakesWorseV = 0.0
	// TargetSourcesGood: 饮用水源地水质优良比例 100 %.
	TargetSourcesGood = 1.0
)

// PlanIndicators are the water indicators of 表2—1 for a period. Shares are
// fractions (1 = 100 %); sections and sources without a class (no evaluated
// item sampled) are not counted, and a share with nothing to count is 0 and
// its Meets flag false.
type PlanIndicators struct {
	RiverSections            int     // river sections (Body River) with a class
	RiverSectionsIIIOrBetter int     // of them, Class Ⅰ–Ⅲ
	RiverSectionsWorseV      int     // of them, 劣Ⅴ
	ShareRiverIIIOrBetter    float64 // 水质达到或好于Ⅲ类的河流断面比例
	ShareRiverWorseV         float64 // 水质为劣V类的河流断面比例

	Lakes                 int     // lakes and reservoirs (Body Lake) with a class
	LakesIIIOrBetter      int     // of them, Class Ⅰ–Ⅲ
	LakesWorseV           int     // of them, 劣Ⅴ
	ShareLakesIIIOrBetter float64 // 水质达到或好于Ⅲ类的湖库比例
	ShareLakesWorseV      float64 // 水质劣V类的湖库比例

	Sources                   int     // drinking-water sources with a class
	SourcesGood               int     // of them, good (SourceResult.Good)
	SourcesMeetingTarget      int     // of them, meeting their own target (SourceResult.MeetsTarget)
	ShareSourcesGood          float64 // 饮用水源地水质优良比例
	ShareSourcesMeetingTarget float64 // share of sources meeting their target class

	MeetsRiverIIIOrBetter bool // ShareRiverIIIOrBetter meets TargetRiverSectionsIIIOrBetter
	MeetsRiverWorseV      bool // ShareRiverWorseV meets TargetRiverSectionsWorseV
	MeetsLakesIIIOrBetter bool // ShareLakesIIIOrBetter meets TargetLakesIIIOrBetter
	MeetsLakesWorseV      bool // ShareLakesWorseV meets TargetLakesWorseV
	MeetsSourcesGood      bool // ShareSourcesGood meets TargetSourcesGood
}

// Indicators computes the water indicators of 表2—1 from the period
// assessments of sections (river sections and lake/reservoir points, told
// apart by Body) and drinking-water sources. Pass the sources only in
// sources, not also in sections.
func Indicators(sections []SectionResult, sources []SourceResult) PlanIndicators {
	var p PlanIndicators
	for _, s := range sections {
		if s.Class == 0 {
			continue
		}
		good, worse := s.Class <= standard.ClassIII, s.Class == standard.ClassWorseV
		if s.Body == standard.Lake {
			p.Lakes++
			p.LakesIIIOrBetter += b2i(good)
			p.LakesWorseV += b2i(worse)
			continue
		}
		p.RiverSections++
		p.RiverSectionsIIIOrBetter += b2i(good)
		p.RiverSectionsWorseV += b2i(worse)
	}
	for _, s := range sources {
		if s.Class == 0 {
			continue
		}
		p.Sources++
		p.SourcesGood += b2i(s.Good)
		p.SourcesMeetingTarget += b2i(s.MeetsTarget)
	}
	p.ShareRiverIIIOrBetter = share(p.RiverSectionsIIIOrBetter, p.RiverSections)
	p.ShareRiverWorseV = share(p.RiverSectionsWorseV, p.RiverSections)
	p.ShareLakesIIIOrBetter = share(p.LakesIIIOrBetter, p.Lakes)
	p.ShareLakesWorseV = share(p.LakesWorseV, p.Lakes)
	p.ShareSourcesGood = share(p.SourcesGood, p.Sources)
	p.ShareSourcesMeetingTarget = share(p.SourcesMeetingTarget, p.Sources)
	p.MeetsRiverIIIOrBetter = p.RiverSections > 0 && p.ShareRiverIIIOrBetter >= TargetRiverSectionsIIIOrBetter
	p.MeetsRiverWorseV = p.RiverSections > 0 && p.ShareRiverWorseV <= TargetRiverSectionsWorseV
	p.MeetsLakesIIIOrBetter = p.Lakes > 0 && p.ShareLakesIIIOrBetter >= TargetLakesIIIOrBetter
	p.MeetsLakesWorseV = p.Lakes > 0 && p.ShareLakesWorseV <= TargetLakesWorseV
	p.MeetsSourcesGood = p.Sources > 0 && p.ShareSourcesGood >= TargetSourcesGood
	return p
}

func share(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return float64(n) / float64(of)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
