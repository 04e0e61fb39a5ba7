package dashboard_test

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
)

// Browser tests of the river map (#/map) and of the predicted windows on the site chart
// (docs/dashboard.md, "The river map").

// withPrediction gives the open incident (STH-S2 → STH-D2, 12 km) a plume window.
func (h *harness) withPrediction(p message.Prediction) {
	h.t.Helper()
	inc, err := h.store.Incident(context.Background(), h.fix.OpenIncident)
	if err != nil {
		h.t.Fatal(err)
	}
	inc.Version++
	inc.Predictions = append(inc.Predictions, p)
	h.store.PutIncident(inc)
}

// window builds the prediction of STH-D2 from STH-S2 released at t0, each time in hours after it.
func window(t0 time.Time, earliest, leading, peak, trailing, latest float64) message.Prediction {
	at := func(h float64) time.Time { return t0.Add(time.Duration(h * float64(time.Hour))) }
	return message.Prediction{Site: "STH-D2", Origin: "STH-S2", Parameter: "nh3n", ReleaseStart: t0,
		Earliest: at(earliest), Leading: at(leading), Peak: at(peak), Trailing: at(trailing), Latest: at(latest),
		PeakConcentration: 1.4, Unit: "mg/L", Confidence: "low", VelocityMPS: 1.1, DistanceKm: 12}
}

type mapSite struct {
	Site  string  `json:"site"`
	Kind  string  `json:"kind"`
	Class string  `json:"class"`
	Fill  string  `json:"fill"`
	Shape string  `json:"shape"`
	Ring  bool    `json:"ring"`
	X     float64 `json:"x"`
	Y     float64 `json:"y"`
}

type mapSeg struct {
	Class string `json:"class"`
	From  string `json:"from"`
	To    string `json:"to"`
}

type apiSpace struct {
	ID    string  `json:"id"`
	River string  `json:"river"`
	Kind  string  `json:"kind"`
	Km    float64 `json:"km"`
}

type mapDiamond struct {
	ID   string  `json:"id"`
	Kind string  `json:"kind"`
	Km   string  `json:"km"`
	X    float64 `json:"x"`
	Y    float64 `json:"y"`
}

// santunSpace returns the emergency space id of the Santun river in configs/sites.yaml, failing
// the test when it is not there at km: the test's hand-computed numbers assume it.
func (h *harness) santunSpace(id string, km float64) network.EmergencySpace {
	h.t.Helper()
	if r, ok := h.net.River("santun"); ok {
		for _, sp := range r.EmergencySpaces {
			if sp.ID == id && sp.Km == km {
				return sp
			}
		}
	}
	h.t.Fatalf("configs/sites.yaml has no emergency space %s at km %g on the Santun river", id, km)
	return network.EmergencySpace{}
}

// TestTheMapDrawsTheSitesSpacesAndThePlumeOfTheTokensJurisdictions: every site the token
// sees, coloured by class, outfalls as squares, sources ringed; every emergency space of
// /api/v1/rivers on its river between the sites around its km; the plume of the open
// prediction at a fixed time between the km the linear edges give, and the space its
// interception recommends ringed — the first on the way that the band's front has not
// reached — with the time left, in both languages.
func TestTheMapDrawsTheSitesSpacesAndThePlumeOfTheTokensJurisdictions(t *testing.T) {
	t0 := time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)
	// The window at STH-D2 (km 82) of a release at STH-S2 (km 70), 12 km: earliest +3 h,
	// leading +4 h (0.83 m/s, about the Santun's configured 0.8), trailing +6 h, latest +9 h.
	// The Santun's spaces on the way are STH-G1 (km 74, 4 km down) and STH-P1 (km 78, 8 km
	// down); STH-K1 (km 22) is above the origin. An edge due at the site at tₑ is 12·t/tₑ km
	// down at t (docs/dashboard.md, "Where a plume is"); the band's front (earliest) reaches
	// a space d km down at 3·d/12 h, and the assessor's rule (pkg/plume.Intercept) names
	// the first space on the way the front has not reached, so:
	//   - at +45 min the front is 12·0.75/3 = 3 km down (km 73), the band's back (latest)
	//     12·0.75/9 = 1 km (km 71), the leading edge 12·0.75/4 = 2.25 km (km 72.25), the
	//     trailing 12·0.75/6 = 1.5 km (km 71.5): neither space is reached; STH-G1 is
	//     recommended, the front there at 3·4/12 = 1 h, 15 min after the time drawn;
	//   - at +1.5 h the front is 6 km down (km 76), the back 2 km (km 72), the leading edge
	//     4.5 km (km 74.5), the trailing 3 km (km 73): the plume's core covers STH-G1 and
	//     STH-P1 is recommended, the front there at 3·8/12 = 2 h, 30 min after.
	// Each case's prediction carries the interception the assessor gives when it (re)issues
	// the prediction at the time drawn.
	tests := []struct {
		name, token, lang, nav string
		after                  time.Duration // the time drawn after t0
		clock                  string        // the time drawn in Changji's time (Asia/Shanghai)
		plume                  []mapSeg
		space                  string  // the space the interception recommends
		spaceKm                float64 // its km
		spaces                 bool    // the token sees the plume and enough of the Santun river to draw its spaces
		left                   string  // the space's time left at the time drawn
		shot                   string
	}{
		{"admin, Chinese", "dev-admin-token", "zh", "河流地图", 90 * time.Minute, "17:30",
			[]mapSeg{{"plume-band", "72.00", "76.00"}, {"plume-core", "73.00", "74.50"}}, "STH-P1", 78, true, "剩余 30 min", "map"},
		{"changji viewer, English", "dev-viewer-changji", "en", "Map", 45 * time.Minute, "16:45",
			[]mapSeg{{"plume-band", "71.00", "73.00"}, {"plume-core", "71.50", "72.25"}}, "STH-G1", 74, true, "left 15 min", "map-en"},
		// xpcc6 sees STH-S3 alone: no river course to draw, and not the plume to STH-D2.
		{"xpcc6 viewer, Chinese", "dev-viewer-xpcc6", "zh", "河流地图", 90 * time.Minute, "17:30", nil, "STH-P1", 78, false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			at := t0.Add(tt.after)
			p := window(t0, 3, 4, 5, 6, 9)
			sp := h.santunSpace(tt.space, tt.spaceKm)
			actBy := t0.Add(time.Duration(3 * (sp.Km - 70) / 12 * float64(time.Hour))) // 3 h for the 12 km, at a constant speed
			p.Interception = message.Interception{Space: sp.ID, Name: sp.Name, Kind: sp.Kind, Km: sp.Km, River: "santun",
				ToIntakeKm: 82 - sp.Km, ActBy: actBy, TimeLeftS: int64(actBy.Sub(at) / time.Second),
				Jurisdiction: sp.OperatedBy.Jurisdiction, Role: sp.OperatedBy.Role}
			h.withPrediction(p)
			h.signIn(tt.token, tt.lang)
			h.do(
				chromedp.Click(`nav a[data-nav="map"]`),
				chromedp.WaitVisible(`body[data-ready="map"] [data-testid="rivermap"]`),
				chromedp.Navigate(h.srv.URL+"/#/map/"+at.Format(time.RFC3339)),
			)
			get(h, chromedp.Poll[bool](`document.querySelector('[data-testid="map-at"]')?.textContent.includes('`+tt.clock+`')`, chromedp.WithPollingTimeout(10*time.Second)))
			sites := get(h, chromedp.Evaluate[[]mapSite](`[...document.querySelectorAll('.rivermap g.site')].map(g => { const d = g.querySelector('.dot');
				return { site: g.dataset.site, kind: g.dataset.kind, class: g.dataset.class || '', fill: (d.getAttribute('fill') || '').toLowerCase(),
					shape: d.tagName, ring: !!g.querySelector('.src'),
					x: Number(d.getAttribute('cx') ?? Number(d.getAttribute('x')) + 7), y: Number(d.getAttribute('cy') ?? Number(d.getAttribute('y')) + 7) }; })`))
			plume := get(h, chromedp.Evaluate[[]mapSeg](`[...document.querySelectorAll('.rivermap [data-prediction]')].map(p => ({ class: p.getAttribute('class'), from: p.dataset.fromKm, to: p.dataset.toKm }))`))
			spaces := get(h, chromedp.Evaluate[[]mapDiamond](`[...document.querySelectorAll('.rivermap g.space')].map(g => { const b = g.querySelector('path').getBBox();
				return { id: g.dataset.space, kind: g.dataset.kind, km: g.dataset.km, x: b.x + b.width / 2, y: b.y + b.height / 2 }; })`))
			apiSpaces := get(h, chromedp.Evaluate[[]apiSpace](`fetch('/api/v1/rivers', { headers: { Authorization: 'Bearer ' + localStorage.getItem('rw.token') } })
				.then(r => r.json()).then(b => b.items.flatMap(r => (r.emergency_spaces || []).map(s => ({ id: s.id, river: r.id, kind: s.kind, km: s.km }))))`, chromedp.EvalAwaitPromise))
			recommended := get(h, chromedp.Evaluate[[]string](`[...document.querySelectorAll('.rivermap g.space[data-recommended="1"]')].map(g => g.dataset.space)`))
			left := get(h, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-testid="intercept-left"]')].map(e => e.textContent)`))
			intercept := get(h, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-testid="intercept"]')].map(e => e.textContent)`))
			nav := get(h, chromedp.Text(`nav a[data-nav="map"]`))
			external := get(h, chromedp.Evaluate[[]string](`performance.getEntriesByType('resource').map(e => e.name).filter(n => !n.startsWith(location.origin))`))
			if tt.shot != "" {
				h.shot(tt.shot)
			}

			if nav != tt.nav {
				t.Errorf("nav link %q, want %q", nav, tt.nav)
			}
			if len(external) != 0 {
				t.Errorf("the map fetched from outside the api: %q", external)
			}
			want := map[string]*network.Site{}
			for _, s := range h.net.Sites() {
				if h.sees(tt.token, s.Jurisdiction) {
					want[s.ID] = s
				}
			}
			got := map[string]mapSite{}
			for _, s := range sites {
				got[s.Site] = s
				if want[s.Site] == nil {
					t.Errorf("site %s is drawn for a token that does not see it", s.Site)
				}
			}
			for id, s := range want {
				d, ok := got[id]
				switch {
				case !ok:
					t.Errorf("site %s (%s) is not on the map", id, s.Name)
				case s.Kind == network.KindOutfall:
					if d.Kind != "outfall" || d.Shape != "rect" {
						t.Errorf("outfall %s drawn as %s %q, want a square", id, d.Shape, d.Kind)
					}
				default:
					c := h.fix.Classes[id]
					if d.Class != c.String() || d.Fill != c.Color() || d.Shape != "circle" {
						t.Errorf("site %s: %s class %q fill %s, want a circle of class %s in %s", id, d.Shape, d.Class, d.Fill, c, c.Color())
					}
					if d.Ring != (s.Kind == network.KindDrinkingSource) {
						t.Errorf("site %s (%s): source ring %v", id, s.Kind, d.Ring)
					}
				}
			}
			if fmt.Sprint(plume) != fmt.Sprint(tt.plume) {
				t.Errorf("plume segments %v, want %v", plume, tt.plume)
			}
			// Every space the API gives on a river the map can draw (two sites the token
			// sees), at its km: between the two sites around it, in proportion.
			drawn := map[string]mapDiamond{}
			for _, sp := range spaces {
				drawn[sp.ID] = sp
			}
			expected := 0
			for _, sp := range apiSpaces {
				var on []*network.Site
				for _, s := range want {
					if s.River == sp.River && s.Kind != network.KindOutfall {
						on = append(on, s)
					}
				}
				if len(on) < 2 {
					continue
				}
				expected++
				d, ok := drawn[sp.ID]
				if !ok || d.Kind != sp.Kind || d.Km != fmt.Sprintf("%.2f", sp.Km) {
					t.Errorf("space %+v drawn as %+v", sp, d)
					continue
				}
				var up, down *network.Site
				for _, s := range on {
					if s.Km <= sp.Km && (up == nil || s.Km > up.Km) {
						up = s
					}
					if s.Km >= sp.Km && (down == nil || s.Km < down.Km) {
						down = s
					}
				}
				if up == nil || down == nil || up == down {
					continue // beyond the sites: extrapolated along the end segment
				}
				f := (sp.Km - up.Km) / (down.Km - up.Km)
				a, b := got[up.ID], got[down.ID]
				if wx, wy := a.X+f*(b.X-a.X), a.Y+f*(b.Y-a.Y); math.Abs(d.X-wx) > 1 || math.Abs(d.Y-wy) > 1 {
					t.Errorf("space %s (km %g) at (%.1f, %.1f), want (%.1f, %.1f): %.2f of the way from %s to %s", sp.ID, sp.Km, d.X, d.Y, wx, wy, f, up.ID, down.ID)
				}
			}
			// The interception's space is ringed: the first space the API gives on the way
			// from STH-S2 (km 70) to STH-D2 (km 82) below the band's front as drawn, so the
			// picture and the recommendation agree. The plume's row names it at its km and
			// says the time left.
			if tt.spaces {
				front, ahead, aheadKm := math.Inf(1), "", math.Inf(1)
				for _, seg := range plume {
					if seg.Class == "plume-band" {
						front, _ = strconv.ParseFloat(seg.To, 64)
					}
				}
				for _, sp := range apiSpaces {
					if sp.River == "santun" && sp.Km > front && sp.Km < 82 && sp.Km < aheadKm {
						ahead, aheadKm = sp.ID, sp.Km
					}
				}
				if ahead != p.Interception.Space {
					t.Fatalf("the first space the API gives below the drawn front (km %g) is %q, not the fixture's %s: the fixture no longer matches the picture", front, ahead, p.Interception.Space)
				}
				if len(recommended) != 1 || recommended[0] != ahead {
					t.Errorf("recommended spaces %q, want the interception's %s", recommended, ahead)
				}
				if kmText := fmt.Sprintf("%.1f", aheadKm); len(intercept) != 1 || !strings.Contains(intercept[0], p.Interception.Name) || !strings.Contains(intercept[0], kmText) {
					t.Errorf("interception cell %q, want it to name %s at km %s", intercept, p.Interception.Name, kmText)
				}
				if len(left) != 1 || left[0] != tt.left {
					t.Errorf("interception time left %q, want %q", left, tt.left)
				}
			} else if len(recommended)+len(left) != 0 {
				t.Errorf("a token that sees no plume is shown an interception: %q %q", recommended, left)
			}
			if len(spaces) != expected || (tt.spaces && expected == 0) {
				t.Errorf("emergency spaces drawn %+v; the API gives %+v, %d on rivers the map draws", spaces, apiSpaces, expected)
			}
		})
	}
}

// sees: the jurisdictions of the dev tokens of configs/tokens.yaml.
func (h *harness) sees(token, jurisdiction string) bool {
	switch token {
	case "dev-admin-token":
		return true
	case "dev-viewer-changji":
		return jurisdiction == "changji"
	case "dev-viewer-xpcc6":
		return jurisdiction == "xpcc6"
	}
	h.t.Fatalf("token %s: which jurisdictions it sees is not known to the test", token)
	return false
}

type chartWindow struct {
	Param    string  `json:"param"`
	Windows  int     `json:"windows"`
	BandX    float64 `json:"band_x"`
	BandW    float64 `json:"band_w"`
	CoreX    float64 `json:"core_x"`
	CoreW    float64 `json:"core_w"`
	Peak     float64 `json:"peak"`
	Now      bool    `json:"now"`
	AxisLeft float64 `json:"axis_left"`
}

// TestTheSiteChartShadesThePredictedWindow: STH-D2's NH3-N chart shows the window of the
// plume from STH-S2, whether the incident holds it or only the prediction.issued events
// (the last issue of a release, not the one it replaced); the chart runs on past now to
// show it, the band wider than the expected window, the peak inside; with its legend in
// the language shown; other parameters' charts have none.
func TestTheSiteChartShadesThePredictedWindow(t *testing.T) {
	tests := []struct {
		name, lang, from, legend string
	}{
		{"incident, Chinese", "zh", "incident", "预测窗口"},
		{"events, English", "en", "events", "Predicted window"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			t0 := h.fix.Now.Add(-time.Hour)
			p := window(t0, 2, 3, 4, 6, 8)
			if tt.from == "incident" {
				h.withPrediction(p)
			} else {
				first := window(t0, 1, 2, 3, 4, 5) // replaced by the issue below
				for i, w := range []message.Prediction{first, p} {
					at := h.fix.Now.Add(time.Duration(i-2) * time.Minute)
					h.store.AddEvents(message.Event{ID: fmt.Sprintf("pred-%d", i), Type: message.EventPredictionIssued, Site: "STH-D2", Parameter: "nh3n",
						OriginSite: "STH-S2", ObservedAt: at, EmittedAt: at, DistanceKm: 12, ArrivalAt: w.Leading, Prediction: w})
				}
			}
			h.signIn("dev-admin-token", tt.lang)
			h.do(
				chromedp.Navigate(h.srv.URL+"/#/site/STH-D2"),
				chromedp.WaitVisible(`body[data-ready="site"] .chart[data-param="nh3n"]`),
			)
			charts := get(h, chromedp.Evaluate[[]chartWindow](`[...document.querySelectorAll('.chart')].map(c => {
				const n = (sel, a) => Number(c.querySelector(sel)?.getAttribute(a) || 0);
				return { param: c.dataset.param, windows: c.querySelectorAll('g.window').length, band_x: n('.win-band', 'x'), band_w: n('.win-band', 'width'),
					core_x: n('.win-core', 'x'), core_w: n('.win-core', 'width'), peak: n('.win-peak', 'x1'), now: !!c.querySelector('g.now'),
					axis_left: n('.axis line', 'x1') }; })`))
			legend := get(h, chromedp.Text(`[data-testid="window-legend"]`))
			if tt.from == "incident" {
				h.shot("site-window")
			}
			if !strings.HasPrefix(legend, tt.legend) {
				t.Errorf("window legend %q, want it to start %q", legend, tt.legend)
			}
			found := false
			for _, c := range charts {
				if c.Param != "nh3n" {
					if c.Windows != 0 {
						t.Errorf("%s chart shows %d NH3-N windows", c.Param, c.Windows)
					}
					continue
				}
				found = true
				// The chart ends past latest (t0 + 8 h = now + 7 h), so the whole band shows.
				if c.Windows != 1 || !c.Now || c.BandW <= 0 || c.CoreW <= 0 {
					t.Fatalf("nh3n chart window %+v, want one band, one expected window and the now line", c)
				}
				// Band from earliest (t0+2h) to latest (t0+8h), expected window leading (3h)
				// to trailing (6h): the core is inside the band, the peak (4h) in the core, at
				// the proportions of the hours.
				hour := c.BandW / 6
				if c.CoreX <= c.BandX || c.CoreX+c.CoreW >= c.BandX+c.BandW ||
					math.Abs(c.CoreX-c.BandX-hour) > 0.5 || math.Abs(c.CoreW-3*hour) > 0.5 || math.Abs(c.Peak-c.BandX-2*hour) > 0.5 {
					t.Errorf("nh3n window %+v: want the band 6 h wide, the expected window 1 h in and 3 h wide, the peak 2 h in", c)
				}
			}
			if !found {
				t.Fatalf("no nh3n chart among %+v", charts)
			}
		})
	}
}

// TestTheMapFitsAPhone: the map scales to a 390 px screen and its table scrolls inside its
// card; nothing makes the page wider than the screen.
func TestTheMapFitsAPhone(t *testing.T) {
	const width = 390
	h := newHarness(t)
	t0 := time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)
	h.withPrediction(window(t0, 2, 3, 4, 6, 8))
	h.do(chromedp.EmulateViewport(width, 844, chromedp.EmulateMobile, chromedp.EmulateTouch))
	h.signIn("dev-admin-token", "en")
	h.do(
		chromedp.Navigate(h.srv.URL+"/#/map/"+t0.Add(90*time.Minute).Format(time.RFC3339)),
		chromedp.WaitVisible(`body[data-ready="map"] [data-testid="plume-list"]`),
	)
	w := get(h, chromedp.Evaluate[map[string]float64](`({doc: document.documentElement.scrollWidth, inner: window.innerWidth,
		map: document.querySelector('[data-testid="rivermap"]').getBoundingClientRect().width})`))
	h.shot("phone-map")
	if w["inner"] != width || w["doc"] > width || w["map"] > width || w["map"] < width/2 {
		t.Errorf("scrollWidth %v, map %v px wide in a %v px window: want the page at most %d and the map across it", w["doc"], w["map"], w["inner"], width)
	}
}
