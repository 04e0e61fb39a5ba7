package standard

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// Unit errors. ToCanonical never guesses: a unit it does not know, or one
// that measures another quantity, is an error.
var (
	// ErrUnknownUnit: the unit is not one the package knows.
	ErrUnknownUnit = errors.New("standard: unknown unit")
	// ErrIncompatibleUnit: the unit is known but measures another quantity
	// than the parameter (e.g. NTU for COD).
	ErrIncompatibleUnit = errors.New("standard: unit does not fit the parameter")
	// ErrImplausible: the value is outside the physically possible range.
	ErrImplausible = errors.New("standard: physically implausible value")
)

// canonicalUnit returns the canonical unit of a unit kind.
func canonicalUnit(k unitKind) string {
	switch k {
	case unitMass:
		return "mg/L"
	case unitCount:
		return "个/L"
	case unitPH:
		return "1"
	case unitTemp:
		return "°C"
	case unitConductivity:
		return "µS/cm"
	case unitTurbidity:
		return "NTU"
	case unitFlow:
		return "m3/s"
	case unitSalinity:
		return "‰"
	case unitLength:
		return "m"
	case unitVelocity:
		return "m/s"
	case unitDilution:
		return "倍"
	case unitRadioactivity:
		return "Bq/L"
	}
	return ""
}

// CanonicalUnit returns the unit in which the package expects values of a
// parameter and in which its limits are stated: "mg/L" for every mass
// concentration (GB 3838-2002 uses mg/L; chlorophyll a too), "个/L" for fecal
// coliforms, "1" for pH, "°C" for water temperature, "µS/cm" for
// conductivity, "NTU" for turbidity, "m3/s" for flow, "‰" for salinity, "m"
// for transparency and water level, "m/s" for velocity, "倍" for colour
// (dilution factor) and "Bq/L" for gross α/β. It returns "" for an unknown code.
func CanonicalUnit(param string) string {
	d := def(param)
	if d == nil {
		return ""
	}
	return canonicalUnit(d.unit)
}

// conversion turns a value in some unit into the canonical unit of its kind:
// (v + pre) * mul / div. Dividing by an exact integer rather than multiplying
// by its inexact reciprocal keeps 150 µg/L at exactly 0.15 mg/L.
type conversion struct {
	kind     unitKind
	pre      float64
	mul, div float64
}

// units maps a normalised unit (see normUnit) to its conversion.
func unitConversion(u string) (conversion, bool) {
	c := func(k unitKind, mul, div float64) (conversion, bool) {
		return conversion{kind: k, mul: mul, div: div}, true
	}
	switch u {
	// Mass concentration → mg/L. HJ 212 sends several metals in µg/L and
	// thallium in ng/L (facts §0 item 9, §3.8).
	case "mg/l", "ug/ml", "g/m3":
		return c(unitMass, 1, 1)
	case "g/l", "kg/m3":
		return c(unitMass, 1000, 1)
	case "ug/l", "mg/m3":
		return c(unitMass, 1, 1000)
	case "ng/l":
		return c(unitMass, 1, 1e6)
	// Counts → 个/L.
	case "个/l", "cfu/l", "mpn/l":
		return c(unitCount, 1, 1)
	case "个/100ml", "cfu/100ml", "mpn/100ml":
		return c(unitCount, 10, 1)
	case "个/ml", "cfu/ml", "mpn/ml":
		return c(unitCount, 1000, 1)
	// pH is dimensionless.
	case "", "1", "ph", "无量纲", "dimensionless":
		return c(unitPH, 1, 1)
	// Temperature → °C.
	case "°c", "℃", "degc", "celsius":
		return c(unitTemp, 1, 1)
	case "°f", "℉", "degf", "fahrenheit":
		return conversion{kind: unitTemp, pre: -32, mul: 5, div: 9}, true
	case "k", "kelvin":
		return conversion{kind: unitTemp, pre: -273.15, mul: 1, div: 1}, true
	// Conductivity → µS/cm.
	case "us/cm":
		return c(unitConductivity, 1, 1)
	case "ms/cm":
		return c(unitConductivity, 1000, 1)
	case "ms/m":
		return c(unitConductivity, 10, 1)
	case "s/m":
		return c(unitConductivity, 10000, 1)
	case "ntu":
		return c(unitTurbidity, 1, 1)
	// Flow → m3/s. HJ 212 w00000 (wastewater flow) is in L/s.
	case "m3/s":
		return c(unitFlow, 1, 1)
	case "l/s":
		return c(unitFlow, 1, 1000)
	case "m3/h":
		return c(unitFlow, 1, 3600)
	case "m3/d":
		return c(unitFlow, 1, 86400)
	case "‰", "ppt", "g/kg":
		return c(unitSalinity, 1, 1)
	case "m":
		return c(unitLength, 1, 1)
	case "cm":
		return c(unitLength, 1, 100)
	case "mm":
		return c(unitLength, 1, 1000)
	case "m/s":
		return c(unitVelocity, 1, 1)
	case "cm/s":
		return c(unitVelocity, 1, 100)
	case "倍", "dilution":
		return c(unitDilution, 1, 1)
	case "bq/l":
		return c(unitRadioactivity, 1, 1)
	}
	return conversion{}, false
}

// normUnit lower-cases a unit, drops spaces, and writes the micro sign (U+00B5)
// and Greek mu (U+03BC) as "u", "³" as "3" and "·" as nothing, so that
// "µg/L", "μg/L", "ug/l" and "UG/L" are one unit. It returns false if the
// unit is too long to be one the package knows.
func normUnit(u string, buf *[24]byte) ([]byte, bool) {
	b := buf[:0]
	for i := 0; i < len(u); i++ {
		ch := u[i]
		switch {
		case ch == ' ' || ch == '\t':
			continue
		case ch >= 'A' && ch <= 'Z':
			ch += 'a' - 'A'
		case ch == 0xC2 && i+1 < len(u) && u[i+1] == 0xB5: // µ U+00B5
			ch, i = 'u', i+1
		case ch == 0xCE && i+1 < len(u) && u[i+1] == 0xBC: // μ U+03BC
			ch, i = 'u', i+1
		case ch == 0xC2 && i+1 < len(u) && u[i+1] == 0xB3: // ³ U+00B3
			ch, i = '3', i+1
		case ch == 0xC2 && i+1 < len(u) && u[i+1] == 0xB7: // · U+00B7
			i++
			continue
		}
		if len(b) == cap(b) {
			return nil, false
		}
		b = append(b, ch)
	}
	return b, true
}

// ToCanonical converts a value of a parameter from unit to the parameter's
// canonical unit (CanonicalUnit). Units are matched without regard to case or
// spaces, and µ (micro sign), μ (Greek mu) and u are the same: mg/L, g/L,
// µg/L, ug/L, ng/L and mg/m3 for concentrations; L/s, m3/h and m3/d for
// flow; mS/cm and mS/m for conductivity; °F and K for temperature; per-mL and
// per-100 mL counts for fecal coliforms. An empty unit is accepted only for
// pH. A unit the package does not know gives ErrUnknownUnit; a unit of
// another quantity gives ErrIncompatibleUnit. It never guesses (ppm and FNU,
// for example, are refused).
func ToCanonical(param string, value float64, unit string) (float64, error) {
	d := def(param)
	if d == nil {
		return 0, fmt.Errorf("%w: %q", ErrUnknownParameter, param)
	}
	if badValue(value) {
		return 0, ErrInvalidValue
	}
	var buf [24]byte
	nu, ok := normUnit(unit, &buf)
	if !ok {
		return 0, fmt.Errorf("%w: %q", ErrUnknownUnit, unit)
	}
	conv, ok := unitConversion(string(nu))
	if !ok {
		return 0, fmt.Errorf("%w: %q", ErrUnknownUnit, unit)
	}
	if conv.kind != d.unit {
		return 0, fmt.Errorf("%w: %s is in %s, not %q", ErrIncompatibleUnit, param, canonicalUnit(d.unit), unit)
	}
	v := value + conv.pre
	if conv.mul != 1 {
		v *= conv.mul
	}
	if conv.div != 1 {
		v /= conv.div
	}
	return v, nil
}

// PlausibleRange returns the closed range [lo, hi] that Plausible accepts for a
// parameter, in its canonical unit; ok is false for an unknown parameter. A bound may be
// infinite.
func PlausibleRange(param string) (lo, hi float64, ok bool) {
	d := def(param)
	if d == nil {
		return 0, 0, false
	}
	lo, hi = d.plausibleRange()
	return lo, hi, true
}

// plausibleRange returns the physically possible range of a parameter in its
// canonical unit.
func (d *paramDef) plausibleRange() (lo, hi float64) {
	switch d.code {
	case "do":
		return 0, 25 // mg/L; supersaturation by algae rarely passes 20
	case "transparency":
		return 0, 100 // m
	case "water_level":
		return -500, 9000 // m; a stage or an elevation
	}
	switch d.unit {
	case unitMass:
		return 0, 1e6 // mg/L: 1e6 mg/L is a litre of pure substance
	case unitCount:
		return 0, 1e13
	case unitPH:
		return 0, 14
	case unitTemp:
		return -5, 50
	case unitConductivity:
		return 0, 1e6 // µS/cm; saturated brine is about 2.5e5
	case unitTurbidity:
		return 0, 1e5
	case unitFlow:
		return -1e5, 1e5 // m3/s; negative for backwater, and near-zero meter noise
	case unitSalinity:
		return 0, 500
	case unitVelocity:
		return -20, 20
	case unitDilution:
		return 0, 1e7
	case unitRadioactivity:
		return 0, 1e9
	}
	return math.Inf(-1), math.Inf(1)
}

// Plausible reports whether a value, in the canonical unit, is physically
// possible for the parameter: pH 0–14, water temperature −5…50 °C, DO 0–25
// mg/L, concentrations and counts ≥ 0 (and below 1e6 mg/L), turbidity 0–1e5
// NTU, conductivity 0–1e6 µS/cm, flow within ±1e5 m3/s. It returns nil, or
// ErrImplausible (wrapped, with the range), ErrInvalidValue for NaN and ±Inf,
// or ErrUnknownParameter.
//
// It is the one plausibility rule of riverwatch. The gateway owns it: it refuses an
// implausible value, recording the refusal on the rejected topic with reason "range".
// The assessor's engine calls it again as defence in depth, for readings that reach the
// readings topic without passing the gateway (the simulator's load mode writes there
// directly); there an implausible value raises quality.suspect and is not judged.
func Plausible(param string, value float64) error {
	d := def(param)
	if d == nil {
		return fmt.Errorf("%w: %q", ErrUnknownParameter, param)
	}
	if badValue(value) {
		return ErrInvalidValue
	}
	lo, hi := d.plausibleRange()
	if value < lo || value > hi {
		unit := " " + canonicalUnit(d.unit)
		if d.unit == unitPH {
			unit = ""
		}
		return fmt.Errorf("%w: %s = %s is outside [%s, %s]%s", ErrImplausible, param,
			strconv.FormatFloat(value, 'g', -1, 64),
			strconv.FormatFloat(lo, 'g', -1, 64), strconv.FormatFloat(hi, 'g', -1, 64), unit)
	}
	return nil
}
