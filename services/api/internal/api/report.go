package api

import (
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/riverwatch/riverwatch/pkg/evaluate"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/standard"
)

// ComplianceReport is the body of GET /api/v1/reports/compliance: each calendar month of the
// range and the whole range, assessed by the 2011 method against the sites' targets and
// the plan's indicators (表2—1).
type ComplianceReport struct {
	From        time.Time      `json:"from"`
	To          time.Time      `json:"to"`
	GeneratedAt time.Time      `json:"generated_at"`
	Months      []PeriodReport `json:"months"`
	// Period is the whole range (the annual assessment when the range is a year): each item
	// is the mean of all its readings in the range.
	Period PeriodReport `json:"period"`
}

// PeriodReport is the assessment of one period.
type PeriodReport struct {
	Label string `json:"label"` // 2024-06, or 2024-01/2024-12 for the range
	// Assessment is monthly, quarterly (2–3 months) or annual (longer); MinData and
	// MinDataUnit are the data an item needs to enter a class in it (MinData).
	Assessment  string           `json:"assessment"`
	MinData     int              `json:"min_data"`
	MinDataUnit string           `json:"min_data_unit"`
	From        time.Time        `json:"from"`
	To          time.Time        `json:"to"`
	Sites       []SiteCompliance `json:"sites"`
	Rivers      []RiverRating    `json:"rivers"`
	Indicators  []PlanIndicator  `json:"indicators"`
}

// SiteCompliance is one section's or drinking-water source's class over a period.
type SiteCompliance struct {
	Site        string `json:"site"`
	Name        string `json:"name"`
	Kind        string `json:"kind"`
	River       string `json:"river"`
	TargetClass string `json:"target_class"`
	Class       string `json:"class"` // "" when no evaluated item was measured
	ClassRoman  string `json:"class_roman"`
	Color       string `json:"color"`
	Descriptor  string `json:"descriptor"`
	MeetsTarget *bool  `json:"meets_target"` // null when not rated
	// MainPollutants as 22号 reports them: "高锰酸盐指数(1.2)、氨氮(0.5)".
	MainPollutants string `json:"main_pollutants"`
	Samples        uint64 `json:"samples"`
	// CorrectedReadings is how many of the site's readings in the period an admin corrected
	// (POST …/readings/corrections): the report says what it rests on.
	CorrectedReadings uint64 `json:"corrected_readings"`
	// PHMin and PHMax are the lowest and highest pH reading of the period, null without
	// pH: pH is judged by its range (6–9 for every class), not by its mean.
	PHMin *float64 `json:"ph_min"`
	PHMax *float64 `json:"ph_max"`
	// DataStatus is DataRated, DataInsufficient (readings, but fewer than the period's
	// minimum for every evaluated item: no class, meets_target null) or DataNone.
	DataStatus string `json:"data_status"`
	// InsufficientItems are the parameters left out of the class for too little data.
	InsufficientItems []string `json:"insufficient_items"`
	// NonDetects lists the items with readings below the detection limit in the period,
	// counted at half the limit in the means (环办监测函〔2020〕82号, point 7).
	NonDetects []NonDetectItem `json:"non_detects"`
	// DataSource says what the period's assessment rests on: DataSourceAutomatic,
	// DataSourceManual, DataSourceMixed, or "" without readings.
	DataSource string `json:"data_source"`
	// AutomaticReadings and ManualReadings are the readings the assessment used, by
	// source (manual: interval lab).
	AutomaticReadings uint64 `json:"automatic_readings"`
	ManualReadings    uint64 `json:"manual_readings"`
	// ManualSetAside counts the manual samples left out because the month had automatic
	// data for the item, which take precedence (AutomaticFirst); SetAsideItems names them.
	ManualSetAside uint64   `json:"manual_set_aside"`
	SetAsideItems  []string `json:"set_aside_items"`
	// Trophic is the trophic state index (TLI) of a lake or reservoir site (body: lake in
	// sites.yaml) over the period; null for river sites.
	Trophic *TrophicState `json:"trophic"`
	// SourceClassIII is a drinking-water source's compliance against Class Ⅲ plus GB 3838
	// Tables 2 and 3, beside meets_target (the plan's target, Class Ⅱ, plus Tables 2 and 3);
	// null for other sites and when api.report_source_class_iii is false.
	SourceClassIII *SourceCompliance `json:"source_class_iii"`
}

// SourceCompliance is a drinking-water source judged by the rule often used for source
// statistics: Table 1 Class Ⅲ or better and every Table 2 and 3 item within its limit. The
// rule is common but not verified against an official text, hence configurable
// (api.report_source_class_iii; docs/reports.md).
type SourceCompliance struct {
	// Meets is null when the source has no class for the period.
	Meets *bool `json:"meets"`
	// Table1Meets: the Table 1 class is Ⅲ or better (null when not rated).
	Table1Meets *bool `json:"table1_meets"`
	// SupplementaryItems is how many Table 2 and 3 items were sampled with enough data;
	// Exceeding names those over their single limit with the multiple (C − L)/L to one
	// decimal: "锰(0.5)".
	SupplementaryItems int      `json:"supplementary_items"`
	Exceeding          []string `json:"exceeding"`
}

// sourceClassIII judges a source's period assessment by Class Ⅲ plus Tables 2 and 3.
func sourceClassIII(src evaluate.SourceResult) *SourceCompliance {
	sc := &SourceCompliance{SupplementaryItems: len(src.Supplementary), Exceeding: []string{}}
	for _, it := range src.Supplementary {
		if !it.Meets {
			sc.Exceeding = append(sc.Exceeding, it.Name+"("+strconv.FormatFloat(evaluate.RoundMultiple(it.Multiple), 'f', 1, 64)+")")
		}
	}
	if src.Class != 0 {
		t1 := src.Class <= standard.ClassIII
		meets := t1 && src.SupplementaryMet
		sc.Meets, sc.Table1Meets = &meets, &t1
	}
	return sc
}

// TrophicState is a lake's or reservoir's 综合营养状态指数 TLI(Σ) over a period, from the period
// means of chlorophyll a, TP, TN, transparency and CODMn (evaluate.TLI; docs/reports.md).
type TrophicState struct {
	// Status is DataRated, DataInsufficient (readings, but one or more of the five items
	// missing or short of the period's minimum data: Missing names them) or DataNone (no
	// reading in the period). Only a rated state has an index and a grade.
	Status string `json:"status"`
	// Index is TLI(Σ) to one decimal; null unless rated.
	Index *float64 `json:"index"`
	// Grade is oligotrophic, mesotrophic, light_eutrophic, middle_eutrophic or
	// hyper_eutrophic ("" unless rated); GradeName its Chinese name (贫营养 … 重度富营养).
	Grade     string `json:"grade"`
	GradeName string `json:"grade_name"`
	// Missing are the items of the five without a usable period mean.
	Missing []string `json:"missing"`
	// Items are the five items' means (canonical units), TLI(j) and weights, when rated.
	Items []TrophicItem `json:"items"`
}

// TrophicItem is one item's part of TLI(Σ).
type TrophicItem struct {
	Parameter string  `json:"parameter"`
	Mean      float64 `json:"mean"`
	TLI       float64 `json:"tli"`
	Weight    float64 `json:"weight"`
}

// trophicOf is the trophic state of a lake or reservoir from the period's samples (the items
// with enough data) and its readings (n).
func trophicOf(samples []evaluate.Sample, n uint64) *TrophicState {
	ts := &TrophicState{Status: DataNone, Missing: []string{}, Items: []TrophicItem{}}
	means := map[string]float64{}
	for _, s := range samples {
		means[s.Param] = s.Value
	}
	r := evaluate.TLI(means)
	if !r.Rated {
		ts.Missing = r.Missing
		if n > 0 {
			ts.Status = DataInsufficient
		}
		return ts
	}
	idx := math.Round(r.Index*10) / 10
	ts.Status, ts.Index, ts.Grade, ts.GradeName = DataRated, &idx, string(r.Grade), r.Grade.Name()
	for _, it := range r.Items {
		ts.Items = append(ts.Items, TrophicItem{Parameter: it.Param, Mean: it.Mean, TLI: math.Round(it.TLI*100) / 100, Weight: math.Round(it.Weight*10000) / 10000})
	}
	return ts
}

// NonDetectItem is one item of a site with readings below the detection limit.
type NonDetectItem struct {
	Parameter  string `json:"parameter"`
	Name       string `json:"name"`
	Readings   uint64 `json:"readings"`    // the item's readings in the assessment
	NonDetects uint64 `json:"non_detects"` // of which below the detection limit
	// Limit is the detection limit when every reading was a non-detect (the item is then
	// shown as HJ/T 91 writes it, Text "挥发酚 0.01L"), else null.
	Limit *float64 `json:"limit"`
	// Text: "挥发酚 0.01L" (all below the limit) or "挥发酚 2/5 未检出".
	Text string `json:"text"`
}

// Sources of a site's assessment.
const (
	DataSourceAutomatic = "automatic"
	DataSourceManual    = "manual"
	DataSourceMixed     = "mixed"
)

// AutomaticFirst reports whether automatic data, where a month has them, take precedence
// over manual samples of param in the statistics (环办监测函〔2020〕82号; facts.md §2.1): the
// automatic stations' pH, DO, CODMn, NH3-N, TP and TN.
func AutomaticFirst(param string) bool {
	switch param {
	case "ph", "do", "codmn", "nh3n", "tp", "tn":
		return true
	}
	return false
}

// Data statuses of a site in a period.
const (
	DataRated        = "rated"
	DataInsufficient = "insufficient_data" // 数据不足
	DataNone         = "no_data"
)

// Assessments of a period, by its length in months (环办〔2011〕22号: 月、季度、年度评价).
const (
	AssessMonthly   = "monthly"
	AssessQuarterly = "quarterly"
	AssessAnnual    = "annual"
)

// MinData is the minimum data for an item to enter a period's class (config api.report_min_*):
// Monthly readings in a month, Quarterly months with data in a quarter, Annual months with
// data in a year. A quarter's or year's count is of months, since 22号 counts samplings and
// a manual section is sampled once a month; a station that was down for months does not
// make a year from a few weeks of readings.
type MinData struct {
	Monthly, Quarterly, Annual int
}

// DefaultMinData: a month may rest on one sample, a quarter on two (22号 as recalled, facts
// §2.6, unverified), a year on 8 months (the usual figure for sections sampled monthly;
// facts §7 item 2 lists it as open).
var DefaultMinData = MinData{Monthly: 1, Quarterly: 2, Annual: 8}

// dataRule is the minimum that applies to one period.
type dataRule struct {
	Assessment string
	Min        int
	Unit       string // "readings" or "months"
}

// rule returns the rule of a period of months calendar months: a month, up to a quarter, or
// longer, whose annual minimum is scaled to its length (8 of every 12 months, rounded up).
func (m MinData) rule(months int) dataRule {
	switch {
	case months <= 1:
		return dataRule{AssessMonthly, m.Monthly, "readings"}
	case months <= 3:
		return dataRule{AssessQuarterly, min(m.Quarterly, months), "months"}
	default:
		return dataRule{AssessAnnual, (m.Annual*months + 11) / 12, "months"}
	}
}

// enough reports whether an item with n readings in months months meets the rule.
func (r dataRule) enough(n uint64, months int) bool {
	if r.Unit == "readings" {
		return n >= uint64(r.Min)
	}
	return months >= r.Min
}

// paramPH is the canonical code of pH.
const paramPH = "ph"

// RiverRating is a river rated from its sections (2011 method, facts §2.5).
type RiverRating struct {
	River            string  `json:"river"`
	Name             string  `json:"name"`
	Method           string  `json:"method"` // mean_concentration (< 5 sections) or class_share
	Sections         int     `json:"sections"`
	Rated            int     `json:"rated"`
	Class            string  `json:"class"` // mean_concentration only
	ClassRoman       string  `json:"class_roman"`
	Descriptor       string  `json:"descriptor"`
	Color            string  `json:"color"`
	ShareIIIOrBetter float64 `json:"share_iii_or_better"`
	ShareWorseV      float64 `json:"share_worse_v"`
	MainPollutants   string  `json:"main_pollutants"`
}

// PlanIndicator is one water indicator of the plan's 表2—1 against its 2025 target.
type PlanIndicator struct {
	ID     string  `json:"id"`
	Name   string  `json:"name"`
	NameEn string  `json:"name_en"`
	Count  int     `json:"count"` // sites counted in the numerator
	Of     int     `json:"of"`    // sites rated
	Value  float64 `json:"value"` // Count / Of
	Target float64 `json:"target"`
	// Direction: "min" (at least the target) or "max" (at most).
	Direction string `json:"direction"`
	// Meets is null when there was nothing to rate.
	Meets *bool `json:"meets"`
}

func (s *Server) handleCompliance(w http.ResponseWriter, r *http.Request) {
	if err := checkFormat(r); err != nil {
		s.handleErr(w, r, "report", err)
		return
	}
	loc := s.net.Location
	now := s.now().In(loc)
	yearStart := time.Date(now.Year(), 1, 1, 0, 0, 0, 0, loc)
	to, err := s.parseTime(r, "to", now.UTC())
	if err != nil {
		s.handleErr(w, r, "report", err)
		return
	}
	from, err := s.parseTime(r, "from", yearStart.UTC())
	if err != nil {
		s.handleErr(w, r, "report", err)
		return
	}
	if !from.Before(to) {
		s.fail(w, r, http.StatusBadRequest, "bad_request", "from must be before to")
		return
	}
	if to.Sub(from) > 5*366*24*time.Hour {
		s.fail(w, r, http.StatusBadRequest, "bad_request", "range longer than 5 years")
		return
	}
	var sites []*network.Site
	for _, site := range s.visibleSites(principal(r)) {
		if site.Kind != network.KindOutfall {
			sites = append(sites, site)
		}
	}
	means, err := s.store.MonthlyMeans(r.Context(), MeansQuery{Sites: siteIDs(sites), From: from, To: to, Location: loc})
	if err != nil {
		s.storeFail(w, r, "report", err)
		return
	}
	corrected, err := s.store.MonthlyCorrections(r.Context(), MeansQuery{Sites: siteIDs(sites), From: from, To: to, Location: loc})
	if err != nil {
		s.storeFail(w, r, "report", err)
		return
	}
	rep := s.compliance(sites, means, corrected, from, to)
	if wantCSV(r) {
		s.writeComplianceCSV(w, rep)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// compliance builds the report from the monthly means.
func (s *Server) compliance(sites []*network.Site, means []MonthlyMean, corrected []CorrectionCount, from, to time.Time) ComplianceReport {
	loc := s.net.Location
	rep := ComplianceReport{From: from, To: to, GeneratedAt: s.now().UTC(), Months: []PeriodReport{}}
	byMonth := map[time.Time][]MonthlyMean{}
	for _, m := range means {
		k := m.Month.In(loc)
		k = time.Date(k.Year(), k.Month(), 1, 0, 0, 0, 0, loc)
		byMonth[k] = append(byMonth[k], m)
	}
	correctedByMonth := map[time.Time][]CorrectionCount{}
	for _, c := range corrected {
		k := c.Month.In(loc)
		k = time.Date(k.Year(), k.Month(), 1, 0, 0, 0, 0, loc)
		correctedByMonth[k] = append(correctedByMonth[k], c)
	}
	f := from.In(loc)
	for m := time.Date(f.Year(), f.Month(), 1, 0, 0, 0, 0, loc); m.Before(to); m = m.AddDate(0, 1, 0) {
		pf, pt := maxTime(m, from), minTime(m.AddDate(0, 1, 0), to)
		rep.Months = append(rep.Months, s.period(m.Format("2006-01"), pf, pt, sites, byMonth[m], correctedByMonth[m], s.opt.ReportMinData.rule(1)))
	}
	label := f.Format("2006-01") + "/" + to.Add(-time.Second).In(loc).Format("2006-01")
	rep.Period = s.period(label, from, to, sites, means, corrected, s.opt.ReportMinData.rule(len(rep.Months)))
	return rep
}

// period assesses one period from the monthly means it covers: each item's period mean
// is the mean of its readings, so months weigh by their number of readings. A reading
// belongs to one month, so the months' corrected readings add up.
func (s *Server) period(label string, from, to time.Time, sites []*network.Site, means []MonthlyMean, corrected []CorrectionCount, rule dataRule) PeriodReport {
	correctedOf := map[string]uint64{}
	for _, c := range corrected {
		correctedOf[c.Site] += c.Readings
	}
	type acc struct {
		sum, min, max float64
		n, nd         uint64
		months        int
		auto, manual  uint64 // readings used, by source
		setAside      uint64 // manual samples left out: the month had automatic data
	}
	sums := map[string]map[string]*acc{}
	for _, m := range means {
		if m.Count == 0 {
			continue
		}
		if sums[m.Site] == nil {
			sums[m.Site] = map[string]*acc{}
		}
		a := sums[m.Site][m.Parameter]
		if a == nil {
			a = &acc{}
			sums[m.Site][m.Parameter] = a
		}
		st := monthStats(m)
		manual := m.Count - min(m.Auto.Count, m.Count)
		if AutomaticFirst(m.Parameter) && m.Auto.Count > 0 && manual > 0 {
			// Automatic data take precedence for this item: the month rests on them alone.
			st, a.setAside = m.Auto, a.setAside+manual
			manual = 0
		}
		if a.n == 0 || st.Min < a.min {
			a.min = st.Min
		}
		if a.n == 0 || st.Max > a.max {
			a.max = st.Max
		}
		a.sum += st.Mean * float64(st.Count)
		a.n += st.Count
		a.nd += st.NonDetects
		a.auto += st.Count - manual
		a.manual += manual
		a.months++ // one MonthlyMean per site, parameter and month
	}
	// samplesOf returns the site's items with enough data for the period's assessment, their
	// readings, and the items left out for too little data.
	samplesOf := func(site string) ([]evaluate.Sample, uint64, []string) {
		var out []evaluate.Sample
		var n uint64
		short := []string{}
		// The means already count a non-detect at half its limit (the rollups do): the
		// sample is the mean itself, not marked BelowDL, or it would be halved again.
		params := make([]string, 0, len(sums[site]))
		for p := range sums[site] {
			params = append(params, p)
		}
		sort.Strings(params)
		for _, p := range params {
			a := sums[site][p]
			n += a.n // samples says what the period holds, short items included
			if !rule.enough(a.n, a.months) {
				short = append(short, p)
				continue
			}
			// The range goes with the mean: pH is judged by its lowest and highest reading.
			out = append(out, evaluate.Sample{Site: site, Param: p, Value: a.sum / float64(a.n), Time: from, HasRange: true, Min: a.min, Max: a.max})
		}
		return out, n, short
	}
	pr := PeriodReport{Label: label, From: from, To: to, Assessment: rule.Assessment, MinData: rule.Min, MinDataUnit: rule.Unit,
		Sites: []SiteCompliance{}, Rivers: []RiverRating{}}
	var sections []evaluate.SectionResult
	var sources []evaluate.SourceResult
	riverSamples := map[string]map[string][]evaluate.Sample{}
	for _, site := range sites {
		samples, n, short := samplesOf(site.ID)
		body := standard.River
		if site.IsLake() {
			body = standard.Lake
		}
		tc, _ := standard.ParseClass(site.TargetClass)
		var res evaluate.SectionResult
		var meets *bool
		var classIII *SourceCompliance
		if site.Kind == network.KindDrinkingSource {
			src := evaluate.Source(samples, body, tc)
			sources = append(sources, src)
			res = src.SectionResult
			if res.Class != 0 {
				meets = &src.MeetsTarget
			}
			if !s.opt.HideSourceClassIII {
				classIII = sourceClassIII(src)
			}
		} else {
			res = evaluate.Section(samples, body)
			sections = append(sections, res)
			if res.Class != 0 && tc != 0 {
				ok := res.Class <= tc
				meets = &ok
			}
			if body == standard.River {
				if riverSamples[site.River] == nil {
					riverSamples[site.River] = map[string][]evaluate.Sample{}
				}
				riverSamples[site.River][site.ID] = samples
			}
		}
		sc := SiteCompliance{
			Site: site.ID, Name: site.Name, Kind: site.Kind, River: site.River, TargetClass: site.TargetClass,
			ClassRoman: res.Class.Roman(), Descriptor: res.Descriptor, Color: res.Color, MeetsTarget: meets,
			MainPollutants: res.MainPollutantsText(), Samples: n, CorrectedReadings: correctedOf[site.ID],
			DataStatus: DataRated, InsufficientItems: short, SourceClassIII: classIII,
		}
		switch {
		case res.Class != 0:
		case len(short) > 0:
			// Readings, but too few for the period: shown as such, neither meeting nor failing.
			sc.DataStatus = DataInsufficient
		default:
			sc.DataStatus = DataNone
		}
		if res.Class != 0 {
			sc.Class = res.Class.String()
		}
		if ph, ok := res.Item(paramPH); ok && ph.HasRange {
			sc.PHMin, sc.PHMax = &ph.Min, &ph.Max
		}
		if site.IsLake() {
			sc.Trophic = trophicOf(samples, n)
		}
		sc.NonDetects, sc.SetAsideItems = []NonDetectItem{}, []string{}
		for _, p := range sortedKeys(sums[site.ID]) {
			a := sums[site.ID][p]
			sc.AutomaticReadings += a.auto
			sc.ManualReadings += a.manual
			sc.ManualSetAside += a.setAside
			if a.setAside > 0 {
				sc.SetAsideItems = append(sc.SetAsideItems, p)
			}
			if a.nd > 0 {
				sc.NonDetects = append(sc.NonDetects, nonDetectItem(p, a.n, a.nd, a.max))
			}
		}
		switch {
		case sc.AutomaticReadings > 0 && sc.ManualReadings > 0:
			sc.DataSource = DataSourceMixed
		case sc.AutomaticReadings > 0:
			sc.DataSource = DataSourceAutomatic
		case sc.ManualReadings > 0:
			sc.DataSource = DataSourceManual
		}
		pr.Sites = append(pr.Sites, sc)
	}
	for _, rv := range s.net.Rivers() {
		secs, ok := riverSamples[rv.ID]
		if !ok {
			continue
		}
		rr := evaluate.River(secs)
		rating := RiverRating{
			River: rv.ID, Name: rv.Name, Method: string(rr.Method), Sections: len(secs), Rated: rr.Rated,
			ClassRoman: rr.Class.Roman(), Descriptor: rr.Descriptor, Color: rr.Color,
			ShareIIIOrBetter: rr.ShareIIIOrBetter, ShareWorseV: rr.ShareWorseV,
		}
		if rr.Class != 0 {
			rating.Class = rr.Class.String()
		}
		switch rr.Method {
		case evaluate.MethodShare:
			for i, p := range rr.RiverPollutants {
				if i > 0 {
					rating.MainPollutants += "、"
				}
				rating.MainPollutants += p.String()
			}
		default:
			rating.MainPollutants = riverMeanPollutants(rr)
		}
		pr.Rivers = append(pr.Rivers, rating)
	}
	pr.Indicators = indicators(evaluate.Indicators(sections, sources))
	return pr
}

// monthStats are the statistics of every valid reading of a month.
func monthStats(m MonthlyMean) MeanStats {
	return MeanStats{Count: m.Count, Mean: m.Mean, Min: m.Min, Max: m.Max, NonDetects: m.NonDetects}
}

// nonDetectItem describes an item with nd of its n readings below the detection limit.
// When all were, the item is shown as the limit with HJ/T 91's L; the statistics hold each
// at half its limit, so the limit is twice the highest (the largest limit reported).
func nonDetectItem(param string, n, nd uint64, statMax float64) NonDetectItem {
	name, _ := standard.Describe(param)
	if name == "" {
		name = param
	}
	it := NonDetectItem{Parameter: param, Name: name, Readings: n, NonDetects: nd}
	if nd >= n {
		limit := statMax * 2
		it.Limit = &limit
		it.Text = name + " " + strconv.FormatFloat(limit, 'f', -1, 64) + "L"
		return it
	}
	it.Text = name + " " + strconv.FormatUint(nd, 10) + "/" + strconv.FormatUint(n, 10) + " 未检出"
	return it
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// riverMeanPollutants names the items of a river rated by mean concentration that are worse
// than Class Ⅲ, worst first (the section rule applied to the means).
func riverMeanPollutants(rr evaluate.RiverResult) string {
	items := append([]evaluate.ItemResult(nil), rr.Items...)
	sort.SliceStable(items, func(i, j int) bool {
		if items[i].Class != items[j].Class {
			return items[i].Class > items[j].Class
		}
		return items[i].Multiple > items[j].Multiple
	})
	out := ""
	n := 0
	for _, it := range items {
		if !it.Evaluated || it.Class <= standard.ClassIII || n == 3 {
			continue
		}
		mp := evaluate.MainPollutant{Param: it.Param, Name: it.Name, Class: it.Class, Multiple: it.Multiple, HasMultiple: it.Multiple > 0}
		if n > 0 {
			out += "、"
		}
		out += mp.String()
		n++
	}
	return out
}

func indicators(p evaluate.PlanIndicators) []PlanIndicator {
	mk := func(id, zh, en string, count, of int, value, target float64, dir string, meets bool) PlanIndicator {
		pi := PlanIndicator{ID: id, Name: zh, NameEn: en, Count: count, Of: of, Value: value, Target: target, Direction: dir}
		if of > 0 {
			pi.Meets = &meets
		}
		return pi
	}
	return []PlanIndicator{
		mk("river_iii_or_better", "水质达到或好于Ⅲ类的河流断面比例", "river sections of Class Ⅲ or better",
			p.RiverSectionsIIIOrBetter, p.RiverSections, p.ShareRiverIIIOrBetter, evaluate.TargetRiverSectionsIIIOrBetter, "min", p.MeetsRiverIIIOrBetter),
		mk("river_worse_v", "水质为劣V类的河流断面比例", "river sections worse than Class Ⅴ",
			p.RiverSectionsWorseV, p.RiverSections, p.ShareRiverWorseV, evaluate.TargetRiverSectionsWorseV, "max", p.MeetsRiverWorseV),
		mk("lakes_iii_or_better", "水质达到或好于Ⅲ类的湖库比例", "lakes and reservoirs of Class Ⅲ or better",
			p.LakesIIIOrBetter, p.Lakes, p.ShareLakesIIIOrBetter, evaluate.TargetLakesIIIOrBetter, "min", p.MeetsLakesIIIOrBetter),
		mk("lakes_worse_v", "水质劣V类的湖库比例", "lakes and reservoirs worse than Class Ⅴ",
			p.LakesWorseV, p.Lakes, p.ShareLakesWorseV, evaluate.TargetLakesWorseV, "max", p.MeetsLakesWorseV),
		mk("sources_good", "饮用水源地水质优良比例", "drinking-water sources of good quality",
			p.SourcesGood, p.Sources, p.ShareSourcesGood, evaluate.TargetSourcesGood, "min", p.MeetsSourcesGood),
	}
}

func (s *Server) writeComplianceCSV(w http.ResponseWriter, rep ComplianceReport) {
	loc := s.net.Location
	name := "compliance_" + rep.From.In(loc).Format("20060102") + "-" + rep.To.In(loc).Format("20060102") + ".csv"
	cw := startCSV(w, name)
	_ = cw.Write([]string{"period", "scope", "id", "name", "target", "class", "descriptor", "meets_target", "value", "detail", "corrected_readings", "ph_min", "ph_max", "data_status", "insufficient_items", "non_detects", "data_source", "automatic_readings", "manual_readings", "manual_set_aside", "tli", "tli_grade", "tli_missing", "meets_class_iii_tables", "tables_exceeding"})
	periods := append(append([]PeriodReport{}, rep.Months...), rep.Period)
	for _, p := range periods {
		for _, sc := range p.Sites {
			_ = cw.Write([]string{p.Label, "site", sc.Site, sc.Name, sc.TargetClass, sc.ClassRoman, sc.Descriptor, boolText(sc.MeetsTarget), strconv.FormatUint(sc.Samples, 10), sc.MainPollutants, strconv.FormatUint(sc.CorrectedReadings, 10), optFloat(sc.PHMin), optFloat(sc.PHMax), sc.DataStatus, strings.Join(sc.InsufficientItems, ";"),
				nonDetectTexts(sc.NonDetects), sc.DataSource, strconv.FormatUint(sc.AutomaticReadings, 10), strconv.FormatUint(sc.ManualReadings, 10), strconv.FormatUint(sc.ManualSetAside, 10),
				trophicIndexText(sc.Trophic), trophicGradeText(sc.Trophic), trophicMissingText(sc.Trophic), classIIIMeetsText(sc.SourceClassIII), classIIIExceedingText(sc.SourceClassIII)})
		}
		for _, rv := range p.Rivers {
			_ = cw.Write([]string{p.Label, "river", rv.River, rv.Name, "", rv.ClassRoman, rv.Descriptor, "", trimFloat(rv.ShareIIIOrBetter, 4), rv.Method + " " + rv.MainPollutants, "", "", "", "", "", "", "", "", "", "", "", "", "", "", ""})
		}
		for _, in := range p.Indicators {
			_ = cw.Write([]string{p.Label, "indicator", in.ID, in.Name, trimFloat(in.Target, 4), "", "", boolText(in.Meets), trimFloat(in.Value, 4), strconv.Itoa(in.Count) + "/" + strconv.Itoa(in.Of), "", "", "", "", "", "", "", "", "", "", "", "", "", "", ""})
		}
	}
	cw.Flush()
}

// classIIIMeetsText is a CSV cell of a source's Class Ⅲ + Tables 2/3 compliance.
func classIIIMeetsText(sc *SourceCompliance) string {
	if sc == nil {
		return ""
	}
	return boolText(sc.Meets)
}

// classIIIExceedingText joins a source's Table 2/3 items over their limit with ";".
func classIIIExceedingText(sc *SourceCompliance) string {
	if sc == nil {
		return ""
	}
	return strings.Join(sc.Exceeding, ";")
}

// trophicIndexText is a CSV cell of a site's TLI(Σ): the index, "" when not rated or not a lake.
func trophicIndexText(ts *TrophicState) string {
	if ts == nil || ts.Index == nil {
		return ""
	}
	return strconv.FormatFloat(*ts.Index, 'f', 1, 64)
}

// trophicGradeText is a CSV cell of a lake's trophic grade: the grade, or its data status
// (insufficient_data, no_data) when not rated; "" for a river site.
func trophicGradeText(ts *TrophicState) string {
	switch {
	case ts == nil:
		return ""
	case ts.Status == DataRated:
		return ts.Grade
	}
	return ts.Status
}

// trophicMissingText joins the items a lake's TLI lacks with ";".
func trophicMissingText(ts *TrophicState) string {
	if ts == nil {
		return ""
	}
	return strings.Join(ts.Missing, ";")
}

// nonDetectTexts joins the texts of the non-detect items with ";".
func nonDetectTexts(items []NonDetectItem) string {
	texts := make([]string, len(items))
	for i, it := range items {
		texts[i] = it.Text
	}
	return strings.Join(texts, ";")
}

// optFloat writes an optional number, "" for null.
func optFloat(f *float64) string {
	if f == nil {
		return ""
	}
	return trimFloat(*f, 4)
}

func boolText(b *bool) string {
	if b == nil {
		return ""
	}
	return strconv.FormatBool(*b)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
