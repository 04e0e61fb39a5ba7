package evaluate

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/riverwatch/riverwatch/pkg/standard"
)

// Sample is one measured value of one parameter at one site, in the
// parameter's canonical unit (standard.CanonicalUnit).
type Sample struct {
	Site  string    // site id
	Param string    // canonical parameter code
	Value float64   // the value; ignored when BelowDL and DL > 0
	Time  time.Time // when it was sampled
	// BelowDL marks a value below the detection limit (未检出, "0.01L").
	BelowDL bool
	// DL is the detection limit of a BelowDL value. When it is 0, Value is
	// taken as the detection limit (the HJ/T 91 "DL + L" notation).
	DL float64
	// HasRange marks a sample that stands for several readings (a stored
	// monthly mean): Min and Max are their lowest and highest value, which
	// judge pH (a mean of 5.6 and 9.4 is in range; neither reading is).
	HasRange bool
	Min, Max float64
}

// bounds returns the lowest and highest value s stands for: its range, or v.
func (s Sample) bounds(v float64) (lo, hi float64) {
	if s.HasRange && !math.IsNaN(s.Min) && !math.IsNaN(s.Max) {
		return min(s.Min, v), max(s.Max, v)
	}
	return v, v
}

// Effective returns the value that enters statistics: the value itself, or
// half the detection limit when it is below it (环办监测函〔2020〕82号 point 7,
// facts §2.6).
func (s Sample) Effective() float64 {
	if !s.BelowDL {
		return s.Value
	}
	dl := s.DL
	if dl <= 0 {
		dl = s.Value
	}
	return dl / 2
}

// ItemResult is the period assessment of one parameter.
type ItemResult struct {
	Param string // canonical code
	Name  string // Chinese name, "" for an unknown code
	// N is the number of values averaged: samples for a section, sections
	// for a river or lake.
	N int
	// BelowDL is how many of a section's samples were below the detection limit.
	BelowDL int
	// Mean is the arithmetic mean of the effective values (22号: periods are
	// evaluated on the arithmetic mean; facts §2.6).
	Mean float64
	// Min and Max are the lowest and highest value of the item's samples (and
	// of the ranges they carry), when HasRange; pH is judged by them.
	Min, Max float64
	HasRange bool
	// Class is the GB 3838-2002 class of Mean, 0 when the item has none for
	// the water body (temperature, TN in rivers, Table 2/3 and other items).
	Class standard.Class
	// Multiple is the over-standard multiple of Mean against Class Ⅲ,
	// (C − C_Ⅲ)/C_Ⅲ, when it exceeds Class Ⅲ; otherwise 0 (and always 0 for
	// pH and DO; facts §2.4).
	Multiple float64
	// Evaluated is true for the 21 items of 环办〔2011〕22号 that have a
	// class: they, and only they, decide the section's class.
	Evaluated bool
}

// MainPollutant is one of the up to three main pollutants (主要污染指标) of
// a section worse than Class Ⅲ.
type MainPollutant struct {
	Param    string         // canonical code
	Name     string         // Chinese name
	Class    standard.Class // class of the item's mean
	Multiple float64        // over-standard multiple against Class Ⅲ
	// HasMultiple is false for pH and DO, for which no multiple is computed.
	HasMultiple bool
}

// String formats the pollutant as 22号 reports do, with the multiple after
// the name to one decimal: "高锰酸盐指数(1.2)", "氨氮(1.0)", or "溶解氧" for an
// item without a multiple (RoundMultiple).
func (m MainPollutant) String() string {
	name := m.Name
	if name == "" {
		name = m.Param
	}
	if !m.HasMultiple {
		return name
	}
	return name + "(" + strconv.FormatFloat(RoundMultiple(m.Multiple), 'f', 1, 64) + ")"
}

// RoundMultiple rounds an over-standard multiple to the one decimal 22号 prints, half
// away from zero (四舍五入: 0.25 → 0.3). The multiple is first cut to nine decimals, so
// that a binary remainder of its computation ((0.25−0.2)/0.2 is 0.24999999999999994 in
// floating point) does not round a printed 5 down.
func RoundMultiple(m float64) float64 {
	return math.Round(math.Round(m*1e9)/1e8) / 10
}

// SectionResult is the period assessment of one section (or one
// drinking-water source, or a river or lake rated from its means).
type SectionResult struct {
	Site string             // site id
	Body standard.WaterBody // river or lake limits
	// From and To are the times of the first and last sample.
	From, To time.Time
	// Samples is the number of samples used; Skipped counts samples left out
	// because their value was NaN or infinite.
	Samples, Skipped int
	// Items holds every parameter sampled, in the standard's order.
	Items []ItemResult
	// Class is the section's class by the single-factor method (单因子评价法,
	// 22号, facts §2.2): the worst class of its evaluated items. 0 when no
	// evaluated item was sampled.
	Class standard.Class
	// Status, Descriptor and Color are those of Class (facts §2.3).
	Status     standard.Status
	Descriptor string // Status in Chinese (优 … 重度污染)
	Color      string // Status colour, hex
	// MainPollutants are set only when Class is worse than Ⅲ (facts §2.4).
	MainPollutants []MainPollutant
}

// MainPollutantsText joins the main pollutants with "、", e.g.
// "氰化物(0.25)、高锰酸盐指数(2.33)、氨氮(0.8)"; "" when there are none.
func (r SectionResult) MainPollutantsText() string {
	parts := make([]string, len(r.MainPollutants))
	for i, m := range r.MainPollutants {
		parts[i] = m.String()
	}
	return strings.Join(parts, "、")
}

// Item returns the result of one parameter.
func (r SectionResult) Item(param string) (ItemResult, bool) {
	for _, it := range r.Items {
		if it.Param == param {
			return it, true
		}
	}
	return ItemResult{}, false
}

// acc accumulates the samples of one parameter.
type acc struct {
	sum, min, max float64
	n, bdl        int
}

// Section assesses a period of one section from its samples (环办〔2011〕22号;
// facts §2.2–2.4, §2.6): each item is the arithmetic mean of its effective
// values (below detection limit as DL/2), classified by GB 3838-2002 for
// body (pH by its lowest and highest value: its limit is a range); the section's class is the worst class of the 21 evaluated items;
// main pollutants are found when it is worse than Class Ⅲ. All samples are
// taken to belong to one section: Site is that of the first sample.
func Section(samples []Sample, body standard.WaterBody) SectionResult {
	r := SectionResult{Body: body}
	if len(samples) > 0 {
		r.Site = samples[0].Site
	}
	accs := map[string]*acc{}
	for _, s := range samples {
		v := s.Effective()
		if math.IsNaN(v) || math.IsInf(v, 0) {
			r.Skipped++
			continue
		}
		a := accs[s.Param]
		if a == nil {
			a = &acc{}
			accs[s.Param] = a
		}
		lo, hi := s.bounds(v)
		if a.n == 0 || lo < a.min {
			a.min = lo
		}
		if a.n == 0 || hi > a.max {
			a.max = hi
		}
		a.sum += v
		a.n++
		if s.BelowDL {
			a.bdl++
		}
		if r.Samples == 0 || s.Time.Before(r.From) {
			r.From = s.Time
		}
		if r.Samples == 0 || s.Time.After(r.To) {
			r.To = s.Time
		}
		r.Samples++
	}
	items := make([]ItemResult, 0, len(accs))
	for p, a := range accs {
		items = append(items, ItemResult{Param: p, N: a.n, BelowDL: a.bdl, Mean: a.sum / float64(a.n), Min: a.min, Max: a.max, HasRange: true})
	}
	assess(&r, items)
	return r
}

// assess classifies items (with their Mean set), sorts them and sets the
// class, status and main pollutants of r.
func assess(r *SectionResult, items []ItemResult) {
	for i := range items {
		it := &items[i]
		it.Name, _ = standard.Describe(it.Param)
		if c, err := standard.Classify(it.Param, it.Mean, r.Body); err == nil {
			it.Class = c
		}
		if it.Param == paramPH && it.HasRange {
			// pH is a range limit (6–9 for every class): a period is judged by its
			// lowest and highest reading, so 5.6 and 9.4 are not a Class Ⅰ mean of 7.5.
			for _, v := range []float64{it.Min, it.Max} {
				if c, err := standard.Classify(it.Param, v, r.Body); err == nil && c > it.Class {
					it.Class = c
				}
			}
		}
		if m, ok := standard.Multiple(it.Param, it.Mean, r.Body); ok && m > 0 {
			it.Multiple = m
		}
		it.Evaluated = it.Class != 0 && standard.Evaluated2011(it.Param)
		if it.Evaluated && it.Class > r.Class {
			r.Class = it.Class // single-factor: never better than the worst item
		}
	}
	slices.SortFunc(items, byStandardOrder)
	r.Items = items
	r.Status = r.Class.Status()
	r.Descriptor = r.Status.String()
	r.Color = r.Status.Color()
	r.MainPollutants = mainPollutants(items, r.Class, r.Body)
}

// byStandardOrder sorts items in the standard's order, unknown codes last by name.
func byStandardOrder(a, b ItemResult) int {
	oa, ob := standard.Order(a.Param), standard.Order(b.Param)
	if oa < 0 {
		oa = math.MaxInt
	}
	if ob < 0 {
		ob = math.MaxInt
	}
	if oa != ob {
		if oa < ob {
			return -1
		}
		return 1
	}
	return strings.Compare(a.Param, b.Param)
}

// priority reports whether an exceeding item goes first among main
// pollutants: "氰化物或铅、铬等重金属超标时，优先作为主要污染指标" (22号, facts §2.4).
func priority(param string) bool { return param == "cyanide" || standard.IsHeavyMetal(param) }

// mainPollutants picks the main pollutants of a section of class c (22号,
// facts §2.4): none when c is Ⅲ or better; otherwise the evaluated items
// worse than Ⅲ, cyanide and heavy metals first, then by class (worst first),
// then by over-standard multiple (largest first; pH and DO, which have none,
// after the others of their class), and the first three of them.
func mainPollutants(items []ItemResult, c standard.Class, body standard.WaterBody) []MainPollutant {
	if c <= standard.ClassIII {
		return nil
	}
	var out []MainPollutant
	for _, it := range items {
		if !it.Evaluated || it.Class <= standard.ClassIII {
			continue
		}
		_, has := standard.Multiple(it.Param, it.Mean, body)
		out = append(out, MainPollutant{Param: it.Param, Name: it.Name, Class: it.Class, Multiple: it.Multiple, HasMultiple: has})
	}
	slices.SortStableFunc(out, func(a, b MainPollutant) int {
		if pa, pb := priority(a.Param), priority(b.Param); pa != pb {
			if pa {
				return -1
			}
			return 1
		}
		if a.Class != b.Class {
			return int(b.Class - a.Class)
		}
		if a.HasMultiple != b.HasMultiple {
			if a.HasMultiple {
				return -1
			}
			return 1
		}
		if a.Multiple != b.Multiple {
			if a.Multiple > b.Multiple {
				return -1
			}
			return 1
		}
		return 0 // items are already in the standard's order
	})
	if len(out) > 3 {
		out = out[:3]
	}
	return out
}

// paramPH is the canonical code of pH, the one item whose limit is a range.
const paramPH = "ph"
