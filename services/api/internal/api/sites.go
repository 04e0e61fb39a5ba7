package api

import (
	"net/http"
	"slices"
	"sort"
	"time"

	"github.com/riverwatch/riverwatch/pkg/auth"
	"github.com/riverwatch/riverwatch/pkg/evaluate"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/standard"
)

// Site statuses.
const (
	StatusNormal    = "normal"    // reporting, meets its target
	StatusExceeding = "exceeding" // a confirmed exceedance is open, or the latest values miss the target
	StatusOffline   = "offline"   // no reading for 3 reporting intervals
	StatusNoData    = "no_data"   // no reading within the lookback
)

// SiteView is a site with its current state.
type SiteView struct {
	ID               string     `json:"id"`
	Name             string     `json:"name"`
	Kind             string     `json:"kind"`
	River            string     `json:"river"`
	RiverName        string     `json:"river_name"`
	Km               float64    `json:"km"`
	Jurisdiction     string     `json:"jurisdiction"`
	JurisdictionName string     `json:"jurisdiction_name"`
	TargetClass      string     `json:"target_class,omitempty"` // I..V; empty for outfalls
	Body             string     `json:"body"`
	Limits           string     `json:"limits,omitempty"` // an outfall's permit: a standard's name or "custom"
	Lat              float64    `json:"lat,omitempty"`
	Lon              float64    `json:"lon,omitempty"`
	Class            string     `json:"class"`       // current class by the 2011 single-factor method: I..V, 劣V; "" when none
	ClassRoman       string     `json:"class_roman"` // Ⅰ..Ⅴ, 劣Ⅴ, or "-"
	Color            string     `json:"color"`       // facts §2.3 colour of the class; "" when none
	Descriptor       string     `json:"descriptor"`  // 优, 良好, 轻度污染, 中度污染, 重度污染
	MeetsTarget      *bool      `json:"meets_target,omitempty"`
	MainPollutants   []string   `json:"main_pollutants"` // worse than Ⅲ: up to three items, e.g. "codmn(1.2)"
	Status           string     `json:"status"`
	LastSeen         *time.Time `json:"last_seen,omitempty"`
	// Exceedances are the site's open exceedance events, one per parameter.
	Exceedances []message.Event `json:"exceedances"`
	// Latest holds the latest value of each parameter (site detail only).
	Latest []LatestValue `json:"latest,omitempty"`
}

// LatestValue is a parameter's most recent reading, judged against the site's target.
type LatestValue struct {
	Parameter  string    `json:"parameter"`
	Name       string    `json:"name"`    // Chinese name
	NameEn     string    `json:"name_en"` // English name
	Value      float64   `json:"value"`
	Unit       string    `json:"unit"`
	Flag       string    `json:"flag"`
	ObservedAt time.Time `json:"observed_at"`
	Class      string    `json:"class,omitempty"` // GB 3838 class of the value, Table 1 items
	Evaluated  bool      `json:"evaluated"`       // one of the 21 items of the 2011 method
	Meets      *bool     `json:"meets,omitempty"` // against the site's target; absent when no limit applies
	Limit      float64   `json:"limit,omitempty"`
	Multiple   float64   `json:"multiple,omitempty"`
	// BelowDL marks a non-detect: Value is the detection limit ("0.01L"); class, meets and
	// multiple judge half of it, as the statistics count it (环办监测函〔2020〕82号, point 7).
	BelowDL bool `json:"below_dl,omitempty"`
}

// visibleSites returns the sites the caller sees, in file order.
func (s *Server) visibleSites(p *auth.Principal) []*network.Site {
	var out []*network.Site
	for _, site := range s.net.Sites() {
		if p.Sees(site.Jurisdiction) {
			out = append(out, site)
		}
	}
	return out
}

func siteIDs(sites []*network.Site) []string {
	ids := make([]string, len(sites))
	for i, s := range sites {
		ids[i] = s.ID
	}
	return ids
}

// target returns the standard.Target of a site; nil for an outfall whose permit is unknown.
func target(site *network.Site) *standard.Target {
	t := &standard.Target{Kind: standard.SiteKind(site.Kind)}
	if site.IsLake() {
		t.Body = standard.Lake
	}
	switch site.Kind {
	case network.KindOutfall:
		if site.Limits == nil {
			return nil
		}
		var err error
		if site.Limits.Name != "" {
			t.Permit, err = standard.PermitByName(site.Limits.Name, standard.PermitOptions{})
		} else {
			t.Permit, err = standard.CustomPermit(site.Limits.Custom)
		}
		if err != nil {
			return nil
		}
	default:
		if c, err := standard.ParseClass(site.TargetClass); err == nil {
			t.Class = c
		}
	}
	return t
}

// view computes a site's state from its latest readings and open exceedances.
func (s *Server) view(site *network.Site, latest []message.Reading, open []message.Event, detail bool) SiteView {
	v := SiteView{
		ID: site.ID, Name: site.Name, Kind: site.Kind, River: site.River, Km: site.Km,
		Jurisdiction: site.Jurisdiction, TargetClass: site.TargetClass, Body: site.Body,
		Lat: site.Lat, Lon: site.Lon, ClassRoman: "-", MainPollutants: []string{}, Exceedances: []message.Event{},
	}
	if r, ok := s.net.River(site.River); ok {
		v.RiverName = r.Name
	}
	if j, ok := s.net.Jurisdiction(site.Jurisdiction); ok {
		v.JurisdictionName = j.Name
	}
	if site.Limits != nil {
		v.Limits = site.Limits.Name
		if v.Limits == "" {
			v.Limits = "custom"
		}
	}
	tgt := target(site)
	var samples []evaluate.Sample
	var last, heard time.Time // the newest observation; the last arrival of a reading
	sort.Slice(latest, func(i, j int) bool {
		oi, oj := standard.Order(latest[i].Parameter), standard.Order(latest[j].Parameter)
		if oi != oj {
			return uint(oi) < uint(oj) // unknown codes (-1) last
		}
		return latest[i].Parameter < latest[j].Parameter
	})
	for _, rd := range latest {
		if rd.ObservedAt.After(last) {
			last = rd.ObservedAt
		}
		if rd.ReceivedAt.After(heard) {
			heard = rd.ReceivedAt
		}
		if last.After(heard) {
			heard = last
		}
		// Only data from instruments working normally is judged as water quality.
		if rd.NormalFlag() {
			// A non-detect is the limit with BelowDL: evaluate counts it at half the limit.
			samples = append(samples, evaluate.Sample{Site: site.ID, Param: rd.Parameter, Value: rd.Value, Time: rd.ObservedAt, BelowDL: rd.BelowDL})
		}
		if !detail {
			continue
		}
		lv := LatestValue{
			Parameter: rd.Parameter, Value: rd.Value, Unit: rd.Unit, Flag: message.NormalizeFlag(rd.Flag), ObservedAt: rd.ObservedAt,
			Evaluated: standard.Evaluated2011(rd.Parameter), BelowDL: rd.BelowDL,
		}
		lv.Name, lv.NameEn = standard.Describe(rd.Parameter)
		if lv.Name == "" {
			lv.Name, lv.NameEn = rd.Parameter, rd.Parameter
		}
		if tgt != nil {
			// A non-detect is judged at half its limit, as the statistics count it.
			if vd, err := standard.Judge(*tgt, rd.Parameter, rd.StatValue(), nil); err == nil && vd.Applicable {
				meets := vd.Meets
				lv.Meets, lv.Limit, lv.Multiple = &meets, vd.Limit, multipleView(vd.Multiple)
				if vd.Class.Valid() {
					lv.Class = vd.Class.String()
				}
			}
		}
		v.Latest = append(v.Latest, lv)
	}
	// The current class: the 2011 method's single-factor class of the latest value of each
	// evaluated item (outfalls are wastewater and have none).
	if site.Kind != network.KindOutfall && len(samples) > 0 {
		body := standard.River
		if site.IsLake() {
			body = standard.Lake
		}
		res := evaluate.Section(samples, body)
		if res.Class.Valid() {
			v.Class, v.ClassRoman, v.Color, v.Descriptor = res.Class.String(), res.Class.Roman(), res.Color, res.Descriptor
			if tgt != nil && tgt.Class.Valid() {
				meets := res.Class <= tgt.Class
				v.MeetsTarget = &meets
			}
			for _, mp := range res.MainPollutants {
				v.MainPollutants = append(v.MainPollutants, mp.String())
			}
		}
	}
	for _, e := range open {
		if e.Site == site.ID {
			v.Exceedances = append(v.Exceedances, eventView(e))
		}
	}
	v.Status = StatusNormal
	switch {
	case last.IsZero():
		v.Status = StatusNoData
	// A station is offline when nothing arrived from it for 3 intervals: readings that
	// arrive now with older observation times (a back-fill, the demo's accelerated replay)
	// mean it is online.
	case site.Station != nil && s.now().Sub(heard) > 3*time.Duration(site.Station.IntervalS)*time.Second:
		v.Status = StatusOffline
	case len(v.Exceedances) > 0 || (v.MeetsTarget != nil && !*v.MeetsTarget):
		v.Status = StatusExceeding
	}
	if !last.IsZero() {
		v.LastSeen = &last
	}
	return v
}

// siteStates loads the latest readings and open exceedances of sites and builds their views.
func (s *Server) siteStates(r *http.Request, sites []*network.Site, detail bool) ([]SiteView, error) {
	ids := siteIDs(sites)
	latest, err := s.store.Latest(r.Context(), ids, s.now().Add(-s.opt.LatestLookback))
	if err != nil {
		return nil, err
	}
	open, err := s.store.OpenExceedances(r.Context(), ids)
	if err != nil {
		return nil, err
	}
	bySite := map[string][]message.Reading{}
	for _, rd := range latest {
		bySite[rd.Site] = append(bySite[rd.Site], rd)
	}
	out := make([]SiteView, 0, len(sites))
	for _, site := range sites {
		out = append(out, s.view(site, bySite[site.ID], open, detail))
	}
	return out, nil
}

// SitesResponse is the body of GET /api/v1/sites.
type SitesResponse struct {
	Items   []SiteView   `json:"items"`
	Summary SitesSummary `json:"summary"`
}

// SitesSummary counts what the overview shows.
type SitesSummary struct {
	Sites         int            `json:"sites"`
	Exceeding     int            `json:"exceeding"`
	Offline       int            `json:"offline"`
	OpenIncidents int            `json:"open_incidents"`
	ByClass       map[string]int `json:"by_class"` // I..V, 劣V, and "-" for sites without a class
}

func (s *Server) handleSites(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	sites := s.visibleSites(p)
	if kind := r.URL.Query().Get("kind"); kind != "" {
		if kind != network.KindSection && kind != network.KindDrinkingSource && kind != network.KindOutfall {
			s.fail(w, r, http.StatusBadRequest, "bad_request", "kind=%q: want section, drinking_source or outfall", kind)
			return
		}
		sites = slices.DeleteFunc(slices.Clone(sites), func(x *network.Site) bool { return x.Kind != kind })
	}
	if river := r.URL.Query().Get("river"); river != "" {
		sites = slices.DeleteFunc(slices.Clone(sites), func(x *network.Site) bool { return x.River != river })
	}
	views, err := s.siteStates(r, sites, false)
	if err != nil {
		s.storeFail(w, r, "sites", err)
		return
	}
	sum := SitesSummary{Sites: len(views), ByClass: map[string]int{}}
	for _, v := range views {
		switch v.Status {
		case StatusExceeding:
			sum.Exceeding++
		case StatusOffline:
			sum.Offline++
		}
		if v.Class == "" {
			sum.ByClass["-"]++
		} else {
			sum.ByClass[v.Class]++
		}
	}
	open, err := s.store.Incidents(r.Context(), IncidentQuery{
		Statuses: []string{message.IncidentOpen, message.IncidentAcknowledged}, Jurisdictions: scope(p), Limit: maxLimit,
	})
	if err != nil {
		s.storeFail(w, r, "incidents", err)
		return
	}
	sum.OpenIncidents = len(open)
	writeJSON(w, http.StatusOK, SitesResponse{Items: views, Summary: sum})
}

func (s *Server) handleSite(w http.ResponseWriter, r *http.Request) {
	site, ok := s.siteFor(w, r)
	if !ok {
		return
	}
	views, err := s.siteStates(r, []*network.Site{site}, true)
	if err != nil {
		s.storeFail(w, r, "site "+site.ID, err)
		return
	}
	writeJSON(w, http.StatusOK, views[0])
}

// siteFor resolves {id}: 404 for an unknown site, and the same 404 for one outside the
// caller's jurisdictions (L9: no 403 that tells the site exists).
func (s *Server) siteFor(w http.ResponseWriter, r *http.Request) (*network.Site, bool) {
	id := r.PathValue("id")
	site, ok := s.net.Site(id)
	if !ok || !principal(r).Sees(site.Jurisdiction) {
		s.fail(w, r, http.StatusNotFound, "not_found", "site %q not found", id)
		return nil, false
	}
	return site, true
}

// scope returns the jurisdictions a caller is limited to, nil for every one.
func scope(p *auth.Principal) []string {
	if p.Sees(auth.AllJurisdictions) {
		return nil
	}
	return slices.Clone(p.Jurisdictions)
}

// RiverView is a river with its sites' positions, for the schematic.
type RiverView struct {
	ID       string        `json:"id"`
	Name     string        `json:"name"`
	LengthKm float64       `json:"length_km"`
	Joins    *network.Join `json:"joins,omitempty"`
	Sites    []string      `json:"sites"` // ids of the visible sites on it, upstream first
	// EmergencySpaces are the river's emergency spaces (sites.yaml), every one whoever
	// asks: where a plume can be stopped concerns the jurisdictions downstream too, as
	// the jurisdictions' names do. Empty, not absent, when none is configured.
	EmergencySpaces []network.EmergencySpace `json:"emergency_spaces"`
}

// RiversResponse is the body of GET /api/v1/rivers.
type RiversResponse struct {
	Items []RiverView `json:"items"`
	// Jurisdictions names every jurisdiction (incidents mention those up- and downstream).
	Jurisdictions []network.Jurisdiction `json:"jurisdictions"`
}

func (s *Server) handleRivers(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	resp := RiversResponse{Items: []RiverView{}, Jurisdictions: []network.Jurisdiction{}}
	for _, rv := range s.net.Rivers() {
		view := RiverView{ID: rv.ID, Name: rv.Name, LengthKm: rv.LengthKm, Joins: rv.Joins, Sites: []string{},
			EmergencySpaces: append([]network.EmergencySpace{}, rv.EmergencySpaces...)}
		var sites []*network.Site
		for _, site := range s.net.Sites() {
			if site.River == rv.ID && p.Sees(site.Jurisdiction) {
				sites = append(sites, site)
			}
		}
		sort.SliceStable(sites, func(i, j int) bool { return sites[i].Km < sites[j].Km })
		for _, site := range sites {
			view.Sites = append(view.Sites, site.ID)
			view.LengthKm = max(view.LengthKm, site.Km)
		}
		resp.Items = append(resp.Items, view)
	}
	// Every jurisdiction's name: incidents name those up- and downstream too.
	resp.Jurisdictions = append(resp.Jurisdictions, s.net.Jurisdictions()...)
	writeJSON(w, http.StatusOK, resp)
}

// MeResponse is the body of GET /api/v1/me.
type MeResponse struct {
	Name          string   `json:"name"`
	Role          string   `json:"role"`
	Jurisdictions []string `json:"jurisdictions"`
	// Can lists what the role may do: read, acknowledge, confirm_receipt, step_done,
	// resolve, drill.
	Can []string `json:"can"`
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	can := []string{"read"}
	if p.Can(auth.RoleResponder) {
		can = append(can, message.CommandAcknowledge, message.CommandConfirmReceipt, message.CommandStepDone, message.CommandResolve)
	}
	if p.Can(auth.RoleAdmin) {
		can = append(can, message.CommandDrill, message.CommandSilenceCreate, message.CommandSilenceExpire)
	}
	writeJSON(w, http.StatusOK, MeResponse{Name: p.Name, Role: p.Role, Jurisdictions: p.Jurisdictions, Can: can})
}
