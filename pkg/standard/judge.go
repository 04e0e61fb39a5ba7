package standard

import (
	"errors"
	"fmt"
)

// SiteKind is the kind of monitoring site, as written in sites.yaml.
type SiteKind string

// The kinds of site.
const (
	Section        SiteKind = "section"         // river section (断面): judged against its target class, default Ⅲ
	DrinkingSource SiteKind = "drinking_source" // drinking-water source (饮用水水源地): target class, default Ⅱ, plus Tables 2 and 3
	Outfall        SiteKind = "outfall"         // outfall (入河排污口): judged against its permit
)

// LimitKind says how a limit is applied.
type LimitKind string

// The kinds of limit (facts §0 item 3).
const (
	LimitUpper LimitKind = "upper" // value ≤ limit
	LimitLower LimitKind = "lower" // value ≥ limit (DO)
	LimitRange LimitKind = "range" // a two-sided range (pH 6–9)
)

// ErrBadTarget: the target's kind or class is not valid.
var ErrBadTarget = errors.New("standard: invalid target")

// Target is what a site must meet.
type Target struct {
	// Kind is the kind of site.
	Kind SiteKind
	// Class is the target class of a section or drinking-water source. Zero
	// means the default: Class Ⅲ for sections, Class Ⅱ for drinking-water
	// sources (grade-1 protection zones, GB 3838-2002 §3). Ignored for
	// outfalls.
	Class Class
	// Body selects the lake/reservoir limits of TP and TN.
	Body WaterBody
	// Permit holds an outfall's limits; required for outfalls.
	Permit *Permit
}

// Verdict is the judgement of one reading against its site's target.
type Verdict struct {
	// Class is the GB 3838-2002 class of the reading, for Table 1 items at
	// sections and drinking-water sources; 0 where no class applies (Table 2
	// and 3 items, outfalls).
	Class Class
	// Meets reports whether the reading meets the target. It is true when
	// Applicable is false, so a careless check raises no alarm.
	Meets bool
	// Limit is the limit broken or, when the reading meets it, the applicable
	// limit: the target class's limit, the Table 2/3 single limit, or the
	// permit's limit. For a range, the end broken, or the nearer end.
	Limit float64
	// LimitKind says how Limit applies.
	LimitKind LimitKind
	// Multiple is the over-standard multiple (超标倍数), 0 when not exceeding
	// or not computed: (C − C_Ⅲ)/C_Ⅲ against Class Ⅲ for Table 1 items at
	// sections and sources, never for water temperature, pH or DO
	// (环办〔2011〕22号, facts §2.4); (C − L)/L against the single limit for
	// Table 2/3 items and against the permit limit for outfalls.
	Multiple float64
	// Applicable is false when the target sets no limit for the parameter
	// (water temperature; TN in a river; Table 2/3 items at a section;
	// parameters without a limit; items not in an outfall's permit).
	Applicable bool
}

// notApplicable is the Verdict of a parameter the target sets no limit for.
func notApplicable() Verdict { return Verdict{Meets: true} }

// Judge judges one reading, in the canonical unit, against a site's target:
//
//   - Section: the Table 1 class of the reading against the target class
//     (default Ⅲ), TP and TN by t.Body.
//   - DrinkingSource: the same against the target class (default Ⅱ), plus the
//     single limits of GB 3838-2002 Tables 2 and 3 (facts §1.2, §1.3).
//   - Outfall: the permit's limit; for GB 18918-2002 NH3-N, the bracketed
//     value when waterTempC is known and ≤ 12 °C (facts §4.1 note ②). With
//     no water temperature the ordinary, stricter value applies.
//
// A parameter the target sets no limit for gives Applicable=false and no
// error. Errors: ErrUnknownParameter, ErrInvalidValue, ErrNoPermit for an
// outfall without a permit, ErrBadTarget for an invalid kind or class. It
// does not allocate on success.
func Judge(t Target, param string, value float64, waterTempC *float64) (Verdict, error) {
	d := def(param)
	if d == nil {
		return Verdict{}, fmt.Errorf("%w: %q", ErrUnknownParameter, param)
	}
	if badValue(value) {
		return Verdict{}, ErrInvalidValue
	}
	switch t.Kind {
	case Outfall:
		if t.Permit == nil {
			return Verdict{}, ErrNoPermit
		}
		return judgePermit(t.Permit, param, value, waterTempC), nil
	case Section, DrinkingSource:
	default:
		return Verdict{}, fmt.Errorf("%w: kind %q", ErrBadTarget, t.Kind)
	}
	tc := t.Class
	if tc == 0 {
		tc = ClassIII
		if t.Kind == DrinkingSource {
			tc = ClassII
		}
	}
	if tc < ClassI || tc > ClassV {
		return Verdict{}, fmt.Errorf("%w: target class %v", ErrBadTarget, tc)
	}
	switch d.table {
	case table1:
		return d.judgeClass(tc, value, t.Body), nil
	case table2, table3:
		if t.Kind != DrinkingSource {
			return notApplicable(), nil
		}
		return upperVerdict(value, d.single), nil
	}
	return notApplicable(), nil
}

// judgeClass judges a Table 1 item against a target class.
func (d *paramDef) judgeClass(tc Class, v float64, body WaterBody) Verdict {
	c, err := d.classify(v, body)
	if err != nil { // water temperature, TN in a river
		return notApplicable()
	}
	vd := Verdict{Class: c, Meets: c <= tc, Applicable: true}
	switch d.dir {
	case dirRange:
		vd.Limit, vd.LimitKind = rangeEnd(v, PHMin, PHMax), LimitRange
	case dirLower:
		vd.Limit, vd.LimitKind = d.limits[tc-1], LimitLower
	default:
		vd.Limit, vd.LimitKind = d.classLimits(body)[tc-1], LimitUpper
		if m, ok := d.multiple(v, body); ok && m > 0 {
			vd.Multiple = m
		}
	}
	return vd
}

// judgePermit judges an outfall reading against its permit.
func judgePermit(p *Permit, param string, v float64, waterTempC *float64) Verdict {
	r, kind, ok := p.limitFor(param, waterTempC)
	if !ok {
		return notApplicable()
	}
	if kind == LimitRange {
		return Verdict{
			Meets:      atLeast(v, r.Min) && atMost(v, r.Max),
			Limit:      rangeEnd(v, r.Min, r.Max),
			LimitKind:  LimitRange,
			Applicable: true,
		}
	}
	return upperVerdict(v, r.Max)
}

// upperVerdict judges v against a single upper limit, with the multiple
// (v − limit)/limit.
func upperVerdict(v, limit float64) Verdict {
	vd := Verdict{Meets: atMost(v, limit), Limit: limit, LimitKind: LimitUpper, Applicable: true}
	if !vd.Meets {
		vd.Multiple = (v - limit) / limit
	}
	return vd
}

// rangeEnd returns the end of [lo, hi] that v breaks, or the nearer end.
func rangeEnd(v, lo, hi float64) float64 {
	if v-lo < hi-v {
		return lo
	}
	return hi
}
