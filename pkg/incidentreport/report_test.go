package incidentreport

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
)

var shanghai = time.FixedZone("CST", 8*3600)

func tp(t time.Time) *time.Time { return &t }

// fixture is a section exceedance of ammonia at STH-S2 that reached STH-S3, with two steps
// (one done late, one receipted only), closed after the water recovered. Times in UTC;
// the report prints them in Beijing time (+8).
func fixture() Record {
	opened := time.Date(2026, 6, 15, 2, 0, 0, 0, time.UTC) // 10:00 CST
	notified := opened.Add(time.Minute)
	return Record{
		Incident: message.Incident{
			ID: "inc-1", Title: "三屯河城区下游断面 氨氮超标", Status: message.IncidentClosed, Level: "IV", Colour: "blue",
			River: "santun", Site: "STH-S2", Sites: []string{"STH-S2", "STH-S3"}, Parameters: []string{"nh3n"},
			Jurisdictions: []string{"changji"}, EventIDs: []string{"e1", "e2", "p1"},
			Steps: []message.Step{
				{ID: "s1", Jurisdiction: "changji", Role: "eeb", Action: "核查排污口，\n  于11:00前回报", Deadline: opened.Add(time.Hour),
					NotifiedAt: &notified, ReceiptAt: tp(opened.Add(10 * time.Minute)), DoneAt: tp(opened.Add(90 * time.Minute))},
				{ID: "s2", Jurisdiction: "changji", Role: "source_monitor", Action: "加密监测", Deadline: opened.Add(2 * time.Hour),
					NotifiedAt: &notified, ReceiptAt: tp(opened.Add(20 * time.Minute)), EscalatedAt: tp(opened.Add(2 * time.Hour)), EscalatedTo: "changji/emergency"},
			},
			OpenedAt: opened, AckedAt: tp(opened.Add(5 * time.Minute)), AckedBy: "昌吉市应急值班",
			ResolvedAt: tp(opened.Add(3 * time.Hour)), ClosedAt: tp(opened.Add(27 * time.Hour)),
		},
		Log: []message.LogEntry{
			{At: opened, Actor: "responder", Action: "opened", Detail: "playbook section_exceedance"},
			{At: opened.Add(5 * time.Minute), Actor: "昌吉市应急值班", Action: "acknowledged"},
			{At: opened.Add(10 * time.Minute), Actor: "昌吉市生态环境局", Action: "receipt_confirmed", Detail: "s1 (response time 9m0s)"},
			{At: opened.Add(20 * time.Minute), Actor: "水源地保护站", Action: "receipt_confirmed", Detail: "s2: 已安排"},
			{At: opened.Add(90 * time.Minute), Actor: "昌吉市生态环境局", Action: "step_done", Detail: "s1 (response time 1h29m0s): 已封堵"},
			{At: opened.Add(2 * time.Hour), Actor: "responder", Action: "escalated", Detail: "s2 not_done → changji/emergency"},
			{At: opened.Add(2 * time.Hour), Actor: "responder", Action: "verdict", Detail: "not in the report"},
			{At: opened.Add(3 * time.Hour), Actor: "responder", Action: "resolved", Detail: "water quality recovered"},
			{At: opened.Add(27 * time.Hour), Actor: "responder", Action: "closed", Detail: "quiet since resolution"},
		},
		Notifications: []message.Notification{
			{Key: "k1", Recipient: "changji-eeb", Status: "failed", At: notified},
			{Key: "k1", Recipient: "changji-eeb", Status: "sent", At: notified.Add(time.Second)},
			{Key: "k2", Recipient: "changji-source", Status: "sent", At: notified},
			{Key: "k3", Recipient: "changji-eeb", Status: "sent", At: opened.Add(3 * time.Hour)},
		},
		Events: []message.Event{
			{ID: "e1", Type: message.EventExceedanceOpened, Site: "STH-S2", Parameter: "nh3n", Value: 2.4, Limit: 1, Multiple: 1.4, ObservedAt: opened.Add(-10 * time.Minute)},
			{ID: "e2", Type: message.EventExceedanceUpdated, Site: "STH-S2", Parameter: "nh3n", Value: 3.25, Limit: 1, Multiple: 2.25, ObservedAt: opened.Add(time.Hour)},
			{ID: "e0", Type: message.EventExceedanceUpdated, Site: "STH-S2", Parameter: "nh3n", Value: 2.9, Limit: 1, Multiple: 1.9, ObservedAt: opened.Add(2 * time.Hour)},
			{ID: "p1", Type: message.EventPredictionIssued, Site: "STH-S3", Parameter: "nh3n", OriginSite: "STH-S2", DistanceKm: 6.5,
				ArrivalAt: opened.Add(150 * time.Minute), PredictedValue: 1.6},
		},
		Names: Names{
			Site: func(id string) string {
				return map[string]string{"STH-S2": "三屯河城区下游断面", "STH-S3": "三屯河出境断面"}[id]
			},
			Parameter:    func(c string) string { return map[string]string{"nh3n": "氨氮"}[c] },
			Jurisdiction: func(id string) string { return map[string]string{"changji": "昌吉市"}[id] },
			Role: func(id string) string {
				return map[string]string{"eeb": "生态环境局", "source_monitor": "水源地保护站"}[id]
			},
			River: func(id string) string { return map[string]string{"santun": "三屯河"}[id] },
		},
		Location: shanghai,
		Now:      opened.Add(28 * time.Hour),
	}
}

// wantFinal is the final report of the fixture, worked out by hand from it.
const wantFinal = `突发水污染事件处理结果报告
报送：生态环境局

事件名称：三屯河城区下游断面 氨氮超标
事件编号：inc-1
河流：三屯河    起始断面：三屯河城区下游断面
涉及断面：三屯河城区下游断面、三屯河出境断面
涉及辖区：昌吉市
当前级别：IV级（蓝色预警）    状态：已关闭
发生时间：2026-06-15 10:00
确认时间：2026-06-15 10:05（昌吉市应急值班）
解除时间：2026-06-15 13:00
关闭时间：2026-06-16 13:00
报告时间：2026-06-16 14:00

一、监测情况（各断面各指标峰值）
  三屯河城区下游断面 氨氮：峰值 3.25（2026-06-15 11:00），标准限值 1，超标2.2倍

二、预测预警
  三屯河出境断面 氨氮：来自三屯河城区下游断面，距离 6.5 km，预计 2026-06-15 12:30 到达，预计浓度约 1.6

三、任务落实情况
  1. 昌吉市生态环境局：核查排污口， 于11:00前回报
     时限 2026-06-15 11:00；通知 2026-06-15 10:01；回执 2026-06-15 10:10（昌吉市生态环境局）；完成 2026-06-15 11:30（昌吉市生态环境局）；已完成（逾期）
  2. 昌吉市水源地保护站：加密监测
     时限 2026-06-15 12:00；通知 2026-06-15 10:01；回执 2026-06-15 10:20（水源地保护站）；完成 —；未完成（已逾期）
     2026-06-15 12:00 督办至 changji/emergency
  合计 2 项，已完成 1 项，逾期 2 项。

四、处置过程
  2026-06-15 10:00  事件启动（系统）：playbook section_exceedance
  2026-06-15 10:05  确认接报（昌吉市应急值班）
  2026-06-15 10:10  回执确认（昌吉市生态环境局）：s1 (response time 9m0s)
  2026-06-15 10:20  回执确认（水源地保护站）：s2: 已安排
  2026-06-15 11:30  任务完成（昌吉市生态环境局）：s1 (response time 1h29m0s): 已封堵
  2026-06-15 12:00  督办升级（系统）：s2 not_done → changji/emergency
  2026-06-15 13:00  预警解除（系统）：water quality recovered
  2026-06-16 13:00  事件关闭（系统）：quiet since resolution

五、通知发送情况
  共发送通知 3 条，接收方 2 个，投递 4 次（成功3次，失败1次）。

六、处理结果
  事件于 2026-06-15 13:00 解除，历时 3小时0分钟。
  解除原因：water quality recovered（系统）
  任务 2 项，完成 1 项，逾期 2 项。
`

func TestFinalReportOfTheFixtureReadsAsWorkedOutByHand(t *testing.T) {
	got, err := Text(fixture(), Final)
	if err != nil {
		t.Fatal(err)
	}
	if got != wantFinal {
		gl, wl := strings.Split(got, "\n"), strings.Split(wantFinal, "\n")
		for i := range max(len(gl), len(wl)) {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Errorf("line %d:\n got %q\nwant %q", i+1, g, w)
			}
		}
	}
}

func TestReportsByKindAndStatus(t *testing.T) {
	open := fixture()
	open.Incident.Status, open.Incident.ResolvedAt, open.Incident.ClosedAt = message.IncidentOpen, nil, nil
	drill := fixture()
	drill.Incident.Drill = true
	nolog := fixture()
	nolog.Log = nil
	for _, tc := range []struct {
		name    string
		r       Record
		k       Kind
		err     error
		first   string
		has, no []string
	}{
		{"final of an open incident", open, Final, ErrNotFinished, "", nil, nil},
		{"follow-up while open", open, FollowUp, nil, "突发水污染事件续报", []string{"状态：处置中", "超标2.2倍", "合计 2 项"}, []string{"六、处理结果", "解除时间"}},
		{"final of a drill", drill, Final, nil, "【演练】突发水污染事件处理结果报告", []string{"六、处理结果"}, nil},
		{"unknown kind", open, Kind("monthly"), nil, "", nil, nil},
		{"final without the audit trail: the course from the record", nolog, Final, nil, "突发水污染事件处理结果报告", []string{
			"  2026-06-15 10:00  事件启动（系统）\n  2026-06-15 10:05  确认接报（昌吉市应急值班）\n  2026-06-15 10:10  回执确认：s1\n" +
				"  2026-06-15 10:20  回执确认：s2\n  2026-06-15 11:30  任务完成：s1\n  2026-06-15 12:00  督办升级（系统）：s2 → changji/emergency\n" +
				"  2026-06-15 13:00  预警解除（系统）\n  2026-06-16 13:00  事件关闭（系统）\n",
			"回执 2026-06-15 10:10；完成 2026-06-15 11:30；已完成（逾期）"}, []string{"解除原因"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Text(tc.r, tc.k)
			if tc.err != nil || tc.first == "" {
				if err == nil || tc.err != nil && !errors.Is(err, tc.err) {
					t.Fatalf("err %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if first, _, _ := strings.Cut(got, "\n"); first != tc.first {
				t.Errorf("first line %q, want %q", first, tc.first)
			}
			for _, s := range tc.has {
				if !strings.Contains(got, s) {
					t.Errorf("lacks %q:\n%s", s, got)
				}
			}
			for _, s := range tc.no {
				if strings.Contains(got, s) {
					t.Errorf("has %q:\n%s", s, got)
				}
			}
		})
	}
}
