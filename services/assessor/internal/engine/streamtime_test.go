package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/message"
)

// replayLag is how far the wall clock runs ahead of observed time in the replay tests, as
// in a simulation or a backfill.
const replayLag = 400 * 24 * h

// newReplayEngine returns an engine whose fake wall clock is replayLag ahead of t0.
func newReplayEngine(t *testing.T, opts Options) (*Engine, *fakeClock) {
	t.Helper()
	e, clk := newTestEngine(t, opts)
	clk.t = t0.Add(replayLag)
	return e, clk
}

// replayed is a reading observed at t0 + at and received now, by the fake wall clock.
func replayed(clk *fakeClock, site, param string, v float64, at time.Duration) message.Reading {
	r := rd(site, param, v, at)
	r.ReceivedAt = clk.t
	return r
}

func TestPredictionIsWithdrawnByObservedTimeInAReplay(t *testing.T) {
	e, clk := newReplayEngine(t, Options{})
	play := func(site, param string, v float64, at time.Duration) []message.Event {
		clk.t = clk.t.Add(time.Second)
		return e.Apply(replayed(clk, site, param, v, at))
	}
	play("T1", "cod", 10, 0)
	play("D1", "cod", 12, 0)
	if preds := only(play("TO", "cod", 100, h), message.EventPredictionIssued); len(preds) != 2 {
		t.Fatalf("predictions %+v", preds) // T2 (10,000 s down) and D1 (30,000 s)
	}
	for _, at := range []time.Duration{2 * h, 3 * h, 4 * h} {
		play("TO", "cod", 30, at) // cleared at 4 h
	}
	// The wall clock is 400 days past the clearing: by it, the clean water arrived long
	// ago. In observed time it has just left the outfall.
	if evs := predTick(e, clk.t); len(evs) != 0 {
		t.Fatalf("withdrawn by the wall clock: %+v", evs)
	}

	// The replay goes on at M1 (upstream of everything: its readings only move the stream
	// time), a tick after each reading.
	cleared := map[string]time.Time{} // site → stream time when withdrawn
	var got []message.Event
	for at := 4*h + 30*m; at <= 13*h; at += 30 * m {
		play("M1", "cod", 10+float64(at/m%7), at)
		for _, ev := range predTick(e, clk.t) {
			if !ev.EmittedAt.Equal(clk.t) {
				t.Errorf("%s emitted at %v, want the wall clock's %v", ev.Site, ev.EmittedAt, clk.t)
			}
			cleared[ev.Site] = e.StreamTime()
			got = append(got, ev)
		}
	}
	clearedAt := t0.Add(4 * h)
	want := []struct {
		site    string
		arrives time.Time // clearing + travel
		tick    time.Time // the first stream time at or after it
	}{
		{"T2", clearedAt.Add(10000 * time.Second), t0.Add(7 * h)},
		{"D1", clearedAt.Add(30000 * time.Second), t0.Add(12*h + 30*m)},
	}
	if len(got) != len(want) {
		t.Fatalf("cleared %+v", got)
	}
	for i, w := range want {
		ev := got[i]
		if ev.Site != w.site || !ev.ObservedAt.Equal(w.arrives) || !cleared[w.site].Equal(w.tick) ||
			ev.Reason != "upstream cleared; clean water arrived" {
			t.Errorf("withdrawal %d: %s at %v (stream time %v): %+v, want %+v", i, ev.Site, ev.ObservedAt, cleared[ev.Site], ev, w)
		}
	}
}

func TestRefutationWindowIsObservedTimeInAReplay(t *testing.T) {
	e, clk := newReplayEngine(t, Options{PredictionWindow: h})
	e.Apply(replayed(clk, "M1", "nh3n", 2.0, 0)) // severe: M2 predicted at 5 h 33 min 20 s
	arrival := t0.Add(20000 * time.Second)
	steps := []struct {
		at      time.Duration // a compliant reading at M2, observed at t0 + at
		refuted bool
	}{
		{0, false},                     // the wall clock alone, far past arrival + window
		{6 * h, false},                 // after the arrival, inside the window
		{arrival.Add(h).Sub(t0), true}, // at arrival + window, by observed time
	}
	for i, st := range steps {
		clk.t = clk.t.Add(10 * h) // ticks keep coming, by the wall clock, long after the window
		if st.at > 0 {
			e.Apply(replayed(clk, "M2", "nh3n", 0.4+float64(i)/100, st.at))
		}
		evs := predTick(e, clk.t)
		if !st.refuted {
			if len(evs) != 0 {
				t.Fatalf("step %d: refuted early: %+v", i, evs)
			}
			continue
		}
		if len(evs) != 1 || evs[0].Site != "M2" || !evs[0].ObservedAt.Equal(t0.Add(st.at)) || !strings.HasPrefix(evs[0].Reason, "refuted") {
			t.Fatalf("step %d: %+v", i, evs)
		}
	}
}

func TestOfflineIsJudgedByReceptionTimeInAReplay(t *testing.T) {
	// O1 reports every 600 s: offline after 30 min of silence, by the wall clock, from when
	// it was last heard. Its observed times, 400 days old, do not make it silent.
	e, clk := newReplayEngine(t, Options{})
	r := replayed(clk, "O1", "cod", 20, 0)
	e.Apply(r)
	heard := clk.t
	if evs := e.Tick(heard.Add(30 * m)); len(evs) != 0 {
		t.Fatalf("heard 30 min ago: %+v", evs)
	}
	clk.t = heard.Add(30*m + time.Second)
	evs := e.Tick(clk.t)
	if !equal(types(evs), []string{message.EventStationOffline}) {
		t.Fatalf("silent 30 min 1 s by the wall clock: %v", types(evs))
	}
	if evs[0].ID != message.EventID(message.EventStationOffline, "O1", "", heard, "") || !evs[0].ObservedAt.Equal(r.ObservedAt) {
		t.Errorf("offline %+v", evs[0])
	}
	// The replayed reading that comes back: observed a minute later, heard much later.
	clk.t = clk.t.Add(h)
	if evs := e.Apply(replayed(clk, "O1", "cod", 21, time.Minute)); !equal(types(evs), []string{message.EventStationOnline}) {
		t.Fatalf("back: %v", types(evs))
	}
	if evs := e.Tick(clk.t.Add(29 * m)); len(evs) != 0 {
		t.Fatalf("heard 29 min ago: %+v", evs)
	}
}

func TestStreamTime(t *testing.T) {
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	tests := []struct {
		name     string
		readings []message.Reading
		want     time.Time
	}{
		{"none yet", nil, time.Time{}},
		{"the newest observed time", []message.Reading{rd("M1", "cod", 10, h), rd("M2", "cod", 10, 3*h)}, at(3 * h)},
		{"a late reading does not move it back", []message.Reading{rd("M2", "cod", 10, 3*h), rd("M1", "cod", 10, h)}, at(3 * h)},
		{"any site, parameter, interval and flag moves it", []message.Reading{
			rd("M1", "cod", 10, h), flagged(of(message.IntervalRealtime, "O1", "temp", 10, 2*h), "M"),
		}, at(2 * h)},
		{"a reading observed after its reception counts as received", []message.Reading{func() message.Reading {
			r := rd("M1", "cod", 10, 48*h) // a station clock two days fast
			r.ReceivedAt = at(h)
			return r
		}()}, at(h)},
		{"a reading without reception time counts as observed", []message.Reading{func() message.Reading {
			r := rd("M1", "cod", 10, 5*h)
			r.ReceivedAt = time.Time{}
			return r
		}()}, at(5 * h)},
		{"an unknown site does not move it", []message.Reading{rd("M1", "cod", 10, h), rd("XX", "cod", 10, 9*h)}, at(h)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := newReplayEngine(t, Options{})
			applyAll(e, tc.readings...)
			if got := e.StreamTime(); !got.Equal(tc.want) {
				t.Errorf("stream time %v, want %v", got, tc.want)
			}
		})
	}
}

func TestStreamTimeSurvivesARestore(t *testing.T) {
	// The clean water reached T2 in observed time before the crash, but no tick ran: the
	// restored engine withdraws the prediction at its first tick, with no new reading.
	a, clk := newReplayEngine(t, Options{})
	applyAll(a, replayed(clk, "T1", "cod", 10, 0), replayed(clk, "TO", "cod", 100, h))
	applyAll(a, replayed(clk, "TO", "cod", 30, 2*h), replayed(clk, "TO", "cod", 30, 3*h), replayed(clk, "TO", "cod", 30, 4*h))
	applyAll(a, replayed(clk, "T1", "cod", 11, 4*h+10000*time.Second))

	b, _ := newTestEngine(t, Options{})
	for _, rec := range a.ExportAll() {
		if err := b.Import(rec, true); err != nil {
			t.Fatal(err)
		}
	}
	if !b.StreamTime().Equal(a.StreamTime()) {
		t.Fatalf("restored stream time %v, want %v", b.StreamTime(), a.StreamTime())
	}
	evs := predTick(b, clk.t)
	if len(evs) != 1 || evs[0].Site != "T2" || !evs[0].ObservedAt.Equal(t0.Add(4*h+10000*time.Second)) {
		t.Fatalf("after the restore: %+v", evs)
	}
	b.Reset()
	if !b.StreamTime().IsZero() {
		t.Errorf("stream time %v after Reset", b.StreamTime())
	}
}
