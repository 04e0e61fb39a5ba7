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
