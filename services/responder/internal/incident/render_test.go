package incident

import (
	"strings"
	"testing"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
)

func TestMultipleTextRoundsToTheOneDecimalOfTheMethod(t *testing.T) {
	for _, tc := range []struct {
		name, param string
		multiple    float64
		want        string
	}{
		{"binary remainder is not printed", "nh3n", (1.6 - 1.0) / 1.0, "0.6"},
		{"half rounds away from zero", "codmn", (7.5 - 6) / 6, "0.3"},
		{"one decimal", "nh3n", 2.2, "2.2"},
		{"1.25 rounds up", "tp", 1.25, "1.3"},
		{"within the limit has none", "nh3n", -0.2, ""},
		{"not exceeding has none", "nh3n", 0, ""},
		{"DO has none", "do", 0.4, ""},
		{"pH has none", "ph", 0.4, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := multipleText(tc.param, tc.multiple); got != tc.want {
				t.Errorf("multipleText(%s, %v) = %q, want %q", tc.param, tc.multiple, got, tc.want)
			}
		})
	}
}

func TestExceedanceTextFollowsTheDirectionOfTheLimit(t *testing.T) {
	section := &network.Site{ID: "S", Kind: network.KindSection, TargetClass: "III"}
	source := &network.Site{ID: "D", Kind: network.KindDrinkingSource, TargetClass: "II"}
	outfall := &network.Site{ID: "O", Kind: network.KindOutfall}
	for _, tc := range []struct {
		name     string
		site     *network.Site
		param    string
		limit    float64
		multiple float64
		unit     string
		want     string
	}{
		{"upper limit at a Class III section", section, "nh3n", 1.0, 2.2, "mg/L", "超过III类标准限值（≤1mg/L），超标2.2倍"},
		{"multiple with a binary remainder", section, "nh3n", 1.0, (1.6 - 1.0) / 1.0, "mg/L", "超过III类标准限值（≤1mg/L），超标0.6倍"},
		{"multiple rounding to nothing", section, "nh3n", 1.0, 0.02, "mg/L", "超过III类标准限值（≤1mg/L），超标不足0.1倍"},
		{"dissolved oxygen is a lower limit", section, "do", 5, 0, "mg/L", "低于III类标准限值（≥5mg/L）"},
		{"dissolved oxygen at a Class II source", source, "do", 6, 0, "mg/L", "低于II类标准限值（≥6mg/L）"},
		{"pH below its range", section, "ph", 6, 0, "", "超出6～9范围"},
		{"pH above its range at an outfall", outfall, "ph", 9, 0, "", "超出6～9范围"},
		{"source above Class III: the multiple says its baseline", source, "nh3n", 0.5, 0.6, "mg/L", "超过II类标准限值（≤0.5mg/L），超III类标准0.6倍"},
		{"source within Class III has no multiple", source, "nh3n", 0.5, 0, "mg/L", "超过II类标准限值（≤0.5mg/L）"},
		{"Table 2 item at a source: against its single limit", source, "sulfate", 250, 0.2, "mg/L", "超过II类标准限值（≤250mg/L），超标0.2倍"},
		{"outfall against its permit", outfall, "cod", 50, 0.5, "mg/L", "超过排放限值（≤50mg/L），超标0.5倍"},
		{"unknown site", nil, "cod", 20, 1.5, "mg/L", "超过标准限值（≤20mg/L），超标1.5倍"},
		{"no limit: no judgement to word", section, "do", 0, 0, "mg/L", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := exceedanceText(tc.site, tc.param, tc.limit, tc.multiple, tc.unit); got != tc.want {
				t.Errorf("exceedanceText = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestStepTextsSayHowEachParameterBreaksItsLimit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ev    message.Event
		wants []string
	}{
		{
			name: "dissolved oxygen too low",
			ev: message.Event{ID: "do1", Type: message.EventExceedanceOpened, Site: "T2", Parameter: "do",
				Value: 3.2, Limit: 5, Severity: "warning", ObservedAt: t0, EmittedAt: t0},
			wants: []string{
				"支流甲市断面（支流）溶解氧超标：实测3.2mg/L，低于III类标准限值（≥5mg/L）。请立即组织现场核实",
				"支流甲市断面溶解氧超标（IV级）：实测3.2mg/L，低于III类标准限值（≥5mg/L）。请排查本辖区",
			},
		},
		{
			name: "pH out of range",
			ev: message.Event{ID: "ph1", Type: message.EventExceedanceOpened, Site: "T2", Parameter: "ph",
				Value: 5.6, Limit: 6, Severity: "warning", ObservedAt: t0, EmittedAt: t0},
			wants: []string{
				"支流甲市断面（支流）pH值超标：实测5.6，超出6～9范围。请立即组织现场核实",
			},
		},
		{
			name: "ammonia above Class III",
			ev: message.Event{ID: "nh1", Type: message.EventExceedanceOpened, Site: "T2", Parameter: "nh3n",
				Value: 1.6, Limit: 1, Multiple: (1.6 - 1.0) / 1.0, Severity: "warning", ObservedAt: t0, EmittedAt: t0},
			wants: []string{
				"支流甲市断面（支流）氨氮超标：实测1.6mg/L，超过III类标准限值（≤1mg/L），超标0.6倍。请立即组织现场核实",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := newEngine(t)
			mustEvent(t, e, tc.ev, OutcomeOpened)
			var bodies []string
			for _, d := range deliverAll(e) {
				bodies = append(bodies, d.Body)
			}
			all := strings.Join(bodies, "\n")
			for _, want := range tc.wants {
				if !strings.Contains(all, want) {
					t.Errorf("no text says %q:\n%s", want, all)
				}
			}
			for _, bad := range []string{"0.00倍", "0.0倍", "超标—倍", "6000000"} {
				if strings.Contains(all, bad) {
					t.Errorf("a text says %q:\n%s", bad, all)
				}
			}
		})
	}
}
