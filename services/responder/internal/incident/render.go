package incident

import (
	"fmt"
	"strconv"
	"time"

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
		v["multiple"] = strconv.FormatFloat(f.Multiple, 'f', 2, 64)
	}
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
