package plume

import (
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
)

func TestDescribeSaysTheWindowInTheStepTextsWords(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	// The worked example's 36 km site (docs/plume.md), release at 08:00 CST.
	start := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	p := message.Prediction{Site: "S", Origin: "O", Parameter: "nh3n", ReleaseStart: start,
		Earliest: start.Add(21360 * time.Second), Leading: start.Add(33600 * time.Second), Peak: start.Add(37800 * time.Second),
		Trailing: start.Add(42000 * time.Second), Latest: start.Add(62009 * time.Second),
		PeakConcentration: 8.66385, Unit: "mg/L", Confidence: ConfidenceLow}
	tests := []struct {
		name string
		p    message.Prediction
		want string
	}{
		{"a finished release", p, "最早07月01日13:56到达（预计07月01日17:20起），峰值约8.66mg/L（07月01日18:30前后），预计07月01日19:40后回落（最迟07月02日01:13）；按河道设定流速估算，仅供参考"},
		{"a release still going on", func() message.Prediction {
			q := p
			q.Trailing, q.Latest, q.Confidence = time.Time{}, time.Time{}, ConfidenceMedium
			return q
		}(), "最早07月01日13:56到达（预计07月01日17:20起），峰值约8.66mg/L（07月01日18:30前后），上游仍在超标，回落时间待上游恢复后确定；按实测流量估算"},
		{"no prediction", message.Prediction{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Describe(tt.p, cst); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestDescribeInterceptionNamesTheSpaceTheOperatorAndTheTimeLeft(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	actBy := time.Date(2026, 7, 1, 7, 40, 0, 0, time.UTC) // 15:40 CST
	p := message.Prediction{Site: "STH-D2", Interception: message.Interception{Space: "STH-G1", Name: "城北拦河节制闸", Kind: "sluice", Km: 74, River: "santun", ActBy: actBy}}
	tests := []struct {
		name     string
		p        message.Prediction
		operator string
		now      time.Time
		want     string
	}{
		{"hours and minutes left", p, "昌吉市应急管理局", actBy.Add(-(2*time.Hour + 10*time.Minute + 59*time.Second)), "建议在三屯河城北拦河节制闸（km 74.0，由昌吉市应急管理局操作）拦截，须在15:40前（剩余2小时10分）行动"},
		{"whole hours, no operator", p, "", actBy.Add(-time.Hour), "建议在三屯河城北拦河节制闸（km 74.0）拦截，须在15:40前（剩余1小时）行动"},
		{"minutes left", p, "", actBy.Add(-25 * time.Minute), "建议在三屯河城北拦河节制闸（km 74.0）拦截，须在15:40前（剩余25分钟）行动"},
		{"another day: the date", p, "", actBy.Add(-20 * time.Hour), "建议在三屯河城北拦河节制闸（km 74.0）拦截，须在07月01日15:40前（剩余20小时）行动"},
		{"the deadline gone", p, "", actBy.Add(time.Minute), "建议在三屯河城北拦河节制闸（km 74.0）拦截，行动时限15:40已过，污染团最早已到达该处"},
		{"every space passed", message.Prediction{Site: "STH-D2", InterceptionNoneReason: ReasonAllPassed}, "", actBy, "污染团已越过沿途全部应急空间，无法在上游拦截"},
		{"no space", message.Prediction{Site: "STH-D2", InterceptionNoneReason: ReasonNoSpace}, "", actBy, "取水口上游沿途未配置应急空间（闸坝、调蓄池等），无拦截点可推荐"},
		{"nothing said", message.Prediction{Site: "STH-D2"}, "", actBy, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DescribeInterception(tt.p, "三屯河", tt.operator, tt.now, cst); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}
