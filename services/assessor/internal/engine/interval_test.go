package engine

import (
	"sort"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
)

// of is a reading of an interval kind observed at t0 + at, received as a station sends it:
// a real-time value seconds after it was sampled, a period average (timed at the start of
// its period) when the period ends.
func of(interval, site, param string, v float64, at time.Duration) message.Reading {
	r := rd(site, param, v, at)
	r.Interval = interval
	r.ID = message.ReadingID(site, param, interval, r.ObservedAt)
	switch interval {
	case message.IntervalHour:
		r.ReceivedAt = r.ObservedAt.Add(time.Hour)
	case message.IntervalMinute:
		r.ReceivedAt = r.ObservedAt.Add(10 * time.Minute)
	default:
		r.ReceivedAt = r.ObservedAt.Add(5 * time.Second)
	}
	return r
}

const m = time.Minute

func TestPeriodAveragesAndRealtimeData(t *testing.T) {
	rtd, avgMin, avgHour := message.IntervalRealtime, message.IntervalMinute, message.IntervalHour
	tests := []struct {
		name     string
		readings []message.Reading // in order of arrival
		want     []string          // every event but predictions, in order
		// wantOutcome is counted once, for the last reading.
		wantOutcome string
	}{
		{
			name: "an hourly average arriving after the real-time values cleared does not reopen",
			readings: []message.Reading{
				of(rtd, "M2", "cod", 80, 10*h), of(rtd, "M2", "cod", 80, 10*h+10*m), of(rtd, "M2", "cod", 80, 10*h+20*m),
				of(rtd, "M2", "cod", 15, 10*h+30*m), of(rtd, "M2", "cod", 15, 10*h+40*m), of(rtd, "M2", "cod", 15, 10*h+50*m),
				// The 10:00–11:00 mean, 47.5: 劣V, severe, and 50 min behind the series.
				of(avgHour, "M2", "cod", 47.5, 10*h),
			},
			want:        []string{message.EventExceedanceOpened, message.EventExceedanceCleared},
			wantOutcome: OutcomePeriodSuperseded,
		},
		{
			name: "a station that sends only hourly data is judged on it",
			readings: []message.Reading{
				of(avgHour, "M2", "cod", 25, 10*h), of(avgHour, "M2", "cod", 26, 11*h), of(avgHour, "M2", "cod", 27, 12*h),
			},
			want:        []string{message.EventExceedanceOpened},
			wantOutcome: OutcomeJudged,
		},
		{
			name: "a minute average the real-time values covered is not judged",
			readings: []message.Reading{
				of(rtd, "M2", "cod", 15, 10*h), of(rtd, "M2", "cod", 15, 10*h+5*m), of(rtd, "M2", "cod", 15, 10*h+10*m),
				of(avgMin, "M2", "cod", 45, 10*h),
			},
			wantOutcome: OutcomePeriodSuperseded,
		},
		{
			name: "an outfall's minute averages are judged and its hourly average is not",
			readings: []message.Reading{
				of(avgMin, "O1", "cod", 120, 10*h), // 2.4 × the permit's 50: opens
				of(avgMin, "O1", "cod", 30, 10*h+10*m), of(avgMin, "O1", "cod", 30, 10*h+20*m),
				of(avgMin, "O1", "cod", 30, 10*h+30*m), // third within the band: cleared
				of(avgMin, "O1", "cod", 30, 10*h+40*m), of(avgMin, "O1", "cod", 30, 10*h+50*m),
				of(avgHour, "O1", "cod", 120, 10*h),
			},
			want:        []string{message.EventExceedanceOpened, message.EventExceedanceCleared},
			wantOutcome: OutcomePeriodSuperseded,
		},
		{
			name: "an hourly average of a stretch the real-time data no longer reach is judged",
			readings: []message.Reading{
				of(rtd, "M2", "cod", 15, 9*h+40*m), of(rtd, "M2", "cod", 15, 9*h+50*m), // then the channel stops
				of(avgHour, "M2", "cod", 45, 10*h),
			},
			want:        []string{message.EventExceedanceOpened},
			wantOutcome: OutcomeJudged,
		},
		{
			name: "sparse real-time values and the hourly averages between them are judged as one stream",
			readings: []message.Reading{
				of(rtd, "M2", "cod", 25, 8*h), // every 4 h
				of(avgHour, "M2", "cod", 26, 8*h), of(avgHour, "M2", "cod", 27, 9*h), of(avgHour, "M2", "cod", 28, 10*h),
			},
			// 8:00 (rtd), 9:00 and 10:00 (hourly): three readings over the target; the
			// hourly 8:00 is the same stretch as the real-time value and not counted.
			want:        []string{message.EventExceedanceOpened},
			wantOutcome: OutcomeJudged,
		},
		{
			name: "a late real-time value is still judged by its observed time",
			readings: []message.Reading{
				of(rtd, "M2", "cod", 80, 10*h), of(rtd, "M2", "cod", 15, 10*h+10*m), of(rtd, "M2", "cod", 15, 10*h+20*m),
				of(rtd, "M2", "cod", 15, 10*h+30*m), of(rtd, "M2", "cod", 80, 10*h+25*m),
			},
			want:        []string{message.EventExceedanceOpened, message.EventExceedanceCleared, message.EventExceedanceOpened},
			wantOutcome: OutcomeLateJudged,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := newTestEngine(t, Options{ConfirmDuration: 100 * h})
			n := len(tc.readings)
			evs := local(applyAll(e, tc.readings[:n-1]...))
			before := counter(e, tc.wantOutcome)
			evs = append(evs, local(e.Apply(tc.readings[n-1]))...)
			if !equal(types(evs), tc.want) {
				t.Fatalf("events %v, want %v", types(evs), tc.want)
			}
			if got := counter(e, tc.wantOutcome) - before; got != 1 {
				t.Errorf("last reading counted %v times as %s, want 1", got, tc.wantOutcome)
			}
		})
	}
}

// TestInterleavedRealtimeAndHourlyDataGiveOneExceedance replays what a river station sends
// (a real-time value every 10 min, each hour's mean when the hour ends) through a
// 30-minute spill: one exceedance, opened and cleared by the real-time values, and no
// hourly mean reopens it (the simulator's demo with hourly data on).
func TestInterleavedRealtimeAndHourlyDataGiveOneExceedance(t *testing.T) {
	e, _ := newTestEngine(t, Options{})
	value := func(at time.Duration) float64 {
		if at >= 2*h && at < 2*h+30*m {
			return 80 // 劣V
		}
		return 12
	}
	var rs []message.Reading
	for at := time.Duration(0); at < 6*h; at += 10 * m {
		rs = append(rs, of(message.IntervalRealtime, "M2", "cod", value(at)+float64(at/m%3)/10, at))
	}
	for hr := time.Duration(0); hr < 6*h; hr += h {
		var sum float64
		for at := hr; at < hr+h; at += 10 * m {
			sum += value(at)
		}
		rs = append(rs, of(message.IntervalHour, "M2", "cod", sum/6, hr)) // 2:00–3:00: 47.3, 劣V
	}
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].ReceivedAt.Before(rs[j].ReceivedAt) })

	evs := local(applyAll(e, rs...))
	if !equal(types(evs), []string{message.EventExceedanceOpened, message.EventExceedanceCleared}) {
		t.Fatalf("events %v, want one exceedance opened and cleared", types(evs))
	}
	if !evs[0].ObservedAt.Equal(t0.Add(2*h)) || !evs[1].ObservedAt.Equal(t0.Add(2*h+50*m)) {
		t.Errorf("opened at %v, cleared at %v", evs[0].ObservedAt, evs[1].ObservedAt)
	}
	if got := counter(e, OutcomePeriodSuperseded); got != 6 {
		t.Errorf("%v hourly means superseded, want all 6", got)
	}
	if got := counter(e, OutcomeLateJudged) + counter(e, OutcomeLateBeyondGrace); got != 0 {
		t.Errorf("%v readings handled as late: the hourly means must not enter the real-time series", got)
	}
}

func TestHourlyOnlyStationConfirmsOnTheSecondFailingHour(t *testing.T) {
	// Default options: a run of two hourly means lasts 1 h ≥ confirm_duration (30 min).
	e, _ := newTestEngine(t, Options{})
	evs := local(applyAll(e, of(message.IntervalHour, "M2", "cod", 25, 10*h), of(message.IntervalHour, "M2", "cod", 26, 11*h)))
	if !equal(types(evs), []string{message.EventExceedanceOpened}) || evs[0].Reason != "confirmed:sustained_1h0m0s" ||
		!evs[0].ObservedAt.Equal(t0.Add(11*h)) {
		t.Fatalf("events %+v", evs)
	}
	if got := counter(e, OutcomePeriodSuperseded); got != 0 {
		t.Errorf("%v hourly means superseded; the station sends nothing finer", got)
	}
}
