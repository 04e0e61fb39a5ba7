// Package incidentreport writes the two reports an incident owes the ecological-environment
// bureau (生态环境局, the eeb role) as plain Chinese text: the follow-up report (续报) while
// it is open and the report of the result (处理结果报告) once it is resolved or closed. Both
// are built from the incident record only (the incident with its steps, its log, its
// notifications and its events), so the api's download and the responder's message at
// closing say the same thing.
package incidentreport

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
)

// Kind is which report.
type Kind string

// The reports.
const (
	FollowUp Kind = "follow_up" // 续报
	Final    Kind = "final"     // 处理结果报告
)

// ParseKind accepts follow_up and final.
func ParseKind(s string) (Kind, error) {
	switch Kind(s) {
	case FollowUp, Final:
		return Kind(s), nil
	}
	return "", fmt.Errorf("kind %q: want follow_up or final", s)
}

// ErrNotFinished is returned for a final report of an incident neither resolved nor closed.
var ErrNotFinished = errors.New("the incident is neither resolved nor closed: a final report (处理结果报告) is written at its end")

// Names turns ids into what a reader knows them by; a nil func leaves the id.
type Names struct {
	Site         func(id string) string
	Parameter    func(code string) string
	Jurisdiction func(id string) string
	Role         func(id string) string
	River        func(id string) string
}

func name(f func(string) string, id string) string {
	if f == nil || id == "" {
		return id
	}
	if n := f(id); n != "" {
		return n
	}
	return id
}

// Record is what a report is written from.
type Record struct {
	Incident      message.Incident
	Log           []message.LogEntry     // oldest first
	Notifications []message.Notification // every delivery attempt
	Events        []message.Event        // the incident's events (exceedances and predictions)
	Names         Names
	Location      *time.Location // times are printed in it (sites.yaml's timezone); nil: UTC
	Now           time.Time      // the report's time
}

var statusZH = map[string]string{
	message.IncidentOpen: "处置中", message.IncidentAcknowledged: "处置中（已确认）",
	message.IncidentResolved: "已解除", message.IncidentClosed: "已关闭",
}

var colourZH = map[string]string{"blue": "蓝色", "yellow": "黄色", "orange": "橙色", "red": "红色"}

var actionZH = map[string]string{
	"opened": "事件启动", "event_added": "新增监测事件", "level_changed": "级别调整", "acknowledged": "确认接报",
	"receipt_confirmed": "回执确认", "step_done": "任务完成", "escalated": "督办升级", "reminded": "催办",
	"resolved": "预警解除", "closed": "事件关闭", "reopened": "事件重新启动", "follow_up": "发送续报",
	"end_of_alert": "发送解除预警通知", "drill_started": "演练开始", "step_assigned": "任务下达",
	"station_command": "站点加密监测指令", "notification_failed": "通知发送失败",
}

// Text writes the report of kind k. A final report of an incident that has not ended is
// ErrNotFinished.
func Text(r Record, k Kind) (string, error) {
	inc := r.Incident
	if k == Final && inc.Status != message.IncidentResolved && inc.Status != message.IncidentClosed {
		return "", ErrNotFinished
	}
	if k != Final && k != FollowUp {
		return "", fmt.Errorf("kind %q: want follow_up or final", k)
	}
	loc := r.Location
	if loc == nil {
		loc = time.UTC
	}
	at := func(t time.Time) string { return t.In(loc).Format("2006-01-02 15:04") }
	atp := func(t *time.Time) string {
		if t == nil {
			return "—"
		}
		return at(*t)
	}
	var b strings.Builder
	line := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }

	title := "突发水污染事件续报"
	if k == Final {
		title = "突发水污染事件处理结果报告"
	}
	if inc.Drill {
		title = "【演练】" + title
	}
	line("%s", title)
	line("报送：%s", name(r.Names.Role, "eeb"))
	line("")
	line("事件名称：%s", inc.Title)
	line("事件编号：%s", inc.ID)
	line("河流：%s    起始断面：%s", name(r.Names.River, inc.River), name(r.Names.Site, inc.Site))
	var sites []string
	for _, s := range inc.Sites {
		sites = append(sites, name(r.Names.Site, s))
	}
	line("涉及断面：%s", strings.Join(sites, "、"))
	var jurs []string
	for _, j := range inc.Jurisdictions {
		jurs = append(jurs, name(r.Names.Jurisdiction, j))
	}
	line("涉及辖区：%s", strings.Join(jurs, "、"))
	level := "—"
	if inc.Level != "" {
		level = inc.Level + "级"
		if c := colourZH[inc.Colour]; c != "" {
			level += "（" + c + "预警）"
		}
	}
	line("当前级别：%s    状态：%s", level, orDash(statusZH[inc.Status]))
	line("发生时间：%s", at(inc.OpenedAt))
	if inc.AckedAt != nil {
		line("确认时间：%s（%s）", at(*inc.AckedAt), inc.AckedBy)
	}
	if inc.ResolvedAt != nil {
		line("解除时间：%s", at(*inc.ResolvedAt))
	}
	if inc.ClosedAt != nil {
		line("关闭时间：%s", at(*inc.ClosedAt))
	}
	line("报告时间：%s", at(r.Now))

	line("")
	line("一、监测情况（各断面各指标峰值）")
	peaks := peakReadings(r.Events)
	if len(peaks) == 0 {
		line("  无超标监测记录。")
	}
	for _, e := range peaks {
		s := fmt.Sprintf("  %s %s：峰值 %s（%s）", name(r.Names.Site, e.Site), name(r.Names.Parameter, e.Parameter), num(e.Value), at(e.ObservedAt))
		if e.Limit > 0 {
			s += "，标准限值 " + num(e.Limit)
		}
		if e.Multiple > 0 {
			s += "，超标" + strconv.FormatFloat(e.Multiple, 'f', 1, 64) + "倍"
		}
		line("%s", s)
	}

	line("")
	line("二、预测预警")
	preds := 0
	for _, e := range r.Events {
		if e.Type != message.EventPredictionIssued {
			continue
		}
		preds++
		s := fmt.Sprintf("  %s %s：来自%s，距离 %s km", name(r.Names.Site, e.Site), name(r.Names.Parameter, e.Parameter), name(r.Names.Site, e.OriginSite), num(e.DistanceKm))
		if !e.ArrivalAt.IsZero() {
			s += "，预计 " + at(e.ArrivalAt) + " 到达"
		}
		if e.PredictedValue > 0 {
			s += "，预计浓度约 " + num(e.PredictedValue)
		}
		line("%s", s)
	}
	if preds == 0 {
		line("  无。")
	}

	line("")
	line("三、任务落实情况")
	if len(inc.Steps) == 0 {
		line("  无。")
	}
	done, late := 0, 0
	for i, s := range inc.Steps {
		who := name(r.Names.Jurisdiction, s.Jurisdiction) + name(r.Names.Role, s.Role)
		line("  %d. %s：%s", i+1, who, oneLine(s.Action))
		state := "未完成"
		switch {
		case s.DoneAt != nil:
			state = "已完成"
			done++
			if s.DoneAt.After(s.Deadline) {
				state += "（逾期）"
				late++
			}
		case r.Now.After(s.Deadline):
			state = "未完成（已逾期）"
			late++
		}
		line("     时限 %s；通知 %s；回执 %s%s；完成 %s%s；%s", at(s.Deadline), atp(s.NotifiedAt),
			atp(s.ReceiptAt), by(r.Log, s.ID, "receipt_confirmed"), atp(s.DoneAt), by(r.Log, s.ID, "step_done"), state)
		if s.EscalatedAt != nil {
			line("     %s 督办至 %s", at(*s.EscalatedAt), s.EscalatedTo)
		}
	}
	if len(inc.Steps) > 0 {
		line("  合计 %d 项，已完成 %d 项，逾期 %d 项。", len(inc.Steps), done, late)
	}

	line("")
	line("四、处置过程")
	n := 0
	log := r.Log
	if len(log) == 0 {
		log = timeline(inc)
	}
	for _, l := range log {
		a, ok := actionZH[l.Action]
		if !ok {
			continue
		}
		n++
		who := ""
		if l.Actor != "" {
			who = "（" + actorZH(l.Actor) + "）"
		}
		line("  %s  %s%s%s", at(l.At), a, who, detail(l.Detail))
	}
	if n == 0 {
		line("  无。")
	}

	line("")
	line("五、通知发送情况")
	line("  %s", notificationSummary(r.Notifications))

	if k == Final {
		line("")
		line("六、处理结果")
		end := inc.ResolvedAt
		if end == nil {
			end = inc.ClosedAt
		}
		line("  事件于 %s 解除，历时 %s。", at(*end), duration(end.Sub(inc.OpenedAt)))
		for _, l := range log {
			if l.Action == "resolved" && l.Detail != "" {
				line("  解除原因：%s（%s）", oneLine(l.Detail), actorZH(l.Actor))
			}
		}
		line("  任务 %d 项，完成 %d 项，逾期 %d 项。", len(inc.Steps), done, late)
	}
	return b.String(), nil
}

// timeline is the course of an incident as its record tells it, for a caller without its
// audit trail (the responder's state holds the incident, not its log): opening,
// acknowledgements, each step's receipt, completion and escalation, resolution and closing.
func timeline(inc message.Incident) []message.LogEntry {
	out := []message.LogEntry{{At: inc.OpenedAt, Actor: "responder", Action: "opened"}}
	for _, a := range inc.Acknowledgements {
		out = append(out, message.LogEntry{At: a.At, Actor: a.By, Action: "acknowledged"})
	}
	if inc.AckedAt != nil && !slices.ContainsFunc(inc.Acknowledgements, func(a message.Acknowledgement) bool { return a.At.Equal(*inc.AckedAt) }) {
		out = append(out, message.LogEntry{At: *inc.AckedAt, Actor: inc.AckedBy, Action: "acknowledged"})
	}
	for _, s := range inc.Steps {
		if s.ReceiptAt != nil {
			out = append(out, message.LogEntry{At: *s.ReceiptAt, Action: "receipt_confirmed", Detail: s.ID})
		}
		if s.DoneAt != nil {
			out = append(out, message.LogEntry{At: *s.DoneAt, Action: "step_done", Detail: s.ID})
		}
		if s.EscalatedAt != nil {
			out = append(out, message.LogEntry{At: *s.EscalatedAt, Actor: "responder", Action: "escalated", Detail: s.ID + " → " + s.EscalatedTo})
		}
	}
	if inc.ResolvedAt != nil {
		out = append(out, message.LogEntry{At: *inc.ResolvedAt, Actor: "responder", Action: "resolved"})
	}
	if inc.ClosedAt != nil {
		out = append(out, message.LogEntry{At: *inc.ClosedAt, Actor: "responder", Action: "closed"})
	}
	slices.SortStableFunc(out, func(a, b message.LogEntry) int { return a.At.Compare(b.At) })
	return out
}

// peakReadings returns, per (site, parameter), the exceedance event with the highest value,
// ordered by site and parameter.
func peakReadings(events []message.Event) []message.Event {
	best := map[[2]string]message.Event{}
	for _, e := range events {
		if e.Type != message.EventExceedanceOpened && e.Type != message.EventExceedanceUpdated {
			continue
		}
		k := [2]string{e.Site, e.Parameter}
		if b, ok := best[k]; !ok || e.Value > b.Value {
			best[k] = e
		}
	}
	out := make([]message.Event, 0, len(best))
	for _, e := range best {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b message.Event) int {
		return strings.Compare(a.Site+"\x00"+a.Parameter, b.Site+"\x00"+b.Parameter)
	})
	return out
}

// by names who made the step's first log entry of action ("" when none).
func by(log []message.LogEntry, step, action string) string {
	for _, l := range log {
		if l.Action == action && (l.Detail == step || strings.HasPrefix(l.Detail, step+" ") || strings.HasPrefix(l.Detail, step+":") || strings.HasPrefix(l.Detail, step+"（") || strings.HasPrefix(l.Detail, step+"(")) {
			return "（" + actorZH(l.Actor) + "）"
		}
	}
	return ""
}

func actorZH(a string) string {
	if a == "responder" {
		return "系统"
	}
	return a
}

func detail(d string) string {
	if d == "" {
		return ""
	}
	return "：" + oneLine(d)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func num(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }

// duration prints hours and minutes.
func duration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	h, m := int(d.Hours()), int(d.Minutes())%60
	if h == 0 {
		return fmt.Sprintf("%d分钟", m)
	}
	return fmt.Sprintf("%d小时%d分钟", h, m)
}

// notificationSummary counts the messages (by idempotency key) and their attempts by status.
func notificationSummary(ns []message.Notification) string {
	if len(ns) == 0 {
		return "无通知记录。"
	}
	keys := map[string]bool{}
	status := map[string]int{}
	recips := map[string]bool{}
	for _, n := range ns {
		keys[n.Key] = true
		status[n.Status]++
		recips[n.Recipient] = true
	}
	var parts []string
	for _, s := range []string{"sent", "failed", "inhibited", "released"} {
		if status[s] > 0 {
			parts = append(parts, map[string]string{"sent": "成功", "failed": "失败", "inhibited": "静默暂缓", "released": "静默后发出"}[s]+strconv.Itoa(status[s])+"次")
		}
	}
	return fmt.Sprintf("共发送通知 %d 条，接收方 %d 个，投递 %d 次（%s）。", len(keys), len(recips), len(ns), strings.Join(parts, "，"))
}
