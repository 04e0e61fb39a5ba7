package incident

import (
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/sourcerank"
)

// searchStep is the action of an incident's upstream search step.
func searchStep(t *testing.T, e *Engine, eventID string) string {
	t.Helper()
	id, _ := e.IncidentOf(eventID)
	inc, _ := e.Get(id)
	for _, s := range inc.Steps {
		if strings.Contains(s.ID, ".search_upstream.") {
			return s.Action
		}
	}
	t.Fatalf("incident %s has no search step: %v", id, stepIDs(inc))
	return ""
}

func TestSearchStepsSayTheRankingOrWhyItHasNone(t *testing.T) {
	tests := []struct {
		name string
		src  *Sources // nil: HandleEvent, not ranked
		want []string
	}{
		{"ranked", &Sources{Outcome: SourcesOK, Text: "1. 支流源头断面 T1 0.93（氨氮在本断面上升前约50分钟上升）"},
			[]string{"溯源排序（按证据，先查前者）：1. 支流源头断面 T1 0.93（氨氮在本断面上升前约50分钟上升）"}},
		{"nothing rose upstream", &Sources{Outcome: SourcesNone}, []string{"未见与本次超标时间相符的浓度上升"}},
		{"the archive timed out", &Sources{Outcome: SourcesTimeout}, []string{"溯源排序（按证据，先查前者）：暂不可用（数据库查询超时），请查看GET /api/v1/incidents/", "/sources"}},
		{"the archive failed", &Sources{Outcome: SourcesError}, []string{"：暂不可用（数据库查询失败），请查看GET /api/v1/incidents/", "/sources"}},
		{"not ranked", nil, []string{"：未计算，请查看GET /api/v1/incidents/", "/sources"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, _ := newEngine(t)
			ev := exceed("ev1", "T2", "nh3n", 3.2, 1.0, t0)
			if !e.WantsSources(ev) {
				t.Fatal("a new section exceedance whose playbook searches upstream does not want its sources")
			}
			var got string
			var err error
			if tt.src != nil {
				got, _, err = e.HandleEventWithSources(ev, *tt.src)
			} else {
				got, _, err = e.HandleEvent(ev)
			}
			if err != nil || got != OutcomeOpened {
				t.Fatalf("= %s, %v", got, err)
			}
			id, _ := e.IncidentOf("ev1")
			inc, _ := e.Get(id)
			var initial string
			for _, s := range inc.Steps {
				if strings.Contains(s.ID, ".initial_report.") {
					initial = s.Action
				}
			}
			for _, action := range []string{searchStep(t, e, "ev1"), initial} {
				for _, w := range tt.want {
					if !strings.Contains(action, w) {
						t.Errorf("step %q does not say %q", action, w)
					}
				}
			}
			if e.WantsSources(ev) {
				t.Error("a replayed event wants its sources again")
			}
			// The next event of the incident is not this one's: its fact has no ranking.
			if e.sources != nil {
				t.Error("the ranking outlived its event")
			}
		})
	}
}

func TestOnlyNewExceedancesWithASearchStepWantSources(t *testing.T) {
	e, _ := newEngine(t)
	cleared := exceed("ev2", "T2", "nh3n", 0.5, 1.0, t0)
	cleared.Type = message.EventExceedanceCleared
	offline := message.Event{ID: "ev3", Type: message.EventStationOffline, Site: "T2", ObservedAt: t0}
	for _, ev := range []message.Event{cleared, offline, exceed("ev4", "nowhere", "nh3n", 3, 1, t0)} {
		if e.WantsSources(ev) {
			t.Errorf("%s at %s wants its sources", ev.Type, ev.Site)
		}
	}
}

func TestDescribeSourcesNamesTheBestCandidatesWithTheirReasons(t *testing.T) {
	e, _ := newEngine(t)
	lag := 84 * time.Minute
	rk := sourcerank.Ranking{Site: "T2", Lead: "nh3n", Candidates: []sourcerank.Candidate{
		{Site: "T1", Score: 0.931, Timing: 0.86, Signature: 1, OverLimit: 1, DischargeM3S: 0.6, ObservedLag: &lag,
			Lag:   sourcerank.Lag{Expected: 83 * time.Minute},
			Rises: []sourcerank.Rise{{Parameter: "tp", Rose: true}, {Parameter: "nh3n", Rose: true}}},
		{Site: "X9", Score: 0.161, Rises: []sourcerank.Rise{{Parameter: "nh3n", Rose: true}}},
		{Site: "M1", Score: 0.15, ObservedLag: &lag, Lag: sourcerank.Lag{Expected: 7 * time.Hour}, Rises: []sourcerank.Rise{{Parameter: "nh3n", Rose: true}}},
		{Site: "T3", Score: 0},
	}}
	text, ok := DescribeSources(e.net, rk)
	if !ok {
		t.Fatal("a ranking with evidence says none")
	}
	want := "1. 支流源头断面 T1 0.93（氨氮在本断面上升前约1.4小时上升，预计传播约1.4小时；总磷、氨氮同步上升；排放量约0.6m³/s；超过自身限值）; 2. X9 0.16（氨氮有上升，但时间与传播时间不符）; 3. 干流上游断面 M1 0.15（氨氮在本断面上升前约1.4小时上升，预计传播约7.0小时，时间不符）"
	if text != want {
		t.Errorf("text\n %s\nwant\n %s", text, want)
	}
	if _, ok := DescribeSources(e.net, sourcerank.Ranking{Candidates: []sourcerank.Candidate{{Site: "T1"}}}); ok {
		t.Error("a ranking without evidence says it has some")
	}
}
