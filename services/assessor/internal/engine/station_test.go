package engine

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/riverwatch/riverwatch/pkg/message"
)

func TestStationOfflineAndOnline(t *testing.T) {
	// O1 reports every 600 s; offline after 600 s × 3 = 30 min of silence.
	e, clk := newTestEngine(t, Options{})
	r := rd("O1", "cod", 20, 0) // received at t0 + 1 min
	if evs := e.Apply(r); len(evs) != 0 {
		t.Fatalf("first reading: %v", types(evs))
	}
	lastSeen := r.ReceivedAt

	clk.t = lastSeen.Add(30 * time.Minute)
	if evs := e.Tick(clk.t); len(evs) != 0 {
		t.Fatalf("silent exactly 30 min is not yet offline: %v", types(evs))
	}
	clk.t = lastSeen.Add(30*time.Minute + time.Second)
	evs := e.Tick(clk.t)
	if !equal(types(evs), []string{message.EventStationOffline}) {
		t.Fatalf("after 30 min 1 s: %v, want offline", types(evs))
	}
	off := evs[0]
	if off.ID != message.EventID(message.EventStationOffline, "O1", "", lastSeen, "") || off.Site != "O1" ||
		!off.ObservedAt.Equal(r.ObservedAt) || !off.EmittedAt.Equal(clk.t) {
		t.Errorf("offline event %+v", off)
	}
	if evs := e.Tick(clk.t.Add(time.Hour)); len(evs) != 0 {
		t.Fatalf("offline is reported once: %v", types(evs))
	}

	back := rd("O1", "cod", 21, 2*h)
	evs = e.Apply(back)
	if !equal(types(evs), []string{message.EventStationOnline}) {
		t.Fatalf("returning reading: %v, want online", types(evs))
	}
	if evs[0].ID != message.EventID(message.EventStationOnline, "O1", "", lastSeen, "") || !evs[0].ObservedAt.Equal(back.ObservedAt) {
		t.Errorf("online event %+v", evs[0])
	}
	if evs := e.Tick(back.ReceivedAt.Add(10 * time.Minute)); len(evs) != 0 {
		t.Fatalf("back online: %v", types(evs))
	}
}

func TestOfflineWatchesOnlyStationsHeardFrom(t *testing.T) {
	e, _ := newTestEngine(t, Options{})
	// L1 has no station (lab samples): never offline. The others were never heard from
	// here: another instance may own their partitions.
	e.Apply(rd("L1", "cod", 10, 0))
	if evs := e.Tick(t0.Add(1000 * h)); len(evs) != 0 {
		t.Fatalf("events %v", types(evs))
	}
}

func TestAnyFlagProvesAStationAlive(t *testing.T) {
	e, _ := newTestEngine(t, Options{})
	e.Apply(rd("O1", "cod", 20, 0))
	e.Apply(flagged(rd("O1", "cod", 20, 25*time.Minute), "M")) // maintenance, still talking
	if evs := e.Tick(t0.Add(50 * time.Minute)); len(evs) != 0 {
		t.Fatalf("events %v", types(evs))
	}
}

func TestStationReadingWithoutReceivedTimeUsesObservedTime(t *testing.T) {
	e, _ := newTestEngine(t, Options{})
	r := rd("O1", "cod", 20, 0)
	r.ReceivedAt = time.Time{}
	e.Apply(r)
	evs := e.Tick(t0.Add(31 * time.Minute))
	if len(evs) != 1 || evs[0].ID != message.EventID(message.EventStationOffline, "O1", "", t0, "") {
		t.Fatalf("events %+v", evs)
	}
}

// TestStationOfflineGaugeFollowsTheStation: riverwatch_assessor_station_offline{site} is 0
// once a station is heard from, 1 while it is offline, 0 again when it reports, and comes
// back as it was when the state is restored after a restart.
func TestStationOfflineGaugeFollowsTheStation(t *testing.T) {
	reg := prometheus.NewRegistry()
	clk := &fakeClock{t: t0}
	e, err := New(testNetwork(t), withDefaults(Options{}), clk.Now, NewMetrics(reg))
	if err != nil {
		t.Fatal(err)
	}
	gauge := func(e *Engine) float64 {
		var m dto.Metric
		if err := e.m.offline.WithLabelValues("O1").Write(&m); err != nil {
			t.Fatal(err)
		}
		return m.GetGauge().GetValue()
	}
	r := rd("O1", "cod", 20, 0)
	e.Apply(r)
	if g := gauge(e); g != 0 {
		t.Errorf("heard from: gauge %v, want 0", g)
	}
	e.Tick(r.ReceivedAt.Add(31 * time.Minute))
	if g := gauge(e); g != 1 {
		t.Errorf("offline: gauge %v, want 1", g)
	}

	restored, err := New(testNetwork(t), withDefaults(Options{}), clk.Now, NewMetrics(prometheus.NewRegistry()))
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range e.ExportAll() {
		if err := restored.Import(rec, true); err != nil {
			t.Fatal(err)
		}
	}
	if g := gauge(restored); g != 1 {
		t.Errorf("restored offline station: gauge %v, want 1", g)
	}

	e.Apply(rd("O1", "cod", 21, 2*h))
	if g := gauge(e); g != 0 {
		t.Errorf("back online: gauge %v, want 0", g)
	}
}
