package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
)

// hourly builds readings of one series, one an hour from t0.
func hourly(site, param string, values ...float64) []message.Reading {
	out := make([]message.Reading, len(values))
	for i, v := range values {
		out[i] = rd(site, param, v, time.Duration(i)*h)
	}
	return out
}

func TestConfirmation(t *testing.T) {
	long := 100 * h // so that only the count confirms
	tests := []struct {
		name       string
		opts       Options
		readings   []message.Reading
		want       []string
		wantReason string
	}{
		{
			name:     "one noisy point does not alert",
			opts:     Options{ConfirmDuration: long},
			readings: hourly("M2", "cod", 15, 25, 15, 15),
		},
		{
			name:       "three consecutive readings over the target confirm",
			opts:       Options{ConfirmDuration: long},
			readings:   hourly("M2", "cod", 25, 26, 27),
			want:       []string{message.EventExceedanceOpened},
			wantReason: "confirmed:3_readings",
		},
		{
			name:     "a compliant reading breaks the run",
			opts:     Options{ConfirmDuration: long},
			readings: hourly("M2", "cod", 25, 25, 15, 25, 25),
		},
		{
			name:       "a run that lasts ConfirmDuration confirms before the count",
			opts:       Options{ConfirmReadings: 10, ConfirmDuration: 2 * h},
			readings:   hourly("M2", "cod", 25, 25, 25),
			want:       []string{message.EventExceedanceOpened},
			wantReason: "confirmed:sustained_2h0m0s",
		},
		{
			name: "a flagged reading neither counts nor breaks the run",
			opts: Options{ConfirmDuration: long},
			readings: []message.Reading{
				rd("M2", "cod", 25, 0), flagged(rd("M2", "cod", 5, h), "M"), rd("M2", "cod", 25, 2*h),
				rd("M2", "cod", 25, 3*h),
			},
			want:       []string{message.EventExceedanceOpened},
			wantReason: "confirmed:3_readings",
		},
		{
			name: "a reading without a flag is normal: it counts towards the run",
			opts: Options{ConfirmDuration: long},
			readings: []message.Reading{
				rd("M2", "cod", 25, 0), flagged(rd("M2", "cod", 25, h), ""), rd("M2", "cod", 25, 2*h),
			},
			want:       []string{message.EventExceedanceOpened},
			wantReason: "confirmed:3_readings",
		},
		{
			name:       "one reading confirms when confirm_readings is 1",
			opts:       Options{ConfirmReadings: 1},
			readings:   hourly("M2", "cod", 25),
			want:       []string{message.EventExceedanceOpened},
			wantReason: "confirmed:1_readings",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := newTestEngine(t, tc.opts)
			evs := local(applyAll(e, tc.readings...))
			if !equal(types(evs), tc.want) {
				t.Fatalf("events %v, want %v", types(evs), tc.want)
			}
			if tc.wantReason != "" && evs[0].Reason != tc.wantReason {
				t.Errorf("reason %q, want %q", evs[0].Reason, tc.wantReason)
			}
		})
	}
}

func TestSevereBypassesConfirmation(t *testing.T) {
	long := 100 * h
	tests := []struct {
		name       string
		reading    message.Reading
		wantOpen   bool
		wantReason string
		wantClass  string
	}{
		{"劣V opens at once", rd("M2", "cod", 45, 0), true, "severe:worse_v", "劣V"},
		{"a multiple at the threshold opens at once", rd("M2", "nh3n", 2.0, 0), true, "severe:multiple", "V"},
		{"a toxic item opens at once", rd("M2", "hg", 0.0002, 0), true, "severe:toxic", "IV"},
		{"cyanide over Class III opens at once", rd("M2", "cyanide", 0.21, 0), true, "severe:toxic", "劣V"},
		{"an outfall at twice its permit opens at once", rd("O1", "cod", 100, 0), true, "severe:multiple", ""},
		{"an outfall slightly over its permit waits", rd("O1", "cod", 60, 0), false, "", ""},
		{"Class IV waits for confirmation", rd("M2", "cod", 25, 0), false, "", ""},
		{"pH just outside 6–9 waits", rd("M2", "ph", 9.3, 0), false, "", ""},
		{"pH a unit outside 6–9 opens at once", rd("M2", "ph", 10.5, 0), true, "severe:ph_far_outside", "劣V"},
		{"a drinking source fails Class II without a multiple and waits", rd("D1", "nh3n", 0.8, 0), false, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := newTestEngine(t, Options{ConfirmDuration: long})
			evs := only(e.Apply(tc.reading), message.EventExceedanceOpened)
			if (len(evs) == 1) != tc.wantOpen {
				t.Fatalf("opened %d events, want open=%v", len(evs), tc.wantOpen)
			}
			if !tc.wantOpen {
				return
			}
			ev := evs[0]
			if ev.Reason != tc.wantReason || ev.Severity != SeveritySevere || ev.Class != tc.wantClass {
				t.Errorf("reason %q severity %q class %q, want %q severe %q", ev.Reason, ev.Severity, ev.Class, tc.wantReason, tc.wantClass)
			}
		})
	}
}

func TestOpenedEventCarriesTheJudgement(t *testing.T) {
	e, _ := newTestEngine(t, Options{ConfirmDuration: 100 * h})
	rs := hourly("M2", "cod", 25, 25, 30)
	evs := local(applyAll(e, rs...))
	if len(evs) != 1 {
		t.Fatalf("events %v", types(evs))
	}
	ev := evs[0]
	want := message.Event{
		ID:   message.EventID(message.EventExceedanceOpened, "M2", "cod", rs[2].ObservedAt, ""),
		Type: message.EventExceedanceOpened, Site: "M2", River: "main", Parameter: "cod", Value: 30,
		Limit: 20, TargetClass: "III", Class: "IV", Multiple: 0.5, Severity: SeverityWarning,
		Reason: "confirmed:3_readings", ObservedAt: rs[2].ObservedAt, EmittedAt: t0,
		ReadingID: rs[2].ID, ReadingReceivedAt: rs[2].ReceivedAt,
	}
	if ev != want {
		t.Errorf("event\n%+v\nwant\n%+v", ev, want)
	}
}

func TestClearingHysteresis(t *testing.T) {
	// Open with three Class IV readings, then: 19 is within the limit (20) but outside
	// the band (0.9 × 20 = 18), so it breaks a clearing run; 25 fails and breaks it too.
	tests := []struct {
		name      string
		after     []float64
		wantClear int // index in after of the clearing reading, -1 none
	}{
		{"three readings inside the band clear", []float64{15, 15, 15}, 2},
		{"two are not enough", []float64{15, 15}, -1},
		{"a reading within the limit but outside the band breaks the run", []float64{19, 15, 15, 19, 15, 15, 15}, 6},
		{"a failing reading breaks the run", []float64{15, 15, 25, 15, 15, 15}, 5},
		{"readings between the band and the limit never clear", []float64{19, 19, 19, 19, 19}, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := newTestEngine(t, Options{ConfirmDuration: 100 * h})
			vals := append([]float64{25, 25, 25}, tc.after...)
			rs := hourly("M2", "cod", vals...)
			applyAll(e, rs[:3]...)
			got := -1
			for i, r := range rs[3:] {
				evs := e.Apply(r)
				if len(only(evs, message.EventExceedanceCleared)) == 1 {
					if got != -1 {
						t.Fatal("cleared twice")
					}
					got = i
				}
				if n := len(only(evs, message.EventExceedanceUpdated)); n > 0 {
					t.Fatalf("unexpected update at %d", i)
				}
			}
			if got != tc.wantClear {
				t.Errorf("cleared at %d, want %d", got, tc.wantClear)
			}
		})
	}
}

func TestClearedEventNamesTheExceedance(t *testing.T) {
	e, _ := newTestEngine(t, Options{ConfirmDuration: 100 * h})
	rs := hourly("M2", "cod", 25, 25, 25, 15, 15, 14)
	evs := local(applyAll(e, rs...))
	if !equal(types(evs), []string{message.EventExceedanceOpened, message.EventExceedanceCleared}) {
		t.Fatalf("events %v", types(evs))
	}
	c := evs[1]
	if c.OriginEventID != evs[0].ID || !c.ObservedAt.Equal(rs[5].ObservedAt) || c.Value != 14 {
		t.Errorf("cleared %+v", c)
	}
}

func TestUpdatedWhenWorseOrNewClass(t *testing.T) {
	tests := []struct {
		name   string
		site   string
		values []float64 // after the three opening readings
		open   float64
		want   []string // reasons of the updates, in order
	}{
		{"same class, a little worse: nothing", "M2", []float64{26, 27}, 25, nil},
		{"a new class updates", "M2", []float64{26, 35}, 25, []string{"class:IV→V"}},
		{"a better class while still failing updates", "M2", []float64{35, 25}, 25, []string{"class:IV→V", "class:V→IV"}},
		{"turning severe updates", "M2", []float64{45}, 25, []string{"severe:worse_v"}},
		{"an outfall getting 1.5 × worse updates", "O1", []float64{70, 95}, 60, []string{"worse:1.58×"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := newTestEngine(t, Options{ConfirmDuration: 100 * h})
			vals := append([]float64{tc.open, tc.open, tc.open}, tc.values...)
			evs := only(applyAll(e, hourly(tc.site, "cod", vals...)...), message.EventExceedanceUpdated)
			var got []string
			for _, ev := range evs {
				got = append(got, ev.Reason)
			}
			if !equal(got, tc.want) {
				t.Errorf("updates %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDataQuality(t *testing.T) {
	flat := func(v float64, n int) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = v
		}
		return out
	}
	tests := []struct {
		name     string
		readings []message.Reading
		want     []string // "type/reason-prefix"
	}{
		{
			name: "flag T raises one suspect per episode and is not judged",
			readings: []message.Reading{
				flagged(rd("M2", "cod", 999, 0), "T"), flagged(rd("M2", "cod", 999, h), "T"),
				rd("M2", "cod", 10, 2*h), flagged(rd("M2", "cod", 999, 3*h), "T"),
			},
			want: []string{"quality.suspect/over_range", "quality.suspect/over_range"},
		},
		{
			name: "maintenance, calibration and fault flags are not judged and raise nothing",
			readings: []message.Reading{
				flagged(rd("M2", "cod", 99, 0), "M"), flagged(rd("M2", "cod", 99, h), "C"),
				flagged(rd("M2", "cod", 99, 2*h), "D"), flagged(rd("M2", "cod", 99, 3*h), "F"),
			},
		},
		{
			name: "an impossible value is suspect once and not judged",
			readings: []message.Reading{
				rd("M2", "ph", 15, 0), rd("M2", "ph", -1, h), rd("M2", "ph", 7, 2*h), rd("M2", "ph", 15, 3*h),
			},
			want: []string{"quality.suspect/implausible", "quality.suspect/implausible"},
		},
		{
			name:     "twelve identical readings are a flat line, reported once",
			readings: hourly("M2", "nh3n", flat(0.52, 14)...),
			want:     []string{"quality.suspect/flat_line"},
		},
		{
			name:     "a flat line re-arms when the value moves",
			readings: hourly("M2", "nh3n", append(append(flat(0.52, 12), 0.6), flat(0.61, 12)...)...),
			want:     []string{"quality.suspect/flat_line", "quality.suspect/flat_line"},
		},
		{
			name:     "a trace value at the detection limit may stay flat",
			readings: hourly("M2", "hg", flat(0.00001, 30)...),
		},
		{
			name:     "a non-detect repeating a limit above Class I is no flat line",
			readings: belowDL(hourly("M2", "nh3n", flat(0.25, 14)...)),
		},
		{
			name:     "a stuck sensor over the limit is not judged once flat",
			readings: hourly("M2", "cod", append(flat(15, 11), flat(25, 14)...)...),
			// 25 × 3 opens; at the 12th 25 the flat line is detected.
			want: []string{"exceedance.opened/confirmed", "quality.suspect/flat_line"},
		},
		{
			name:     "a jump is suspect but still judged: a spill is a jump too",
			readings: hourly("M2", "cod", 10, 11, 10, 12, 500),
			want:     []string{"quality.suspect/jump", "exceedance.opened/severe:worse_v;suspect:jump"},
		},
		{
			name:     "a large step within the Class III scale is no jump",
			readings: hourly("M2", "cod", 0.5, 0.6, 0.5, 0.6, 19),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := newTestEngine(t, Options{})
			evs := local(applyAll(e, tc.readings...))
			var got []string
			for _, ev := range evs {
				got = append(got, ev.Type+"/"+ev.Reason)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("events %q, want %q", got, tc.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tc.want[i]) {
					t.Errorf("event %d %q, want prefix %q", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestSuspectIDsAreDeterministicPerRule(t *testing.T) {
	r := flagged(rd("M2", "cod", 999, 0), "T")
	e1, _ := newTestEngine(t, Options{})
	e2, _ := newTestEngine(t, Options{})
	a, b := e1.Apply(r), e2.Apply(r)
	if len(a) != 1 || len(b) != 1 || a[0].ID != b[0].ID {
		t.Fatalf("ids %v %v", a, b)
	}
	if a[0].ID != message.EventID(message.EventQualitySuspect, "M2", "cod", r.ObservedAt, "over_range") {
		t.Errorf("id %s", a[0].ID)
	}
}

func TestLateReadings(t *testing.T) {
	opts := Options{ConfirmDuration: 100 * h, Grace: 2 * h}
	tests := []struct {
		name  string
		first []message.Reading
		late  message.Reading
		want  []string
		// wantObserved is the observed time of the late reading's event, from t0.
		wantObserved time.Duration
		wantOutcome  string
	}{
		{
			name:         "a severe reading within grace reopens what was cleared",
			first:        hourly("M2", "cod", 25, 25, 25, 15, 15, 15),
			late:         rd("M2", "cod", 45, 4*h+30*time.Minute),
			want:         []string{message.EventExceedanceOpened},
			wantObserved: 4*h + 30*time.Minute,
			wantOutcome:  OutcomeLateJudged,
		},
		{
			name:        "a reading older than grace does not reopen and is counted",
			first:       hourly("M2", "cod", 25, 25, 25, 15, 15, 15),
			late:        rd("M2", "cod", 45, 2*h+30*time.Minute),
			wantOutcome: OutcomeLateBeyondGrace,
		},
		{
			name:         "a late reading completes the run it belongs to, by observed time",
			first:        []message.Reading{rd("M2", "cod", 25, 0), rd("M2", "cod", 26, 2*h)},
			late:         rd("M2", "cod", 27, h),
			want:         []string{message.EventExceedanceOpened},
			wantObserved: h,
			wantOutcome:  OutcomeLateJudged,
		},
		{
			name:        "a late compliant reading inside the run breaks it",
			first:       []message.Reading{rd("M2", "cod", 25, 0), rd("M2", "cod", 26, 2*h)},
			late:        rd("M2", "cod", 10, h),
			wantOutcome: OutcomeLateJudged,
		},
		{
			name:        "a late compliant reading does not count towards clearing",
			first:       hourly("M2", "cod", 25, 25, 25, 15, 15),
			late:        rd("M2", "cod", 15, 3*h+30*time.Minute),
			wantOutcome: OutcomeLateJudged,
		},
		{
			name:         "a late reading can make an open exceedance worse",
			first:        hourly("M2", "cod", 25, 25, 25, 25),
			late:         rd("M2", "cod", 35, 2*h+30*time.Minute),
			want:         []string{message.EventExceedanceUpdated},
			wantObserved: 2*h + 30*time.Minute,
			wantOutcome:  OutcomeLateJudged,
		},
		{
			name:        "a resend at the same observed time is a duplicate",
			first:       hourly("M2", "cod", 25, 25),
			late:        rd("M2", "cod", 45, h),
			wantOutcome: OutcomeDuplicate,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := newTestEngine(t, opts)
			applyAll(e, tc.first...)
			before := counter(e, tc.wantOutcome)
			evs := local(e.Apply(tc.late))
			if !equal(types(evs), tc.want) {
				t.Fatalf("events %v, want %v", types(evs), tc.want)
			}
			if len(evs) > 0 && !evs[0].ObservedAt.Equal(t0.Add(tc.wantObserved)) {
				t.Errorf("observed %v, want %v", evs[0].ObservedAt, t0.Add(tc.wantObserved))
			}
			if got := counter(e, tc.wantOutcome) - before; got != 1 {
				t.Errorf("outcome %s counted %v times, want 1", tc.wantOutcome, got)
			}
		})
	}
}

func TestLateClearingRunIsNotCompletedByAnOldReading(t *testing.T) {
	// After the late compliant reading, one more clean reading must not clear: the run
	// is 15, 15 (by arrival) and the late one did not count.
	e, _ := newTestEngine(t, Options{ConfirmDuration: 100 * h})
	applyAll(e, hourly("M2", "cod", 25, 25, 25, 15, 15)...)
	e.Apply(rd("M2", "cod", 15, 3*h+30*time.Minute))
	if evs := local(e.Apply(rd("M2", "cod", 15, 5*h))); !equal(types(evs), []string{message.EventExceedanceCleared}) {
		t.Fatalf("third clean in-order reading: %v, want cleared", types(evs))
	}
}

// belowDL marks readings as non-detects at their values (the detection limits).
func belowDL(rs []message.Reading) []message.Reading {
	for i := range rs {
		rs[i].BelowDL = true
	}
	return rs
}
