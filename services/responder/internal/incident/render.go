package incident

import (
	"fmt"
	"strconv"
	"time"

	"github.com/riverwatch/riverwatch/pkg/evaluate"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/standard"
	"github.com/riverwatch/riverwatch/services/responder/internal/playbook"
)

// vars are the placeholder values for a message about fact f, sent to target tg (nil for
// messages that are not about one step).
func (e *Engine) vars(st *State, f *Fact, tg *playbook.Target, deadline, now time.Time) map[string]string {
	loc := e.net.Location
	v := map[string]string{
		"incident": st.Incident.ID,
		"title":    st.Incident.Title,
		"level":    st.Incident.Level,
		"colour":   playbook.ColourNames[st.Incident.Colour],
		"now":      now.In(loc).Format("2006-01-02 15:04"),
	}
	if r, ok := e.net.River(st.Incident.River); ok {
		v["river"] = r.Name
	}
	if !deadline.IsZero() {
		v["deadline"] = deadline.In(loc).Format("01月02日15:04")
	}
	if f == nil {
		return v
	}
	v["site"] = f.Site
	if s, ok := e.net.Site(f.Site); ok {
		v["site_name"] = s.Name
		if r, ok := e.net.River(s.River); ok {
			v["river"] = r.Name
		}
	}
	if o, ok := e.net.Site(f.Origin); ok {
		v["origin_site_name"] = o.Name
	}
	v["parameter"] = f.Parameter
	v["parameter_name"] = e.paramName(f.Parameter)
	if f.Parameter != "" {
		v["value"] = num(f.Value)
		v["limit"] = num(f.Limit)
		v["unit"] = standard.CanonicalUnit(f.Parameter)
		if v["unit"] == "1" {
			v["unit"] = ""
		}
		v["multiple"] = multipleText(f.Parameter, f.Multiple)
		site, _ := e.net.Site(f.Site)
		v["exceedance"] = exceedanceText(site, f.Parameter, f.Limit, f.Multiple, v["unit"])
	}
	v["sources"] = sourcesText(f, st.Incident.ID)
	v["reason"] = f.Reason
	if v["reason"] == "" {
		switch f.Type {
		case message.EventStationOffline:
			v["reason"] = "站点离线，未按时上报数据"
		case message.EventQualitySuspect:
			v["reason"] = "监测数据可疑"
		}
	}
	if !f.Arrival.IsZero() && (tg == nil || tg.Site == nil || tg.Site.ID == f.Site) {
		v["arrival"] = f.Arrival.In(loc).Format("01月02日15:04")
	}
	v["window"] = window(f, tg, v["arrival"], loc)
	v["interception"] = e.interception(f, tg, now)
	if tg != nil {
		v["jurisdiction"] = tg.Jurisdiction
		v["jurisdiction_name"] = e.jurName(tg.Jurisdiction)
		if tg.Site != nil {
			v["target_site_name"] = tg.Site.Name
			if tg.Site.ID != f.Site {
				v["distance_km"] = strconv.FormatFloat(tg.DistanceKm, 'f', 1, 64)
				base := f.At
				if !f.Arrival.IsZero() {
					base = f.Arrival
				}
				v["arrival"] = fmt.Sprintf("%s（约%s后）", base.Add(tg.Travel).In(loc).Format("01月02日15:04"), human(tg.Travel))
			}
		}
	}
	return v
}

// multipleText is the over-standard multiple as the evaluation method prints it, with one
// decimal (evaluate.RoundMultiple: 1.25 → "1.3"); "" where none is computed (DO, pH, water
// temperature) or the value does not exceed, so that no text says "超标0.0倍".
func multipleText(param string, m float64) string {
	if m <= 0 || noMultiple(param) {
		return ""
	}
	return strconv.FormatFloat(evaluate.RoundMultiple(m), 'f', 1, 64)
}

// noMultiple reports the parameters with a limit for which the method computes no multiple:
// pH (a range) and DO (a lower limit) (环办〔2011〕22号, facts §2.4). Water temperature has
// no limit, so no multiple either.
func noMultiple(param string) bool {
	_, kind, ok := standard.ClassLimit(param, standard.ClassIII, standard.River)
	return param == "ph" || (ok && kind == standard.LimitLower)
}

// exceedanceText says how a value breaks its limit, in the words of the direction of the
// limit (facts §0 item 3), for the {exceedance} placeholder:
//
//   - pH, a range: "超出6～9范围";
//   - DO, a lower limit: "低于III类标准限值（≥5mg/L）" (no multiple: the method computes none);
//   - an upper limit: "超过III类标准限值（≤1mg/L），超标2.2倍"; at a site whose target is not
//     Ⅲ the multiple is still against Ⅲ and says so ("…，超III类标准0.6倍"), at an outfall it
//     is against the permit ("超过排放限值（≤5mg/L），超标1.2倍"); a multiple that rounds to
//     0.0 reads "不足0.1倍", and none (within Ⅲ, or not computed) leaves the limit alone.
func exceedanceText(site *network.Site, param string, limit, multiple float64, unit string) string {
	if param == "ph" {
		return fmt.Sprintf("超出%s～%s范围", num(standard.PHMin), num(standard.PHMax))
	}
	if limit <= 0 { // not a judgement against a limit (a suspect reading, say)
		return ""
	}
	class, outfall := "", false
	if site != nil {
		class, outfall = site.TargetClass, site.Kind == network.KindOutfall
	}
	std := "标准限值"
	switch {
	case outfall:
		std = "排放限值"
	case class != "":
		std = class + "类标准限值"
	}
	_, kind, classItem := standard.ClassLimit(param, standard.ClassIII, standard.River)
	if classItem && kind == standard.LimitLower && !outfall {
		return fmt.Sprintf("低于%s（≥%s%s）", std, num(limit), unit)
	}
	text := fmt.Sprintf("超过%s（≤%s%s）", std, num(limit), unit)
	m := multipleText(param, multiple)
	if m == "" {
		return text
	}
	if m == "0.0" {
		m = "不足0.1"
	}
	// A Table 2/3 item's multiple is against its single limit, an outfall's against its
	// permit: both are the limit named (and a site of no known class names no other).
	if outfall || class == "III" || class == "" || !classItem {
		return text + "，超标" + m + "倍"
	}
	return text + "，超III类标准" + m + "倍"
}

func human(d time.Duration) string {
	if d < time.Hour {
		return fmt.Sprintf("%d分钟", int(d.Round(time.Minute)/time.Minute))
	}
	return strconv.FormatFloat(d.Hours(), 'f', 1, 64) + "小时"
}

// num formats a measured value with up to four significant digits.
func num(x float64) string {
	return strconv.FormatFloat(x, 'g', 4, 64)
}

func (e *Engine) paramName(code string) string {
	if code == "" {
		return ""
	}
	if zh, _ := standard.Describe(code); zh != "" {
		return zh
	}
	return code
}

func (e *Engine) jurName(id string) string {
	if j, ok := e.net.Jurisdiction(id); ok && j.Name != "" {
		return j.Name
	}
	return id
}

func (e *Engine) title(ev message.Event, site *network.Site) string {
	p := e.paramName(ev.Parameter)
	switch ev.Type {
	case message.EventPredictionIssued:
		return fmt.Sprintf("%s面临上游%s污染威胁", site.Name, p)
	case message.EventStationOffline:
		return site.Name + "监测站离线"
	case message.EventQualitySuspect:
		return site.Name + "监测数据可疑"
	}
	if site.Kind == network.KindOutfall {
		return fmt.Sprintf("%s%s超标排放", site.Name, p)
	}
	return fmt.Sprintf("%s%s超标", site.Name, p)
}

func (e *Engine) subject(st *State) string {
	s := "【运维】" + st.Incident.Title
	if st.Incident.Level != "" {
		s = fmt.Sprintf("【%s级·%s预警】%s", st.Incident.Level, playbook.ColourNames[st.Incident.Colour], st.Incident.Title)
	}
	if st.Incident.Drill {
		s = drillPrefix + s
	}
	return s
}
