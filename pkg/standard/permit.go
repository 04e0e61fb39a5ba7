package standard

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Permit is the limit set of one outfall (facts §4.3: a per-outfall limit
// set, not hard-coded globals): upper limits per parameter in the canonical
// unit, as daily means. A Permit returned by this package is new on every
// call and owned by the caller.
type Permit struct {
	// Name is the standard and grade ("GB18918-1A", "GB8978-2"), or "custom".
	Name string
	// Limits are the upper limits per canonical parameter code.
	Limits map[string]float64
	// ColdLimits replace Limits when the water temperature is at or below
	// ColdWaterTempC: the bracketed NH3-N values of GB 18918-2002 Table 1,
	// note ②. Nil when the permit has none.
	ColdLimits map[string]float64
	// Ranges are two-sided limits, such as pH 6–9.
	Ranges map[string]Range
}

// Range is a two-sided limit, inclusive at both ends.
type Range struct {
	Min float64 // lower end, inclusive
	Max float64 // upper end, inclusive
}

// PermitOptions selects the variant of a named standard.
type PermitOptions struct {
	// BuiltBefore2006 selects the GB 18918-2002 total-phosphorus limits of
	// plants built before 2006-01-01 (1A 1, 1B 1.5) instead of those built
	// from that date (1A 0.5, 1B 1). Facts §4.1 [V1].
	BuiltBefore2006 bool
}

// ColdWaterTempC is the water temperature (°C) at or below which the
// bracketed NH3-N limits of GB 18918-2002 Table 1 apply (note ②: the value
// outside the brackets applies above 12 °C, the bracketed one at ≤ 12 °C).
const ColdWaterTempC = 12.0

// Permit errors.
var (
	// ErrUnknownPermit: PermitByName does not know the name.
	ErrUnknownPermit = errors.New("standard: unknown permit standard")
	// ErrNoPermit: an outfall target has no permit.
	ErrNoPermit = errors.New("standard: outfall has no permit")
	// ErrBadLimit: a custom limit is not a positive finite number, or is
	// given for a parameter that needs a range (pH).
	ErrBadLimit = errors.New("standard: invalid permit limit")
)

// PermitNames lists the names PermitByName accepts.
func PermitNames() []string {
	return []string{
		"GB18918-1A", "GB18918-1B", "GB18918-2", "GB18918-3",
		"GB8978-1", "GB8978-2", "GB8978-3",
	}
}

// PermitByName returns the limits of a national discharge standard and grade:
//
//   - GB18918-1A, GB18918-1B, GB18918-2, GB18918-3: GB 18918-2002 Table 1,
//     basic control items of municipal wastewater treatment plants (facts
//     §4.1). NH3-N carries its ≤ 12 °C value in ColdLimits; total phosphorus
//     depends on opts.BuiltBefore2006. The Table 2 heavy metals are not
//     included: facts §4.1 marks them unverified.
//   - GB8978-1, GB8978-2, GB8978-3: GB 8978-1996 Table 4 (class-two
//     pollutants, "other dischargers", units built from 1998-01-01) plus the
//     Table 1 class-one pollutants, which apply at every grade (facts §4.2).
//     Alkyl mercury ("not detectable") is not representable as a limit and is
//     left out.
//
// Names are matched without regard to case or spaces ("gb 18918-1a").
func PermitByName(name string, opts PermitOptions) (*Permit, error) {
	key := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(name), " ", ""))
	switch key {
	case "GB18918-1A", "GB18918-1B", "GB18918-2", "GB18918-3":
		return gb18918(key, opts), nil
	case "GB8978-1", "GB8978-2", "GB8978-3":
		return gb8978(key), nil
	}
	return nil, fmt.Errorf("%w: %q (known: %s)", ErrUnknownPermit, name, strings.Join(PermitNames(), ", "))
}

// pH range of both discharge standards (GB 18918-2002 Table 1, GB 8978-1996
// Table 4): 6–9.
func phRange() map[string]Range { return map[string]Range{"ph": {Min: 6, Max: 9}} }

// gb18918 builds a GB 18918-2002 Table 1 permit (facts §4.1), daily means, mg/L
// unless noted.
func gb18918(name string, opts PermitOptions) *Permit {
	p := &Permit{Name: name, Ranges: phRange()}
	switch name {
	case "GB18918-1A":
		p.Limits = map[string]float64{
			"cod": 50, "bod5": 10, "ss": 10, "animal_oil": 1, "petroleum": 1, "las": 0.5,
			"tn": 15, "nh3n": 5, "tp": 0.5, "color": 30, "fecal_coliform": 1e3,
		}
		p.ColdLimits = map[string]float64{"nh3n": 8}
		if opts.BuiltBefore2006 {
			p.Limits["tp"] = 1
		}
	case "GB18918-1B":
		p.Limits = map[string]float64{
			"cod": 60, "bod5": 20, "ss": 20, "animal_oil": 3, "petroleum": 3, "las": 1,
			"tn": 20, "nh3n": 8, "tp": 1, "color": 30, "fecal_coliform": 1e4,
		}
		p.ColdLimits = map[string]float64{"nh3n": 15}
		if opts.BuiltBefore2006 {
			p.Limits["tp"] = 1.5 // [V1]
		}
	case "GB18918-2":
		// No TN limit at grade 2.
		p.Limits = map[string]float64{
			"cod": 100, "bod5": 30, "ss": 30, "animal_oil": 5, "petroleum": 5, "las": 2,
			"nh3n": 25, "tp": 3, "color": 40, "fecal_coliform": 1e4,
		}
		p.ColdLimits = map[string]float64{"nh3n": 30}
	case "GB18918-3":
		// No TN, NH3-N or fecal-coliform limit at grade 3. COD 120 and BOD5
		// 60 give way to removal rates when the influent is strong (note ①:
		// COD > 350 mg/L needs > 60 % removal), which a concentration check
		// cannot see.
		p.Limits = map[string]float64{
			"cod": 120, "bod5": 60, "ss": 50, "animal_oil": 20, "petroleum": 15, "las": 5,
			"tp": 5, "color": 50,
		}
	}
	return p
}

// gb8978 builds a GB 8978-1996 permit (facts §4.2), mg/L unless noted.
func gb8978(name string) *Permit {
	// Table 1, class-one pollutants: sampled at the workshop outlet, the same
	// at every grade. Gross α and β are in Bq/L.
	lim := map[string]float64{
		"hg": 0.05, "cd": 0.1, "cr": 1.5, "cr6": 0.5, "as": 0.5, "pb": 1.0,
		"ni": 1.0, "bap": 0.00003, "be": 0.005, "ag": 0.5,
		"gross_alpha": 1, "gross_beta": 10,
	}
	// Table 4, class-two pollutants, "其他排污单位", built from 1998-01-01.
	// Columns: grade 1, 2, 3; 0 = no limit at that grade.
	table4 := []struct {
		code string
		g    [3]float64
	}{
		{"color", [3]float64{50, 80, 0}},
		{"ss", [3]float64{70, 150, 400}},
		{"bod5", [3]float64{20, 30, 300}},
		{"cod", [3]float64{100, 150, 500}},
		{"petroleum", [3]float64{5, 10, 20}},
		{"animal_oil", [3]float64{10, 15, 100}},
		{"phenol", [3]float64{0.5, 0.5, 2.0}},
		{"cyanide", [3]float64{0.5, 0.5, 1.0}},
		{"sulfide", [3]float64{1.0, 1.0, 1.0}},
		{"nh3n", [3]float64{15, 25, 0}},
		{"fluoride", [3]float64{10, 10, 20}},
		{"phosphate", [3]float64{0.5, 1.0, 0}},
		{"formaldehyde", [3]float64{1.0, 2.0, 5.0}},
		{"anilines", [3]float64{1.0, 2.0, 5.0}},
		{"nitrobenzenes", [3]float64{2.0, 3.0, 5.0}},
		{"las", [3]float64{5.0, 10, 20}},
		{"cu", [3]float64{0.5, 1.0, 2.0}},
		{"zn", [3]float64{2.0, 5.0, 5.0}},
		{"mn", [3]float64{2.0, 2.0, 5.0}},
		{"toc", [3]float64{20, 30, 0}},
	}
	g := int(name[len(name)-1] - '1')
	for _, row := range table4 {
		if v := row.g[g]; v > 0 {
			lim[row.code] = v
		}
	}
	return &Permit{Name: name, Limits: lim, Ranges: phRange()}
}

// CustomPermit builds a permit named "custom" from upper limits per
// parameter (the `limits: {cod: 50, nh3n: 5}` form of sites.yaml). Every code
// must be a canonical parameter code (ErrUnknownParameter otherwise) and every
// limit a positive finite number in the parameter's canonical unit
// (ErrBadLimit); pH cannot be given as one number. The map is copied.
func CustomPermit(limits map[string]float64) (*Permit, error) {
	if len(limits) == 0 {
		return nil, fmt.Errorf("%w: no limits", ErrBadLimit)
	}
	codes := make([]string, 0, len(limits))
	for c := range limits {
		codes = append(codes, c)
	}
	sort.Strings(codes) // report the first bad code deterministically
	p := &Permit{Name: "custom", Limits: make(map[string]float64, len(limits))}
	for _, c := range codes {
		v := limits[c]
		d := def(c)
		switch {
		case d == nil:
			return nil, fmt.Errorf("%w: %q", ErrUnknownParameter, c)
		case d.dir == dirRange:
			return nil, fmt.Errorf("%w: %s needs a range, not one limit", ErrBadLimit, c)
		case badValue(v) || v <= 0:
			return nil, fmt.Errorf("%w: %s = %v", ErrBadLimit, c, v)
		}
		p.Limits[c] = v
	}
	return p, nil
}

// limitFor returns the limit that applies to param: the cold-water limit
// when waterTempC is known and ≤ ColdWaterTempC, else the ordinary one. With
// no water temperature the ordinary (stricter) limit applies: it is the
// standard's main value, and the bracketed one needs evidence of cold water.
func (p *Permit) limitFor(param string, waterTempC *float64) (Range, LimitKind, bool) {
	if r, ok := p.Ranges[param]; ok {
		return r, LimitRange, true
	}
	if waterTempC != nil && *waterTempC <= ColdWaterTempC {
		if v, ok := p.ColdLimits[param]; ok {
			return Range{Max: v}, LimitUpper, true
		}
	}
	if v, ok := p.Limits[param]; ok {
		return Range{Max: v}, LimitUpper, true
	}
	return Range{}, "", false
}
