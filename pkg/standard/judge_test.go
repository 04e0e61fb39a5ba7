package standard_test

import (
	"errors"
	"math"
	"testing"

	"github.com/riverwatch/riverwatch/pkg/standard"
)

func temp(c float64) *float64 { return &c }

// sameVerdict compares verdicts with a tolerance on the multiple.
func sameVerdict(a, b standard.Verdict) bool {
	return a.Class == b.Class && a.Meets == b.Meets && a.Limit == b.Limit && a.LimitKind == b.LimitKind &&
		a.Applicable == b.Applicable && math.Abs(a.Multiple-b.Multiple) < 1e-9
}

func TestJudgeSection(t *testing.T) {
	sec := standard.Target{Kind: standard.Section, Class: standard.ClassIII}
	secDefault := standard.Target{Kind: standard.Section} // default target Ⅲ
	secII := standard.Target{Kind: standard.Section, Class: standard.ClassII}
	lake := standard.Target{Kind: standard.Section, Class: standard.ClassIII, Body: standard.Lake}
	na := standard.Verdict{Meets: true}
	tests := []struct {
		name  string
		t     standard.Target
		param string
		v     float64
		want  standard.Verdict
	}{
		{"COD at the Class III limit meets", sec, "cod", 20, standard.Verdict{Class: standard.ClassIII, Meets: true, Limit: 20, LimitKind: "upper", Applicable: true}},
		{"COD over Class III fails with its multiple", sec, "cod", 25, standard.Verdict{Class: standard.ClassIV, Limit: 20, LimitKind: "upper", Multiple: 0.25, Applicable: true}},
		{"default target is Class III", secDefault, "nh3n", 1.2, standard.Verdict{Class: standard.ClassIV, Limit: 1.0, LimitKind: "upper", Multiple: 0.2, Applicable: true}},
		{"Class II target fails on a Class III value, no multiple", secII, "nh3n", 0.8, standard.Verdict{Class: standard.ClassIII, Limit: 0.5, LimitKind: "upper", Applicable: true}},
		{"DO below the Class III lower limit fails", sec, "do", 4.9, standard.Verdict{Class: standard.ClassIV, Limit: 5, LimitKind: "lower", Applicable: true}},
		{"DO at the lower limit meets", sec, "do", 5, standard.Verdict{Class: standard.ClassIII, Meets: true, Limit: 5, LimitKind: "lower", Applicable: true}},
		{"pH above 9 fails the range", sec, "ph", 9.5, standard.Verdict{Class: standard.ClassWorseV, Limit: 9, LimitKind: "range", Applicable: true}},
		{"pH below 6 fails the range", sec, "ph", 5.5, standard.Verdict{Class: standard.ClassWorseV, Limit: 6, LimitKind: "range", Applicable: true}},
		{"pH in range meets", sec, "ph", 7.8, standard.Verdict{Class: standard.ClassI, Meets: true, Limit: 9, LimitKind: "range", Applicable: true}},
		{"lake TP uses the lake limit", lake, "tp", 0.06, standard.Verdict{Class: standard.ClassIV, Limit: 0.05, LimitKind: "upper", Multiple: 0.2, Applicable: true}},
		{"river TP uses the river limit", sec, "tp", 0.06, standard.Verdict{Class: standard.ClassII, Meets: true, Limit: 0.2, LimitKind: "upper", Applicable: true}},
		{"lake TN is judged", lake, "tn", 1.5, standard.Verdict{Class: standard.ClassIV, Limit: 1.0, LimitKind: "upper", Multiple: 0.5, Applicable: true}},
		{"river TN is not applicable", sec, "tn", 5, na},
		{"water temperature is not applicable", sec, "temp", 25, na},
		{"Table 2 item at a section is not applicable", sec, "sulfate", 900, na},
		{"Table 3 item at a section is not applicable", sec, "benzene", 1, na},
		{"conductivity is not applicable", sec, "conductivity", 900, na},
		{"fecal coliform over Class III", sec, "fecal_coliform", 15000, standard.Verdict{Class: standard.ClassIV, Limit: 10000, LimitKind: "upper", Multiple: 0.5, Applicable: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := standard.Judge(tc.t, tc.param, tc.v, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !sameVerdict(got, tc.want) {
				t.Errorf("Judge(%s, %v) = %+v\nwant %+v", tc.param, tc.v, got, tc.want)
			}
		})
	}
}

func TestJudgeDrinkingSource(t *testing.T) {
	src := standard.Target{Kind: standard.DrinkingSource} // default target Ⅱ
	srcIII := standard.Target{Kind: standard.DrinkingSource, Class: standard.ClassIII}
	tests := []struct {
		name  string
		t     standard.Target
		param string
		v     float64
		want  standard.Verdict
	}{
		{"default target is Class II", src, "nh3n", 0.6, standard.Verdict{Class: standard.ClassIII, Limit: 0.5, LimitKind: "upper", Applicable: true}},
		{"Class II value meets", src, "nh3n", 0.5, standard.Verdict{Class: standard.ClassII, Meets: true, Limit: 0.5, LimitKind: "upper", Applicable: true}},
		{"over Class III has a multiple", src, "codmn", 7.2, standard.Verdict{Class: standard.ClassIV, Limit: 4, LimitKind: "upper", Multiple: 0.2, Applicable: true}},
		{"DO against Class II", src, "do", 5.5, standard.Verdict{Class: standard.ClassIII, Limit: 6, LimitKind: "lower", Applicable: true}},
		{"Table 2 sulfate over its limit", src, "sulfate", 260, standard.Verdict{Limit: 250, LimitKind: "upper", Multiple: 0.04, Applicable: true}},
		{"Table 2 manganese at its limit", src, "mn", 0.1, standard.Verdict{Meets: true, Limit: 0.1, LimitKind: "upper", Applicable: true}},
		{"Table 3 benzene within its limit", src, "benzene", 0.005, standard.Verdict{Meets: true, Limit: 0.01, LimitKind: "upper", Applicable: true}},
		{"Table 3 thallium over its limit", srcIII, "tl", 0.0002, standard.Verdict{Limit: 0.0001, LimitKind: "upper", Multiple: 1, Applicable: true}},
		{"Class III target from the protection-zone grade", srcIII, "nh3n", 0.6, standard.Verdict{Class: standard.ClassIII, Meets: true, Limit: 1.0, LimitKind: "upper", Applicable: true}},
		{"turbidity is not applicable", src, "turbidity", 40, standard.Verdict{Meets: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := standard.Judge(tc.t, tc.param, tc.v, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !sameVerdict(got, tc.want) {
				t.Errorf("Judge(%s, %v) = %+v\nwant %+v", tc.param, tc.v, got, tc.want)
			}
		})
	}
}

func mustPermit(t testing.TB, name string, opts standard.PermitOptions) *standard.Permit {
	t.Helper()
	p, err := standard.PermitByName(name, opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestJudgeOutfall(t *testing.T) {
	a := standard.Target{Kind: standard.Outfall, Permit: mustPermit(t, "GB18918-1A", standard.PermitOptions{})}
	aOld := standard.Target{Kind: standard.Outfall, Permit: mustPermit(t, "GB18918-1A", standard.PermitOptions{BuiltBefore2006: true})}
	b := standard.Target{Kind: standard.Outfall, Permit: mustPermit(t, "GB18918-1B", standard.PermitOptions{})}
	bOld := standard.Target{Kind: standard.Outfall, Permit: mustPermit(t, "GB18918-1B", standard.PermitOptions{BuiltBefore2006: true})}
	g2 := standard.Target{Kind: standard.Outfall, Permit: mustPermit(t, "GB18918-2", standard.PermitOptions{})}
	g3 := standard.Target{Kind: standard.Outfall, Permit: mustPermit(t, "GB18918-3", standard.PermitOptions{})}
	i1 := standard.Target{Kind: standard.Outfall, Permit: mustPermit(t, "GB8978-1", standard.PermitOptions{})}
	i2 := standard.Target{Kind: standard.Outfall, Permit: mustPermit(t, "GB8978-2", standard.PermitOptions{})}
	i3 := standard.Target{Kind: standard.Outfall, Permit: mustPermit(t, "GB8978-3", standard.PermitOptions{})}
	up := func(meets bool, limit, mult float64) standard.Verdict {
		return standard.Verdict{Meets: meets, Limit: limit, LimitKind: "upper", Multiple: mult, Applicable: true}
	}
	na := standard.Verdict{Meets: true}
	tests := []struct {
		name  string
		t     standard.Target
		param string
		v     float64
		water *float64
		want  standard.Verdict
	}{
		{"1A COD at the limit meets", a, "cod", 50, nil, up(true, 50, 0)},
		{"1A COD over the limit, multiple against the permit", a, "cod", 60, nil, up(false, 50, 0.2)},
		{"1A NH3-N 6 in warm water fails the 5 limit", a, "nh3n", 6, temp(15), up(false, 5, 0.2)},
		{"1A NH3-N 6 in cold water meets the bracket 8", a, "nh3n", 6, temp(10), up(true, 8, 0)},
		{"1A NH3-N at exactly 12 °C uses the bracket value", a, "nh3n", 6, temp(12), up(true, 8, 0)},
		{"1A NH3-N at 12.1 °C uses the ordinary value", a, "nh3n", 6, temp(12.1), up(false, 5, 0.2)},
		{"1A NH3-N without water temperature uses the ordinary value", a, "nh3n", 6, nil, up(false, 5, 0.2)},
		{"1A NH3-N over the bracket value in cold water", a, "nh3n", 10, temp(4), up(false, 8, 0.25)},
		{"1B NH3-N cold bracket 15", b, "nh3n", 12, temp(5), up(true, 15, 0)},
		{"grade 2 NH3-N warm 25", g2, "nh3n", 27.5, temp(20), up(false, 25, 0.1)},
		{"grade 2 NH3-N cold 30", g2, "nh3n", 27.5, temp(8), up(true, 30, 0)},
		{"grade 3 has no NH3-N limit", g3, "nh3n", 40, temp(20), na},
		{"1A TP, plant built from 2006", a, "tp", 0.8, nil, up(false, 0.5, 0.6)},
		{"1A TP, plant built before 2006", aOld, "tp", 0.8, nil, up(true, 1, 0)},
		{"1B TP, plant built from 2006", b, "tp", 1.2, nil, up(false, 1, 0.2)},
		{"1B TP, plant built before 2006", bOld, "tp", 1.2, nil, up(true, 1.5, 0)},
		{"1A fecal coliforms", a, "fecal_coliform", 2000, nil, up(false, 1000, 1)},
		{"1A pH out of range", a, "ph", 9.5, nil, standard.Verdict{Limit: 9, LimitKind: "range", Applicable: true}},
		{"1A pH in range", a, "ph", 6.5, nil, standard.Verdict{Meets: true, Limit: 6, LimitKind: "range", Applicable: true}},
		{"item not in the permit is not applicable", a, "conductivity", 2000, nil, na},
		{"GB8978 grade 1 COD", i1, "cod", 120, nil, up(false, 100, 0.2)},
		{"GB8978 grade 2 COD", i2, "cod", 120, nil, up(true, 150, 0)},
		{"GB8978 grade 3 COD", i3, "cod", 600, nil, up(false, 500, 0.2)},
		{"GB8978 grade 3 has no NH3-N limit", i3, "nh3n", 40, nil, na},
		{"GB8978 class-one mercury applies at every grade", i3, "hg", 0.06, nil, up(false, 0.05, 0.2)},
		{"GB8978 grade 1 copper", i1, "cu", 0.6, nil, up(false, 0.5, 0.2)},
		{"GB8978 grade 2 phosphate", i2, "phosphate", 0.9, nil, up(true, 1.0, 0)},
		{"GB8978 NH3-N has no cold-water rule", i1, "nh3n", 16, temp(5), up(false, 15, 1.0/15)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := standard.Judge(tc.t, tc.param, tc.v, tc.water)
			if err != nil {
				t.Fatal(err)
			}
			if !sameVerdict(got, tc.want) {
				t.Errorf("Judge(%s, %v) = %+v\nwant %+v", tc.param, tc.v, got, tc.want)
			}
		})
	}
}

func TestJudgeErrors(t *testing.T) {
	sec := standard.Target{Kind: standard.Section}
	tests := []struct {
		name  string
		t     standard.Target
		param string
		v     float64
		want  error
	}{
		{"unknown parameter", sec, "nope", 1, standard.ErrUnknownParameter},
		{"NaN", sec, "cod", math.NaN(), standard.ErrInvalidValue},
		{"outfall without permit", standard.Target{Kind: standard.Outfall}, "cod", 1, standard.ErrNoPermit},
		{"unknown kind", standard.Target{Kind: "well"}, "cod", 1, standard.ErrBadTarget},
		{"empty kind", standard.Target{}, "cod", 1, standard.ErrBadTarget},
		{"劣V target", standard.Target{Kind: standard.Section, Class: standard.ClassWorseV}, "cod", 1, standard.ErrBadTarget},
	}
	for _, tc := range tests {
		if _, err := standard.Judge(tc.t, tc.param, tc.v, nil); !errors.Is(err, tc.want) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestPermitByName(t *testing.T) {
	for _, n := range standard.PermitNames() {
		p, err := standard.PermitByName(n, standard.PermitOptions{})
		if err != nil || p.Name != n || len(p.Limits) == 0 {
			t.Errorf("PermitByName(%s) = %+v, %v", n, p, err)
			continue
		}
		for code := range p.Limits {
			if !standard.Known(code) {
				t.Errorf("%s limits unknown parameter %q", n, code)
			}
		}
		if r := p.Ranges["ph"]; r.Min != 6 || r.Max != 9 {
			t.Errorf("%s pH range = %+v", n, r)
		}
	}
	if p, err := standard.PermitByName(" gb 18918-1a ", standard.PermitOptions{}); err != nil || p.Name != "GB18918-1A" {
		t.Errorf("case- and space-insensitive name: %v, %v", p, err)
	}
	if _, err := standard.PermitByName("GB18918-1C", standard.PermitOptions{}); !errors.Is(err, standard.ErrUnknownPermit) {
		t.Errorf("unknown name: %v", err)
	}
	// Each call returns a new permit: changing one does not change the next.
	p1 := mustPermit(t, "GB18918-1A", standard.PermitOptions{})
	p1.Limits["cod"] = 1
	if p2 := mustPermit(t, "GB18918-1A", standard.PermitOptions{}); p2.Limits["cod"] != 50 {
		t.Errorf("permits share state: cod = %v", p2.Limits["cod"])
	}
	if g3 := mustPermit(t, "GB18918-3", standard.PermitOptions{}); g3.Limits["tn"] != 0 || g3.ColdLimits != nil {
		t.Errorf("grade 3 must have no TN limit and no cold-water limits: %+v", g3)
	}
}

func TestCustomPermit(t *testing.T) {
	in := map[string]float64{"cod": 50, "nh3n": 5}
	p, err := standard.CustomPermit(in)
	if err != nil {
		t.Fatal(err)
	}
	in["cod"] = 1
	if p.Name != "custom" || p.Limits["cod"] != 50 || p.Limits["nh3n"] != 5 {
		t.Errorf("CustomPermit = %+v (the input map must be copied)", p)
	}
	v, err := standard.Judge(standard.Target{Kind: standard.Outfall, Permit: p}, "cod", 55, nil)
	if err != nil || v.Meets || v.Limit != 50 {
		t.Errorf("judge against custom permit = %+v, %v", v, err)
	}
	bad := []struct {
		limits map[string]float64
		want   error
	}{
		{nil, standard.ErrBadLimit},
		{map[string]float64{"COD": 50}, standard.ErrUnknownParameter},
		{map[string]float64{"cod": 50, "bogus": 1}, standard.ErrUnknownParameter},
		{map[string]float64{"cod": -1}, standard.ErrBadLimit},
		{map[string]float64{"cod": 0}, standard.ErrBadLimit},
		{map[string]float64{"cod": math.Inf(1)}, standard.ErrBadLimit},
		{map[string]float64{"ph": 9}, standard.ErrBadLimit},
	}
	for _, tc := range bad {
		if _, err := standard.CustomPermit(tc.limits); !errors.Is(err, tc.want) {
			t.Errorf("CustomPermit(%v) error = %v, want %v", tc.limits, err, tc.want)
		}
	}
}

func TestJudgeDoesNotAllocate(t *testing.T) {
	sec := standard.Target{Kind: standard.Section, Class: standard.ClassIII}
	out := standard.Target{Kind: standard.Outfall, Permit: mustPermit(t, "GB18918-1A", standard.PermitOptions{})}
	w := 8.0
	n := testing.AllocsPerRun(200, func() {
		_, _ = standard.Classify("nh3n", 1.2, standard.River)
		_, _ = standard.Classify("fecal_coliform", 1.2, standard.River)
		_, _ = standard.Multiple("codmn", 7.2, standard.River)
		_, _ = standard.Judge(sec, "cod", 25, nil)
		_, _ = standard.Judge(out, "nh3n", 6, &w)
		_, _ = standard.Classify("temp", 12, standard.River) // ErrNoClass is a bare sentinel
	})
	if n != 0 {
		t.Errorf("Classify/Multiple/Judge allocate %v times per run, want 0", n)
	}
}
