package plume

import (
	"strconv"
	"strings"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
)

// Describe says a prediction's window in the words of the step texts:
// “最早…到达（预计…起），峰值约…（…前后），预计…后回落（最迟…）”, times in loc as
// 01月02日15:04, the peak with three significant digits and the unit. While the release
// is still going on the fall is not known, and the text says so. An absent prediction
// gives "".
func Describe(p message.Prediction, loc *time.Location) string {
	if p.IsZero() {
		return ""
	}
	if loc == nil {
		loc = time.UTC
	}
	at := func(t time.Time) string { return t.In(loc).Format("01月02日15:04") }
	var b strings.Builder
	b.WriteString("最早" + at(p.Earliest) + "到达（预计" + at(p.Leading) + "起），峰值约")
	b.WriteString(strconv.FormatFloat(p.PeakConcentration, 'g', 3, 64))
	if p.Unit != "" && p.Unit != "1" {
		b.WriteString(p.Unit)
	}
	b.WriteString("（" + at(p.Peak) + "前后），")
	if p.Trailing.IsZero() {
		b.WriteString("上游仍在超标，回落时间待上游恢复后确定")
	} else {
		b.WriteString("预计" + at(p.Trailing) + "后回落（最迟" + at(p.Latest) + "）")
	}
	switch p.Confidence {
	case ConfidenceHigh:
		b.WriteString("；按实测到达校准的流速估算")
	case ConfidenceMedium:
		b.WriteString("；按实测流量估算")
	case ConfidenceLow:
		b.WriteString("；按河道设定流速估算，仅供参考")
	}
	return b.String()
}

// DescribeInterception says a prediction's interception in the words of the step texts
// (the {interception} placeholder): “建议在三屯河城北拦河节制闸（km 74.0，由昌吉市应急管理局
// 操作）拦截，须在15:40前（剩余2小时10分）行动”, the time left counted to now so that a reminder
// says what is left then; a deadline not on now's day carries its date. river is the
// space's river's name (not repeated when the space's name begins with it) and operator
// who operates it (both may be ""). Without a recommendation it gives the reason in
// words; a prediction without either gives "".
func DescribeInterception(p message.Prediction, river, operator string, now time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	ic := p.Interception
	if ic.IsZero() {
		switch p.InterceptionNoneReason {
		case ReasonNoSpace:
			return "取水口上游沿途未配置应急空间（闸坝、调蓄池等），无拦截点可推荐"
		case ReasonAllPassed:
			return "污染团已越过沿途全部应急空间，无法在上游拦截"
		}
		return p.InterceptionNoneReason
	}
	if strings.HasPrefix(ic.Name, river) {
		river = "" // 三屯河城北拦河节制闸, not 三屯河三屯河…
	}
	var b strings.Builder
	b.WriteString("建议在" + river + ic.Name + "（km " + strconv.FormatFloat(ic.Km, 'f', 1, 64))
	if operator != "" {
		b.WriteString("，由" + operator + "操作")
	}
	b.WriteString("）拦截，")
	by := ic.ActBy.In(loc)
	when := by.Format("15:04")
	if n := now.In(loc); by.YearDay() != n.YearDay() || by.Year() != n.Year() {
		when = by.Format("01月02日15:04")
	}
	left := ic.ActBy.Sub(now)
	if left <= 0 {
		b.WriteString("行动时限" + when + "已过，污染团最早已到达该处")
		return b.String()
	}
	b.WriteString("须在" + when + "前（剩余" + hoursMinutes(left) + "）行动")
	return b.String()
}

// hoursMinutes is a duration in whole minutes, rounded down (the time left is never
// overstated): "2小时10分", "25分钟", "不足1分钟".
func hoursMinutes(d time.Duration) string {
	m := int(d / time.Minute)
	switch {
	case m < 1:
		return "不足1分钟"
	case m < 60:
		return strconv.Itoa(m) + "分钟"
	case m%60 == 0:
		return strconv.Itoa(m/60) + "小时"
	}
	return strconv.Itoa(m/60) + "小时" + strconv.Itoa(m%60) + "分"
}
