// Package sourcerank ranks the upstream sources of a section's exceedance (溯源): the
// outfalls and sections above it, each scored by the evidence its own readings give — a
// rise at the lag the plume model (pkg/plume) needs back up the network, the same
// parameters rising in the same ratio as at the section, a discharge that explains the
// size of the section's rise, and a breach of its own limit. It is pure: the caller hands
// it the readings (Windows says which), and it answers with a score and the reasons per
// candidate (docs/sources.md has the rules and a worked example).
package sourcerank

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/plume"
	"github.com/riverwatch/riverwatch/pkg/standard"
)

// Weights of the evidence in a candidate's score; they add up to 1.
const (
	WeightTiming    = 0.4
	WeightSignature = 0.3
	WeightMagnitude = 0.2
	WeightOverLimit = 0.1
)

// flowParam is the discharge parameter (m³/s once canonical).
const flowParam = "flow"

// notTracer lists the parameters that do not travel as a concentration: what they do at a
// site is the water's state there (temperature, pH, oxygen) or its quantity.
var notTracer = map[string]bool{"ph": true, "do": true, "temp": true, flowParam: true, "velocity": true, "level": true}

// Sample is one valid reading.
type Sample struct {
	T     time.Time
	Value float64
}

// Readings holds valid readings per site and parameter, oldest first.
type Readings map[string]map[string][]Sample

// Options bound the search; zero fields take the defaults.
type Options struct {
	// Baseline is the span of readings, just before the window a rise is looked for in,
	// whose median is a site's normal level. Default 24 h.
	Baseline time.Duration
	// Onset is how long before the exceedance opened the section's own rise is looked
	// for. Default 6 h.
	Onset time.Duration
	// MaxLag leaves out the candidates whose slowest travel to the section is longer.
	// Default 48 h.
	MaxLag time.Duration
}

func (o Options) withDefaults() Options {
	if o.Baseline <= 0 {
		o.Baseline = 24 * time.Hour
	}
	if o.Onset <= 0 {
		o.Onset = 6 * time.Hour
	}
	if o.MaxLag <= 0 {
		o.MaxLag = 48 * time.Hour
	}
	return o
}

// Query is one exceedance to trace.
type Query struct {
	Site string    // the section (or source) that exceeded
	At   time.Time // when its exceedance opened
	// Parameters are the exceeded ones, the lead first.
	Parameters []string
	Readings   Readings
}

// Rise is what one parameter did at a site: its normal level, the highest value of the
// window, and when it crossed half way between them.
type Rise struct {
	Parameter string    `json:"parameter"`
	Baseline  float64   `json:"baseline"`
	Peak      float64   `json:"peak"`
	Excess    float64   `json:"excess"`               // Peak − Baseline
	Rose      bool      `json:"rose"`                 // the excess stands out of the noise
	At        time.Time `json:"at,omitzero"`          // the half-height crossing, when it rose
	Samples   int       `json:"samples"`              // readings in the window
	Limit     float64   `json:"limit,omitempty"`      // the site's own limit of the parameter
	OverLimit bool      `json:"over_limit,omitempty"` // the peak broke it
}

// Lag is the travel time from a candidate to the section: the plume's front (half height)
// at the expected velocity, and the band that the velocity's uncertainty allows.
type Lag struct {
	Expected time.Duration // T = Σ L/v
	Earliest time.Duration // the plume's earliest leading edge (v·f, Jobson's ratio)
	Latest   time.Duration // the front at v/f
	Slack    time.Duration // one reporting interval of each of the two stations
}

// Candidate is one upstream site with its evidence.
type Candidate struct {
	Site       string  `json:"site"`
	Kind       string  `json:"kind"`
	River      string  `json:"river"`
	Km         float64 `json:"km"`
	DistanceKm float64 `json:"distance_km"`
	// Score is WeightTiming·Timing + WeightSignature·Signature + WeightMagnitude·Magnitude
	// + WeightOverLimit·OverLimit, three decimals, each part within 0–1; × PassFactor for
	// each section between it and the site that saw the lead parameter stay flat.
	Score     float64 `json:"score"`
	Timing    float64 `json:"timing"`
	Signature float64 `json:"signature"`
	Magnitude float64 `json:"magnitude"`
	OverLimit float64 `json:"over_limit"`
	Lag       Lag     `json:"-"`
	// ObservedLag is the section's onset minus the candidate's rise; nil without a rise.
	ObservedLag *time.Duration `json:"-"`
	// DischargeM3S is an outfall's discharge, DilutionShare the share of the candidate's
	// excess expected at the section (discharge ÷ river flow, then the tributaries).
	DischargeM3S  float64 `json:"discharge_m3s,omitempty"`
	DilutionShare float64 `json:"dilution_share"`
	Rises         []Rise  `json:"rises"`
	// Evidence says, one line each, what the score rests on.
	Evidence []string `json:"evidence"`
}

// Ranking is the answer: the section's own rise and the candidates, best first.
type Ranking struct {
	Site string
	// Onset is when the section's lead parameter crossed half way to its peak (At when it
	// did not rise in its readings).
	Onset      time.Time
	Lead       string
	Rises      []Rise
	Candidates []Candidate
	// own is the window the site's rises were looked for in: baseline from, search from, to.
	own [3]time.Time
}

// Window is the span of one site's readings that Rank reads.
type Window struct {
	Site     string
	From, To time.Time
}

// ErrUnknownSite is returned for a query whose site is not in the network.
var ErrUnknownSite = errors.New("sourcerank: unknown site")

// Windows returns the readings Rank needs: the section's and every candidate's, each from
// the start of its baseline to the end of its search, allowing for the section's onset
// being up to Options.Onset before at and one reporting interval after it.
func Windows(net *network.Network, site string, at time.Time, opt Options) ([]Window, error) {
	opt = opt.withDefaults()
	target, ok := net.Site(site)
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownSite, site)
	}
	tSlack := interval(target)
	out := []Window{{Site: site, From: at.Add(-opt.Onset - opt.Baseline), To: at.Add(tSlack)}}
	for _, c := range candidates(net, target, nil, opt) {
		// Without live flows here, the lags may come out shorter than Rank's: the window
		// reaches back over the slow band once more.
		c.lag.Latest = time.Duration(float64(c.lag.Latest) * c.factor)
		from, _ := c.search(at.Add(-opt.Onset))
		_, to := c.search(at.Add(tSlack)) // the onset is at most one interval after at
		out = append(out, Window{Site: c.reach.Site.ID, From: from.Add(-opt.Baseline), To: to})
	}
	return out, nil
}

// Rank scores every upstream outfall, section and source of q.Site within Options.MaxLag,
// best first (ties: the nearest first).
func Rank(net *network.Network, q Query, opt Options) (Ranking, error) {
	opt = opt.withDefaults()
	target, ok := net.Site(q.Site)
	if !ok {
		return Ranking{}, fmt.Errorf("%w %q", ErrUnknownSite, q.Site)
	}
	q.Readings = sorted(q.Readings)
	rk := Ranking{Site: q.Site, Onset: q.At}
	tSlack := interval(target)
	tt := targetOf(target)
	own := q.Readings[q.Site]
	bFrom, sFrom, sTo := q.At.Add(-opt.Onset-opt.Baseline), q.At.Add(-opt.Onset), q.At.Add(tSlack)
	rk.own = [3]time.Time{bFrom, sFrom, sTo}
	for _, p := range sortedParams(own) {
		if notTracer[p] {
			continue
		}
		r := rise(p, own[p], bFrom, sFrom, sTo)
		if r.Samples == 0 {
			continue
		}
		r.Limit, r.OverLimit = limit(tt, p, r.Peak)
		if r.Rose || slices.Contains(q.Parameters, p) {
			rk.Rises = append(rk.Rises, r)
		}
	}
	// The lead is the first exceeded parameter that rose; its half-height crossing is the
	// onset every lag is measured to.
	for _, p := range q.Parameters {
		if r, ok := riseOf(rk.Rises, p); ok && r.Rose {
			rk.Lead, rk.Onset = p, r.At
			break
		}
	}
	for _, c := range candidates(net, target, flows(net, q.Readings, q.At), opt) {
		rk.Candidates = append(rk.Candidates, c.judge(net, rk, q.Readings, opt))
	}
	passedThrough(net, &rk)
	sort.SliceStable(rk.Candidates, func(i, j int) bool {
		a, b := rk.Candidates[i], rk.Candidates[j]
		if a.Score != b.Score {
			return a.Score > b.Score
		}
		return a.DistanceKm < b.DistanceKm
	})
	return rk, nil
}

// candidate is an upstream site with the way to the section.
type candidate struct {
	reach  network.Reach
	legs   []plume.Leg
	lag    Lag
	factor float64 // the velocity factor f of the band
}

// search is the window a candidate's rise is looked for in, for a section onset: from
// twice the latest lag before it (so that a rise too early is seen, and said, too) to one
// slack after it (a rise after the section's is seen as such).
func (c candidate) search(onset time.Time) (from, to time.Time) {
	return onset.Add(-2*c.lag.Latest - c.lag.Slack), onset.Add(c.lag.Slack)
}

// candidates returns the upstream sites of target within opt.MaxLag, with their lags.
func candidates(net *network.Network, target *network.Site, flow plume.FlowFunc, opt Options) []candidate {
	var out []candidate
	for _, rc := range net.Upstream(target.ID) {
		legs, _ := plume.Route(net, rc.Path, flow)
		f := network.DefaultVelocityFactor
		if r, ok := net.River(rc.Site.River); ok {
			f = r.VelocityFactor()
		}
		lag := Lag{Slack: interval(rc.Site) + interval(target)}
		if len(legs) > 0 {
			w, err := plume.Compute(plume.Input{Concentration: 1, VelocityFactor: f, Legs: legs})
			if err != nil {
				continue
			}
			slow := slices.Clone(legs)
			for i := range slow {
				slow[i].VelocityMPS /= f
			}
			ws, err := plume.Compute(plume.Input{Concentration: 1, Legs: slow})
			if err != nil {
				continue
			}
			lag.Expected, lag.Earliest, lag.Latest = w.Travel, w.Earliest, ws.Travel
		}
		if lag.Latest > opt.MaxLag {
			continue
		}
		out = append(out, candidate{reach: rc, legs: legs, lag: lag, factor: f})
	}
	return out
}

// judge scores one candidate against the section's rises.
func (c candidate) judge(net *network.Network, rk Ranking, rd Readings, opt Options) Candidate {
	s := c.reach.Site
	out := Candidate{Site: s.ID, Kind: s.Kind, River: s.River, Km: s.Km, DistanceKm: round(c.reach.DistanceKm, 3), Lag: c.lag,
		Rises: []Rise{}, Evidence: []string{}}
	say := func(format string, args ...any) { out.Evidence = append(out.Evidence, fmt.Sprintf(format, args...)) }
	own := rd[s.ID]
	sFrom, sTo := c.search(rk.Onset)
	bFrom := sFrom.Add(-opt.Baseline)
	ct := targetOf(s)

	// The parameters compared: those that rose at the section (or exceeded there), and
	// those that rose here and the section measures.
	var params []string
	for _, r := range rk.Rises {
		params = append(params, r.Parameter)
	}
	for _, p := range sortedParams(own) {
		if notTracer[p] || slices.Contains(params, p) {
			continue
		}
		if _, measured := rd[rk.Site][p]; !measured {
			continue
		}
		if r := rise(p, own[p], bFrom, sFrom, sTo); r.Rose {
			params = append(params, p)
		}
	}
	for _, p := range params {
		r := rise(p, own[p], bFrom, sFrom, sTo)
		if r.Samples == 0 {
			continue
		}
		r.Limit, r.OverLimit = limit(ct, p, r.Peak)
		out.Rises = append(out.Rises, r)
	}
	if len(out.Rises) == 0 {
		say("no readings of %s here between %s and %s", paramList(params), clock(sFrom, net), clock(sTo, net))
	}

	// Timing: the best-timed parameter that rose both here and at the section.
	lo, hi := c.lag.Earliest-c.lag.Slack, c.lag.Latest+c.lag.Slack
	band := fmt.Sprintf("the plume needs %s (%s–%s)", dur(c.lag.Expected), dur(max(0, lo)), dur(hi))
	timedBy := ""
	for _, r := range out.Rises {
		tr, ok := riseOf(rk.Rises, r.Parameter)
		if !r.Rose || !ok || !tr.Rose {
			continue
		}
		lag := rk.Onset.Sub(r.At)
		sc := timing(lag, c.lag.Expected, lo, hi)
		if out.ObservedLag == nil || sc > out.Timing {
			l := lag
			out.ObservedLag, out.Timing, timedBy = &l, sc, r.Parameter
		}
	}
	if out.ObservedLag != nil {
		l := *out.ObservedLag
		switch {
		case l < 0:
			say("%s rose here %s after %s: too late to be its source", timedBy, dur(-l), rk.Site)
		case out.Timing == 0:
			say("%s rose here %s before %s; %s", timedBy, dur(l), rk.Site, band)
		default:
			say("%s rose here at %s, %s before %s; %s", timedBy, clock(rk.Onset.Add(-l), net), dur(l), rk.Site, band)
		}
	} else if len(out.Rises) > 0 {
		var here []string
		for _, r := range out.Rises {
			if r.Rose {
				here = append(here, r.Parameter)
			}
		}
		if len(here) == 0 {
			say("nothing rose here between %s and %s; %s", clock(sFrom, net), clock(sTo, net), band)
		} else {
			say("%s rose here, none of what rose at %s; %s", paramList(here), rk.Site, band)
		}
	}

	// Signature: the excesses, in multiples of the section's limits, point the same way
	// (cosine), over the share of the section's parameters measured here.
	var dot, nu, nw float64
	var common, risenBoth []string
	for _, r := range out.Rises {
		tr, ok := riseOf(rk.Rises, r.Parameter)
		u, w := 0.0, math.Max(0, r.Excess)
		if ok {
			u = math.Max(0, tr.Excess)
			common = append(common, r.Parameter)
		} else {
			// A parameter that rose here but not there: the site's excess in the same window.
			tr = rise(r.Parameter, rd[rk.Site][r.Parameter], rk.own[0], rk.own[1], rk.own[2])
			if ts, ok := net.Site(rk.Site); ok {
				tr.Limit, _ = limit(targetOf(ts), r.Parameter, tr.Peak)
			}
			u = math.Max(0, tr.Excess)
		}
		if !r.Rose {
			w = 0
		}
		sc := scale(tr)
		u, w = u/sc, w/sc
		dot, nu, nw = dot+u*w, nu+u*u, nw+w*w
		if r.Rose && ok && tr.Rose {
			risenBoth = append(risenBoth, r.Parameter)
		}
	}
	if len(rk.Rises) > 0 && nu > 0 && nw > 0 {
		cos := dot / math.Sqrt(nu*nw)
		coverage := float64(len(common)) / float64(len(rk.Rises))
		out.Signature = cos * coverage
		say("signature: %s rose here and at %s; cosine %.3f of the excesses, %d of its %d parameters measured here",
			paramList(risenBoth), rk.Site, cos, len(common), len(rk.Rises))
	}

	// Magnitude: the excess here, mixed into the river and carried down, against the
	// section's excess.
	share, how := c.share(net, s, rd, sFrom, sTo)
	out.DilutionShare = round(share, 4)
	if s.Kind == network.KindOutfall {
		out.DischargeM3S = round(c.discharge(s, rd, sFrom, sTo), 4)
	}
	var msum float64
	var mn int
	for _, r := range out.Rises {
		tr, ok := riseOf(rk.Rises, r.Parameter)
		if !ok || !r.Rose || !tr.Rose || share <= 0 {
			continue
		}
		exp, obs := r.Excess*share, tr.Excess
		msum += math.Min(exp/obs, obs/exp)
		mn++
		say("%s: +%s here × %.4g (%s) = +%s expected at %s, +%s observed", r.Parameter, num(r.Excess), share, how, num(exp), rk.Site, num(obs))
	}
	if mn > 0 {
		out.Magnitude = msum / float64(mn)
	} else if share <= 0 && len(out.Rises) > 0 {
		say("%s", how)
	}

	// Its own limit: an outfall's permit, a section's target class.
	for _, r := range out.Rises {
		if r.OverLimit && r.Rose {
			out.OverLimit = 1
			say("%s %s here is over its limit %s", r.Parameter, num(r.Peak), num(r.Limit))
			break
		}
	}
	out.Timing, out.Signature, out.Magnitude = round(out.Timing, 3), round(out.Signature, 3), round(out.Magnitude, 3)
	out.Score = round(WeightTiming*out.Timing+WeightSignature*out.Signature+WeightMagnitude*out.Magnitude+WeightOverLimit*out.OverLimit, 3)
	return out
}

// PassFactor is what a candidate's score is multiplied by when a section or source between
// it and the site, whose readings cover its own window, saw no rise of the lead parameter:
// the plume would have had to pass it.
const PassFactor = 0.5

// passedThrough checks each candidate against the monitored sections and sources between
// it and the site (candidates themselves, with their own lags): one that saw the lead
// parameter stay flat halves the candidate's score (PassFactor); one that saw it rise is
// said, and changes nothing.
func passedThrough(net *network.Network, rk *Ranking) {
	if rk.Lead == "" {
		return
	}
	byID := map[string]*Candidate{}
	for i := range rk.Candidates {
		byID[rk.Candidates[i].Site] = &rk.Candidates[i]
	}
	for i := range rk.Candidates {
		c := &rk.Candidates[i]
		for _, rc := range net.Downstream(c.Site) {
			m, ok := byID[rc.Site.ID]
			if !ok || m.Kind == network.KindOutfall {
				continue
			}
			r, ok := riseOf(m.Rises, rk.Lead)
			switch {
			case !ok || r.Samples == 0:
			case r.Rose:
				c.Evidence = append(c.Evidence, fmt.Sprintf("%s, between here and %s, saw %s rise too", m.Site, rk.Site, rk.Lead))
			case c.Score > 0:
				c.Score = round(c.Score*PassFactor, 3)
				c.Evidence = append(c.Evidence, fmt.Sprintf("%s, between here and %s, saw no rise of %s: score × %g", m.Site, rk.Site, rk.Lead, PassFactor))
			}
		}
	}
}

// share is the part of a candidate's excess that reaches the section: an outfall's
// discharge over the river's flow with it, then the flows that join on the way (the
// ratio of the legs' flows, as pkg/plume dilutes); how says it in words. 0 when an
// outfall's discharge is unknown.
func (c candidate) share(net *network.Network, s *network.Site, rd Readings, from, to time.Time) (share float64, how string) {
	var add float64
	share = 1
	var parts []string
	if s.Kind == network.KindOutfall {
		q := c.discharge(s, rd, from, to)
		if q <= 0 || len(c.legs) == 0 || c.legs[0].FlowM3S <= 0 {
			return 0, "discharge or river flow unknown: the size of the rise is not compared"
		}
		add = q
		share = q / (q + c.legs[0].FlowM3S)
		parts = append(parts, fmt.Sprintf("discharge %s m³/s into %s m³/s", num(q), num(c.legs[0].FlowM3S)))
	}
	for i := 1; i < len(c.legs); i++ {
		prev, cur := c.legs[i-1].FlowM3S+add, c.legs[i].FlowM3S+add
		if c.legs[i-1].FlowM3S > 0 && cur > prev {
			share *= prev / cur
			parts = append(parts, fmt.Sprintf("joined %s → %s m³/s", num(prev), num(cur)))
		}
	}
	if len(parts) == 0 {
		parts = append(parts, "no dilution on the way")
	}
	return share, strings.Join(parts, ", ")
}

// discharge is an outfall's flow: the mean of its flow readings in the window, else its
// configured flow_m3s.
func (c candidate) discharge(s *network.Site, rd Readings, from, to time.Time) float64 {
	var sum float64
	var n int
	for _, x := range rd[s.ID][flowParam] {
		if !x.T.Before(from) && !x.T.After(to) && x.Value > 0 {
			sum += x.Value
			n++
		}
	}
	if n > 0 {
		return sum / float64(n)
	}
	return s.FlowM3S
}

// timing scores a lag: 1 at the expected lag, falling linearly to 0.5 at the band's
// edges (slack included), 0 outside the band.
func timing(lag, expected, lo, hi time.Duration) float64 {
	if lag < 0 || lag < lo || lag > hi {
		return 0
	}
	switch {
	case lag <= expected && expected > lo:
		return 1 - 0.5*float64(expected-lag)/float64(expected-lo)
	case lag > expected && hi > expected:
		return 1 - 0.5*float64(lag-expected)/float64(hi-expected)
	}
	return 1
}

// rise looks at one parameter's samples: the median of [bFrom, sFrom) is its baseline,
// the highest of [sFrom, sTo] its peak; it rose when the excess stands out of the
// baseline's noise (over four median absolute deviations and a quarter of the baseline),
// and At is the first sample of the window at or above half way.
func rise(p string, xs []Sample, bFrom, sFrom, sTo time.Time) Rise {
	r := Rise{Parameter: p}
	var base []float64
	var win []Sample
	for _, x := range xs {
		switch {
		case !x.T.Before(bFrom) && x.T.Before(sFrom):
			base = append(base, x.Value)
		case !x.T.Before(sFrom) && !x.T.After(sTo):
			win = append(win, x)
		}
	}
	r.Samples = len(win)
	if len(win) == 0 {
		return r
	}
	if len(base) == 0 {
		// No history before the window: its first reading stands for the normal level.
		base = []float64{win[0].Value}
	}
	r.Baseline = median(base)
	mad := median(absDev(base, r.Baseline))
	r.Peak = win[0].Value
	for _, x := range win {
		r.Peak = math.Max(r.Peak, x.Value)
	}
	r.Excess = r.Peak - r.Baseline
	r.Rose = r.Excess > 1e-9 && r.Excess > 4*mad && r.Excess > 0.25*math.Abs(r.Baseline)
	if r.Rose {
		half := r.Baseline + r.Excess/2
		for _, x := range win {
			if x.Value >= half {
				r.At = x.T
				break
			}
		}
	}
	r.Baseline, r.Peak, r.Excess = round(r.Baseline, 6), round(r.Peak, 6), round(r.Excess, 6)
	return r
}

// scale is what a parameter's excess is measured in for the signature: the section's
// limit, else its baseline, else 1.
func scale(r Rise) float64 {
	switch {
	case r.Limit > 0:
		return r.Limit
	case r.Baseline > 0:
		return r.Baseline
	}
	return 1
}

// flows is the live river discharge for plume.Route: the latest flow reading at or
// before at of the nearest section or source at or above km on the river.
func flows(net *network.Network, rd Readings, at time.Time) plume.FlowFunc {
	return func(river string, km float64) (q, atKm float64, ok bool) {
		best := math.Inf(-1)
		for _, s := range net.Sites() {
			if s.River != river || s.Kind == network.KindOutfall || s.Km > km || s.Km <= best {
				continue
			}
			var last float64
			var have bool
			for _, x := range rd[s.ID][flowParam] {
				if x.T.After(at) {
					break
				}
				last, have = x.Value, x.Value > 0
			}
			if have {
				q, atKm, ok, best = last, s.Km, true, s.Km
			}
		}
		return q, atKm, ok
	}
}

// interval is a site's reporting interval (one hour without a station).
func interval(s *network.Site) time.Duration {
	if s.Station != nil && s.Station.IntervalS > 0 {
		return time.Duration(s.Station.IntervalS) * time.Second
	}
	return time.Hour
}

// targetOf is a site's standard.Target; nil when it has none the standard knows.
func targetOf(s *network.Site) *standard.Target {
	t := &standard.Target{Kind: standard.SiteKind(s.Kind)}
	if s.IsLake() {
		t.Body = standard.Lake
	}
	switch s.Kind {
	case network.KindOutfall:
		var err error
		switch {
		case s.Limits == nil:
			return nil
		case s.Limits.Name != "":
			t.Permit, err = standard.PermitByName(s.Limits.Name, standard.PermitOptions{})
		default:
			t.Permit, err = standard.CustomPermit(s.Limits.Custom)
		}
		if err != nil {
			return nil
		}
	default:
		c, err := standard.ParseClass(s.TargetClass)
		if err != nil {
			return nil
		}
		t.Class = c
	}
	return t
}

// limit is a site's upper limit of a parameter and whether v breaks it.
func limit(t *standard.Target, p string, v float64) (float64, bool) {
	if t == nil {
		return 0, false
	}
	vd, err := standard.Judge(*t, p, v, nil)
	if err != nil || !vd.Applicable || vd.LimitKind != standard.LimitUpper {
		return 0, false
	}
	return vd.Limit, !vd.Meets
}

// sorted returns the readings with every series oldest first (a copy where one is not).
func sorted(rd Readings) Readings {
	out := make(Readings, len(rd))
	for site, ps := range rd {
		out[site] = make(map[string][]Sample, len(ps))
		for p, xs := range ps {
			byTime := func(a, b Sample) int { return a.T.Compare(b.T) }
			if !slices.IsSortedFunc(xs, byTime) {
				xs = slices.Clone(xs)
				slices.SortStableFunc(xs, byTime)
			}
			out[site][p] = xs
		}
	}
	return out
}

func riseOf(rs []Rise, p string) (Rise, bool) {
	for _, r := range rs {
		if r.Parameter == p {
			return r, true
		}
	}
	return Rise{}, false
}

func sortedParams(m map[string][]Sample) []string {
	out := make([]string, 0, len(m))
	for p := range m {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func absDev(xs []float64, m float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = math.Abs(x - m)
	}
	return out
}

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}

func num(x float64) string { return fmt.Sprintf("%.3g", x) }

func paramList(ps []string) string {
	if len(ps) == 0 {
		return "no parameter"
	}
	return strings.Join(ps, ", ")
}

// dur says a duration to the minute: "1 h 25 min", "50 min".
func dur(d time.Duration) string {
	m := int(d.Round(time.Minute).Minutes())
	switch {
	case m >= 60 && m%60 == 0:
		return fmt.Sprintf("%d h", m/60)
	case m >= 60:
		return fmt.Sprintf("%d h %d min", m/60, m%60)
	}
	return fmt.Sprintf("%d min", m)
}

// clock says a time in the network's zone, to the minute.
func clock(t time.Time, net *network.Network) string {
	return t.In(net.Location).Format("01-02 15:04")
}
