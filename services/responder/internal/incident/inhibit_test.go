package incident

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
)

func TestInhibitionAndVerdictsFollowTheStationAndItsNeighbours(t *testing.T) {
	offline := message.Event{ID: "off1", Type: message.EventStationOffline, Site: "M2", ObservedAt: t0, EmittedAt: t0}
	suspect := func(param string) message.Event {
		return message.Event{ID: "sus1", Type: message.EventQualitySuspect, Site: "M2", Parameter: param, Reason: "range",
			ObservedAt: t0, EmittedAt: t0}
	}
	cases := []struct {
		name         string
		fault        *message.Event // the station's state before the jump
		upstreamJump bool           // T2, M2's upstream neighbour, exceeds too
		judged       string         // the plume's judgement at MD, downstream of M2
		// wantInhibited is a part of the reason the incident is inhibited for before the
		// judgement, "" when it is not.
		wantInhibited string
		wantVerdict   string
		wantConf      float64
		// After the judgement: whether the incident is still inhibited and whether a river
		// chief office gets an escalation.
		wantInhibitedAfter bool
		wantEscalation     bool
	}{
		{name: "offline station: maintenance only, alarms recorded as inhibited", fault: &offline,
			wantInhibited: "station M2 offline", wantInhibitedAfter: true},
		{name: "suspect series: maintenance only, alarms recorded as inhibited", fault: new(suspect("nh3n")),
			wantInhibited: "series M2/nh3n suspect", wantInhibitedAfter: true},
		{name: "a suspect other series inhibits nothing", fault: new(suspect("codmn"))},
		{name: "jump whose neighbours do not follow is a likely sensor fault", judged: message.EventPredictionRefuted,
			wantVerdict: message.VerdictSensorFaultLikely, wantConf: 0.7, wantInhibitedAfter: true},
		{name: "a likely sensor fault at an offline station is more likely", fault: &offline, judged: message.EventPredictionRefuted,
			wantInhibited: "station M2 offline", wantVerdict: message.VerdictSensorFaultLikely, wantConf: 0.9, wantInhibitedAfter: true},
		{name: "jump with the upstream neighbour jumping too is no sensor fault", upstreamJump: true, judged: message.EventPredictionRefuted},
		{name: "downstream following at the predicted time confirms pollution and lifts the inhibition", fault: &offline,
			judged: message.EventPredictionVerified, wantInhibited: "station M2 offline", wantVerdict: message.VerdictPollutionConfirmed,
			wantConf: 0.9, wantEscalation: true},
		{name: "a confirmation of an alarm nobody inhibited escalates nothing", judged: message.EventPredictionVerified,
			wantVerdict: message.VerdictPollutionConfirmed, wantConf: 0.9},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, clk := newEngine(t)
			var records []message.Notification
			keep := func(ch Changes) { records = append(records, notificationsOf(ch, statusInhibited)...) }
			if tc.fault != nil {
				keep(mustEvent(t, e, *tc.fault, OutcomeOpened))
			}
			clk.Advance(time.Minute)
			if tc.upstreamJump {
				keep(mustEvent(t, e, exceed("up", "T2", "nh3n", 3.0, 1.0, clk.t), OutcomeOpened))
			}
			want := OutcomeOpened
			if tc.upstreamJump {
				want = OutcomeGrouped
			}
			keep(mustEvent(t, e, exceed("jump", "M2", "nh3n", 3.2, 1.0, clk.t), want))
			id, _ := e.IncidentOf("jump")
			roles := map[string]bool{}
			for _, d := range deliverAll(e) {
				if d.IncidentID == id {
					roles[d.Role] = true
				}
			}

			inc, _ := e.Get(id)
			if got := strings.Join(inc.InhibitedBy, "; "); (tc.wantInhibited == "") != (got == "") || !strings.Contains(got, tc.wantInhibited) {
				t.Fatalf("inhibited by %q, want %q", got, tc.wantInhibited)
			}
			if tc.wantInhibited != "" {
				if roles[roleRiverChief] || !roles[roleMaintenance] || len(roles) != 1 {
					t.Errorf("an inhibited alarm told %v, want the maintenance unit only", roles)
				}
				var chiefs int
				for _, n := range records {
					if n.IncidentID != id {
						continue
					}
					if n.Recipient == "" || !strings.Contains(n.Error, tc.wantInhibited) {
						t.Errorf("inhibited record %+v does not say who and why", n)
					}
					if strings.Contains(n.Recipient, "/"+roleRiverChief+"/") {
						chiefs++
					}
				}
				if chiefs == 0 {
					t.Errorf("no record of the river chief offices not told: %+v", records)
				}
			} else if !roles[roleRiverChief] || roles[roleMaintenance] {
				t.Errorf("an alarm nobody inhibited told %v, want the river chief offices and not maintenance", roles)
			}

			if tc.judged == "" {
				return
			}
			clk.Advance(2 * time.Hour)
			ch := mustEvent(t, e, message.Event{ID: "judged", Type: tc.judged, Site: "MD", Parameter: "nh3n", Value: 0.2,
				OriginSite: "M2", OriginEventID: "jump", ArrivalAt: clk.t.Add(-10 * time.Minute), Reason: "as the plume said or not",
				ObservedAt: clk.t, EmittedAt: clk.t}, OutcomeGrouped)
			inc, _ = e.Get(id)
			switch {
			case tc.wantVerdict == "" && inc.Verdict != nil:
				t.Fatalf("verdict %+v, want none", inc.Verdict)
			case tc.wantVerdict != "" && (inc.Verdict == nil || inc.Verdict.Kind != tc.wantVerdict || inc.Verdict.Confidence != tc.wantConf ||
				len(inc.Verdict.Evidence) < 2 || !inc.Verdict.At.Equal(clk.t)):
				t.Fatalf("verdict %+v, want %s with confidence %.2f and its evidence", inc.Verdict, tc.wantVerdict, tc.wantConf)
			}
			if got := len(inc.InhibitedBy) > 0; got != tc.wantInhibitedAfter {
				t.Errorf("after %s: inhibited by %v, want inhibited %v", tc.judged, inc.InhibitedBy, tc.wantInhibitedAfter)
			}
			if tc.wantEscalation && !hasLog(ch, "inhibition_lifted") {
				t.Errorf("the inhibition lifted without it on the audit trail: %+v", logsOf(ch))
			}
			// Hours later, past every escalation delay: what was told after the judgement.
			clk.Advance(3 * time.Hour)
			e.Tick()
			after := deliverAll(e)
			clk.Advance(3 * time.Hour)
			e.Tick()
			after = append(after, deliverAll(e)...)
			var escalated, chiefTold bool
			for _, d := range after {
				if d.IncidentID != id {
					continue
				}
				if d.Role == roleRiverChief {
					chiefTold = true
				}
				if d.Kind == KindEscalation && d.Role == roleRiverChief && strings.Contains(d.Body, "污染已确认") {
					escalated = true
				}
				if tc.wantInhibitedAfter && d.Kind != KindMaintenanceNotice && d.Kind != KindEndOfAlert {
					t.Errorf("an inhibited incident sent %s to %s/%s", d.Kind, d.Jurisdiction, d.Role)
				}
			}
			if escalated != tc.wantEscalation {
				t.Errorf("escalation to the river chief sent %v, want %v (deliveries %+v)", escalated, tc.wantEscalation, after)
			}
			if tc.wantEscalation && !chiefTold {
				t.Errorf("the released alarm did not reach the river chief office")
			}
			if tc.wantVerdict == message.VerdictSensorFaultLikely && tc.wantInhibited == "" &&
				!slices.ContainsFunc(after, func(d Delivery) bool { return d.IncidentID == id && d.Kind == KindMaintenanceNotice }) {
				t.Errorf("a likely sensor fault did not tell the maintenance unit: %+v", after)
			}
		})
	}
}
