package standard_test

import (
	"errors"
	"math"
	"testing"

	"github.com/riverwatch/riverwatch/pkg/standard"
)

func TestCanonicalUnit(t *testing.T) {
	want := map[string]string{
		"cod": "mg/L", "hg": "mg/L", "tl": "mg/L", "sulfate": "mg/L", "chlorophyll": "mg/L",
		"fecal_coliform": "个/L", "ph": "1", "temp": "°C", "conductivity": "µS/cm",
		"turbidity": "NTU", "flow": "m3/s", "salinity": "‰", "color": "倍",
		"gross_alpha": "Bq/L", "transparency": "m", "unknown": "",
	}
	for p, u := range want {
		if got := standard.CanonicalUnit(p); got != u {
			t.Errorf("CanonicalUnit(%s) = %q, want %q", p, got, u)
		}
	}
}

func TestToCanonicalConvertsKnownUnits(t *testing.T) {
	tests := []struct {
		param string
		v     float64
		unit  string
		want  float64
	}{
		{"cod", 20, "mg/L", 20},
		{"cod", 20, "mg/l", 20},
		{"cod", 20, " MG/L ", 20},
		{"hg", 0.1, "µg/L", 0.0001}, // micro sign U+00B5, as HJ 212 sends Hg (facts §0 item 9)
		{"hg", 0.1, "μg/L", 0.0001}, // Greek mu U+03BC
		{"hg", 0.1, "ug/L", 0.0001},
		{"hg", 0.1, "UG/L", 0.0001},
		{"cd", 5, "ug/l", 0.005},
		{"tl", 100, "ng/L", 0.0001}, // thallium arrives in ng/L
		{"tl", 100, "NG/L", 0.0001},
		{"sulfate", 0.25, "g/L", 250},
		{"sulfate", 0.25, "G/l", 250},
		{"nh3n", 150, "µg/L", 0.15},
		{"pb", 50, "mg/m3", 0.05},
		{"flow", 200, "L/s", 0.2}, // HJ 212 w00000 wastewater flow
		{"flow", 200, "l/s", 0.2},
		{"flow", 3600, "m3/h", 1},
		{"flow", 86400, "m³/d", 1},
		{"flow", 5, "m3/s", 5},
		{"fecal_coliform", 1000, "个/L", 1000},
		{"fecal_coliform", 100, "MPN/100mL", 1000},
		{"fecal_coliform", 2, "CFU/mL", 2000},
		{"ph", 7.5, "", 7.5},
		{"ph", 7.5, "1", 7.5},
		{"ph", 7.5, "无量纲", 7.5},
		{"temp", 12.3, "°C", 12.3},
		{"temp", 12.3, "℃", 12.3},
		{"temp", 50, "°F", 10},
		{"temp", 283.15, "K", 10},
		{"conductivity", 452, "µS/cm", 452},
		{"conductivity", 452, "uS/cm", 452},
		{"conductivity", 0.452, "mS/cm", 452},
		{"conductivity", 45.2, "mS/m", 452},
		{"turbidity", 15.2, "NTU", 15.2},
		{"chlorophyll", 12, "µg/L", 0.012},
		{"salinity", 1.2, "g/kg", 1.2},
		{"transparency", 80, "cm", 0.8},
		{"color", 30, "倍", 30},
		{"gross_beta", 0.5, "Bq/L", 0.5},
	}
	for _, tc := range tests {
		got, err := standard.ToCanonical(tc.param, tc.v, tc.unit)
		if err != nil {
			t.Errorf("ToCanonical(%s, %v, %q): %v", tc.param, tc.v, tc.unit, err)
			continue
		}
		if math.Abs(got-tc.want) > 1e-12*math.Max(1, math.Abs(tc.want)) {
			t.Errorf("ToCanonical(%s, %v, %q) = %v, want %v", tc.param, tc.v, tc.unit, got, tc.want)
		}
	}
}

func TestToCanonicalDividesExactly(t *testing.T) {
	// 150 µg/L must be exactly the Class Ⅰ NH3-N limit 0.15, not 0.15000000000000002.
	if got, _ := standard.ToCanonical("nh3n", 150, "ug/L"); got != 0.15 {
		t.Errorf("150 ug/L = %v mg/L, want exactly 0.15", got)
	}
	if got, _ := standard.ToCanonical("hg", 0.05, "ug/L"); got != 0.00005 {
		t.Errorf("0.05 ug/L = %v mg/L, want exactly 0.00005", got)
	}
}

func TestToCanonicalRefusesUnknownAndIncompatibleUnits(t *testing.T) {
	tests := []struct {
		param string
		unit  string
		want  error
	}{
		{"cod", "ppm", standard.ErrUnknownUnit}, // ppm ≈ mg/L is a guess: refused
		{"cod", "furlongs", standard.ErrUnknownUnit},
		{"turbidity", "FNU", standard.ErrUnknownUnit}, // FNU is not NTU
		{"cod", "mg/kg", standard.ErrUnknownUnit},
		{"cod", "a very long unit name indeed", standard.ErrUnknownUnit},
		{"cod", "", standard.ErrIncompatibleUnit}, // a missing unit is not assumed
		{"cod", "NTU", standard.ErrIncompatibleUnit},
		{"cod", "L/s", standard.ErrIncompatibleUnit},
		{"ph", "mg/L", standard.ErrIncompatibleUnit},
		{"flow", "mg/L", standard.ErrIncompatibleUnit},
		{"temp", "mg/L", standard.ErrIncompatibleUnit},
		{"fecal_coliform", "mg/L", standard.ErrIncompatibleUnit},
		{"conductivity", "mg/L", standard.ErrIncompatibleUnit},
		{"nope", "mg/L", standard.ErrUnknownParameter},
	}
	for _, tc := range tests {
		if _, err := standard.ToCanonical(tc.param, 1, tc.unit); !errors.Is(err, tc.want) {
			t.Errorf("ToCanonical(%s, 1, %q) error = %v, want %v", tc.param, tc.unit, err, tc.want)
		}
	}
	if _, err := standard.ToCanonical("cod", math.NaN(), "mg/L"); !errors.Is(err, standard.ErrInvalidValue) {
		t.Errorf("NaN: %v", err)
	}
}

func TestPlausible(t *testing.T) {
	ok := []struct {
		param string
		v     float64
	}{
		{"ph", 0}, {"ph", 14}, {"ph", 7.2}, {"temp", -5}, {"temp", 50}, {"do", 0}, {"do", 25},
		{"cod", 0}, {"cod", 5000}, {"hg", 0.0001}, {"conductivity", 452}, {"turbidity", 3000},
		{"flow", 0}, {"flow", -0.01}, {"fecal_coliform", 1e6}, {"benzene", 0},
	}
	for _, tc := range ok {
		if err := standard.Plausible(tc.param, tc.v); err != nil {
			t.Errorf("Plausible(%s, %v) = %v, want nil", tc.param, tc.v, err)
		}
	}
	bad := []struct {
		param string
		v     float64
		want  error
	}{
		{"ph", -0.1, standard.ErrImplausible}, {"ph", 14.1, standard.ErrImplausible},
		{"temp", -6, standard.ErrImplausible}, {"temp", 51, standard.ErrImplausible},
		{"do", -1, standard.ErrImplausible}, {"do", 26, standard.ErrImplausible},
		{"cod", -0.001, standard.ErrImplausible}, {"hg", -1e-9, standard.ErrImplausible},
		{"fecal_coliform", -1, standard.ErrImplausible}, {"conductivity", -1, standard.ErrImplausible},
		{"turbidity", -1, standard.ErrImplausible}, {"cod", 2e6, standard.ErrImplausible},
		{"cod", math.NaN(), standard.ErrInvalidValue}, {"cod", math.Inf(-1), standard.ErrInvalidValue},
		{"nope", 1, standard.ErrUnknownParameter},
	}
	for _, tc := range bad {
		if err := standard.Plausible(tc.param, tc.v); !errors.Is(err, tc.want) {
			t.Errorf("Plausible(%s, %v) = %v, want %v", tc.param, tc.v, err, tc.want)
		}
	}
}

func TestPlausibleRangeIsTheRangePlausibleAccepts(t *testing.T) {
	for _, param := range standard.Codes() {
		lo, hi, ok := standard.PlausibleRange(param)
		if !ok || !(lo < hi) {
			t.Fatalf("PlausibleRange(%s) = %v, %v, %v", param, lo, hi, ok)
		}
		for _, v := range []float64{lo, hi} {
			if err := standard.Plausible(param, v); !math.IsInf(v, 0) && err != nil {
				t.Errorf("Plausible(%s, %v) = %v at the edge of its range", param, v, err)
			}
		}
		for _, v := range []float64{math.Nextafter(lo, math.Inf(-1)), math.Nextafter(hi, math.Inf(1))} {
			if err := standard.Plausible(param, v); !math.IsInf(v, 0) && !errors.Is(err, standard.ErrImplausible) {
				t.Errorf("Plausible(%s, %v) = %v just outside its range", param, v, err)
			}
		}
	}
	if _, _, ok := standard.PlausibleRange("nope"); ok {
		t.Error("an unknown parameter has a range")
	}
}
