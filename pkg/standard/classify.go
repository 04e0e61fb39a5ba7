package standard

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// WaterBody selects the GB 3838-2002 limits that depend on the kind of water:
// total phosphorus has separate lake/reservoir limits, and total nitrogen is
// judged for lakes and reservoirs only (facts §1.1, Table 1 items 8 and 9).
// A river-type reservoir is evaluated as a river (facts §2.5).
type WaterBody int

// The kinds of water body. The zero value is River.
const (
	River WaterBody = iota // rivers (河流), the default
	Lake                   // lakes and reservoirs (湖、库)
)

// String returns "river" or "lake".
func (b WaterBody) String() string {
	if b == Lake {
		return "lake"
	}
	return "river"
}

// ParseWaterBody reads "river" (or "") and "lake" ("reservoir", "湖", "库",
// "湖库", "河流" are accepted too).
func ParseWaterBody(s string) (WaterBody, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "river", "河流", "河":
		return River, nil
	case "lake", "reservoir", "湖", "库", "湖库", "湖泊", "水库":
		return Lake, nil
	}
	return River, fmt.Errorf("standard: water body %q is not river or lake", s)
}

// pH range of every class (GB 3838-2002 Table 1 item 2, facts §1.1).
const (
	PHMin = 6.0 // lower end of the pH range, inclusive
	PHMax = 9.0 // upper end of the pH range, inclusive
)

// relTol is the relative tolerance of a limit comparison. Limits are
// inclusive (facts §1.1 "Boundary rule": a value equal to the limit belongs
// to that class). A value within 1e-9 of a limit is treated as equal to it,
// so that binary floating point in unit conversion and averaging, e.g.
// (0.1+0.2)/2 = 0.15000000000000002, cannot push a value that is at the limit
// into the next class. No measurement is that precise.
const relTol = 1e-9

// atMost reports v ≤ limit, inclusively and within relTol.
func atMost(v, limit float64) bool { return v <= limit+limit*relTol }

// atLeast reports v ≥ limit, inclusively and within relTol.
func atLeast(v, limit float64) bool { return v >= limit-limit*relTol }

// Errors of the package. Test for them with errors.Is: some are wrapped with
// the offending value.
var (
	// ErrUnknownParameter: the code is not a canonical parameter code.
	ErrUnknownParameter = errors.New("standard: unknown parameter")
	// ErrNoClass: the parameter has no class limits for this water body
	// (water temperature, total nitrogen in rivers, Table 2 and 3 items,
	// parameters that GB 3838-2002 does not limit).
	ErrNoClass = errors.New("standard: parameter has no class limit")
	// ErrInvalidValue: the value is NaN or infinite.
	ErrInvalidValue = errors.New("standard: value is not a finite number")
)

// badValue reports NaN and ±Inf.
func badValue(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }

// Classify returns the GB 3838-2002 class of one value of a Table 1 item,
// in the canonical unit (see CanonicalUnit). The class is the best one whose
// limit the value meets (facts §1.1): limits are inclusive; DO is a lower
// limit; pH within 6–9 is Class Ⅰ and outside it 劣Ⅴ; total phosphorus uses
// the lake/reservoir limits for Lake; total nitrogen is classified for Lake
// only. It does not allocate.
//
// Errors: ErrUnknownParameter for an unknown code; ErrNoClass for water
// temperature, total nitrogen in a river, Table 2/3 items and parameters
// without a limit; ErrInvalidValue for NaN or ±Inf.
func Classify(param string, value float64, body WaterBody) (Class, error) {
	d := def(param)
	if d == nil {
		return 0, fmt.Errorf("%w: %q", ErrUnknownParameter, param)
	}
	if badValue(value) {
		return 0, ErrInvalidValue
	}
	return d.classify(value, body)
}

// classify is Classify on a table row and a finite value.
func (d *paramDef) classify(v float64, body WaterBody) (Class, error) {
	if d.table != table1 || d.dir == dirNone || (d.has(flagLakeOnly) && body != Lake) {
		return 0, ErrNoClass
	}
	switch d.dir {
	case dirRange:
		// pH: the range is the same for every class, so in range is Class Ⅰ.
		if atLeast(v, PHMin) && atMost(v, PHMax) {
			return ClassI, nil
		}
		return ClassWorseV, nil
	case dirLower:
		for i, l := range d.limits {
			if atLeast(v, l) {
				return Class(i + 1), nil
			}
		}
		return ClassWorseV, nil
	}
	lim := d.classLimits(body)
	for i, l := range lim {
		if atMost(v, l) {
			return Class(i + 1), nil
		}
	}
	return ClassWorseV, nil
}

// classLimits returns the Table 1 limits that apply to body.
func (d *paramDef) classLimits(body WaterBody) *[5]float64 {
	if body == Lake && d.has(flagLakeLimits) {
		return &d.lake
	}
	return &d.limits
}

// ClassLimit returns the limit of class c (ClassI…ClassV) for a Table 1 item
// with an upper or lower limit, and whether it is an upper or a lower limit.
// ok is false for pH (use PHMin and PHMax), water temperature, total nitrogen
// in rivers, items outside Table 1, unknown codes and invalid classes.
func ClassLimit(param string, c Class, body WaterBody) (limit float64, kind LimitKind, ok bool) {
	d := def(param)
	if d == nil || c < ClassI || c > ClassV || d.table != table1 || (d.has(flagLakeOnly) && body != Lake) {
		return 0, "", false
	}
	switch d.dir {
	case dirUpper:
		return d.classLimits(body)[c-1], LimitUpper, true
	case dirLower:
		return d.limits[c-1], LimitLower, true
	}
	return 0, "", false
}

// Multiple returns the over-standard multiple (超标倍数) of a value against
// the Class Ⅲ limit, (C − C_Ⅲ)/C_Ⅲ (环办〔2011〕22号, facts §2.4). It is
// negative when the value is within Class Ⅲ. ok is false where the method
// computes no multiple: water temperature, pH and DO, items without a Class Ⅲ
// limit (Table 2 and 3 items, total nitrogen in rivers, parameters without a
// limit), unknown codes and non-finite values. It does not allocate.
func Multiple(param string, value float64, body WaterBody) (float64, bool) {
	d := def(param)
	if d == nil || badValue(value) {
		return 0, false
	}
	return d.multiple(value, body)
}

func (d *paramDef) multiple(v float64, body WaterBody) (float64, bool) {
	if d.table != table1 || d.dir != dirUpper || d.has(flagNoMultiple) || (d.has(flagLakeOnly) && body != Lake) {
		return 0, false
	}
	c3 := d.classLimits(body)[ClassIII-1]
	return (v - c3) / c3, true
}
