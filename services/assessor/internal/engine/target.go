package engine

import (
	"fmt"
	"math"
	"time"

	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/standard"
)

// siteInfo is what the engine precomputes for one site of the network.
type siteInfo struct {
	site   *network.Site
	target standard.Target
	// targetName is what events carry as target_class: the class (III, II) of a section or
	// source, the permit's name (GB18918-1A, custom) of an outfall.
	targetName string
	// riverFlow is the flow of the site's own river, m³/s.
	riverFlow float64
	// offlineAfter is the silence after which its station is offline; 0 when the site has
	// no station (lab samples only), which is never offline.
	offlineAfter time.Duration
}

// buildSite derives a site's target from sites.yaml: a section is judged against its
// target class; a drinking-water source against its target class (Class II unless
// sites.yaml says otherwise) plus GB 3838-2002 Tables 2 and 3; an outfall against its
// permit, a named standard or custom limits.
func buildSite(s *network.Site, n *network.Network, offlineFactor float64) (siteInfo, error) {
	info := siteInfo{site: s}
	body := standard.River
	if s.IsLake() {
		body = standard.Lake
	}
	switch s.Kind {
	case network.KindSection, network.KindDrinkingSource:
		kind := standard.Section
		if s.Kind == network.KindDrinkingSource {
			kind = standard.DrinkingSource
		}
		c, err := standard.ParseClass(s.TargetClass)
		if err != nil {
			return info, fmt.Errorf("site %s: target_class: %w", s.ID, err)
		}
		info.target = standard.Target{Kind: kind, Class: c, Body: body}
		info.targetName = c.String()
	case network.KindOutfall:
		var (
			p   *standard.Permit
			err error
		)
		switch {
		case s.Limits == nil:
			err = standard.ErrNoPermit
		case s.Limits.Name != "":
			p, err = standard.PermitByName(s.Limits.Name, standard.PermitOptions{})
		default:
			p, err = standard.CustomPermit(s.Limits.Custom)
		}
		if err != nil {
			return info, fmt.Errorf("site %s: limits: %w", s.ID, err)
		}
		info.target = standard.Target{Kind: standard.Outfall, Body: body, Permit: p}
		info.targetName = p.Name
	default:
		return info, fmt.Errorf("site %s: kind %q has no target", s.ID, s.Kind)
	}
	if r, ok := n.River(s.River); ok {
		info.riverFlow = r.FlowM3S
	}
	if s.Station != nil && s.Station.IntervalS > 0 {
		info.offlineAfter = time.Duration(float64(s.Station.IntervalS) * offlineFactor * float64(time.Second))
	}
	return info, nil
}

// verdict is one reading judged against its site's target, with what the state machine
// needs on top of standard.Verdict.
type verdict struct {
	standard.Verdict
	// excess is how many times the limit the reading is, in the direction that is worse:
	// value/limit for upper limits, limit/value for lower limits, and for a range 1 plus
	// the distance outside it relative to its width. Above 1 fails.
	excess float64
	// clean: the reading is inside the hysteresis band and counts towards clearing.
	clean bool
	// severe: opens without confirmation.
	severe bool
	// why names the severe rule that fired: worse_v, multiple, toxic.
	why string
}

// phSevereOutside is how far outside the pH range a reading must be to bypass
// confirmation. GB 3838 classes any pH outside 6–9 as 劣V, but that is a binary cut: a
// one-off 9.1 in algae-rich afternoon water is routine, and 22号 computes no multiple for
// pH. A full unit outside is not routine.
const phSevereOutside = 1.0

// judge judges one value of param at a site. ok is false when the target sets no limit
// for the parameter (or the value cannot be judged).
func (e *Engine) judge(si *siteInfo, param string, value float64, tempC *float64) (verdict, bool) {
	v, err := standard.Judge(si.target, param, value, tempC)
	if err != nil || !v.Applicable {
		return verdict{}, false
	}
	out := verdict{Verdict: v}
	ratio := e.opts.ClearRatio
	switch v.LimitKind {
	case standard.LimitLower:
		if value <= 0 {
			out.excess = maxExcess // JSON has no infinity
		} else {
			out.excess = v.Limit / value
		}
		out.clean = value >= v.Limit/ratio
	case standard.LimitRange:
		lo, hi := standard.PHMin, standard.PHMax
		if r, ok := si.permitRange(param); ok {
			lo, hi = r.Min, r.Max
		}
		width := hi - lo
		outside := math.Max(lo-value, value-hi)
		out.excess = 1 + outside/width
		// Inside the band: (1−ratio)/2 of the width away from both ends.
		margin := (1 - ratio) / 2 * width
		out.clean = value >= lo+margin && value <= hi-margin
		if !v.Meets && outside >= phSevereOutside {
			out.severe, out.why = true, "ph_far_outside"
		}
		return out, true
	default:
		if v.Limit > 0 {
			out.excess = value / v.Limit
		}
		out.clean = value <= v.Limit*ratio
	}
	if v.Meets {
		return out, true
	}
	switch {
	case standard.IsToxic(param):
		out.severe, out.why = true, "toxic"
	case v.Class == standard.ClassWorseV:
		out.severe, out.why = true, "worse_v"
	case v.Multiple >= e.opts.SevereMultiple:
		out.severe, out.why = true, "multiple"
	}
	return out, true
}

// permitRange returns an outfall permit's two-sided range for param.
func (si *siteInfo) permitRange(param string) (standard.Range, bool) {
	if si.target.Permit == nil {
		return standard.Range{}, false
	}
	r, ok := si.target.Permit.Ranges[param]
	return r, ok
}

// maxExcess stands for "infinitely over the limit" (DO of zero against a lower limit).
const maxExcess = 1e9
