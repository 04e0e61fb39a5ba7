package engine

import (
	"testing"

	"github.com/riverwatch/riverwatch/pkg/message"
)

func backfill(rs ...message.Reading) []message.Reading {
	for i := range rs {
		rs[i].Backfill = true
	}
	return rs
}

// Back-fill readings (HJ 212-2025 RF=1) are stored and evaluated per period, but the live
// engine does not judge them: they open, update and clear nothing.
func TestBackfillReadingsNeverChangeLiveExceedances(t *testing.T) {
	long := 100 * h
	tests := []struct {
		name     string
		readings []message.Reading
		want     []string
		backfill float64 // readings counted as back-fill
	}{
		{
			name:     "three failing back-filled hours open nothing",
			readings: backfill(hourly("M2", "cod", 25, 26, 27)...),
			backfill: 3,
		},
		{
			name:     "a severe back-filled value opens nothing",
			readings: backfill(hourly("M2", "hg", 0.01)...),
			backfill: 1,
		},
		{
			name: "back-filled hours neither count towards nor break a live run",
			readings: []message.Reading{
				rd("M2", "cod", 25, 0), backfill(rd("M2", "cod", 5, h))[0], rd("M2", "cod", 25, 2*h),
				backfill(rd("M2", "cod", 30, 3*h))[0], rd("M2", "cod", 25, 4*h),
			},
			want:     []string{message.EventExceedanceOpened},
			backfill: 2,
		},
		{
			name: "compliant back-filled hours do not clear an open exceedance",
			readings: append(hourly("M2", "cod", 25, 26, 27),
				backfill(rd("M2", "cod", 5, 3*h), rd("M2", "cod", 5, 4*h), rd("M2", "cod", 5, 5*h))...),
			want:     []string{message.EventExceedanceOpened},
			backfill: 3,
		},
		{
			name:     "the same hours live do open (control)",
			readings: hourly("M2", "cod", 25, 26, 27),
			want:     []string{message.EventExceedanceOpened},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := newTestEngine(t, Options{ConfirmDuration: long})
			got := types(local(applyAll(e, tc.readings...)))
			if !equal(got, tc.want) {
				t.Errorf("events %v, want %v", got, tc.want)
			}
			if n := counter(e, OutcomeBackfill); n != tc.backfill {
				t.Errorf("backfill outcome counted %v, want %v", n, tc.backfill)
			}
		})
	}
}
