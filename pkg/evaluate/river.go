package evaluate

import (
	"cmp"
	"maps"
	"math"
	"slices"
	"strconv"

	"github.com/riverwatch/riverwatch/pkg/standard"
)

// Method is how a river, basin or lake was rated.
type Method string

// The rating methods of 环办〔2011〕22号 (facts §2.5).
const (
	// MethodMean averages each item over the sections (each section first
	// averaged over time) and applies the single-factor method to the means:
	// rivers with fewer than MinSectionsForShare sections, and lakes.
	MethodMean Method = "mean_concentration"
	// MethodShare rates the river by the shares of its sections' classes
	// (断面水质类别比例法): rivers with MinSectionsForShare sections or more.
	MethodShare Method = "class_share"
)

// MinSectionsForShare is the number of sections from which a river is rated
// by the class-share method. Facts §2.5: the official text is believed to say
// "5个（含5个）以上"; one secondary source says "more than 5" [UNVERIFIED for
// exactly 5]; the fact sheet recommends ≥ 5, as here.
const MinSectionsForShare = 5

// RiverPollutant is a main pollutant of a river rated by class shares: an
// item ranked by its section exceedance rate (断面超标率, facts §2.4).
type RiverPollutant struct {
	Param string // canonical code
	Name  string // Chinese name
	// Exceeding is the number of sections where the item is worse than
	// Class Ⅲ; Sections is the number of sections rated.
	Exceeding, Sections int
	// Rate is Exceeding / Sections.
	Rate float64
}

// String formats the pollutant with its section exceedance rate, e.g.
// "氨氮(33.3%)".
func (p RiverPollutant) String() string {
	name := p.Name
	if name == "" {
		name = p.Param
	}
	return name + "(" + strconv.FormatFloat(math.Round(p.Rate*1000)/10, 'f', -1, 64) + "%)"
}

// RiverResult is the rating of a river (or basin) or of a lake or reservoir.
type RiverResult struct {
	Method Method             // how it was rated
	Body   standard.WaterBody // river or lake limits
	// Sections are the assessments of every section (or lake point), by site id.
	Sections []SectionResult
	// Rated is the number of sections with a class; only they count.
	// SectionsIIIOrBetter and SectionsWorseV count those of Class Ⅰ–Ⅲ and 劣Ⅴ.
	Rated, SectionsIIIOrBetter, SectionsWorseV int
	// Class is the class of the item means (MethodMean only; 0 for MethodShare).
	Class standard.Class
	// Status is the river's descriptor: Class's for MethodMean, the share
	// table of facts §2.5 for MethodShare. Descriptor and Color are its text
	// and colour.
	Status     standard.Status
	Descriptor string // Status in Chinese (优 … 重度污染)
	Color      string // Status colour, hex
	// Items are the item means across sections (MethodMean only).
	Items []ItemResult
	// ShareIIIOrBetter and ShareWorseV are the shares of rated sections of
	// Class Ⅰ–Ⅲ and 劣Ⅴ (computed for both methods).
	ShareIIIOrBetter, ShareWorseV float64
	// MainPollutants of a lake rated from its point means, by the section
	// rule. Nil for rivers: with fewer than 5 sections 22号 gives each section
	// its own (Sections[i].MainPollutants); with 5 or more see RiverPollutants.
	MainPollutants []MainPollutant
	// RiverPollutants are the up to three items with the highest section
	// exceedance rate (MethodShare only, facts §2.4).
	RiverPollutants []RiverPollutant
}

// River rates a river or basin from the samples of each of its sections,
// keyed by site id (环办〔2011〕22号, facts §2.5): with fewer than 5 rated
// sections, by the single-factor method on the item means over the sections;
// with 5 or more, by the shares of the sections' classes: Ⅰ–Ⅲ ≥ 90 % 优;
// 75 % ≤ Ⅰ–Ⅲ < 90 % 良好; otherwise 劣Ⅴ < 20 % 轻度污染, 20 % ≤ 劣Ⅴ < 40 %
// 中度污染, 劣Ⅴ ≥ 40 % 重度污染. River TP limits apply; a river-type reservoir
// is rated as a river.
func River(sections map[string][]Sample) RiverResult {
	r := rateSections(sections, standard.River)
	if r.Rated >= MinSectionsForShare {
		r.Method = MethodShare
		r.Status = shareStatus(r.Rated, r.SectionsIIIOrBetter, r.SectionsWorseV)
		r.Descriptor, r.Color = r.Status.String(), r.Status.Color()
		r.RiverPollutants = riverPollutants(r.Sections, r.Rated)
		return r
	}
	r.Method = MethodMean
	m := meanOfSections(r.Sections, standard.River)
	r.Class, r.Status, r.Descriptor, r.Color, r.Items = m.Class, m.Status, m.Descriptor, m.Color, m.Items
	return r
}

// Lake rates a lake or reservoir from the samples of each of its points
// (facts §2.5): each point is averaged over time, each item over the points,
// and the single-factor method is applied to the means with the lake limits
// of TP and TN, whatever the number of points. The main pollutants are
// found from the means by the section rule.
func Lake(points map[string][]Sample) RiverResult {
	r := rateSections(points, standard.Lake)
	r.Method = MethodMean
	m := meanOfSections(r.Sections, standard.Lake)
	r.Class, r.Status, r.Descriptor, r.Color, r.Items = m.Class, m.Status, m.Descriptor, m.Color, m.Items
	r.MainPollutants = m.MainPollutants
	return r
}

// rateSections assesses every section and counts the class shares.
func rateSections(sections map[string][]Sample, body standard.WaterBody) RiverResult {
	r := RiverResult{Body: body}
	for _, id := range slices.Sorted(maps.Keys(sections)) {
		s := Section(sections[id], body)
		s.Site = id
		r.Sections = append(r.Sections, s)
	}
	for _, s := range r.Sections {
		if s.Class == 0 {
			continue
		}
		r.Rated++
		if s.Class <= standard.ClassIII {
			r.SectionsIIIOrBetter++
		}
		if s.Class == standard.ClassWorseV {
			r.SectionsWorseV++
		}
	}
	if r.Rated > 0 {
		r.ShareIIIOrBetter = float64(r.SectionsIIIOrBetter) / float64(r.Rated)
		r.ShareWorseV = float64(r.SectionsWorseV) / float64(r.Rated)
	}
	return r
}

// meanOfSections averages each item's section means over the sections that
// sampled it, and assesses the means as one section.
func meanOfSections(sections []SectionResult, body standard.WaterBody) SectionResult {
	type sum struct {
		s, min, max float64
		n           int
		ranged      bool
	}
	sums := map[string]*sum{}
	m := SectionResult{Body: body}
	for _, s := range sections {
		if s.Samples == 0 {
			continue
		}
		if m.Samples == 0 || s.From.Before(m.From) {
			m.From = s.From
		}
		if m.Samples == 0 || s.To.After(m.To) {
			m.To = s.To
		}
		m.Samples += s.Samples
		m.Skipped += s.Skipped
		for _, it := range s.Items {
			a := sums[it.Param]
			if a == nil {
				a = &sum{}
				sums[it.Param] = a
			}
			lo, hi := it.Mean, it.Mean
			if it.HasRange {
				lo, hi = it.Min, it.Max
			}
			if a.n == 0 || lo < a.min {
				a.min = lo
			}
			if a.n == 0 || hi > a.max {
				a.max = hi
			}
			a.ranged = a.ranged || it.HasRange
			a.s += it.Mean
			a.n++
		}
	}
	items := make([]ItemResult, 0, len(sums))
	for p, a := range sums {
		// The sections' ranges carry over, so that pH of the river is judged by its range too.
		items = append(items, ItemResult{Param: p, N: a.n, Mean: a.s / float64(a.n), Min: a.min, Max: a.max, HasRange: a.ranged})
	}
	assess(&m, items)
	return m
}

// shareStatus applies the class-share table of facts §2.5 to n rated
// sections, good of them Ⅰ–Ⅲ and worse of them 劣Ⅴ. It compares counts, not
// rounded shares, so that 9 of 10 is exactly 90 %.
func shareStatus(n, good, worse int) standard.Status {
	switch {
	case n == 0:
		return standard.StatusNone
	case good*100 >= 90*n:
		return standard.StatusExcellent
	case good*100 >= 75*n:
		return standard.StatusGood
	case worse*100 < 20*n:
		return standard.StatusSlightlyPolluted
	case worse*100 < 40*n:
		return standard.StatusModeratelyPolluted
	}
	return standard.StatusHeavilyPolluted
}

// riverPollutants ranks the evaluated items that are worse than Class Ⅲ at
// some section by their section exceedance rate and keeps the first three
// (22号, facts §2.4). Ties go in the standard's order.
func riverPollutants(sections []SectionResult, rated int) []RiverPollutant {
	count := map[string]int{}
	names := map[string]string{}
	for _, s := range sections {
		if s.Class == 0 {
			continue
		}
		for _, it := range s.Items {
			if it.Evaluated && it.Class > standard.ClassIII {
				count[it.Param]++
				names[it.Param] = it.Name
			}
		}
	}
	out := make([]RiverPollutant, 0, len(count))
	for p, c := range count {
		out = append(out, RiverPollutant{Param: p, Name: names[p], Exceeding: c, Sections: rated, Rate: float64(c) / float64(rated)})
	}
	slices.SortFunc(out, func(a, b RiverPollutant) int {
		if a.Exceeding != b.Exceeding {
			return b.Exceeding - a.Exceeding
		}
		return cmp.Compare(standard.Order(a.Param), standard.Order(b.Param))
	})
	if len(out) > 3 {
		out = out[:3]
	}
	return out
}
