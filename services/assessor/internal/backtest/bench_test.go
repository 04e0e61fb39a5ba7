package backtest

import (
	"context"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/message"
)

// BenchmarkRun replays a month of ten-minute readings of four parameters at every section
// of the test network through both engines; readings/s is what the note quotes.
func BenchmarkRun(b *testing.B) {
	sites := []string{"M1", "M2", "M3", "T1", "T2", "D1"}
	params := []string{"nh3n", "codmn", "tp", "do"}
	var h history
	for i := range 30 * 24 * 6 {
		obs := t0.Add(time.Duration(i) * 10 * time.Minute)
		for si, s := range sites {
			for pi, p := range params {
				v := 0.3 + 0.01*float64((i+si+pi)%7)
				if p == "do" {
					v = 7 + 0.1*float64((i+si)%5)
				}
				if (i/50+si)%17 == 0 && p == "nh3n" {
					v = 1.4 // an exceedance now and then
				}
				h = append(h, message.Reading{ID: message.ReadingID(s, p, message.IntervalMinute, obs), Site: s, Station: s,
					Parameter: p, Value: v, Interval: message.IntervalMinute, Flag: message.FlagNormal,
					ObservedAt: obs, ReceivedAt: obs.Add(time.Minute), Source: message.SourceHJ212})
			}
		}
	}
	cur := rules(b, "current", nil)
	cand := rules(b, "candidate", func(a *config.Assessor) { a.ConfirmReadings = 2 })
	q := Query{From: t0, To: t0.Add(31 * 24 * time.Hour)}
	b.ResetTimer()
	for range b.N {
		if _, err := Run(context.Background(), h, q, cur, cand); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(h)*b.N)/b.Elapsed().Seconds(), "readings/s")
}
