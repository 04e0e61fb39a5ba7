package api

import (
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/standard"
)

// SeriesView is one parameter's series with what the chart draws behind it.
type SeriesView struct {
	Parameter string `json:"parameter"`
	Name      string `json:"name"`
	NameEn    string `json:"name_en"`
	Unit      string `json:"unit"`
	// ClassLimits are the GB 3838 limits of Class Ⅰ..Ⅴ (the class bands), absent for items
	// without class limits; LimitKind says whether they are upper limits or lower (DO).
	ClassLimits []float64 `json:"class_limits,omitempty"`
	LimitKind   string    `json:"limit_kind,omitempty"` // upper, lower, range
	// Target is the site's own limit for the parameter: its target class's limit, or its
	// permit's limit for an outfall. TargetRange is the two-sided target (pH 6–9).
	Target      *float64  `json:"target,omitempty"`
	TargetRange []float64 `json:"target_range,omitempty"`
	Points      []Point   `json:"points"`
	NextOffset  *int      `json:"next_offset,omitempty"`
}

// ReadingsResponse is the body of GET /api/v1/sites/{id}/readings.
type ReadingsResponse struct {
	Site       string       `json:"site"`
	From       time.Time    `json:"from"`
	To         time.Time    `json:"to"`
	Resolution string       `json:"resolution"`
	Series     []SeriesView `json:"series"`
}

// Readings page limits (points per parameter).
const (
	defaultPoints = 5000
	maxPoints     = 50000
)

func (s *Server) handleReadings(w http.ResponseWriter, r *http.Request) {
	site, ok := s.siteFor(w, r)
	if !ok {
		return
	}
	q, err := s.seriesQuery(r, site)
	if err != nil {
		s.handleErr(w, r, "readings", err)
		return
	}
	csvOut := wantCSV(r)
	if csvOut && r.URL.Query().Get("limit") == "" {
		q.Limit = 0 // an export is the whole range
	} else {
		q.Limit++ // one more tells whether there is a next page
	}
	series, err := s.store.Series(r.Context(), q)
	if err != nil {
		s.storeFail(w, r, "readings of "+site.ID, err)
		return
	}
	if csvOut {
		s.writeReadingsCSV(w, site, q, series)
		return
	}
	resp := ReadingsResponse{Site: site.ID, From: q.From, To: q.To, Resolution: q.Resolution, Series: []SeriesView{}}
	for _, sr := range series {
		v := seriesView(site, sr)
		if len(v.Points) > q.Limit-1 {
			v.Points = v.Points[:q.Limit-1]
			next := q.Offset + q.Limit - 1
			v.NextOffset = &next
		}
		resp.Series = append(resp.Series, v)
	}
	writeJSON(w, http.StatusOK, resp)
}

// seriesQuery reads parameter, from, to, resolution, limit and offset. The resolution,
// when not given, follows the span: raw readings for short ranges, rollups for long ones.
func (s *Server) seriesQuery(r *http.Request, site *network.Site) (SeriesQuery, error) {
	if err := checkFormat(r); err != nil {
		return SeriesQuery{}, err
	}
	from, to, err := s.parseRange(r, 24*time.Hour)
	if err != nil {
		return SeriesQuery{}, err
	}
	limit, offset, err := parsePage(r, defaultPoints, maxPoints)
	if err != nil {
		return SeriesQuery{}, err
	}
	q := SeriesQuery{Site: site.ID, Parameters: listOf(r, "parameter"), From: from, To: to, Limit: limit, Offset: offset, Location: s.net.Location}
	for _, p := range q.Parameters {
		if !standard.Known(p) {
			return SeriesQuery{}, badf("parameter=%q: not a canonical parameter code (ph, do, codmn, nh3n, tp, ...)", p)
		}
	}
	switch res := r.URL.Query().Get("resolution"); res {
	case "", "auto":
		span := to.Sub(from)
		switch {
		case span <= s.opt.RawMaxSpan:
			q.Resolution = ResolutionRaw
		case span <= s.opt.HourMaxSpan:
			q.Resolution = ResolutionHour
		default:
			q.Resolution = ResolutionDay
		}
	case ResolutionRaw, ResolutionHour, ResolutionDay:
		q.Resolution = res
	default:
		return SeriesQuery{}, badf("resolution=%q: want raw, hour, day or auto", res)
	}
	return q, nil
}

// seriesView adds names, class bands and the site's target to a series.
func seriesView(site *network.Site, sr Series) SeriesView {
	v := SeriesView{Parameter: sr.Parameter, Unit: sr.Unit, Points: sr.Points}
	if v.Points == nil {
		v.Points = []Point{}
	}
	v.Name, v.NameEn = standard.Describe(sr.Parameter)
	if v.Name == "" {
		v.Name, v.NameEn = sr.Parameter, sr.Parameter
	}
	if v.Unit == "" {
		v.Unit = standard.CanonicalUnit(sr.Parameter)
	}
	body := standard.River
	if site.IsLake() {
		body = standard.Lake
	}
	if sr.Parameter == "ph" {
		v.LimitKind = string(standard.LimitRange)
		v.TargetRange = []float64{standard.PHMin, standard.PHMax}
		return v
	}
	for c := standard.ClassI; c <= standard.ClassV; c++ {
		l, kind, ok := standard.ClassLimit(sr.Parameter, c, body)
		if !ok {
			v.ClassLimits = nil
			break
		}
		v.ClassLimits = append(v.ClassLimits, l)
		v.LimitKind = string(kind)
	}
	if tgt := target(site); tgt != nil {
		// Judge a harmless value to learn the applicable limit.
		probe := 0.0
		if v.LimitKind == string(standard.LimitLower) {
			probe = 1e9
		}
		if vd, err := standard.Judge(*tgt, sr.Parameter, probe, nil); err == nil && vd.Applicable {
			if vd.LimitKind == standard.LimitRange {
				v.TargetRange = []float64{standard.PHMin, standard.PHMax}
			} else {
				l := vd.Limit
				v.Target = &l
				if v.LimitKind == "" {
					v.LimitKind = string(vd.LimitKind)
				}
			}
		}
	}
	return v
}

// csvBOM makes spreadsheet programs read the UTF-8 Chinese names correctly.
const csvBOM = "\uFEFF"

func (s *Server) writeReadingsCSV(w http.ResponseWriter, site *network.Site, q SeriesQuery, series []Series) {
	name := site.ID + "_" + q.From.In(s.net.Location).Format("20060102") + "-" + q.To.In(s.net.Location).Format("20060102") + "_" + q.Resolution + ".csv"
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(csvBOM))
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"site", "parameter", "name", "unit", "time", "resolution", "value", "min", "max", "count", "flag"})
	for _, sr := range series {
		zh, _ := standard.Describe(sr.Parameter)
		for _, p := range sr.Points {
			_ = cw.Write([]string{
				site.ID, sr.Parameter, zh, sr.Unit, p.T.In(s.net.Location).Format(time.RFC3339), q.Resolution,
				fmtFloat(p.Value), fmtFloat(p.Min), fmtFloat(p.Max), strconv.FormatUint(p.Count, 10), p.Flag,
			})
		}
	}
	cw.Flush()
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// trimFloat formats f with at most prec decimals, without trailing zeros.
func trimFloat(f float64, prec int) string {
	s := strconv.FormatFloat(f, 'f', prec, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}
