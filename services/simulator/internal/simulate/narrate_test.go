package simulate

import (
	"bytes"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
)

// spillStory feeds a narrator the records a working pipeline publishes for the spill, in
// the order given, and returns the narrator and what it printed.
func spillStory(t *testing.T, skip ...string) (*Narrator, string) {
	t.Helper()
	net := repoNetwork(t)
	sc := repoScenario(t, net, "spill")
	var out bytes.Buffer
	n := NewNarrator(sc.Story, net, &out)
	t0 := time.Date(2026, 11, 28, 18, 0, 0, 0, time.UTC)
	ptr := func(t time.Time) *time.Time { return &t }
	inc := message.Incident{ID: "inc-1", Version: 1, Title: "三屯河氨氮超标", Status: message.IncidentOpen, Level: "IV", Colour: "blue",
		Playbook: "section_exceedance", Site: "STH-S2", Sites: []string{"STH-S2"}, Jurisdictions: []string{"changji", "xpcc6"}, OpenedAt: t0}
	steps := map[string]func(){
		"reading-normal": func() {
			n.Reading(message.Reading{Site: "STH-O1", Parameter: "nh3n", Value: 1.2, Unit: "mg/L", ObservedAt: t0.Add(-time.Hour)})
		},
		"reading": func() {
			n.Reading(message.Reading{Site: "STH-O1", Parameter: "nh3n", Value: 29.8, Unit: "mg/L", Source: "hj212", Interval: "rtd", ObservedAt: t0.Add(-50 * time.Minute)})
		},
		"outfall": func() {
			n.Event(message.Event{ID: "e0", Type: message.EventExceedanceOpened, Site: "STH-O1", Parameter: "nh3n", Value: 29.8, Limit: 5, Multiple: 4.96, ObservedAt: t0.Add(-45 * time.Minute)})
		},
		"exceedance": func() {
			n.Event(message.Event{ID: "e1", Type: message.EventExceedanceOpened, Site: "STH-S2", Parameter: "nh3n", Value: 3.4, Limit: 1,
				Class: "劣V", TargetClass: "III", Multiple: 2.4, ObservedAt: t0, EmittedAt: t0, ReadingReceivedAt: t0.Add(-250 * time.Millisecond)})
		},
		"prediction": func() {
			n.Event(message.Event{ID: "e2", Type: message.EventPredictionIssued, Site: "STH-D2", Parameter: "nh3n", PredictedValue: 3.3,
				OriginSite: "STH-S2", DistanceKm: 12, ArrivalAt: t0.Add(4 * time.Hour), ObservedAt: t0, EmittedAt: t0,
				Prediction: message.Prediction{Site: "STH-D2", Origin: "STH-S2", Interception: message.Interception{
					Space: "STH-G1", Name: "三屯河城北拦河节制闸", Kind: "sluice", Km: 74, River: "santun", ToIntakeKm: 8,
					ActBy: t0.Add(49*time.Minute + 27*time.Second), TimeLeftS: 2967}}})
		},
		"incident": func() { n.Update(message.IncidentUpdate{Kind: message.UpdateIncident, Incident: &inc}) },
		"notification": func() {
			n.Update(message.IncidentUpdate{Kind: message.UpdateNotification, Notification: &message.Notification{
				Key: "k1", IncidentID: "inc-1", Kind: "assign", Channel: "wecom", Recipient: "昌吉市河长办值班室", Subject: "断面超标", Status: "sent", At: t0}})
			n.Update(message.IncidentUpdate{Kind: message.UpdateNotification, Notification: &message.Notification{
				Key: "k2", IncidentID: "inc-1", Kind: "warning", Channel: "wecom", Recipient: "兵团第六师河长办值班室", Subject: "预警", Status: "sent", At: t0}})
		},
		"acknowledgement": func() {
			acked := inc
			acked.Version, acked.Status, acked.AckedAt = 3, message.IncidentAcknowledged, ptr(t0.Add(time.Minute))
			n.Update(message.IncidentUpdate{Kind: message.UpdateIncident, Incident: &acked})
		},
		"recovery": func() {
			n.Event(message.Event{ID: "e3", Type: message.EventExceedanceCleared, Site: "STH-S2", Parameter: "nh3n", Value: 0.25, Class: "II", TargetClass: "III", ObservedAt: t0.Add(time.Hour)})
		},
		"resolved": func() {
			res := inc
			res.Version, res.Status, res.AckedAt, res.ResolvedAt = 9, message.IncidentResolved, ptr(t0.Add(time.Minute)), ptr(t0.Add(2*time.Minute))
			n.Update(message.IncidentUpdate{Kind: message.UpdateIncident, Incident: &res})
		},
		"end_of_alert": func() {
			n.Update(message.IncidentUpdate{Kind: message.UpdateNotification, Notification: &message.Notification{
				Key: "k9", IncidentID: "inc-1", Kind: "end_of_alert", Channel: "wecom", Recipient: "昌吉市河长办值班室", Subject: "解除预警", Status: "sent", At: t0}})
		},
	}
	order := []string{"reading-normal", "reading", "outfall", "exceedance", "prediction", "incident", "notification", "acknowledgement", "recovery", "resolved", "end_of_alert"}
	for _, s := range order {
		if !contains(skip, s) {
			steps[s]()
		}
	}
	return n, out.String()
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestNarratorTellsTheWholeSpillStory(t *testing.T) {
	n, out := spillStory(t)
	if !n.Complete() {
		t.Fatalf("story incomplete, missing %v:\n%s", n.Missing(), out)
	}
	var got []string
	for _, b := range n.Beats() {
		got = append(got, b.Step)
	}
	want := []string{StepReading, StepExceedance, StepPrediction, StepIncident, StepNotified, StepAcknowledge, StepRecovery, StepResolved, StepEndOfAlert}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("beats %v, want %v", got, want)
	}
	for _, line := range []string{
		"① 读数", "STH-O1 昌吉市污水处理厂入河排污口: 氨氮", "29.8 mg/L",
		"② 超标", "STH-S2 三屯河城区下游断面", "class 劣V (target III, limit 1)", "2.4× over", "[250ms after the reading]",
		"③ 预测", "≈3.3 mg/L", "from STH-S2, 12 km upstream",
		"; intercept at STH-G1 三屯河城北拦河节制闸 (sluice, santun km 74, 8 km above the intake) by ", ", 0h49m left",
		"④ 启动事件", "inc-1", "changji, xpcc6",
		"⑤ 通知", "兵团第六师河长办值班室", // the second notification, as an aside
		"⑥ 确认", "⑦ 水质恢复", "⑧ 事件解除", "⑨ 解除预警",
		"· 超标 Exceedance: STH-O1", // the outfall's own exceedance is told beside the story
	} {
		if !strings.Contains(out, line) {
			t.Errorf("narration lacks %q:\n%s", line, out)
		}
	}
	if b, _ := n.Beat(StepExceedance); b.Site != "STH-S2" || b.Sim.IsZero() {
		t.Errorf("exceedance beat = %+v", b)
	}
}

func TestNarratorNamesTheMissingSteps(t *testing.T) {
	n, _ := spillStory(t, "acknowledgement", "resolved", "end_of_alert")
	if n.Complete() {
		t.Fatal("story complete without an acknowledgement")
	}
	if got := strings.Join(n.Missing(), ","); got != "acknowledgement,resolved,end_of_alert" {
		t.Errorf("missing %s", got)
	}
	var sum bytes.Buffer
	n.Summary(&sum)
	if !strings.Contains(sum.String(), "missing acknowledgement, resolved, end_of_alert") {
		t.Errorf("summary %q", sum.String())
	}
}

func TestNarratorIgnoresReplaysAndOtherIncidents(t *testing.T) {
	net := repoNetwork(t)
	sc := repoScenario(t, net, "spill")
	var out bytes.Buffer
	n := NewNarrator(sc.Story, net, &out)
	var called atomic.Int32
	ids := make(chan string, 2)
	n.OnIncident = func(id string) { called.Add(1); ids <- id }
	t0 := time.Now()
	other := message.Incident{ID: "elsewhere", Version: 1, Status: message.IncidentOpen, Site: "TTH-S2", Sites: []string{"TTH-S2"}, OpenedAt: t0}
	drill := message.Incident{ID: "drill", Version: 1, Status: message.IncidentOpen, Site: "STH-S2", Sites: []string{"STH-S2"}, Drill: true, OpenedAt: t0}
	ours := message.Incident{ID: "ours", Version: 2, Status: message.IncidentOpen, Site: "STH-O1", Sites: []string{"STH-O1", "STH-S2"}, OpenedAt: t0}
	for _, inc := range []message.Incident{other, drill, ours} {
		n.Update(message.IncidentUpdate{Kind: message.UpdateIncident, Incident: &inc})
	}
	stale := ours
	stale.Version = 1
	stale.Status = message.IncidentAcknowledged
	stale.AckedAt = &t0
	n.Update(message.IncidentUpdate{Kind: message.UpdateIncident, Incident: &stale})
	if n.IncidentID() != "ours" {
		t.Fatalf("story incident = %q, want the one at the story's sites that is no drill", n.IncidentID())
	}
	if _, ok := n.Beat(StepAcknowledge); ok {
		t.Error("an older snapshot (version 1 after 2) counted as the acknowledgement")
	}
	select {
	case id := <-ids:
		if id != "ours" {
			t.Errorf("OnIncident(%q)", id)
		}
	case <-time.After(time.Second):
		t.Fatal("OnIncident not called")
	}
	if called.Load() != 1 {
		t.Errorf("OnIncident called %d times", called.Load())
	}
}

func TestNumPrintsThreeSignificantDigits(t *testing.T) {
	tests := map[float64]string{3.4249: "3.42", 29.84: "29.8", 0.25: "0.25", 1234.6: "1235", 0: "0", 12: "12", 0.0123: "0.0123"}
	for v, want := range tests {
		if got := num(v); got != want {
			t.Errorf("num(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestNarratorTellsOneMessageToManyRecipientsOnce(t *testing.T) {
	net := repoNetwork(t)
	sc := repoScenario(t, net, "spill")
	var out bytes.Buffer
	n := NewNarrator(sc.Story, net, &out)
	now := time.Date(2026, 11, 29, 2, 0, 0, 0, time.UTC)
	n.now = func() time.Time { return now }
	note := func(key, kind, to, subject string) {
		n.Update(message.IncidentUpdate{Kind: message.UpdateNotification, Notification: &message.Notification{
			Key: key, IncidentID: "other", Kind: kind, Recipient: to, Subject: subject, Status: "sent"}})
	}
	note("a", "update", "changji/eeb/昌吉市生态环境局值班室", "【II级·橙色预警】氨氮超标")
	note("b", "update", "xpcc6/eeb/兵团第六师生态环境局值班室", "【II级·橙色预警】氨氮超标")
	note("b", "update", "xpcc6/eeb/兵团第六师生态环境局值班室", "【II级·橙色预警】氨氮超标") // a replay
	n.Flush(time.Second)
	if out.Len() != 0 {
		t.Fatalf("told before the message had collected its recipients: %s", out.String())
	}
	now = now.Add(2 * time.Second)
	n.Flush(time.Second)
	note("c", "escalation", "changji/emergency/昌吉市应急管理局值班室", "【督办】")
	note("d", "escalation", "changji/emergency/昌吉市应急管理局值班室", "【督办】") // another step's
	n.Flush(0)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "update 【II级·橙色预警】氨氮超标 → 昌吉市生态环境局值班室, 兵团第六师生态环境局值班室") ||
		!strings.Contains(lines[1], "escalation 【督办】 → 昌吉市应急管理局值班室 ×2") {
		t.Errorf("told:\n%s", out.String())
	}
}

func TestNarratorTakesTheAcknowledgementFromTheAuditTrail(t *testing.T) {
	net := repoNetwork(t)
	sc := repoScenario(t, net, "spill")
	var out bytes.Buffer
	n := NewNarrator(sc.Story, net, &out)
	inc := message.Incident{ID: "i", Version: 1, Status: message.IncidentOpen, Site: "STH-S2", Sites: []string{"STH-S2"}}
	n.Update(message.IncidentUpdate{Kind: message.UpdateIncident, Incident: &inc})
	at := time.Now()
	n.Update(message.IncidentUpdate{Kind: message.UpdateLog, Log: &message.LogEntry{ID: "l1", IncidentID: "i", Action: "acknowledged", Actor: "昌吉市应急值班", At: at}})
	b, ok := n.Beat(StepAcknowledge)
	if !ok || !strings.Contains(b.Line, "acknowledged by 昌吉市应急值班") || !b.At.Equal(at) {
		t.Errorf("beat %+v, %v:\n%s", b, ok, out.String())
	}
	n.Event(message.Event{ID: "p", Type: message.EventPredictionCleared, Site: "STH-D2", Parameter: "nh3n", Reason: "upstream cleared"})
	if !strings.Contains(out.String(), "prediction withdrawn — upstream cleared") {
		t.Errorf("prediction.cleared not told:\n%s", out.String())
	}
}

func TestNarratorTellsVerificationsAndTheRankingAStepCarries(t *testing.T) {
	net := repoNetwork(t)
	sc := repoScenario(t, net, "spill")
	t0 := time.Date(2026, 11, 28, 18, 0, 0, 0, time.UTC)
	ranked := "请排查本辖区入河排污口。溯源排序（按证据，先查前者）：1. 昌吉市污水处理厂入河排污口 STH-O1 0.88（氨氮在本断面上升前约1.2小时上升）"
	cases := []struct {
		name string
		feed func(n *Narrator)
		want string
	}{
		{"a verified window says when the plume rose and peaked against it", func(n *Narrator) {
			n.Event(message.Event{ID: "v", Type: message.EventPredictionVerified, Site: "STH-D2", OriginSite: "STH-O1", Parameter: "nh3n",
				Verification: message.Verification{Outcome: "verified", Threshold: 1.16, RiseAt: t0, PeakAt: t0.Add(10 * time.Minute),
					Peak: 1.26, RiseErrorS: 1380, PeakTimeErrorS: -2580}})
		}, "验证 Verification: STH-D2 第二水厂水源地取水口: 氨氮 ammonia nitrogen verified (from STH-O1): rose 11-29 02:00 (+23 min against the expected leading edge), peak 1.26 at 11-29 02:10 (-43 min)"},
		{"a refuted window without a rise says none came", func(n *Narrator) {
			n.Event(message.Event{ID: "r", Type: message.EventPredictionRefuted, Site: "TTH-S3", OriginSite: "TTH-S2", Parameter: "nh3n",
				Verification: message.Verification{Outcome: "refuted", Threshold: 1.29}})
		}, "refuted (from TTH-S2): no rise above 1.29 within the band"},
		{"a step that ranks the upstream sources is told from its ranking on", func(n *Narrator) {
			n.Update(message.IncidentUpdate{Kind: message.UpdateIncident, Incident: &message.Incident{ID: "inc-1", Version: 1,
				Status: message.IncidentOpen, Site: "STH-S2", Sites: []string{"STH-S2"}, OpenedAt: t0,
				Steps: []message.Step{{ID: "s.initial_report.changji", Jurisdiction: "changji", Role: "eeb", Action: ranked}}}})
		}, "溯源 Sources: inc-1 step s.initial_report.changji (changji/eeb): 溯源排序（按证据，先查前者）：1. 昌吉市污水处理厂入河排污口 STH-O1 0.88"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			n := NewNarrator(sc.Story, net, &out)
			c.feed(n)
			if !strings.Contains(out.String(), c.want) {
				t.Errorf("narration lacks %q:\n%s", c.want, out.String())
			}
		})
	}
}
