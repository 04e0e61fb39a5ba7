package incident

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/sourcerank"
	"github.com/riverwatch/riverwatch/pkg/standard"
)

// Outcomes of ranking the upstream sources of an exceedance for its search step
// ({sources}; docs/sources.md).
const (
	SourcesOK      = "ok"      // ranked, at least one candidate with evidence
	SourcesNone    = "none"    // ranked, no candidate with evidence
	SourcesTimeout = "timeout" // the archive did not answer within responder.sources_timeout
	SourcesError   = "error"   // the archive or the ranking failed
)

// sourcesTop is how many candidates the step names.
const sourcesTop = 3

// Sources is the upstream ranking of an exceedance as its steps say it. The responder
// ranks (it reads the archive); the engine, which does no I/O, keeps it on the event's
// fact, so the step text is the same after a restart.
type Sources struct {
	Outcome string `json:"outcome"`
	Text    string `json:"text,omitempty"` // the ranking in words, when Outcome is SourcesOK
}

// SourcesPlaceholder is the step-text placeholder of the ranking.
const SourcesPlaceholder = "{sources}"

// WantsSources reports whether an event needs its upstream ranking before HandleEvent: an
// exceedance.opened not seen before whose playbook has a step that says {sources}.
func (e *Engine) WantsSources(ev message.Event) bool {
	if ev.Type != message.EventExceedanceOpened || ev.ID == "" {
		return false
	}
	if _, dup := e.byEvent[ev.ID]; dup {
		return false
	}
	site, ok := e.net.Site(ev.Site)
	if !ok {
		return false
	}
	pb := e.books.Match(&ev, site)
	if pb == nil {
		return false
	}
	for _, s := range pb.Steps {
		if strings.Contains(s.Action, SourcesPlaceholder) {
			return true
		}
	}
	return false
}

// HandleEventWithSources is HandleEvent with the event's upstream ranking, which the
// steps it creates say in {sources}.
func (e *Engine) HandleEventWithSources(ev message.Event, src Sources) (string, Changes, error) {
	e.sources = &src
	defer func() { e.sources = nil }()
	return e.HandleEvent(ev)
}

// sourcesText is the {sources} placeholder of fact f in incident id: the ranking, what it
// found, or that it is unavailable and where to read it.
func sourcesText(f *Fact, id string) string {
	route := "GET /api/v1/incidents/" + id + "/sources"
	switch {
	case f.Sources == nil:
		return "未计算，请查看" + route
	case f.Sources.Outcome == SourcesOK:
		return f.Sources.Text
	case f.Sources.Outcome == SourcesNone:
		return "上游各监测点未见与本次超标时间相符的浓度上升，请按距离由近及远排查"
	case f.Sources.Outcome == SourcesTimeout:
		return "暂不可用（数据库查询超时），请查看" + route
	}
	return "暂不可用（数据库查询失败），请查看" + route
}

// DescribeSources says a ranking for a step: its best candidates with evidence (score
// above 0), at most three, each with its name, id, score and the reasons, e.g.
// "1. 昌吉市污水处理厂入河排污口 STH-O1 0.93（氨氮在本断面上升前约1.4小时上升，预计传播约1.4小时；氨氮、总磷同步上升；超过自身排放限值）".
// ok is false when no candidate has any evidence.
func DescribeSources(net *network.Network, rk sourcerank.Ranking) (text string, ok bool) {
	var parts []string
	for _, c := range rk.Candidates {
		if c.Score <= 0 || len(parts) == sourcesTop {
			continue
		}
		name := c.Site
		if s, ok := net.Site(c.Site); ok && s.Name != "" {
			name = s.Name + " " + c.Site
		}
		parts = append(parts, fmt.Sprintf("%d. %s %s（%s）", len(parts)+1, name,
			strconv.FormatFloat(c.Score, 'f', 2, 64), strings.Join(reasons(rk, c), "；")))
	}
	return strings.Join(parts, "; "), len(parts) > 0
}

// reasons are the evidence of one candidate in words.
func reasons(rk sourcerank.Ranking, c sourcerank.Candidate) []string {
	var out, rose []string
	lead := ""
	for _, r := range c.Rises {
		if !r.Rose {
			continue
		}
		rose = append(rose, paramZH(r.Parameter))
		if lead == "" || r.Parameter == rk.Lead {
			lead = r.Parameter
		}
	}
	switch {
	case c.ObservedLag != nil && *c.ObservedLag > 0 && lead != "":
		r := fmt.Sprintf("%s在本断面上升前约%s上升，预计传播约%s", paramZH(lead), human(*c.ObservedLag), human(c.Lag.Expected))
		if c.Timing == 0 {
			r += "，时间不符"
		}
		out = append(out, r)
	case lead != "":
		out = append(out, paramZH(lead)+"有上升，但时间与传播时间不符")
	}
	if c.Signature >= 0.5 && len(rose) > 1 {
		out = append(out, strings.Join(rose, "、")+"同步上升")
	}
	if c.DischargeM3S > 0 {
		out = append(out, "排放量约"+num(c.DischargeM3S)+"m³/s")
	}
	if c.OverLimit > 0 {
		out = append(out, "超过自身限值")
	}
	if len(out) == 0 {
		out = append(out, "证据较弱")
	}
	return out
}

// paramZH is a parameter's Chinese name, else its code.
func paramZH(code string) string {
	if zh, _ := standard.Describe(code); zh != "" {
		return zh
	}
	return code
}
