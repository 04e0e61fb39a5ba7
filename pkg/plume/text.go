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
