package api

import (
	"encoding/csv"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
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
	Site       string    `json:"site"`
	From       time.Time `json:"from"`
	To         time.Time `json:"to"`
	Resolution string    `json:"resolution"`
	// RollupsThrough, on hour and day resolutions, is the time up to which the rollups hold
	// every archived reading: they are rebuilt apart from the raw inserts and trail them by
	// about archiver.rollup_delay (absent: rebuilt with every batch, or nothing yet).
	RollupsThrough *time.Time   `json:"rollups_through,omitempty"`
	Series         []SeriesView `json:"series"`
}

// Readings page limits (points per parameter). ClickHouse sends offset+limit points per
// parameter for a page (18.16 has no LIMIT n OFFSET m BY), so the offset is bounded.
const (
	defaultPoints  = 5000
	maxPoints      = 50000
	maxPointOffset = 10 * maxPoints
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
	if wantCSV(r) {
		s.exportReadingsCSV(w, r, site, q)
		return
	}
	q.Limit++ // one more tells whether there is a next page
	series, err := s.store.Series(r.Context(), q)
	if err != nil {
		s.storeFail(w, r, "readings of "+site.ID, err)
		return
	}
	resp := ReadingsResponse{Site: site.ID, From: q.From, To: q.To, Resolution: q.Resolution, Series: []SeriesView{}}
	if q.Resolution != ResolutionRaw {
		through, ok, err := s.store.RollupsThrough(r.Context())
		if err != nil {
			s.storeFail(w, r, "rollup progress", err)
			return
		}
		if ok {
			through = through.UTC()
			resp.RollupsThrough = &through
		}
	}
	for _, sr := range series {
		v := seriesView(site, sr)
		if len(v.Points) > q.Limit-1 {
			v.Points = v.Points[:q.Limit-1]
			next := q.Offset + q.Limit - 1
			v.NextOffset = &next
		}
		for i := range v.Points {
			v.Points[i].Flag = pointFlag(q.Resolution, v.Points[i].Flag)
		}
		resp.Series = append(resp.Series, v)
	}
	writeJSON(w, http.StatusOK, resp)
}

// belowDLText is the below_dl cell of the readings CSV: "true" for a raw non-detect,
// empty otherwise.
func belowDLText(b bool) string {
	if b {
		return "true"
	}
	return ""
}

// pointFlag is the flag a point is served with, in JSON and CSV alike: a raw reading's
// normalised flag (empty is the normal flag, message.NormalizeFlag); a rollup bucket holds
// valid readings only, so its flag is the normal one.
func pointFlag(resolution, flag string) string {
	if resolution != ResolutionRaw {
		return message.FlagNormal
	}
	return message.NormalizeFlag(flag)
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
	limit, offset, err := parsePage(r, defaultPoints, maxPoints, maxPointOffset)
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

// errExportTooLarge stops an export at api.export_max_rows.
var errExportTooLarge = errors.New("export larger than api.export_max_rows")

// exportReadingsCSV streams a series as CSV, each row written as ClickHouse sends it. With
// limit (and offset) it is one page per parameter, as the JSON; without, the whole range,
// at most Options.ExportMaxRows rows: an export that has more is cut off by aborting the
// response, so that the client sees a failed download rather than a silently short file.
func (s *Server) exportReadingsCSV(w http.ResponseWriter, r *http.Request, site *network.Site, q SeriesQuery) {
	qs := r.URL.Query()
	switch {
	case qs.Get("limit") != "":
	case qs.Get("offset") != "":
		s.fail(w, r, http.StatusBadRequest, "bad_request", "offset needs limit: an export without limit is the whole range")
		return
	default:
		q.Limit, q.MaxRows = 0, s.opt.ExportMaxRows+1
	}
	name := site.ID + "_" + q.From.In(s.net.Location).Format("20060102") + "-" + q.To.In(s.net.Location).Format("20060102") + "_" + q.Resolution + ".csv"
	var cw *csv.Writer
	rows := 0
	start := func() {
		cw = startCSV(w, name)
		_ = cw.Write([]string{"site", "parameter", "name", "unit", "time", "resolution", "value", "min", "max", "count", "flag", "below_dl"})
	}
	err := s.store.SeriesEach(r.Context(), q, func(param, unit string, p Point) error {
		if q.MaxRows > 0 && rows >= s.opt.ExportMaxRows {
			return errExportTooLarge
		}
		if cw == nil {
			start()
		}
		rows++
		if unit == "" {
			unit = standard.CanonicalUnit(param)
		}
		zh, _ := standard.Describe(param)
		return cw.Write([]string{
			site.ID, param, zh, unit, p.T.In(s.net.Location).Format(time.RFC3339), q.Resolution,
			fmtFloat(p.Value), fmtFloat(p.Min), fmtFloat(p.Max), strconv.FormatUint(p.Count, 10), pointFlag(q.Resolution, p.Flag),
			belowDLText(p.BelowDL),
		})
	})
	switch {
	case err == nil:
		if cw == nil {
			start()
		}
		cw.Flush()
	case cw == nil:
		// Nothing written yet: an ordinary error answer.
		s.storeFail(w, r, "readings of "+site.ID, err)
	default:
		cw.Flush()
		reason := "export_failed"
		if errors.Is(err, errExportTooLarge) {
			reason = "export_too_large"
		}
		s.metrics.errors.WithLabelValues(reason).Inc()
		s.log.Warn("readings export cut off", "site", site.ID, "rows", rows, "max_rows", s.opt.ExportMaxRows,
			"request_id", requestID(r), "err", err)
		// Abort the response: the chunked body ends without its last chunk, and the
		// client reports the download as failed.
		panic(http.ErrAbortHandler)
	}
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
