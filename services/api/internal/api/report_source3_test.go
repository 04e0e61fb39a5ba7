package api_test

import (
	"bytes"
	"encoding/csv"
	"slices"
	"testing"

	"github.com/riverwatch/riverwatch/services/api/internal/api"
	"github.com/riverwatch/riverwatch/services/api/internal/api/apitest"
)

// A drinking-water source (STH-D1, target Ⅱ) is judged both ways: meets_target is Class Ⅱ
// plus Tables 2 and 3, source_class_iii Class Ⅲ plus Tables 2 and 3. Hand-worked, March:
//
//	NH3-N 0.8 (Ⅲ: 0.5 < 0.8 ≤ 1.0), Mn 0.05 (≤ 0.1): Ⅱ not met, Ⅲ met
//	NH3-N 0.3 (Ⅱ), Mn 0.15: Mn over its 0.1 by (0.15 − 0.1)/0.1 = 0.5: neither met, 锰(0.5)
//	NH3-N 0.3, Mn 0.05: both met
//	NH3-N 1.2 (Ⅳ: 1.0 < 1.2 ≤ 1.5), Mn 0.05: neither met, Table 1 not met
func TestADrinkingSourceIsJudgedByItsTargetAndByClassIIIPlusTables2And3(t *testing.T) {
	cases := []struct {
		name                     string
		nh3n, mn                 float64
		class                    string
		target, classIII, table1 bool
		exceeding                []string
	}{
		{"Class Ⅲ meets Ⅲ, not the target Ⅱ", 0.8, 0.05, "III", false, true, true, []string{}},
		{"manganese over its limit fails both", 0.3, 0.15, "II", false, false, true, []string{"锰(0.5)"}},
		{"Class Ⅱ within the tables meets both", 0.3, 0.05, "II", true, true, true, []string{}},
		{"Class Ⅳ fails both", 1.2, 0.05, "IV", false, false, false, []string{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := apitest.NewMemStore()
			e := newEnv(t, func(o *api.Options) { o.Store = st })
			seedSite(t, st, e.net.Location, "STH-D1", map[string]float64{"nh3n": c.nh3n, "mn": c.mn})
			seedSite(t, st, e.net.Location, "STH-S1", map[string]float64{"nh3n": 0.2})
			var rep api.ComplianceReport
			e.do(t, "GET", "/api/v1/reports/compliance?from=2026-03-01&to=2026-04-01", admin, nil).decode(t, &rep)
			sc := siteOf(rep.Months[0], "STH-D1")
			cs := sc.SourceClassIII
			if sc.Class != c.class || !eqPtr(sc.MeetsTarget, &c.target) || cs == nil || !eqPtr(cs.Meets, &c.classIII) ||
				!eqPtr(cs.Table1Meets, &c.table1) || cs.SupplementaryItems != 1 || !slices.Equal(cs.Exceeding, c.exceeding) {
				t.Fatalf("class %q target %v class Ⅲ %+v; want %q %v %v (Table 1 %v) %v", sc.Class, sc.MeetsTarget, cs, c.class, c.target, c.classIII, c.table1, c.exceeding)
			}
			if s1 := siteOf(rep.Months[0], "STH-S1"); s1.SourceClassIII != nil {
				t.Errorf("a section judged as a source: %+v", s1.SourceClassIII)
			}
			res := e.do(t, "GET", "/api/v1/reports/compliance?from=2026-03-01&to=2026-04-01&format=csv", admin, nil)
			rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(res.body, []byte("\uFEFF")))).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(rows[0][23:], []string{"meets_class_iii_tables", "tables_exceeding"}) {
				t.Fatalf("csv header %v", rows[0])
			}
			for _, row := range rows[1:] {
				if row[0] == "2026-03" && row[2] == "STH-D1" {
					if row[7] != boolStr(c.target) || row[23] != boolStr(c.classIII) || row[24] != joinSemi(c.exceeding) {
						t.Errorf("csv row %v", row)
					}
				}
			}
			res = e.do(t, "GET", "/api/v1/reports/monthly?month=2026-03&format=csv", admin, nil)
			rows, err = csv.NewReader(bytes.NewReader(bytes.TrimPrefix(res.body, []byte("\uFEFF")))).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			var got [][]string
			for _, row := range rows {
				if row[2] == "source_class_iii" {
					got = append(got, row)
				}
			}
			// Both drinking-water sources have a row; STH-D2 has no reading.
			if len(got) != 2 || got[0][3] != "STH-D1" || got[0][8] != boolStr(c.classIII) || got[0][10] != joinSemi(c.exceeding) || got[1][8] != "" {
				t.Errorf("monthly csv rows %v", got)
			}
		})
	}
}

func TestTheClassIIISourceRuleCanBeSwitchedOff(t *testing.T) {
	st := apitest.NewMemStore()
	e := newEnv(t, func(o *api.Options) { o.Store = st; o.HideSourceClassIII = true })
	seedSite(t, st, e.net.Location, "STH-D1", map[string]float64{"nh3n": 0.8})
	var rep api.ComplianceReport
	e.do(t, "GET", "/api/v1/reports/compliance?from=2026-03-01&to=2026-04-01", admin, nil).decode(t, &rep)
	if sc := siteOf(rep.Months[0], "STH-D1"); sc.SourceClassIII != nil || sc.MeetsTarget == nil || *sc.MeetsTarget {
		t.Errorf("switched off: class Ⅲ %+v, meets_target %v; want null and false (Ⅲ against Ⅱ)", sc.SourceClassIII, sc.MeetsTarget)
	}
}

func boolStr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func joinSemi(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ";"
		}
		out += x
	}
	return out
}
