package incident

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
)

// Inhibition (Alertmanager's inhibit_rules, made topology-aware): a water-quality incident
// whose every alarm stands on a station that is offline or on a series judged suspect, or
// whose verdict is a sensor fault, is inhibited. Its messages are held and recorded as
// inhibited through the silences' machinery (who would have been told, and why not), it
// does not escalate, and the maintenance unit of the station is told instead. A
// pollution_confirmed verdict lifts the inhibition: the held messages go out and the river
// chief offices get an escalation.

const (
	// KindMaintenanceNotice is the message to the maintenance unit when an incident's
	// alarms are inhibited. Inhibition never holds it.
	KindMaintenanceNotice = "maintenance_notice"
	// roleMaintenance is the role that maintains stations: the station_maintenance
	// playbook's actor in configs/playbooks.yaml, named in configs/contacts.yaml.
	roleMaintenance = "maintenance"
	// roleRiverChief is the role a confirmed pollution escalates to.
	roleRiverChief = "river_chief_office"
)

// alarm reports whether an event type is a water-quality alarm that inhibition can hold.
func alarm(typ string) bool {
	switch typ {
	case message.EventExceedanceOpened, message.EventExceedanceUpdated, message.EventPredictionIssued:
		return true
	}
	return false
}

// inhibitedBy returns why an incident's alarms are inhibited now, sorted, or nil: the
// verdict says sensor fault, or every alarm of it is at (or predicted from) a site whose
// station is offline or whose series is suspect. A drill, a maintenance incident and a
// confirmed pollution are never inhibited.
func (e *Engine) inhibitedBy(st *State, fs faults) []string {
	inc := &st.Incident
	if st.Category != CategoryWaterQuality || inc.Drill || inc.Status == message.IncidentClosed || inc.Status == message.IncidentResolved {
		return nil
	}
	if inc.Verdict != nil && inc.Verdict.Kind == message.VerdictPollutionConfirmed {
		return nil
	}
	var out []string
	add := func(r string) {
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	if inc.Verdict != nil && inc.Verdict.Kind == message.VerdictSensorFaultLikely {
		add(fmt.Sprintf("verdict %s (confidence %.2f)", inc.Verdict.Kind, inc.Verdict.Confidence))
	}
	var alarmReasons []string
	all := true
	seen := false
	for i := range st.Facts {
		f := &st.Facts[i]
		if !alarm(f.Type) {
			continue
		}
		seen = true
		// A prediction inherits the state of the station it was computed from.
		site := f.Site
		if f.Type == message.EventPredictionIssued && f.Origin != "" {
			site = f.Origin
		}
		r := fs.of(site, f.Parameter)
		if r == "" {
			all = false
			break
		}
		if !slices.Contains(alarmReasons, r) {
			alarmReasons = append(alarmReasons, r)
		}
	}
	if seen && all {
		for _, r := range alarmReasons {
			add(r)
		}
	}
	slices.Sort(out)
	return out
}

// faults is what the open maintenance incidents say of the stations now: why a site's
// station is offline, and why a series (site|parameter, or site| for the whole station) is
// suspect. It is built once per engine call, so that inhibition costs one pass over the
// incidents, not one per alarm.
type faults struct {
	offline map[string]string
	suspect map[string]string
}

func (e *Engine) faults() faults {
	fs := faults{offline: map[string]string{}, suspect: map[string]string{}}
	for _, st := range e.sorted() {
		if st.Category != CategoryMaintenance {
			continue
		}
		if s := st.Incident.Status; s != message.IncidentOpen && s != message.IncidentAcknowledged {
			continue
		}
		for _, f := range st.Facts {
			switch {
			case f.Type == message.EventStationOffline && st.Active[activeKey(message.Event{Type: f.Type, Site: f.Site})]:
				if _, ok := fs.offline[f.Site]; !ok {
					fs.offline[f.Site] = fmt.Sprintf("station %s offline (incident %s)", f.Site, st.Incident.ID)
				}
			case f.Type == message.EventQualitySuspect:
				if k := f.Site + "|" + f.Parameter; fs.suspect[k] == "" {
					fs.suspect[k] = fmt.Sprintf("series %s/%s suspect: %s (incident %s)", f.Site, f.Parameter, f.Reason, st.Incident.ID)
				}
			}
		}
	}
	return fs
}

// of says why a site's series is not to be trusted now, or "".
func (fs faults) of(site, param string) string {
	if r := fs.offline[site]; r != "" {
		return r
	}
	if r := fs.suspect[site+"|"+param]; r != "" {
		return r
	}
	return fs.suspect[site+"|"]
}

// applyInhibition updates an incident's InhibitedBy, logs the change, tells the
// maintenance unit when the inhibition starts and restarts the escalation delays when it
// lifts. It reports whether the incident is inhibited now.
func (e *Engine) applyInhibition(t *tx, st *State, fs faults) bool {
	inh := e.inhibitedBy(st, fs)
	was := st.Incident.InhibitedBy
	if slices.Equal(inh, was) {
		return len(inh) > 0
	}
	t.touch(st)
	st.Incident.InhibitedBy = inh
	switch {
	case len(inh) == 0 && st.Incident.Status != message.IncidentOpen && st.Incident.Status != message.IncidentAcknowledged:
		t.log(st, "inhibition_ended", actorResponder, "resolved while inhibited (was: "+strings.Join(was, "; ")+")", "")
	case len(inh) == 0:
		restartDelays(t, st)
		t.log(st, "inhibition_lifted", actorResponder, "no longer inhibited (was: "+strings.Join(was, "; ")+"): held notifications are sent", "")
	default:
		t.log(st, "inhibited", actorResponder, "water-quality alarms inhibited, maintenance told: "+strings.Join(inh, "; "), "")
		if len(was) == 0 {
			e.tellMaintenance(t, st, inh)
		}
	}
	return len(inh) > 0
}

// restartDelays makes the escalation delays of steps nobody was told about run from now.
func restartDelays(t *tx, st *State) {
	for i := range st.Incident.Steps {
		step := &st.Incident.Steps[i]
		if ss := st.Steps[step.ID]; ss != nil && step.NotifiedAt == nil && ss.Created.Before(t.now) {
			ss.Created = t.now
		}
	}
}

// tellMaintenance queues the maintenance notice to the maintenance unit of the
// jurisdiction of every site of the incident's alarms.
func (e *Engine) tellMaintenance(t *tx, st *State, why []string) {
	var jurs []string
	for _, f := range st.Facts {
		if !alarm(f.Type) {
			continue
		}
		site := f.Site
		if f.Type == message.EventPredictionIssued && f.Origin != "" {
			site = f.Origin
		}
		if s, ok := e.net.Site(site); ok && !slices.Contains(jurs, s.Jurisdiction) {
			jurs = append(jurs, s.Jurisdiction)
		}
	}
	body := fmt.Sprintf("【运维】%s的水质告警已抑制（未通知河长）：%s。请核查站点与仪器并回复（事件 %s）。",
		e.siteName(st.Incident.Site), strings.Join(why, "；"), st.Incident.ID)
	for _, j := range jurs {
		e.enqueueRole(t, st, "", KindMaintenanceNotice, j, roleMaintenance, body, fmt.Sprintf("inhibit#%d", st.Round))
	}
}

func (e *Engine) siteName(id string) string {
	if s, ok := e.net.Site(id); ok && s.Name != "" {
		return s.Name
	}
	return id
}

// judge builds the incident's verdict from a prediction.verified or .refuted at a site
// downstream of the jump: verified is pollution_confirmed (it lifts an inhibition, with an
// escalation to the river chief offices); refuted, while the upstream neighbour did not
// jump either, is sensor_fault_likely. A confirmation is never overturned by a refutation.
func (e *Engine) judge(t *tx, st *State, ev message.Event) {
	inc := &st.Incident
	origin := ev.OriginSite
	if origin == "" {
		origin = inc.Site
	}
	var jump *Fact
	for i := range st.Facts {
		f := &st.Facts[i]
		if f.Site == origin && (f.Type == message.EventExceedanceOpened || f.Type == message.EventExceedanceUpdated) && (ev.Parameter == "" || f.Parameter == ev.Parameter) {
			jump = f
			break
		}
	}
	evidence := []string{}
	if jump != nil {
		evidence = append(evidence, fmt.Sprintf("%s jumped: %s %s (limit %s) at %s", origin, jump.Parameter, num(jump.Value), num(jump.Limit), jump.At.Format(time.RFC3339)))
	}
	down := fmt.Sprintf("downstream %s", ev.Site)
	if rc, ok := reachTo(e.net.Downstream(origin), ev.Site); ok {
		down = fmt.Sprintf("downstream %s (%.0f km, travel %s)", ev.Site, rc.DistanceKm, human(rc.Travel))
	}
	switch ev.Type {
	case message.EventPredictionVerified:
		wasInhibited := len(inc.InhibitedBy) > 0
		evidence = append(evidence, fmt.Sprintf("%s followed at the predicted time (expected %s): %s", down, ev.ArrivalAt.Format(time.RFC3339), ev.Reason))
		inc.Verdict = &message.Verdict{Kind: message.VerdictPollutionConfirmed, Confidence: 0.9, Evidence: evidence, At: t.now}
		t.log(st, "verdict", actorResponder, verdictLine(inc.Verdict), "")
		if wasInhibited {
			e.escalateConfirmed(t, st, origin, ev.Site)
		}
	case message.EventPredictionRefuted:
		if inc.Verdict != nil && inc.Verdict.Kind == message.VerdictPollutionConfirmed {
			return
		}
		up, upJumped := e.upstreamNeighbour(st, origin, ev.Parameter)
		if upJumped {
			t.log(st, "verdict_withheld", actorResponder, fmt.Sprintf("%s did not follow, but upstream %s jumped too: no sensor fault", down, up), "")
			return
		}
		conf := 0.5 // a headwater station: no upstream neighbour to compare with
		if up != "" {
			conf = 0.7
			evidence = append(evidence, fmt.Sprintf("upstream neighbour %s did not jump", up))
		} else {
			evidence = append(evidence, "no upstream neighbour to compare with")
		}
		evidence = append(evidence, fmt.Sprintf("%s did not follow after the travel time (expected %s): %s", down, ev.ArrivalAt.Format(time.RFC3339), ev.Reason))
		if r := e.faults().of(origin, ev.Parameter); r != "" {
			conf += 0.2
			evidence = append(evidence, r)
		}
		inc.Verdict = &message.Verdict{Kind: message.VerdictSensorFaultLikely, Confidence: math.Round(conf*100) / 100, Evidence: evidence, At: t.now}
		t.log(st, "verdict", actorResponder, verdictLine(inc.Verdict), "")
	}
}

func verdictLine(v *message.Verdict) string {
	return fmt.Sprintf("%s (confidence %.2f): %s", v.Kind, v.Confidence, strings.Join(v.Evidence, "; "))
}

func reachTo(rs []network.Reach, site string) (network.Reach, bool) {
	for _, rc := range rs {
		if rc.Site.ID == site {
			return rc, true
		}
	}
	return network.Reach{}, false
}

// upstreamNeighbour returns the nearest site upstream of origin and whether the incident
// holds an exceedance of the parameter there ("" when origin is a headwater).
func (e *Engine) upstreamNeighbour(st *State, origin, param string) (string, bool) {
	ups := e.net.Upstream(origin)
	if len(ups) == 0 {
		return "", false
	}
	u := ups[0].Site.ID
	for _, f := range st.Facts {
		if f.Site == u && (f.Type == message.EventExceedanceOpened || f.Type == message.EventExceedanceUpdated) && (param == "" || f.Parameter == param) {
			return u, true
		}
	}
	return u, false
}

// escalateConfirmed tells the river chief offices of the jump's and the confirming site's
// jurisdictions that the inhibited alarm is a confirmed pollution.
func (e *Engine) escalateConfirmed(t *tx, st *State, origin, confirmed string) {
	body := fmt.Sprintf("【升级】%s的告警曾因站点状态被抑制，下游%s已在预测时间出现同一污染：污染已确认，请立即处置（事件 %s）。",
		e.siteName(origin), e.siteName(confirmed), st.Incident.ID)
	var jurs []string
	for _, id := range []string{origin, confirmed} {
		if s, ok := e.net.Site(id); ok && !slices.Contains(jurs, s.Jurisdiction) {
			jurs = append(jurs, s.Jurisdiction)
		}
	}
	for _, j := range jurs {
		e.enqueueRole(t, st, "", KindEscalation, j, roleRiverChief, body, "confirmed")
	}
}
