package plume

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
)

// The worked example's 36 km window (docs/plume.md), the release at 00:00: earliest
// 5 h 56 min, leading 9 h 20 min, peak 8.66385 at 10 h 30 min, trailing 11 h 40 min, latest
// 17 h 13 min 29 s. Hourly readings, threshold 5, slack one hour: the band is
// 4 h 56 min … 18 h 13 min 29 s.
func TestAssessComparesTheWindowWithWhatArrived(t *testing.T) {
	start := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return start.Add(d) }
	h, m := time.Hour, time.Minute
	p := message.Prediction{Site: "S", Origin: "O", Parameter: "nh3n", ReleaseStart: start,
		Earliest: at(5*h + 56*m), Leading: at(9*h + 20*m), Peak: at(10*h + 30*m), Trailing: at(11*h + 40*m),
		Latest: at(17*h + 13*m + 29*time.Second), PeakConcentration: 8.66385}
	open := p
	open.Trailing, open.Latest = time.Time{}, time.Time{} // band ends at 10:30 + 4:34 + 1 h = 16:04
	hourly := func(until int, spikes map[int]float64) []Sample {
		var out []Sample
		for i := 0; i <= until; i++ {
			v := 1.0
			if x, ok := spikes[i]; ok {
				v = x
			}
			out = append(out, Sample{At: at(time.Duration(i) * h), Value: v})
		}
		return out
	}
	arrived := hourly(18, map[int]float64{10: 8, 11: 9, 12: 3})
	shuffled := append([]Sample(nil), arrived...)
	for i, j := 0, len(shuffled)-1; i < j; i, j = i+1, j-1 {
		shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
	}
	tests := []struct {
		name    string
		p       message.Prediction
		samples []Sample
		now     time.Duration
		want    string
		reason  string
		check   func(t *testing.T, v Verdict)
	}{
		{
			// Rose at 10:00: +40 min on the leading edge; peak 9 at 11:00, +30 min and
			// 9 − 8.66385 = +0.33615; above from 10:00 to 12:00, 2 h against 2 h 20 min.
			name: "arrived within the window", p: p, samples: arrived, now: 18 * h, want: OutcomeVerified,
			reason: "+40m0s from the expected leading edge",
			check: func(t *testing.T, v Verdict) {
				if v.RiseError != 40*m || v.PeakTimeError != 30*m || math.Abs(v.PeakError-0.33615) > 1e-9 || v.DurationError != -20*m ||
					!v.RiseAt.Equal(at(10*h)) || !v.PeakAt.Equal(at(11*h)) || !v.FallAt.Equal(at(12*h)) {
					t.Errorf("verdict %+v", v)
				}
			},
		},
		{name: "readings out of order", p: p, samples: shuffled, now: 18 * h, want: OutcomeVerified},
		{name: "verified as soon as it rose", p: p, samples: hourly(10, map[int]float64{10: 8}), now: 10 * h, want: OutcomeVerified},
		{name: "rose before the earliest", p: p, samples: hourly(18, map[int]float64{4: 6}), now: 18 * h, want: OutcomeRefuted,
			reason: "rose 56m0s before the earliest arrival"},
		{name: "rose after the latest", p: p, samples: hourly(19, map[int]float64{19: 6}), now: 19 * h, want: OutcomeRefuted,
			reason: "rose 47m0s after the latest arrival",
			check: func(t *testing.T, v Verdict) {
				if v.RiseError != 9*h+40*m {
					t.Errorf("rise error %v, want 9h40m (19:00 − 9:20)", v.RiseError)
				}
			}},
		{name: "never rose", p: p, samples: hourly(20, nil), now: 20 * h, want: OutcomeRefuted,
			reason: "no reading at or above 5 within the window (14 readings)"},
		{name: "window still open", p: p, samples: hourly(8, nil), now: 8 * h, want: OutcomePending},
		{name: "readings after now do not count", p: p, samples: hourly(10, map[int]float64{10: 9}), now: 8 * h, want: OutcomePending},
		{name: "no reading in the window", p: p, samples: []Sample{{at(0), 1}, {at(19*h + 30*m), 1}}, now: 20 * h, want: OutcomeNoData},
		{name: "open release: within peak + (peak − earliest)", p: open, samples: hourly(16, map[int]float64{16: 6}), now: 16 * h, want: OutcomeVerified},
		{name: "open release: after it", p: open, samples: hourly(17, map[int]float64{17: 6}), now: 17 * h, want: OutcomeRefuted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Assess(tt.p, tt.samples, Check{Threshold: 5, Slack: h, Now: at(tt.now)})
			if v.Outcome != tt.want || !strings.Contains(v.Reason, tt.reason) {
				t.Errorf("outcome %s (%s), want %s (%s)", v.Outcome, v.Reason, tt.want, tt.reason)
			}
			if tt.check != nil {
				tt.check(t, v)
			}
		})
	}
}
