package standard_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/riverwatch/riverwatch/pkg/standard"
)

// gb3838Table1 is GB 3838-2002 Table 1 as written in facts §1.1, copied here
// independently of the package's own table so that a typo in one is caught
// by the other. Upper limits, Class Ⅰ…Ⅴ, canonical units.
var gb3838Table1 = []struct {
	param  string
	body   standard.WaterBody
	limits [5]float64
}{
	{"codmn", standard.River, [5]float64{2, 4, 6, 10, 15}},
	{"cod", standard.River, [5]float64{15, 15, 20, 30, 40}},
	{"bod5", standard.River, [5]float64{3, 3, 4, 6, 10}},
	{"nh3n", standard.River, [5]float64{0.15, 0.5, 1.0, 1.5, 2.0}},
	{"tp", standard.River, [5]float64{0.02, 0.1, 0.2, 0.3, 0.4}},
	{"tp", standard.Lake, [5]float64{0.01, 0.025, 0.05, 0.1, 0.2}},
	{"tn", standard.Lake, [5]float64{0.2, 0.5, 1.0, 1.5, 2.0}},
	{"cu", standard.River, [5]float64{0.01, 1.0, 1.0, 1.0, 1.0}},
	{"zn", standard.River, [5]float64{0.05, 1.0, 1.0, 2.0, 2.0}},
	{"fluoride", standard.River, [5]float64{1.0, 1.0, 1.0, 1.5, 1.5}},
	{"se", standard.River, [5]float64{0.01, 0.01, 0.01, 0.02, 0.02}},
	{"as", standard.River, [5]float64{0.05, 0.05, 0.05, 0.1, 0.1}},
	{"hg", standard.River, [5]float64{0.00005, 0.00005, 0.0001, 0.001, 0.001}},
	{"cd", standard.River, [5]float64{0.001, 0.005, 0.005, 0.005, 0.01}},
	{"cr6", standard.River, [5]float64{0.01, 0.05, 0.05, 0.05, 0.1}},
	{"pb", standard.River, [5]float64{0.01, 0.01, 0.05, 0.05, 0.1}},
	{"cyanide", standard.River, [5]float64{0.005, 0.05, 0.2, 0.2, 0.2}},
	{"phenol", standard.River, [5]float64{0.002, 0.002, 0.005, 0.01, 0.1}},
	{"petroleum", standard.River, [5]float64{0.05, 0.05, 0.05, 0.5, 1.0}},
	{"las", standard.River, [5]float64{0.2, 0.2, 0.2, 0.3, 0.3}},
	{"sulfide", standard.River, [5]float64{0.05, 0.1, 0.2, 0.5, 1.0}},
	{"fecal_coliform", standard.River, [5]float64{200, 2000, 10000, 20000, 40000}},
}

// bestClass is the best class whose upper limit v meets (facts §1.1: "Class
// is always determined as the lowest class number whose limit is met").
func bestClass(limits [5]float64, v float64) standard.Class {
	for i, l := range limits {
		if v <= l {
			return standard.Class(i + 1)
		}
	}
	return standard.ClassWorseV
}

func TestClassifyEveryTable1UpperLimitAtAndJustBeyond(t *testing.T) {
	for _, row := range gb3838Table1 {
		for i, l := range row.limits {
			c := standard.Class(i + 1)
			beyond := l * (1 + 1e-6)
			for _, tc := range []struct {
				name string
				v    float64
			}{
				{fmt.Sprintf("%s/%s/%v_at_class_%v_limit", row.param, row.body, l, c), l},
				{fmt.Sprintf("%s/%s/%v_just_beyond_class_%v_limit", row.param, row.body, beyond, c), beyond},
			} {
				t.Run(tc.name, func(t *testing.T) {
					want := bestClass(row.limits, tc.v)
					got, err := standard.Classify(row.param, tc.v, row.body)
					if err != nil {
						t.Fatal(err)
					}
					if got != want {
						t.Errorf("Classify(%s, %v, %v) = %v, want %v", row.param, tc.v, row.body, got, want)
					}
					if tc.v == l && got > c {
						t.Errorf("a value at the Class %v limit must be Class %v or better, got %v", c, c, got)
					}
					if tc.v > l && got <= c {
						t.Errorf("a value beyond the Class %v limit must be worse than %v, got %v", c, c, got)
					}
				})
			}
		}
	}
}

func TestClassifyHandWorkedValues(t *testing.T) {
	tests := []struct {
		param string
		v     float64
		body  standard.WaterBody
		want  standard.Class
	}{
		{"nh3n", 1.0, standard.River, standard.ClassIII}, // facts §1.1 boundary example
		{"nh3n", 1.01, standard.River, standard.ClassIV},
		{"nh3n", 0, standard.River, standard.ClassI},
		{"cod", 15, standard.River, standard.ClassI}, // Ⅰ and Ⅱ share 15: the best class
		{"cod", 15.5, standard.River, standard.ClassIII},
		{"cod", 40.1, standard.River, standard.ClassWorseV},
		{"cu", 0.02, standard.River, standard.ClassII},
		{"cu", 1.0, standard.River, standard.ClassII},
		{"cu", 1.01, standard.River, standard.ClassWorseV},
		{"zn", 1.5, standard.River, standard.ClassIV},
		{"hg", 0.00005, standard.River, standard.ClassI},
		{"hg", 0.00006, standard.River, standard.ClassIII},
		{"cd", 0.003, standard.River, standard.ClassII},
		{"cyanide", 0.2, standard.River, standard.ClassIII},
		{"cyanide", 0.21, standard.River, standard.ClassWorseV},
		{"fecal_coliform", 15000, standard.River, standard.ClassIV},
		{"tp", 0.05, standard.River, standard.ClassII},
		{"tp", 0.05, standard.Lake, standard.ClassIII},
		{"tp", 0.2, standard.River, standard.ClassIII},
		{"tp", 0.2, standard.Lake, standard.ClassV},
		{"tp", 0.21, standard.Lake, standard.ClassWorseV},
		{"tp", 0.41, standard.River, standard.ClassWorseV},
		{"tn", 1.0, standard.Lake, standard.ClassIII},
		{"tn", 2.5, standard.Lake, standard.ClassWorseV},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s_%v_%v", tc.param, tc.v, tc.body), func(t *testing.T) {
			got, err := standard.Classify(tc.param, tc.v, tc.body)
			if err != nil || got != tc.want {
				t.Errorf("Classify(%s, %v, %v) = %v, %v; want %v", tc.param, tc.v, tc.body, got, err, tc.want)
			}
		})
	}
}

func TestClassifyDissolvedOxygenIsALowerLimit(t *testing.T) {
	tests := []struct {
		v    float64
		want standard.Class
	}{
		{12, standard.ClassI},
		{7.5, standard.ClassI}, // Class Ⅰ: 饱和率90%（或7.5）
		{7.49, standard.ClassII},
		{6, standard.ClassII},
		{5.99, standard.ClassIII},
		{5, standard.ClassIII},
		{4.99, standard.ClassIV},
		{3, standard.ClassIV},
		{2.99, standard.ClassV},
		{2, standard.ClassV},
		{1.99, standard.ClassWorseV},
		{0, standard.ClassWorseV},
	}
	for _, tc := range tests {
		for _, body := range []standard.WaterBody{standard.River, standard.Lake} {
			got, err := standard.Classify("do", tc.v, body)
			if err != nil || got != tc.want {
				t.Errorf("Classify(do, %v, %v) = %v, %v; want %v", tc.v, body, got, err, tc.want)
			}
		}
	}
}

func TestClassifyPHIsARangeOnBothSides(t *testing.T) {
	tests := []struct {
		v    float64
		want standard.Class
	}{
		{0, standard.ClassWorseV},
		{5.99, standard.ClassWorseV},
		{6, standard.ClassI},
		{7.2, standard.ClassI},
		{9, standard.ClassI},
		{9.01, standard.ClassWorseV},
		{14, standard.ClassWorseV},
	}
	for _, tc := range tests {
		got, err := standard.Classify("ph", tc.v, standard.River)
		if err != nil || got != tc.want {
			t.Errorf("Classify(ph, %v) = %v, %v; want %v", tc.v, got, err, tc.want)
		}
	}
}

func TestClassifyErrors(t *testing.T) {
	tests := []struct {
		param string
		v     float64
		body  standard.WaterBody
		want  error
	}{
		{"temp", 12, standard.River, standard.ErrNoClass},
		{"tn", 1.0, standard.River, standard.ErrNoClass}, // TN: lakes and reservoirs only
		{"sulfate", 100, standard.River, standard.ErrNoClass},
		{"benzene", 0.001, standard.River, standard.ErrNoClass},
		{"conductivity", 450, standard.River, standard.ErrNoClass},
		{"flow", 5, standard.River, standard.ErrNoClass},
		{"xyz", 1, standard.River, standard.ErrUnknownParameter},
		{"COD", 1, standard.River, standard.ErrUnknownParameter}, // codes are lower case
		{"", 1, standard.River, standard.ErrUnknownParameter},
		{"cod", math.NaN(), standard.River, standard.ErrInvalidValue},
		{"do", math.Inf(1), standard.River, standard.ErrInvalidValue},
	}
	for _, tc := range tests {
		c, err := standard.Classify(tc.param, tc.v, tc.body)
		if !errors.Is(err, tc.want) || c != 0 {
			t.Errorf("Classify(%q, %v, %v) = %v, %v; want 0, %v", tc.param, tc.v, tc.body, c, err, tc.want)
		}
	}
}

func TestClassifyToleratesRoundOffAtALimit(t *testing.T) {
	a, b := 0.1, 0.2    // variables: Go would fold constants exactly
	mean := (a + b) / 2 // 0.15000000000000002 in binary floating point
	if mean <= 0.15 {
		t.Fatalf("test premise: mean = %v", mean)
	}
	if c, _ := standard.Classify("nh3n", mean, standard.River); c != standard.ClassI {
		t.Errorf("NH3-N mean of 0.1 and 0.2 = %v, want Class I (0.15 is the Class I limit)", c)
	}
	v, err := standard.ToCanonical("nh3n", 150, "µg/L")
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := standard.Classify("nh3n", v, standard.River); c != standard.ClassI {
		t.Errorf("150 µg/L NH3-N = %v mg/L, class %v; want Class I", v, c)
	}
	if c, _ := standard.Classify("nh3n", 0.15*(1+1e-7), standard.River); c != standard.ClassII {
		t.Errorf("a value 1e-7 above the limit is beyond it; got %v", c)
	}
}

func TestClassLimit(t *testing.T) {
	tests := []struct {
		param string
		c     standard.Class
		body  standard.WaterBody
		want  float64
		kind  standard.LimitKind
		ok    bool
	}{
		{"cod", standard.ClassIII, standard.River, 20, standard.LimitUpper, true},
		{"tp", standard.ClassIII, standard.Lake, 0.05, standard.LimitUpper, true},
		{"tp", standard.ClassIII, standard.River, 0.2, standard.LimitUpper, true},
		{"do", standard.ClassII, standard.River, 6, standard.LimitLower, true},
		{"tn", standard.ClassIII, standard.River, 0, "", false},
		{"ph", standard.ClassIII, standard.River, 0, "", false},
		{"temp", standard.ClassIII, standard.River, 0, "", false},
		{"cod", standard.ClassWorseV, standard.River, 0, "", false},
		{"sulfate", standard.ClassIII, standard.River, 0, "", false},
	}
	for _, tc := range tests {
		l, k, ok := standard.ClassLimit(tc.param, tc.c, tc.body)
		if l != tc.want || k != tc.kind || ok != tc.ok {
			t.Errorf("ClassLimit(%s, %v, %v) = %v, %q, %v; want %v, %q, %v", tc.param, tc.c, tc.body, l, k, ok, tc.want, tc.kind, tc.ok)
		}
	}
}

func TestMultipleIsAgainstClassIII(t *testing.T) {
	tests := []struct {
		param string
		v     float64
		body  standard.WaterBody
		want  float64
		ok    bool
	}{
		{"cod", 30, standard.River, 0.5, true},
		{"cod", 10, standard.River, -0.5, true}, // within Class Ⅲ: negative
		{"codmn", 13.2, standard.River, 1.2, true},
		{"nh3n", 1.5, standard.River, 0.5, true},
		{"tp", 0.3, standard.River, 0.5, true},
		{"tp", 0.1, standard.Lake, 1.0, true},
		{"tn", 2.0, standard.Lake, 1.0, true},
		{"fecal_coliform", 20000, standard.River, 1.0, true},
		{"tn", 2.0, standard.River, 0, false},
		{"ph", 10, standard.River, 0, false}, // never for pH, DO, temperature (facts §2.4)
		{"do", 1, standard.River, 0, false},
		{"temp", 30, standard.River, 0, false},
		{"sulfate", 300, standard.River, 0, false},
		{"conductivity", 300, standard.River, 0, false},
		{"nope", 1, standard.River, 0, false},
		{"cod", math.NaN(), standard.River, 0, false},
	}
	for _, tc := range tests {
		m, ok := standard.Multiple(tc.param, tc.v, tc.body)
		if ok != tc.ok || math.Abs(m-tc.want) > 1e-12 {
			t.Errorf("Multiple(%s, %v, %v) = %v, %v; want %v, %v", tc.param, tc.v, tc.body, m, ok, tc.want, tc.ok)
		}
	}
}

// upperItems are the Table 1 items classified with upper limits.
var upperItems = []string{
	"codmn", "cod", "bod5", "nh3n", "tp", "tn", "cu", "zn", "fluoride", "se", "as", "hg",
	"cd", "cr6", "pb", "cyanide", "phenol", "petroleum", "las", "sulfide", "fecal_coliform",
}

// TestPropertyRaisingAConcentrationNeverImprovesTheClass is a seeded
// property test: for every upper-limited item and both water bodies, a higher
// concentration never gets a better class, and a lower DO never gets a
// better class.
func TestPropertyRaisingAConcentrationNeverImprovesTheClass(t *testing.T) {
	rng := rand.New(rand.NewPCG(2002, 3838))
	for _, body := range []standard.WaterBody{standard.River, standard.Lake} {
		for _, p := range upperItems {
			l5, _, ok := standard.ClassLimit(p, standard.ClassV, body)
			if !ok {
				continue // TN in a river
			}
			for range 2000 {
				a := rng.Float64() * l5 * 1.5
				b := a + rng.Float64()*l5*0.5
				ca, err1 := standard.Classify(p, a, body)
				cb, err2 := standard.Classify(p, b, body)
				if err1 != nil || err2 != nil {
					t.Fatal(err1, err2)
				}
				if cb < ca {
					t.Fatalf("%s (%v): raising %v to %v improved the class from %v to %v", p, body, a, b, ca, cb)
				}
			}
		}
		for range 5000 {
			a := rng.Float64() * 12
			b := a - rng.Float64()*3
			ca, _ := standard.Classify("do", a, body)
			cb, _ := standard.Classify("do", b, body)
			if cb < ca {
				t.Fatalf("lowering DO from %v to %v improved the class from %v to %v", a, b, ca, cb)
			}
		}
	}
}

func TestClassNamesAndParse(t *testing.T) {
	want := []struct {
		c           standard.Class
		s, roman    string
		descriptor  string
		color, name string
	}{
		{standard.ClassI, "I", "Ⅰ", "优", "#5ab1ef", "蓝"},
		{standard.ClassII, "II", "Ⅱ", "优", "#5ab1ef", "蓝"},
		{standard.ClassIII, "III", "Ⅲ", "良好", "#42cc70", "绿"},
		{standard.ClassIV, "IV", "Ⅳ", "轻度污染", "#e8dd3e", "黄"},
		{standard.ClassV, "V", "Ⅴ", "中度污染", "#f5a524", "橙"},
		{standard.ClassWorseV, "劣V", "劣Ⅴ", "重度污染", "#ed5466", "红"},
	}
	for _, w := range want {
		if w.c.String() != w.s || w.c.Roman() != w.roman || w.c.Descriptor() != w.descriptor ||
			w.c.Color() != w.color || w.c.Status().ColorName() != w.name {
			t.Errorf("class %d: got %q %q %q %q %q", int(w.c), w.c.String(), w.c.Roman(), w.c.Descriptor(), w.c.Color(), w.c.Status().ColorName())
		}
		for _, s := range []string{w.s, w.roman, fmt.Sprint(int(w.c))} {
			if c, err := standard.ParseClass(s); err != nil || c != w.c {
				t.Errorf("ParseClass(%q) = %v, %v; want %v", s, c, err, w.c)
			}
		}
	}
	if standard.ClassWorseV != 6 {
		t.Errorf("ClassWorseV = %d, want 6", standard.ClassWorseV)
	}
	more := map[string]standard.Class{
		"iii": standard.ClassIII, " III ": standard.ClassIII, "Ⅲ类": standard.ClassIII, "三类": standard.ClassIII,
		"class II": standard.ClassII, "Class Ⅳ": standard.ClassIV, "劣Ⅴ类": standard.ClassWorseV, "劣五类": standard.ClassWorseV,
		"劣5": standard.ClassWorseV,
	}
	for s, want := range more {
		if c, err := standard.ParseClass(s); err != nil || c != want {
			t.Errorf("ParseClass(%q) = %v, %v; want %v", s, c, err, want)
		}
	}
	for _, s := range []string{"", "0", "7", "VI", "劣III", "劣", "good", "IIII"} {
		if c, err := standard.ParseClass(s); !errors.Is(err, standard.ErrBadClass) {
			t.Errorf("ParseClass(%q) = %v, %v; want ErrBadClass", s, c, err)
		}
	}
	if s := standard.Class(0).String(); s != "-" {
		t.Errorf("zero class String = %q", s)
	}
	if standard.Class(0).Descriptor() != "" || standard.Class(0).Color() != "" {
		t.Error("zero class must have no descriptor or colour")
	}
}

func TestStatusEnglish(t *testing.T) {
	if got := standard.StatusSlightlyPolluted.English(); got != "slightly polluted" {
		t.Errorf("English = %q", got)
	}
	if standard.StatusNone.String() != "" || standard.StatusNone.English() != "" {
		t.Error("StatusNone must be empty")
	}
}

func TestParseWaterBody(t *testing.T) {
	for s, want := range map[string]standard.WaterBody{"river": standard.River, "": standard.River, "Lake": standard.Lake, "reservoir": standard.Lake, "水库": standard.Lake} {
		if b, err := standard.ParseWaterBody(s); err != nil || b != want {
			t.Errorf("ParseWaterBody(%q) = %v, %v", s, b, err)
		}
	}
	if _, err := standard.ParseWaterBody("sea"); err == nil {
		t.Error("ParseWaterBody(sea) must fail")
	}
}
